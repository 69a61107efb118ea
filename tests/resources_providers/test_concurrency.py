"""A double click sent as concurrent requests: eight threads submitting the same provider, resource, partner account,
pairing or delivery at once make exactly one row (PostgreSQL; SQLite serialises every write, so threads cannot race)."""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

import pytest
from django.db import connection, connections
from django.utils import timezone

from gongzhi.people.models import RoleGrant, User
from gongzhi.resources.models import Pairing, PairingDelivery, Provider, Resource
from gongzhi.resources.services import providers as services

pytestmark = pytest.mark.django_db(transaction=True)

THREADS = 8


def _race(call: Callable[[], Any]) -> list[Any]:
    if connection.vendor != "postgresql":
        pytest.skip("SQLite serialises every write on one file lock, so the threads cannot race; run on PostgreSQL")
    barrier = threading.Barrier(THREADS)
    results: list[Any] = []
    failures: list[BaseException] = []
    lock = threading.Lock()

    def run() -> None:
        try:
            barrier.wait(timeout=10)
            found = call()
            with lock:
                results.append(found.pk)
        except BaseException as exc:  # pragma: no cover - reported below
            with lock:
                failures.append(exc)
        finally:
            connections.close_all()

    threads = [threading.Thread(target=run) for _ in range(THREADS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert not failures, failures
    assert len(results) == THREADS
    return results


def test_concurrent_provider_create(tree):
    results = _race(lambda: services.provider_create(actor=None, place=tree.street_a, name="杭州银行", kind="bank"))
    assert len(set(results)) == 1 and Provider.objects.count() == 1


def test_concurrent_resource_pairing_delivery_and_member(pw):
    today = timezone.localdate()
    n_resources = Resource.objects.count()
    results = _race(lambda: services.resource_create(actor=None, provider=pw.bank, kind="course", name="理财课"))
    assert len(set(results)) == 1 and Resource.objects.count() == n_resources + 1
    results = _race(
        lambda: services.pairing_create(
            actor=None, provider=pw.bank, place=pw.tree.comm_a2, starts_on=today, commitments="讲座"
        )
    )
    assert len(set(results)) == 1 and Pairing.objects.filter(place=pw.tree.comm_a2).count() == 1
    results = _race(
        lambda: services.delivery_record(actor=None, pairing=pw.pairing, delivered_on=today, description="讲座")
    )
    assert len(set(results)) == 1 and PairingDelivery.objects.count() == 1
    results = _race(lambda: services.provider_member_add(actor=None, provider=pw.bank, phone="13700000999"))
    assert len(set(results)) == 1 and User.objects.filter(phone="13700000999").count() == 1
    assert pw.bank.members.filter(phone="13700000999").count() == 1
    assert RoleGrant.objects.filter(user__phone="13700000999", role="resource_partner").count() == 1
