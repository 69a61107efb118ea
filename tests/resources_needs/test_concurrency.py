"""Concurrency (real threads on PostgreSQL; one after another on SQLite, where writers are serialised anyway): a double
report makes one need, concurrent matches let exactly one win, a double rating makes one rating, a double fulfil links
once."""

from __future__ import annotations

import pytest

from gongzhi.activities.fulfilment import services as fulfilment
from gongzhi.core.errors import Conflict
from gongzhi.core.models import AuditEvent
from gongzhi.resources.models import Need, Rating
from gongzhi.resources.services import needs as services
from tests import factories
from tests.learning.test_concurrency import run_all

from .conftest import need, past_activity, present, provider, resource

pytestmark = pytest.mark.django_db(transaction=True)


def _try(fn):
    try:
        return fn()
    except Conflict as exc:
        return exc


def test_double_report_makes_one_need(tree):
    r = factories.resident(tree.comm_a1, name="李阿姨")
    results, errors = run_all(
        lambda: services.need_report(
            actor=None, community=tree.comm_a1, resident=r, title="想学用手机挂号", resource_kind="course"
        ),
        [()] * 6,
    )
    assert not errors
    assert Need.objects.count() == 1
    assert sum(created for _need, created in results) == 1
    assert {n.pk for n, _created in results} == {Need.objects.get().pk}


def test_concurrent_matches_to_different_resources_only_one_wins(tree):
    bank = provider("银行", place=tree.street_a)
    options = [resource(bank, f"课程{i}", area=[tree.comm_a1]) for i in range(6)]
    n = need(tree.comm_a1)
    results, errors = run_all(
        lambda res: _try(lambda: services.need_match(actor=None, need=n, resource=res)), [(o,) for o in options]
    )
    assert not errors
    wins = [x for x in results if isinstance(x, Need)]
    refused = [x for x in results if isinstance(x, Conflict)]
    assert len(wins) == 1 and len(refused) == 5
    assert {x.code for x in refused} == {"already_matched"}
    n.refresh_from_db()
    assert n.status == "matched" and n.resource == wins[0].resource
    assert AuditEvent.objects.filter(target_type="need", action="update").count() == 1


def test_concurrent_match_and_cancel_end_in_one_legal_state(tree):
    bank = provider("银行", place=tree.street_a)
    lecture = resource(bank, "讲座", area=[tree.comm_a1])
    n = need(tree.comm_a1)
    calls = [
        lambda: services.need_match(actor=None, need=n, resource=lecture),
        lambda: services.need_cancel(actor=None, need=n, reason="重复"),
    ] * 3
    _results, errors = run_all(lambda fn: _try(fn), [(f,) for f in calls])
    assert not errors
    n.refresh_from_db()
    # Either cancelled straight away, or matched and then cancelled: never matched after a cancel.
    assert n.status == "cancelled"
    statuses = [e.changes.get("status") for e in AuditEvent.objects.filter(target_type="need").order_by("id")]
    assert statuses[-1][1] == "cancelled" and statuses.count(statuses[-1]) == 1


def test_double_rate_makes_one_rating(tree):
    bank = provider("银行", place=tree.street_a)
    lecture = resource(bank, "讲座", area=[tree.comm_a1])
    r = factories.resident(tree.comm_a1, name="李阿姨")
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    activity = past_activity(tree.comm_a1)
    fulfilment.need_fulfil(actor=None, need=n, activity=activity)
    present(activity, r)
    results, errors = run_all(lambda s: fulfilment.need_rate(resident=r, need=n, score=s), [(5,), (4,)] * 3)
    assert not errors
    assert Rating.objects.count() == 1
    assert sum(created for _rating, created in results) == 1
    assert {rating.pk for rating, _created in results} == {Rating.objects.get().pk}


def test_double_fulfil_links_once(tree):
    bank = provider("银行", place=tree.street_a)
    lecture = resource(bank, "讲座", area=[tree.comm_a1])
    n = services.need_match(actor=None, need=need(tree.comm_a1), resource=lecture)
    activity = past_activity(tree.comm_a1)
    results, errors = run_all(lambda: fulfilment.need_fulfil(actor=None, need=n, activity=activity), [()] * 6)
    assert not errors
    assert sum(linked for _need, linked in results) == 1
    assert activity.needs.count() == 1 and activity.resources.count() == 1
    n.refresh_from_db()
    assert n.status == "fulfilled"
