import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from gongzhi.places import codes, selectors, services
from gongzhi.places.models import Place, Population
from tests.conftest import COMM_A1, COMM_A2, COMM_B1, DISTRICT, STREET_A


@pytest.mark.parametrize(
    ("code", "level", "parent"),
    [
        ("330000000000", "province", None),
        ("330100000000", "city", "330000000000"),
        ("330102000000", "district", "330100000000"),
        ("330102001000", "street", "330102000000"),
        ("330102001001", "community", "330102001000"),
        ("330102001200", "community", "330102001000"),
    ],
)
def test_level_and_parent_follow_from_the_code(code, level, parent):
    assert codes.level_of(code) == level
    assert codes.parent_code_of(code) == parent


@pytest.mark.parametrize("bad", ["33010200100", "3301020010011", "33010200100a", "", "000000000000"])
def test_invalid_codes_are_refused(bad):
    with pytest.raises(codes.CodeError):
        codes.validate_code(bad)


def test_ancestors_and_cover():
    assert codes.ancestor_codes(COMM_A1) == ["330000000000", "330100000000", DISTRICT, STREET_A]
    assert codes.covers(STREET_A, COMM_A1)
    assert not codes.covers(STREET_A, COMM_B1)


def test_place_clean_checks_level_and_parent_prefix(tree):
    bad_level = Place(code="330102001009", name="x", level="street", parent_id=STREET_A)
    with pytest.raises(ValidationError) as exc:
        bad_level.full_clean()
    assert "level" in exc.value.error_dict
    wrong_parent = Place(code="330102001009", name="x", level="community", parent_id="330102002000")
    with pytest.raises(ValidationError) as exc:
        wrong_parent.full_clean()
    assert "parent" in exc.value.error_dict


def test_place_create_service_derives_level_and_parent(tree):
    p = services.place_create(code="330102001003", name="新社区")
    assert p.level == "community" and p.parent_id == STREET_A


def test_subtree_and_ancestors_take_one_query_each(tree):
    with CaptureQueriesContext(connection) as ctx:
        sub = list(selectors.place_subtree(place=tree.street_a))
    assert len(ctx.captured_queries) == 1
    assert {p.code for p in sub} == {STREET_A, COMM_A1, COMM_A2}
    with CaptureQueriesContext(connection) as ctx:
        anc = selectors.place_ancestors(place=tree.comm_a1)
    assert len(ctx.captured_queries) == 1
    assert [p.level for p in anc] == ["province", "city", "district", "street"]


def test_population_set_is_an_upsert(tree):
    services.population_set(place=tree.comm_a1, year=2025, population=5000)
    services.population_set(place=tree.comm_a1, year=2025, population=5100)
    assert Population.objects.get(place=tree.comm_a1, year=2025).population == 5100
    assert Population.objects.count() == 1
