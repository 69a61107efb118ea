"""Helpers for the issue tests (no tests here): issues, residents with accounts, a tiny valid image of each type."""

from __future__ import annotations

import struct
import zlib
from typing import Any

from django.core.files.uploadedfile import SimpleUploadedFile

from gongzhi.deliberation.models import Issue
from gongzhi.deliberation.services import issues as services
from gongzhi.people.models import Role
from gongzhi.places.models import Place
from tests import factories
from tests.organizations.conftest import resident_with_account  # noqa: F401  (re-exported)

PLACES = ["comm_a1", "comm_a2", "comm_b1", "other_comm"]
GRANTS = {"community_worker": "comm_a1", "street_staff": "street_a", "admin": "district", "teacher": "street_a"}
# role (granted on) → the issues (by community) it manages.
MANAGES = {
    "community_worker": {"comm_a1"},  # not its sibling COMM_A2, nor another street or district
    "street_staff": {"comm_a1", "comm_a2"},
    "admin": {"comm_a1", "comm_a2", "comm_b1"},
    "teacher": set(),
}
STAFF_TABLE = [(role, key, key in seen) for role, seen in MANAGES.items() for key in PLACES]


def png_bytes() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data) & 0xFFFFFFFF)

    header = struct.pack(">IIBBBBB", 1, 1, 8, 2, 0, 0, 0)
    return (
        b"\x89PNG\r\n\x1a\n"
        + chunk(b"IHDR", header)
        + chunk(b"IDAT", zlib.compress(b"\x00\xff\x00\x00"))
        + chunk(b"IEND", b"")
    )


def png(name: str = "photo.png") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, png_bytes(), content_type="image/png")


def jpeg(name: str = "photo.jpg") -> SimpleUploadedFile:
    return SimpleUploadedFile(
        name, b"\xff\xd8\xff\xe0\x00\x10JFIF\x00" + b"\x00" * 64 + b"\xff\xd9", content_type="image/jpeg"
    )


def webp(name: str = "photo.webp") -> SimpleUploadedFile:
    body = b"WEBPVP8 " + b"\x00" * 32
    return SimpleUploadedFile(name, b"RIFF" + len(body).to_bytes(4, "little") + body, content_type="image/webp")


def issue(community: Place, title: str = "小区加装电梯", **kw: Any) -> Issue:
    return services.issue_raise(actor=None, community=community, title=title, **kw)


def staff_of(role: str, tree: Any):
    return factories.staff(role, getattr(tree, GRANTS[role]))


def worker(tree: Any):
    return factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1)
