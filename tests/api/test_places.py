"""Places through the API: only the places the caller covers."""

from __future__ import annotations

import pytest

from gongzhi.places import services as place_services
from tests.conftest import COMM_A1, COMM_A2, COMM_B1, DISTRICT, OTHER_COMM, STREET_A, STREET_B

from .conftest import API, error_of


def codes_of(response) -> list[str]:
    assert response.status_code == 200, response.content
    return [p["code"] for p in response.json()["items"]]


@pytest.mark.parametrize(
    ("role", "expected"),
    [
        ("community_worker", [COMM_A1]),
        ("street_staff", [STREET_A, COMM_A1, COMM_A2]),
        ("teacher", [STREET_A, COMM_A1, COMM_A2]),
        ("admin", [DISTRICT, STREET_A, COMM_A1, COMM_A2, STREET_B, COMM_B1]),
    ],
)
def test_place_list_is_what_the_caller_covers(world, make_client, role, expected):
    response = make_client(world.users[role]).get(f"{API}/places")
    assert codes_of(response) == sorted(expected)
    assert response.json()["count"] == len(expected)


def test_place_filters(world, make_client):
    client = make_client(world.users["admin"])
    assert codes_of(client.get(f"{API}/places", {"level": "street"})) == [STREET_A, STREET_B]
    assert codes_of(client.get(f"{API}/places", {"parent": STREET_A})) == [COMM_A1, COMM_A2]
    assert codes_of(client.get(f"{API}/places", {"q": "330102002"})) == [STREET_B, COMM_B1]
    response = client.get(f"{API}/places", {"level": "planet"})
    assert response.status_code == 422 and "level" in error_of(response)["fields"]


def test_place_detail_and_children(world, make_client):
    client = make_client(world.users["street_staff"])
    response = client.get(f"{API}/places/{STREET_A}")
    assert response.json() == {
        "code": STREET_A,
        "name": world.tree.street_a.name,
        "level": "street",
        "parent_code": DISTRICT,
    }
    assert codes_of(client.get(f"{API}/places/{STREET_A}/children")) == [COMM_A1, COMM_A2]
    for code in (DISTRICT, COMM_B1, OTHER_COMM, "999999999999", "abc"):
        for suffix in ("", "/children", "/population"):
            response = client.get(f"{API}/places/{code}{suffix}")
            assert response.status_code == 404, (code, suffix)
            assert error_of(response)["code"] == "not_found"


def test_population(world, make_client):
    for place, year, n in [
        (world.tree.comm_a1, 2024, 1000),
        (world.tree.comm_a2, 2024, 500),
        (world.tree.comm_a1, 2025, 1100),
        (world.tree.comm_b1, 2024, 700),
    ]:
        place_services.population_set(place=place, year=year, population=n)
    client = make_client(world.users["street_staff"])
    assert client.get(f"{API}/places/{COMM_A1}/population").json() == [
        {"year": 2024, "population": 1000},
        {"year": 2025, "population": 1100},
    ]
    assert client.get(f"{API}/places/{STREET_A}/population").json() == [
        {"year": 2024, "population": 1500},
        {"year": 2025, "population": 1100},
    ]
