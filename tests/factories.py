"""factory_boy factories. Places are plain rows (the code decides level and parent); people go through services."""

from __future__ import annotations

import datetime
import itertools

import factory

from gongzhi.people import services
from gongzhi.people.models import User
from gongzhi.places import codes
from gongzhi.places.models import Place

_phones = itertools.count(13800000000)


def next_phone() -> str:
    return str(next(_phones))


class PlaceFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Place
        django_get_or_create = ("code",)

    code = "330000000000"
    name = factory.LazyAttribute(lambda o: f"区划{o.code}")
    level = factory.LazyAttribute(lambda o: codes.level_of(o.code))
    parent_id = factory.LazyAttribute(lambda o: codes.parent_code_of(o.code))


class UserFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = User
        skip_postgeneration_save = True

    phone = factory.LazyFunction(next_phone)
    display_name = factory.Sequence(lambda n: f"用户{n}")
    password = factory.django.Password("gongzhi-test-pw")


def place_chain(code: str) -> Place:
    """Create a place and all its ancestors (idempotent)."""
    place = None
    for c in [*codes.ancestor_codes(code), code]:
        place = PlaceFactory(code=c)
    assert place is not None
    return place


def resident(
    community: Place,
    *,
    name: str = "张小明",
    household: str = "local",
    phone: str = "",
    id_number: str = "",
    ref: str = "",
    actor=None,
    **extra,
):
    return services.resident_register(
        actor=actor,
        community=community,
        name=name,
        household=household,
        phone=phone,
        id_number=id_number,
        registered_on=extra.pop("registered_on", datetime.date(2024, 1, 1)),
        ref=ref,
        **extra,
    )


def staff(role: str, place: Place, *, phone: str | None = None) -> User:
    user = UserFactory(phone=phone or next_phone())
    services.role_grant(actor=None, user=user, place=place, role=role)
    return user
