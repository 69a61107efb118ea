"""Rotating QR check-in tokens.

A token names an activity and a time step (``STEP`` seconds long) and is signed with an HMAC keyed by the project's
``SECRET_KEY`` (``salted_hmac`` with a salt of its own). The screen shows a new token every step; a token is accepted for
``VALID_FOR`` seconds after its step began, so a photo of the screen sent to someone at home is soon worthless. Tokens are
only accepted in the check-in window of the activity: from ``OPENS_BEFORE`` before it starts until it ends (or
``DEFAULT_LENGTH`` after the start when it has no end).

Verifying needs no database look-up for forged or expired tokens; the window needs the activity (one query).
"""

from __future__ import annotations

import base64
import datetime
import time
import uuid
from dataclasses import dataclass

import segno
from django.utils import timezone
from django.utils.crypto import constant_time_compare, salted_hmac
from django.utils.translation import gettext as _

from gongzhi.core.errors import DomainError

from .models import Activity

SALT = "gongzhi.activities.qr"
STEP = 10  # seconds: a new token this often
VALID_FOR = 30  # seconds: how long after its step began a token is accepted
OPENS_BEFORE = datetime.timedelta(minutes=30)
DEFAULT_LENGTH = datetime.timedelta(hours=3)


class TokenError(DomainError):
    """A refused token. ``code`` is one of invalid, expired, other_activity, not_started, ended."""


def _b64(raw: bytes) -> str:
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def _unb64(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def _signature(activity_id: uuid.UUID, step: int) -> str:
    return _b64(salted_hmac(SALT, f"{activity_id.hex}:{step}", algorithm="sha256").digest()[:15])


def current_step(at: float | None = None) -> int:
    return int((time.time() if at is None else at) // STEP)


def issue(activity_id: uuid.UUID, *, at: float | None = None) -> str:
    """The token for an activity at a moment (now by default): ``<activity id>.<step>.<signature>``, URL-safe."""
    step = current_step(at)
    return f"{_b64(activity_id.bytes)}.{step:x}.{_signature(activity_id, step)}"


@dataclass(frozen=True)
class Verified:
    activity_id: uuid.UUID
    step: int


def _invalid() -> TokenError:
    return TokenError(_("签到码无效"), fields={"token": [_("签到码无效，请扫描屏幕上的二维码")]}, code="invalid")


def verify_signature(token: str, *, at: float | None = None, accept_expired: bool = False) -> Verified:
    """Check the token's form, signature and age (not the activity's window). Raises ``TokenError``."""
    try:
        id_part, step_part, sig = token.split(".")
        activity_id = uuid.UUID(bytes=_unb64(id_part))
        step = int(step_part, 16)
    except (ValueError, TypeError, AttributeError) as exc:
        raise _invalid() from exc
    if not constant_time_compare(sig, _signature(activity_id, step)):
        raise _invalid()
    now = time.time() if at is None else at
    if step > current_step(now) + 1:  # from the future (beyond a little clock skew): not one we issued
        raise _invalid()
    if not accept_expired and now - step * STEP > VALID_FOR:
        raise TokenError(
            _("签到码已过期，请扫描屏幕上的最新二维码"),
            fields={"token": [_("签到码已过期，请扫描屏幕上的最新二维码")]},
            code="expired",
        )
    return Verified(activity_id=activity_id, step=step)


def window(activity: Activity) -> tuple[datetime.datetime, datetime.datetime]:
    """When check-in is open for an activity: (opens, closes)."""
    closes = activity.ends_at or activity.starts_at + DEFAULT_LENGTH
    return activity.starts_at - OPENS_BEFORE, closes


def check_window(activity: Activity, *, now: datetime.datetime | None = None) -> None:
    now = now or timezone.now()
    opens, closes = window(activity)
    if now < opens:
        message = _("签到尚未开始：活动开始前 30 分钟开放签到")
        raise TokenError(message, fields={"token": [message]}, code="not_started")
    if now > closes:
        message = _("活动已结束，签到已关闭")
        raise TokenError(message, fields={"token": [message]}, code="ended")


def window_state(activity: Activity, *, now: datetime.datetime | None = None) -> str:
    """open, not_started or ended."""
    try:
        check_window(activity, now=now)
    except TokenError as exc:
        return exc.code
    return "open"


def other_activity_error() -> TokenError:
    message = _("这是其他活动的签到码，请扫描本活动屏幕上的二维码")
    return TokenError(message, fields={"token": [message]}, code="other_activity")


def svg(data: str) -> str:
    """An inline SVG of a QR code for ``data`` (no XML declaration, scales with its container)."""
    qr = segno.make(data, error="m", micro=False)
    return qr.svg_inline(scale=8, border=2, dark="#111", omitsize=True, title=None)
