"""The caller's own view, and the OpenAPI document itself."""

from __future__ import annotations

from openapi_spec_validator import validate

from gongzhi.people import services
from gongzhi.people.models import Role
from tests.conftest import COMM_A1, STREET_A

from .conftest import API


def test_me_staff(world, make_client):
    user = world.users["street_staff"]
    services.role_grant(actor=None, user=user, place=world.tree.comm_b1, role=Role.TEACHER)
    response = make_client(user).get(f"{API}/me")
    body = response.json()
    assert body["id"] == str(user.pk)
    assert body["phone_masked"] == f"{user.phone[:3]}****{user.phone[-4:]}"
    assert user.phone not in response.content.decode()
    assert sorted((r["role"], r["place_code"]) for r in body["roles"]) == [
        ("street_staff", STREET_A),
        ("teacher", world.tree.comm_b1.code),
    ]
    assert body["resident"] is None


def test_me_resident(world, make_client):
    name, phone, id_number = world.personal["comm_a1"]
    user = services.account_claim(phone=phone, password="a-long-passphrase-9")
    response = make_client(user).get(f"{API}/me")
    body = response.json()
    assert body["roles"] == []
    assert body["resident"]["community_code"] == COMM_A1
    assert body["resident"]["name_masked"] == "王*甲"
    # The account took the resident's name as its display name (the caller's own); the profile stays masked.
    assert body["display_name"] == name
    text = response.content.decode()
    assert phone not in text and id_number not in text
    assert name not in str(body["resident"])


def test_openapi_document_is_valid(openapi_spec):
    validate(openapi_spec)


def test_every_operation_documents_its_errors_in_the_one_shape(openapi_spec):
    error_ref = {"$ref": "#/components/schemas/ErrorOut"}
    operations = [(path, method, op) for path, item in openapi_spec["paths"].items() for method, op in item.items()]
    assert len(operations) >= 13
    # Public operations need no login by design (verifying a certificate: anyone holding a credential, a QR code or a
    # certificate code may check it). They are tagged "public", listed here explicitly, declare no security and so no
    # 401; everything else about them is checked like any other operation.
    public = {
        ("post", f"{API}/credentials/verify"),
        ("get", f"{API}/credentials/verify/{{code}}"),
    }
    for path, method, op in operations:
        responses = op["responses"]
        if (method, path) in public:
            assert "public" in op.get("tags", []), (method, path)
            assert not op.get("security"), (method, path)
            assert "401" not in responses, (method, path)
        else:
            assert "public" not in op.get("tags", []), (method, path)
            assert "401" in responses, (method, path)
            assert op.get("security"), (method, path)
        if op.get("requestBody") or any(p["in"] == "query" for p in op.get("parameters", [])):
            assert "422" in responses, (method, path)
        for status, response in responses.items():
            if int(status) >= 400:
                assert response["content"]["application/json"]["schema"] == error_ref, (method, path, status)


def test_security_schemes(openapi_spec):
    schemes = openapi_spec["components"]["securitySchemes"]
    assert {"type": "http", "scheme": "bearer"}.items() <= schemes["ApiTokenAuth"].items()
    assert schemes["SessionAuth"]["in"] == "cookie"


def test_masked_schema_has_no_plain_personal_fields(openapi_spec):
    props = openapi_spec["components"]["schemas"]["ResidentOut"]["properties"]
    assert not {"name", "phone", "id_number"} & set(props)


def test_response_checker_is_not_vacuous(openapi_checker):
    import json

    import pytest
    from jsonschema.exceptions import ValidationError

    path = f"{API}/residents/3f1b1d2e-0000-4000-8000-000000000000"
    good = {
        "id": "3f1b1d2e-0000-4000-8000-000000000000",
        "ref": "R1",
        "community_code": COMM_A1,
        "community_name": "甲",
        "name_masked": "王*",
        "phone_masked": "",
        "id_number_masked": "",
        "gender": None,
        "birth_year": None,
        "household": "local",
        "registered_on": "2024-01-01",
        "left_on": None,
    }
    openapi_checker.check("GET", path, 200, json.dumps(good).encode())
    with pytest.raises(ValidationError):  # an undeclared field, e.g. a plain ID number
        openapi_checker.check("GET", path, 200, json.dumps({**good, "id_number": "33010219800101123X"}).encode())
    with pytest.raises(ValidationError):
        openapi_checker.check("GET", path, 200, json.dumps({**good, "household": "tourist"}).encode())
    with pytest.raises(ValidationError):  # not the one error shape
        openapi_checker.check("GET", path, 404, json.dumps({"detail": "Not Found"}).encode())
    with pytest.raises(AssertionError):  # an undocumented status
        openapi_checker.check("GET", path, 409, b"{}")
