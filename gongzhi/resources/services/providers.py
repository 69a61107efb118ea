"""Writes of providers (资源方), their resources, partner accounts, pairings (结对) and what the pairings delivered.

One transaction each; every write is audited. Permission checks are made by the callers (views, API) with the
predicates in ``resources/rules.py``; these functions enforce the domain's own rules (required fields, dates, service
areas of streets and communities only, periods) and are safe against a double submit: creating the same provider,
resource, pairing or delivery twice (a double click, a retry, two requests at once) returns the row made the first
time — the parent row is locked while looking for it — and a different record under a name already taken is refused
with a clear message.
"""

from __future__ import annotations

import datetime
import re
import secrets
from collections.abc import Iterable, Sequence
from typing import Any

from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import Conflict, DomainError, full_clean_or_invalid
from gongzhi.people import access, protection
from gongzhi.people import services as people_services
from gongzhi.people.models import ROLE_LEVELS, Role, RoleGrant, User
from gongzhi.places.models import Place

from ..models import Pairing, PairingDelivery, Provider, ProviderKind, Resource, ResourceKind

PROVIDER_FIELDS = ("name", "kind", "description", "contact_name", "contact_phone", "active")
RESOURCE_FIELDS = (
    "kind",
    "name",
    "description",
    "available_from",
    "available_until",
    "availability",
    "terms",
    "capacity",
)
AREA_LEVELS = ("street", "community")
CONTACT_PHONE_RE = re.compile(r"^[0-9+\-() ]{5,20}$")


def _bad(fields: dict[str, list[str]]) -> DomainError:
    return DomainError(_("提交的信息有误，请检查标红的字段"), fields=fields)


def _required(**values: Any) -> None:
    missing = [name for name, value in values.items() if not str(value or "").strip()]
    if missing:
        raise _bad({name: [_("必填")] for name in missing})


def _check_kind(value: str, choices: Any, field: str = "kind") -> None:
    if value not in choices.values:
        raise _bad({field: [_("不是可选的值")]})


def _check_contact_phone(phone: str) -> str:
    phone = (phone or "").strip()
    if phone and not CONTACT_PHONE_RE.match(phone):
        raise _bad({"contact_phone": [_("请填写有效的电话号码")]})
    return phone


def _locked_provider(provider: Provider) -> Provider:
    return Provider.objects.select_for_update(of=("self",)).select_related("place").get(pk=provider.pk)


def _locked_pairing(pairing: Pairing) -> Pairing:
    return Pairing.objects.select_for_update(of=("self",)).select_related("provider", "place").get(pk=pairing.pk)


def _place_code(provider: Provider) -> str:
    return provider.place_id or ""


# --- providers --------------------------------------------------------------------------------------------------


@transaction.atomic
def provider_create(
    *,
    actor: Any,
    place: Place | None,
    name: str,
    kind: str,
    description: str = "",
    contact_name: str = "",
    contact_phone: str = "",
    ref: str = "",
) -> Provider:
    """Register a provider on a place (the staff of that place's subtree manage it). ``ref`` is generated unless given
    (imports give theirs). The same provider submitted twice on one place returns the first; another provider under a
    name already registered there is refused."""
    _required(name=name)
    _check_kind(kind, ProviderKind)
    name = name.strip()
    contact_phone = _check_contact_phone(contact_phone)
    fields = {
        "kind": kind,
        "description": description.strip(),
        "contact_name": contact_name.strip(),
        "contact_phone": contact_phone,
    }
    if place is not None:
        Place.objects.select_for_update().filter(code=place.code).first()  # serialise registrations on this place
    same = Provider.objects.filter(place=place, name=name).first()
    if same is not None:
        if all(getattr(same, k) == v for k, v in fields.items()) and (not ref or ref == same.ref):
            return same
        raise Conflict(
            _("该区划已登记同名资源方“%(name)s”") % {"name": name},
            fields={"name": [_("已有同名资源方")]},
            code="duplicate_name",
        )
    provider = Provider(ref=ref.strip() or f"P{secrets.token_hex(6).upper()}", name=name, place=place, **fields)
    full_clean_or_invalid(provider, validate_unique=False)
    try:
        with transaction.atomic():
            provider.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("编号重复：该资源方已存在"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    audit_record(
        actor=actor,
        action="create",
        target_type="provider",
        target_id=str(provider.pk),
        place_code=_place_code(provider),
        summary=f"登记资源方 {provider.name}（{provider.get_kind_display()}）",
    )
    return provider


@transaction.atomic
def provider_update(*, actor: Any, provider: Provider, **changes: Any) -> Provider:
    """Change the given fields of a provider (any of ``PROVIDER_FIELDS``; ``active=False`` retires it)."""
    unknown = set(changes) - set(PROVIDER_FIELDS)
    if unknown:
        raise _bad({name: [_("不能修改")] for name in sorted(unknown)})
    if "name" in changes:
        _required(name=changes["name"])
        changes["name"] = changes["name"].strip()
    if "kind" in changes:
        _check_kind(changes["kind"], ProviderKind)
    if "contact_phone" in changes:
        changes["contact_phone"] = _check_contact_phone(changes["contact_phone"])
    for name in ("description", "contact_name"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
    provider = _locked_provider(provider)
    renamed = "name" in changes and changes["name"] != provider.name
    same = Provider.objects.filter(place=provider.place_id, name=changes.get("name")).exclude(pk=provider.pk)
    if renamed and same.exists():
        raise Conflict(
            _("该区划已登记同名资源方“%(name)s”") % {"name": changes["name"]},
            fields={"name": [_("已有同名资源方")]},
            code="duplicate_name",
        )
    before = {name: getattr(provider, name) for name in changes}
    for name, value in changes.items():
        setattr(provider, name, value)
    full_clean_or_invalid(provider, validate_unique=False)
    changed = [name for name in changes if getattr(provider, name) != before[name]]
    if changed:
        provider.save(update_fields=[*changed, "updated_at"])
        audit_record(
            actor=actor,
            action="update",
            target_type="provider",
            target_id=str(provider.pk),
            place_code=_place_code(provider),
            summary=f"修改资源方 {provider.name}",
            changes={n: [str(before[n]), str(getattr(provider, n))] for n in changed},
        )
    return provider


# --- partner accounts -------------------------------------------------------------------------------------------


def _partner_grant_place(provider: Provider) -> Place | None:
    """The place a partner account's ``resource_partner`` role is granted on: the provider's registering place, when
    that role may be held at its level."""
    place = provider.place
    if place is None or place.level not in ROLE_LEVELS[Role.RESOURCE_PARTNER]:
        return None
    return place


@transaction.atomic
def provider_member_add(*, actor: Any, provider: Provider, phone: str, display_name: str = "") -> User:
    """Link an account — found or created by phone number (a new one has no password: the person sets one with an SMS
    code) — as one of the provider's partner accounts, and grant it the ``resource_partner`` role on the provider's
    place. Adding the same phone twice changes nothing."""
    if not (phone or "").strip():
        raise _bad({"phone": [_("必填")]})
    provider = _locked_provider(provider)
    user = people_services.user_for_grant(phone=phone, display_name=display_name.strip())
    through = Provider.members.through
    if through.objects.filter(provider_id=provider.pk, user_id=user.pk).exists():
        return user
    through.objects.create(provider_id=provider.pk, user_id=user.pk)
    place = _partner_grant_place(provider)
    if place is not None:
        people_services.role_grant(actor=actor, user=user, place=place, role=Role.RESOURCE_PARTNER)
        access.forget_grants(user)
    if hasattr(user, "_gongzhi_provider_ids"):
        del user._gongzhi_provider_ids
    audit_record(
        actor=actor,
        action="update",
        target_type="provider",
        target_id=str(provider.pk),
        place_code=_place_code(provider),
        summary=f"添加资源方账号 {protection.mask_phone(user.phone)}：{provider.name}",
    )
    return user


@transaction.atomic
def provider_member_remove(*, actor: Any, provider: Provider, user: User) -> None:
    """Unlink a partner account. Its ``resource_partner`` role on the provider's place goes too, unless it still
    speaks for another provider registered there. Removing someone who is not linked changes nothing."""
    provider = _locked_provider(provider)
    through = Provider.members.through
    deleted, _rows = through.objects.filter(provider_id=provider.pk, user_id=user.pk).delete()
    if not deleted:
        return
    place = _partner_grant_place(provider)
    if place is not None:
        still = through.objects.filter(user_id=user.pk, provider__place_id=place.code).exists()
        grant = RoleGrant.objects.filter(user=user, place=place, role=Role.RESOURCE_PARTNER).first()
        if grant is not None and not still:
            people_services.role_revoke(actor=actor, grant=grant)
            access.forget_grants(user)
    if hasattr(user, "_gongzhi_provider_ids"):
        del user._gongzhi_provider_ids
    audit_record(
        actor=actor,
        action="update",
        target_type="provider",
        target_id=str(provider.pk),
        place_code=_place_code(provider),
        summary=f"移除资源方账号 {protection.mask_phone(user.phone)}：{provider.name}",
    )


# --- resources --------------------------------------------------------------------------------------------------


def _area_places(service_area: Iterable[Place]) -> list[Place]:
    places = list({p.code: p for p in service_area}.values())
    wrong = [p.name for p in places if p.level not in AREA_LEVELS]
    if wrong:
        raise _bad({"service_area": [_("服务范围只能是街道或社区：%(names)s") % {"names": "、".join(wrong)}]})
    return sorted(places, key=lambda p: p.code)


def _check_capacity(capacity: Any) -> None:
    if capacity is not None and (not isinstance(capacity, int) or capacity < 1):
        raise _bad({"capacity": [_("请填写大于 0 的整数")]})


def _area_codes(resource: Resource) -> list[str]:
    return sorted(resource.service_area.values_list("code", flat=True))


@transaction.atomic
def resource_create(
    *,
    actor: Any,
    provider: Provider,
    kind: str,
    name: str,
    description: str = "",
    service_area: Sequence[Place] = (),
    available_from: datetime.date | None = None,
    available_until: datetime.date | None = None,
    availability: str = "",
    terms: str = "",
    capacity: int | None = None,
    ref: str = "",
) -> Resource:
    """Add a resource to a provider, with the streets and communities it serves. The same resource submitted twice
    returns the first; another resource under a name the provider already uses for that kind is refused."""
    _required(name=name)
    _check_kind(kind, ResourceKind)
    _check_capacity(capacity)
    area = _area_places(service_area)
    name = name.strip()
    provider = _locked_provider(provider)
    if not provider.active:
        raise Conflict(_("该资源方已停用，不能添加资源"), code="provider_inactive")
    fields = {
        "description": description.strip(),
        "available_from": available_from,
        "available_until": available_until,
        "availability": availability.strip(),
        "terms": terms.strip(),
        "capacity": capacity,
    }
    same = Resource.objects.filter(provider=provider, kind=kind, name=name).first()
    if same is not None:
        if all(getattr(same, k) == v for k, v in fields.items()) and _area_codes(same) == [p.code for p in area]:
            return same
        raise Conflict(
            _("该资源方已有同名同类资源“%(name)s”") % {"name": name},
            fields={"name": [_("已有同名资源")]},
            code="duplicate_name",
        )
    resource = Resource(
        ref=ref.strip() or f"R{secrets.token_hex(6).upper()}", provider=provider, kind=kind, name=name, **fields
    )
    full_clean_or_invalid(resource, validate_unique=False)
    try:
        with transaction.atomic():
            resource.save(force_insert=True)
    except IntegrityError as exc:
        raise Conflict(_("编号重复：该资源已存在"), fields={"ref": [_("编号已存在")]}, code="duplicate_ref") from exc
    resource.service_area.set(area)
    audit_record(
        actor=actor,
        action="create",
        target_type="resource",
        target_id=str(resource.pk),
        place_code=_place_code(provider),
        summary=f"添加资源 {resource.name}（{resource.get_kind_display()}）：{provider.name}",
        changes={"service_area": [p.code for p in area]},
    )
    return resource


@transaction.atomic
def resource_update(
    *, actor: Any, resource: Resource, service_area: Sequence[Place] | None = None, **changes: Any
) -> Resource:
    """Change the given fields of a resource (any of ``RESOURCE_FIELDS``) and, when given, its service area."""
    unknown = set(changes) - set(RESOURCE_FIELDS)
    if unknown:
        raise _bad({name: [_("不能修改")] for name in sorted(unknown)})
    if "name" in changes:
        _required(name=changes["name"])
        changes["name"] = changes["name"].strip()
    if "kind" in changes:
        _check_kind(changes["kind"], ResourceKind)
    if "capacity" in changes:
        _check_capacity(changes["capacity"])
    for name in ("description", "availability", "terms"):
        if name in changes:
            changes[name] = (changes[name] or "").strip()
    area = _area_places(service_area) if service_area is not None else None
    _locked_provider(resource.provider)
    resource = Resource.objects.select_related("provider", "provider__place").get(pk=resource.pk)
    if {"name", "kind"} & set(changes):
        name, kind = changes.get("name", resource.name), changes.get("kind", resource.kind)
        taken = Resource.objects.filter(provider_id=resource.provider_id, kind=kind, name=name).exclude(pk=resource.pk)
        if taken.exists():
            raise Conflict(
                _("该资源方已有同名同类资源“%(name)s”") % {"name": name},
                fields={"name": [_("已有同名资源")]},
                code="duplicate_name",
            )
    before = {name: getattr(resource, name) for name in changes}
    for name, value in changes.items():
        setattr(resource, name, value)
    full_clean_or_invalid(resource, validate_unique=False)
    changed = [name for name in changes if getattr(resource, name) != before[name]]
    diff: dict[str, Any] = {n: [str(before[n]), str(getattr(resource, n))] for n in changed}
    if changed:
        resource.save(update_fields=[*changed, "updated_at"])
    if area is not None:
        old = _area_codes(resource)
        new = [p.code for p in area]
        if old != new:
            resource.service_area.set(area)
            diff["service_area"] = [old, new]
    if diff:
        audit_record(
            actor=actor,
            action="update",
            target_type="resource",
            target_id=str(resource.pk),
            place_code=_place_code(resource.provider),
            summary=f"修改资源 {resource.name}",
            changes=diff,
        )
    return resource


@transaction.atomic
def resource_deactivate(*, actor: Any, resource: Resource) -> Resource:
    """Stop offering a resource (it stays on past activities and matches). Doing it twice changes nothing."""
    resource = Resource.objects.select_for_update(of=("self",)).select_related("provider").get(pk=resource.pk)
    if not resource.active:
        return resource
    resource.active = False
    resource.save(update_fields=["active", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="resource",
        target_id=str(resource.pk),
        place_code=_place_code(resource.provider),
        summary=f"停用资源 {resource.name}",
        changes={"active": ["True", "False"]},
    )
    return resource


# --- pairings ---------------------------------------------------------------------------------------------------


@transaction.atomic
def pairing_create(
    *,
    actor: Any,
    provider: Provider,
    place: Place,
    starts_on: datetime.date,
    commitments: str,
    ends_on: datetime.date | None = None,
) -> Pairing:
    """Pair a provider with a street or community from ``starts_on`` (to ``ends_on``, or open-ended) with its
    commitments. One pairing per provider, place and start date: the same submission twice returns the first."""
    _required(commitments=commitments)
    if starts_on is None:
        raise _bad({"starts_on": [_("必填")]})
    if place.level not in AREA_LEVELS:
        raise _bad({"place": [_("只能与街道或社区结对")]})
    if ends_on is not None and ends_on < starts_on:
        raise _bad({"ends_on": [_("结束日期不能早于开始日期")]})
    commitments = commitments.strip()
    provider = _locked_provider(provider)
    if not provider.active:
        raise Conflict(_("该资源方已停用，不能结对"), code="provider_inactive")
    same = Pairing.objects.filter(provider=provider, place=place, starts_on=starts_on).first()
    if same is not None:
        if same.commitments == commitments and same.ends_on == ends_on:
            return same
        raise Conflict(
            _("该资源方与%(place)s已有一项 %(day)s 开始的结对") % {"place": place.name, "day": starts_on.isoformat()},
            fields={"starts_on": [_("已有同一天开始的结对")]},
            code="duplicate_pairing",
        )
    overlapping = Pairing.objects.filter(provider=provider, place=place, starts_on__lte=ends_on or datetime.date.max)
    overlapping = overlapping.exclude(ends_on__lt=starts_on)
    if overlapping.exists():
        raise Conflict(
            _("该资源方与%(place)s的结对在这段时间内已存在，请先结束原结对") % {"place": place.name},
            fields={"starts_on": [_("与已有结对的期间重叠")]},
            code="overlapping_pairing",
        )
    pairing = Pairing(
        provider=provider,
        place=place,
        starts_on=starts_on,
        ends_on=ends_on,
        commitments=commitments,
        created_by=acting_user(actor),
    )
    full_clean_or_invalid(pairing, validate_unique=False)
    pairing.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="pairing",
        target_id=str(pairing.pk),
        place_code=place.code,
        summary=f"结对 {provider.name} ↔ {place.name}",
    )
    return pairing


@transaction.atomic
def pairing_end(*, actor: Any, pairing: Pairing, ends_on: datetime.date) -> Pairing:
    """End a pairing on a date (not before it started, nor before a delivery it recorded). Ending it again on the same
    date changes nothing; an ended pairing's end date may be moved."""
    if ends_on is None:
        raise _bad({"ends_on": [_("必填")]})
    pairing = _locked_pairing(pairing)
    if ends_on < pairing.starts_on:
        raise _bad({"ends_on": [_("结束日期不能早于开始日期（%(day)s）") % {"day": pairing.starts_on.isoformat()}]})
    last = pairing.deliveries.order_by("-delivered_on").values_list("delivered_on", flat=True).first()
    if last is not None and ends_on < last:
        raise _bad({"ends_on": [_("结束日期不能早于已登记的履约日期（%(day)s）") % {"day": last.isoformat()}]})
    if pairing.ends_on == ends_on:
        return pairing
    before = pairing.ends_on
    pairing.ends_on = ends_on
    full_clean_or_invalid(pairing, validate_unique=False)
    pairing.save(update_fields=["ends_on", "updated_at"])
    audit_record(
        actor=actor,
        action="update",
        target_type="pairing",
        target_id=str(pairing.pk),
        place_code=pairing.place_id,
        summary=f"结束结对 {pairing.provider.name} ↔ {pairing.place.name}",
        changes={"ends_on": [str(before or ""), ends_on.isoformat()]},
    )
    return pairing


@transaction.atomic
def delivery_record(
    *,
    actor: Any,
    pairing: Pairing,
    delivered_on: datetime.date,
    description: str,
    quantity: int | None = None,
) -> PairingDelivery:
    """Record what a pairing delivered (by staff or by the provider's partner account): a date inside the pairing's
    period and not in the future. The same record submitted twice is one record."""
    _required(description=description)
    if delivered_on is None:
        raise _bad({"delivered_on": [_("必填")]})
    if quantity is not None and (not isinstance(quantity, int) or quantity < 1):
        raise _bad({"quantity": [_("请填写大于 0 的整数")]})
    description = description.strip()
    pairing = _locked_pairing(pairing)
    if delivered_on > timezone.localdate():
        raise _bad({"delivered_on": [_("不能登记未来的日期")]})
    if delivered_on < pairing.starts_on or (pairing.ends_on is not None and delivered_on > pairing.ends_on):
        period = f"{pairing.starts_on.isoformat()} – {pairing.ends_on.isoformat() if pairing.ends_on else ''}"
        raise _bad({"delivered_on": [_("日期不在结对期间内（%(period)s）") % {"period": period.strip(" –")}]})
    same = PairingDelivery.objects.filter(
        pairing=pairing, delivered_on=delivered_on, description=description, quantity=quantity
    ).first()
    if same is not None:
        return same
    delivery = PairingDelivery(
        pairing=pairing,
        delivered_on=delivered_on,
        description=description,
        quantity=quantity,
        recorded_by=acting_user(actor),
    )
    full_clean_or_invalid(delivery, validate_unique=False)
    delivery.save(force_insert=True)
    audit_record(
        actor=actor,
        action="create",
        target_type="pairing_delivery",
        target_id=str(delivery.pk),
        place_code=pairing.place_id,
        summary=f"结对履约 {pairing.provider.name} ↔ {pairing.place.name}：{description}"[:300],
    )
    return delivery
