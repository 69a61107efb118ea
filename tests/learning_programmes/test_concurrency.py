"""Concurrency: on PostgreSQL with real threads and transactions; on SQLite the same calls run one after another."""

from __future__ import annotations

import pytest

from gongzhi.learning.credentials import programmes
from gongzhi.learning.credentials.certificates import certificate_claim
from gongzhi.learning.models import Certificate, CredentialLevel, CredentialProgramme
from tests.learning.test_concurrency import run_all

from .conftest import attend, resident_with_account, sessions_of, take_test

pytestmark = pytest.mark.django_db(transaction=True)

CRITERIA = {"all": [{"kind": "points", "min": 10}]}


def test_a_double_click_creates_one_programme_and_one_level(tree):
    results, errors = run_all(
        lambda: programmes.programme_create(actor=None, place=tree.street_a, name="星级家长执照"), [()] * 6
    )
    assert not errors and len({p.pk for p in results}) == 1
    programme = results[0]
    levels, errors = run_all(
        lambda: programmes.level_create(actor=None, programme=programme, rank=1, name="一星", criteria=CRITERIA),
        [()] * 6,
    )
    assert not errors and len({lv.pk for lv in levels}) == 1
    assert CredentialProgramme.objects.count() == 1 and CredentialLevel.objects.count() == 1


def test_a_claim_and_a_criteria_change_at_once_never_both_happen(tree, licence):
    """Either the claim comes first (a certificate under the old criteria; the change is then refused) or the change
    comes first (the claim is judged by the new criteria, which the resident does not meet)."""
    r = resident_with_account(tree.comm_a1)
    for s in sessions_of(licence.course)[:2]:
        attend(r, s)
    take_test(r, licence.test)
    level = licence.levels[0]
    harder = {"all": [{"kind": "points", "min": 1000}]}

    errors: list[Exception] = []

    def guarded(f):
        try:
            return f()
        except Exception as exc:  # the refused one, on SQLite as on PostgreSQL
            errors.append(exc)
            return None

    def claim():
        return certificate_claim(resident=r, level=level, actor=r.user)

    def change():
        return programmes.level_update(actor=None, level=level, rank=1, name=level.name, criteria=harder)

    _results, unexpected = run_all(guarded, [(claim,), (change,)])
    assert not unexpected
    level.refresh_from_db()
    issued = Certificate.objects.filter(level=level).exists()
    changed = level.criteria == harder
    assert issued != changed, (issued, changed, errors)
    # exactly one of the two was refused: the change (level_in_use) or the claim (not_eligible)
    assert [getattr(e, "code", "") for e in errors] in (["level_in_use"], ["not_eligible"]), errors
