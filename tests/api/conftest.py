"""API fixtures: a test client that checks every /api/v1/ response against the API's own OpenAPI document, and a small
world of residents and staff on the shared place tree."""

from __future__ import annotations

import copy
import json
import re
from dataclasses import dataclass
from typing import Any

import pytest
from django.test import Client
from openapi_schema_validator import OAS31Validator

from gongzhi.people import protection
from gongzhi.people.models import Resident, Role, User
from tests import factories
from tests.conftest import Tree

API = "/api/v1"


def make_id_number(first17: str) -> str:
    """A valid GB 11643 number from its first 17 digits."""
    return first17 + protection.id_check_digit(first17)


def _strict(node: Any) -> Any:
    """Objects with declared properties may have no others (so that an undeclared field, say a plain ID number,
    fails the check)."""
    if isinstance(node, dict):
        out = {k: _strict(v) for k, v in node.items()}
        if "properties" in out and "additionalProperties" not in out:
            out["additionalProperties"] = False
        return out
    if isinstance(node, list):
        return [_strict(v) for v in node]
    return node


class OpenApiChecker:
    """Response status documented for the operation, and the body valid against the declared schema."""

    def __init__(self, spec: dict[str, Any]):
        self.spec = spec
        self.components = _strict(copy.deepcopy(spec.get("components", {})))
        self.routes = [
            (re.compile("^" + re.sub(r"\{[^/}]+\}", "[^/]+", template) + "$"), template) for template in spec["paths"]
        ]
        self.seen: set[tuple[str, str, int]] = set()

    def operation(self, method: str, path: str) -> tuple[str, dict[str, Any]]:
        templates = [t for rx, t in self.routes if rx.match(path)]
        assert templates, f"{path} is not in the OpenAPI document"
        # A literal segment beats a parameter: the template with the fewest parameters wins.
        template = min(templates, key=lambda t: t.count("{"))
        operation = self.spec["paths"][template].get(method.lower())
        assert operation is not None, f"{method} {template} is not in the OpenAPI document"
        return template, operation

    def check(self, method: str, path: str, status: int, body: bytes) -> None:
        template, operation = self.operation(method, path)
        documented = operation["responses"]
        assert str(status) in documented, f"{method} {template} answered {status}, documented {sorted(documented)}"
        self.seen.add((method.upper(), template, status))
        content = documented[str(status)].get("content")
        if not content:
            assert body in (b"", b"null"), f"{method} {template} {status} should have no body"
            return
        schema = content["application/json"]["schema"]
        validator = OAS31Validator(
            {**_strict(copy.deepcopy(schema)), "components": self.components},
            format_checker=OAS31Validator.FORMAT_CHECKER,
        )
        validator.validate(json.loads(body))


@pytest.fixture(scope="session")
def openapi_spec() -> dict[str, Any]:
    from config.api import api

    # Through JSON, as a client sees it.
    return json.loads(json.dumps(api.get_openapi_schema()))


@pytest.fixture(scope="session")
def openapi_checker(openapi_spec) -> OpenApiChecker:
    return OpenApiChecker(openapi_spec)


class ApiClient(Client):
    """Django's test client; every response of an API operation is checked against the OpenAPI document."""

    checker: OpenApiChecker

    def request(self, **request: Any):  # type: ignore[override]
        response = super().request(**request)
        path = request["PATH_INFO"]
        if path.startswith(API + "/") and not path.startswith((f"{API}/docs", f"{API}/openapi.json")):
            self.checker.check(request["REQUEST_METHOD"], path, response.status_code, response.content)
        return response

    def post_json(self, path: str, data: Any = None, **extra: Any):
        return self.post(path, json.dumps(data or {}), content_type="application/json", **extra)

    def patch_json(self, path: str, data: Any, **extra: Any):
        return self.patch(path, json.dumps(data), content_type="application/json", **extra)


@pytest.fixture
def make_client(openapi_checker):
    def make(user: User | None = None, **kwargs: Any) -> ApiClient:
        client = ApiClient(**kwargs)
        client.checker = openapi_checker
        if user is not None:
            client.force_login(user)
        return client

    return make


@pytest.fixture
def anon(make_client) -> ApiClient:
    return make_client()


@dataclass
class World:
    tree: Tree
    residents: dict[str, Resident]  # by community key: comm_a1, comm_a2, comm_b1, other_comm
    personal: dict[str, tuple[str, str, str]]  # key → (name, phone, id_number)
    users: dict[str, User]  # community_worker, street_staff, admin, teacher


@pytest.fixture
def world(tree) -> World:
    residents: dict[str, Resident] = {}
    personal: dict[str, tuple[str, str, str]] = {}
    for i, key in enumerate(["comm_a1", "comm_a2", "comm_b1", "other_comm"]):
        name, phone, id_number = f"王小{'甲乙丙丁'[i]}", f"1391234000{i}", make_id_number(f"33010219900101{i:02d}1")
        residents[key] = factories.resident(getattr(tree, key), name=name, phone=phone, id_number=id_number)
        personal[key] = (name, phone, id_number)
    users = {
        "community_worker": factories.staff(Role.COMMUNITY_WORKER, tree.comm_a1),
        "street_staff": factories.staff(Role.STREET_STAFF, tree.street_a),
        "admin": factories.staff(Role.ADMIN, tree.district),
        "teacher": factories.staff(Role.TEACHER, tree.street_a),
    }
    return World(tree=tree, residents=residents, personal=personal, users=users)


def error_of(response) -> dict[str, Any]:
    body = response.json()
    assert set(body) == {"error"}, body
    assert set(body["error"]) == {"code", "message", "fields"}, body
    return body["error"]
