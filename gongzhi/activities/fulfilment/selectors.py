"""Reads for fulfilment: which activities and places staff may fulfil a need with, and what a resident may rate."""

from __future__ import annotations

import datetime
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people.models import Resident
from gongzhi.places.models import Place
from gongzhi.resources.models import Need, NeedStatus, Rating

from ..models import Activity
from ..selectors import activities_visible
from .services import activity_places, came_to_fulfilment

PICKER_LIMIT = 100


def fulfil_activity_choices(*, user: Any, need: Need, limit: int = PICKER_LIMIT) -> list[Activity]:
    """Activities that may fulfil the need: held in its community or its street, already begun (today or before),
    not yet linked to it, that the user manages; newest first. One query."""
    tomorrow = timezone.localdate() + datetime.timedelta(days=1)
    before = timezone.make_aware(datetime.datetime.combine(tomorrow, datetime.time.min))
    rows = (
        activities_visible(user=user)
        .filter(place_id__in=activity_places(need), starts_at__lt=before)
        .exclude(needs=need)[: limit * 2]
    )
    return [a for a in rows if user.has_perm("activities.change_activity", a)][:limit]


def fulfil_place_choices(*, user: Any, need: Need) -> list[Place]:
    """Where the user may create the activity that met the need: the need's community and its street, if they may
    add activities there. One query."""
    places = Place.objects.filter(code__in=activity_places(need)).order_by("-code")
    return [p for p in places if user.has_perm("activities.add_activity", p)]


@dataclass(frozen=True)
class RatingState:
    """What a resident may do about rating a need."""

    resident: Resident | None
    came: bool
    rating: Rating | None

    @property
    def can_rate(self) -> bool:
        return self.resident is not None and self.came and self.rating is None


def rating_state(*, user: Any, need: Need) -> RatingState:
    """The logged-in resident's position on rating this need: whether they came to a fulfilling activity and their
    rating if they gave one. Two queries at most."""
    resident = (
        Resident.objects.filter(user_id=user.pk).order_by().first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if resident is None:
        return RatingState(resident=None, came=False, rating=None)
    rating = Rating.objects.filter(need=need, resident=resident).first()
    came = need.status == NeedStatus.FULFILLED and came_to_fulfilment(resident=resident, need=need)
    return RatingState(resident=resident, came=came, rating=rating)


def need_for_rating(*, user: Any, need_id: Any) -> Need:
    """A need the user may rate or see their rating of: one they may see (``resources.view_need``) or one fulfilled by
    an activity they came to (a neighbour from the next community at a street lecture); any other does not exist."""
    try:
        need = (
            Need.objects.select_related("community", "resource", "resource__provider", "raised_by")
            .filter(pk=need_id)
            .first()
        )
    except (ValueError, ValidationError, TypeError):
        need = None
    if need is None:
        raise NotFound(_("找不到该需求"))
    if user.has_perm("resources.view_need", need):
        return need
    resident = (
        Resident.objects.filter(user_id=user.pk).order_by().first()
        if getattr(user, "is_authenticated", False)
        else None
    )
    if resident is None or not came_to_fulfilment(resident=resident, need=need):
        raise NotFound(_("找不到该需求"))
    return need
