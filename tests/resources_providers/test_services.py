"""Services of providers, resources, partner accounts, pairings and deliveries: outcomes, audit, double submits, and
bad input that changes nothing."""

from __future__ import annotations

import datetime

import pytest
from django.utils import timezone

from gongzhi.core.errors import Conflict, DomainError
from gongzhi.core.models import AuditEvent
from gongzhi.people.models import RoleGrant, User
from gongzhi.resources.models import Pairing, PairingDelivery, Provider, Resource
from gongzhi.resources.rules import provider_ids
from gongzhi.resources.services import providers as services
from tests import factories

pytestmark = pytest.mark.django_db

TODAY = timezone.localdate


def _audits(target_type: str) -> int:
    return AuditEvent.objects.filter(target_type=target_type).count()


# --- providers --------------------------------------------------------------------------------------------------


def test_provider_create_generates_ref_and_audits(tree):
    staff = factories.staff("street_staff", tree.street_a)
    before = _audits("provider")
    p = services.provider_create(
        actor=staff, place=tree.street_a, name="  杭州银行  ", kind="bank", contact_phone="13800001111"
    )
    assert p.ref.startswith("P") and len(p.ref) == 13
    assert p.name == "杭州银行" and p.place == tree.street_a and p.active
    event = AuditEvent.objects.get(target_type="provider", target_id=str(p.pk))
    assert event.actor == staff and event.place_code == tree.street_a.code and _audits("provider") == before + 1


def test_provider_double_submit_returns_the_first(tree):
    a = services.provider_create(actor=None, place=tree.street_a, name="杭州银行", kind="bank")
    b = services.provider_create(actor=None, place=tree.street_a, name="杭州银行", kind="bank")
    assert a.pk == b.pk and Provider.objects.count() == 1 and _audits("provider") == 1
    # The same name elsewhere is another provider.
    c = services.provider_create(actor=None, place=tree.street_b, name="杭州银行", kind="bank")
    assert c.pk != a.pk


def test_provider_same_name_different_details_is_a_conflict(tree):
    services.provider_create(actor=None, place=tree.street_a, name="杭州银行", kind="bank")
    with pytest.raises(Conflict) as exc:
        services.provider_create(actor=None, place=tree.street_a, name="杭州银行", kind="company")
    assert exc.value.code == "duplicate_name" and "name" in exc.value.fields
    assert Provider.objects.count() == 1


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": "   "}, "name"),
        ({"kind": "bakery"}, "kind"),
        ({"contact_phone": "call me"}, "contact_phone"),
        ({"name": "x" * 101}, "name"),
    ],
)
def test_provider_bad_input_changes_nothing(tree, kwargs, field):
    args = {"actor": None, "place": tree.street_a, "name": "杭州银行", "kind": "bank", **kwargs}
    with pytest.raises(DomainError) as exc:
        services.provider_create(**args)
    assert field in exc.value.fields
    assert Provider.objects.count() == 0 and _audits("provider") == 0


def test_provider_update_changes_fields_and_audits(pw):
    services.provider_update(actor=None, provider=pw.bank, description="普惠金融", contact_name="王经理")
    pw.bank.refresh_from_db()
    assert pw.bank.description == "普惠金融" and pw.bank.contact_name == "王经理"
    event = AuditEvent.objects.filter(target_type="provider", action="update").latest("id")
    assert event.changes["contact_name"] == ["李经理", "王经理"]
    # Nothing changed: nothing written.
    n = _audits("provider")
    services.provider_update(actor=None, provider=pw.bank, description="普惠金融")
    assert _audits("provider") == n


def test_provider_update_refuses_unknown_fields_and_taken_names(pw, tree):
    with pytest.raises(DomainError) as exc:
        services.provider_update(actor=None, provider=pw.bank, place=tree.comm_a2)
    assert "place" in exc.value.fields
    services.provider_create(actor=None, place=tree.comm_a1, name="工商银行", kind="bank")
    with pytest.raises(Conflict):
        services.provider_update(actor=None, provider=pw.bank, name="工商银行")
    pw.bank.refresh_from_db()
    assert pw.bank.name == "农商银行九堡支行"


# --- partner accounts -------------------------------------------------------------------------------------------


def test_member_add_creates_account_and_grants_the_partner_role(pw, tree):
    user = services.provider_member_add(actor=None, provider=pw.bank, phone="137 0000 0099", display_name="张柜员")
    assert user.phone == "13700000099" and not user.has_usable_password() and user.display_name == "张柜员"
    assert pw.bank.members.filter(pk=user.pk).exists()
    assert RoleGrant.objects.filter(user=user, place=tree.comm_a1, role="resource_partner").count() == 1
    assert provider_ids(User.objects.get(pk=user.pk)) == frozenset({pw.bank.pk})
    # Twice: nothing more.
    again = services.provider_member_add(actor=None, provider=pw.bank, phone="13700000099")
    assert again.pk == user.pk and pw.bank.members.filter(pk=user.pk).count() == 1
    assert RoleGrant.objects.filter(user=user, role="resource_partner").count() == 1


def test_member_add_bad_phone_changes_nothing(pw):
    before = pw.bank.members.count()
    for phone in ("", "12345"):
        with pytest.raises(DomainError) as exc:
            services.provider_member_add(actor=None, provider=pw.bank, phone=phone)
        assert "phone" in exc.value.fields
    assert pw.bank.members.count() == before


def test_member_remove_revokes_the_role_unless_another_provider_there_needs_it(pw, tree):
    user = pw.users["partner"]
    other = services.provider_create(actor=None, place=tree.comm_a1, name="社区药房", kind="company")
    services.provider_member_add(actor=None, provider=other, phone=user.phone)
    services.provider_member_remove(actor=None, provider=pw.bank, user=user)
    assert not pw.bank.members.filter(pk=user.pk).exists()
    assert RoleGrant.objects.filter(user=user, role="resource_partner").exists(), "still speaks for the pharmacy"
    services.provider_member_remove(actor=None, provider=other, user=user)
    assert not RoleGrant.objects.filter(user=user, role="resource_partner").exists()
    # Removing again changes nothing.
    n = _audits("provider")
    services.provider_member_remove(actor=None, provider=other, user=user)
    assert _audits("provider") == n


def test_member_of_a_province_provider_gets_no_grant(tree):
    provincial = services.provider_create(actor=None, place=tree.province, name="省图书馆", kind="government")
    user = services.provider_member_add(actor=None, provider=provincial, phone="13700000077")
    assert provincial.members.filter(pk=user.pk).exists()
    assert not RoleGrant.objects.filter(user=user).exists()


# --- resources --------------------------------------------------------------------------------------------------


def test_resource_create_with_service_area(pw, tree):
    r = services.resource_create(
        actor=None,
        provider=pw.bank,
        kind="fund",
        name="社区教育基金",
        service_area=[tree.street_a, tree.comm_b1, tree.street_a],
        available_from=datetime.date(2026, 1, 1),
        available_until=datetime.date(2026, 12, 31),
    )
    assert r.ref.startswith("R")
    assert sorted(r.service_area.values_list("code", flat=True)) == [tree.street_a.code, tree.comm_b1.code]
    event = AuditEvent.objects.get(target_type="resource", target_id=str(r.pk))
    assert event.changes["service_area"] == [tree.street_a.code, tree.comm_b1.code]


def test_resource_double_submit_returns_the_first(pw, tree):
    n = Resource.objects.count()
    again = services.resource_create(
        actor=None,
        provider=pw.bank,
        kind="teacher",
        name="金融知识讲座",
        service_area=[tree.comm_a1],
        availability="每月第二个周六上午",
        terms="免费",
        capacity=2,
    )
    assert again.pk == pw.lectures.pk and Resource.objects.count() == n
    with pytest.raises(Conflict):
        services.resource_create(actor=None, provider=pw.bank, kind="teacher", name="金融知识讲座")


@pytest.mark.parametrize(
    ("kwargs", "field"),
    [
        ({"name": ""}, "name"),
        ({"kind": "money"}, "kind"),
        ({"capacity": 0}, "capacity"),
        ({"service_area": "district"}, "service_area"),
        (
            {"available_from": datetime.date(2026, 5, 1), "available_until": datetime.date(2026, 4, 1)},
            "available_until",
        ),
    ],
)
def test_resource_bad_input_changes_nothing(pw, tree, kwargs, field):
    if kwargs.get("service_area") == "district":
        kwargs = {"service_area": [tree.comm_a1, tree.district]}
    n = Resource.objects.count()
    args = {"actor": None, "provider": pw.bank, "kind": "course", "name": "理财课", **kwargs}
    with pytest.raises(DomainError) as exc:
        services.resource_create(**args)
    assert field in exc.value.fields
    assert Resource.objects.count() == n


def test_resource_of_an_inactive_provider_is_refused(pw):
    services.provider_update(actor=None, provider=pw.bank, active=False)
    with pytest.raises(Conflict):
        services.resource_create(actor=None, provider=pw.bank, kind="course", name="理财课")


def test_resource_update_and_service_area(pw, tree):
    services.resource_update(
        actor=None, resource=pw.lectures, service_area=[tree.comm_a1, tree.comm_a2], terms="免费，需预约"
    )
    pw.lectures.refresh_from_db()
    assert pw.lectures.terms == "免费，需预约"
    assert sorted(pw.lectures.service_area.values_list("code", flat=True)) == [tree.comm_a1.code, tree.comm_a2.code]
    event = AuditEvent.objects.filter(target_type="resource", action="update").latest("id")
    assert event.changes["service_area"] == [[tree.comm_a1.code], [tree.comm_a1.code, tree.comm_a2.code]]
    with pytest.raises(DomainError):
        services.resource_update(actor=None, resource=pw.lectures, active=False)


def test_resource_deactivate_is_idempotent(pw):
    services.resource_deactivate(actor=None, resource=pw.lectures)
    n = _audits("resource")
    again = services.resource_deactivate(actor=None, resource=pw.lectures)
    assert not again.active and _audits("resource") == n


# --- pairings and deliveries ------------------------------------------------------------------------------------


def test_pairing_only_with_a_street_or_community(pw, tree):
    for place in (tree.district, tree.city):
        with pytest.raises(DomainError) as exc:
            services.pairing_create(actor=None, provider=pw.bank, place=place, starts_on=TODAY(), commitments="讲座")
        assert "place" in exc.value.fields
    assert Pairing.objects.count() == 1


def test_pairing_double_submit_and_overlap(pw, tree):
    start = TODAY() - datetime.timedelta(days=10)
    p = services.pairing_create(
        actor=None, provider=pw.bank, place=tree.comm_a2, starts_on=start, ends_on=TODAY(), commitments="讲座"
    )
    again = services.pairing_create(
        actor=None, provider=pw.bank, place=tree.comm_a2, starts_on=start, ends_on=TODAY(), commitments="讲座"
    )
    assert again.pk == p.pk
    with pytest.raises(Conflict) as exc:
        services.pairing_create(
            actor=None, provider=pw.bank, place=tree.comm_a2, starts_on=start, commitments="另一项承诺"
        )
    assert exc.value.code == "duplicate_pairing"
    with pytest.raises(Conflict) as exc:
        services.pairing_create(
            actor=None,
            provider=pw.bank,
            place=tree.comm_a2,
            starts_on=start + datetime.timedelta(days=3),
            commitments="x",
        )
    assert exc.value.code == "overlapping_pairing"
    # After it ends, a new one may start.
    later = services.pairing_create(
        actor=None,
        provider=pw.bank,
        place=tree.comm_a2,
        starts_on=TODAY() + datetime.timedelta(days=1),
        commitments="续约",
    )
    assert later.pk != p.pk


def test_pairing_bad_input(pw, tree):
    with pytest.raises(DomainError) as exc:
        services.pairing_create(actor=None, provider=pw.bank, place=tree.comm_a2, starts_on=TODAY(), commitments=" ")
    assert "commitments" in exc.value.fields
    with pytest.raises(DomainError) as exc:
        services.pairing_create(
            actor=None,
            provider=pw.bank,
            place=tree.comm_a2,
            starts_on=TODAY(),
            ends_on=TODAY() - datetime.timedelta(days=1),
            commitments="讲座",
        )
    assert "ends_on" in exc.value.fields
    assert Pairing.objects.count() == 1


def test_delivery_record_by_partner_and_double_submit(pw):
    partner = pw.users["partner"]
    d = services.delivery_record(
        actor=partner, pairing=pw.pairing, delivered_on=TODAY(), description="防诈骗讲座", quantity=1
    )
    assert d.recorded_by == partner
    again = services.delivery_record(
        actor=partner, pairing=pw.pairing, delivered_on=TODAY(), description="防诈骗讲座", quantity=1
    )
    assert again.pk == d.pk and PairingDelivery.objects.count() == 1
    assert AuditEvent.objects.filter(target_type="pairing_delivery").count() == 1


@pytest.mark.parametrize(
    ("days", "description", "quantity", "field"),
    [
        (1, "讲座", None, "delivered_on"),  # the future
        (-60, "讲座", None, "delivered_on"),  # before the pairing started
        (0, "  ", None, "description"),
        (0, "讲座", 0, "quantity"),
    ],
)
def test_delivery_bad_input_changes_nothing(pw, days, description, quantity, field):
    with pytest.raises(DomainError) as exc:
        services.delivery_record(
            actor=None,
            pairing=pw.pairing,
            delivered_on=TODAY() + datetime.timedelta(days=days),
            description=description,
            quantity=quantity,
        )
    assert field in exc.value.fields
    assert PairingDelivery.objects.count() == 0


def test_pairing_end(pw):
    services.delivery_record(actor=None, pairing=pw.pairing, delivered_on=TODAY(), description="讲座")
    with pytest.raises(DomainError) as exc:
        services.pairing_end(actor=None, pairing=pw.pairing, ends_on=TODAY() - datetime.timedelta(days=1))
    assert "ends_on" in exc.value.fields
    ended = services.pairing_end(actor=None, pairing=pw.pairing, ends_on=TODAY())
    assert ended.ends_on == TODAY()
    n = _audits("pairing")
    services.pairing_end(actor=None, pairing=pw.pairing, ends_on=TODAY())
    assert _audits("pairing") == n
    # No delivery after it ended.
    with pytest.raises(DomainError):
        services.delivery_record(
            actor=None, pairing=pw.pairing, delivered_on=TODAY() + datetime.timedelta(days=1), description="讲座"
        )
