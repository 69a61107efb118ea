"""Reads of the computations and settings pages and API (always for a place the caller works on)."""

from __future__ import annotations

import uuid
from typing import Any

from django.db.models import Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places import codes
from gongzhi.places.models import Place

from ..models import Computation, ComputationStatus, MeasureSettings

LIVE = (ComputationStatus.QUEUED, ComputationStatus.RUNNING)


def _covering_scopes(place: Place) -> list[str]:
    """The scopes that cover a place: every community (""), its ancestors."""
    return ["", *codes.ancestor_codes(place.code)]


def computations_visible(*, place: Place) -> QuerySet[Computation]:
    """Computations over the place, inside it, or covering it — newest first (index computation_period_scope serves
    the scope filter; the list is small)."""
    return (
        Computation.objects.filter(Q(scope_code__startswith=place.prefix) | Q(scope_code__in=_covering_scopes(place)))
        .select_related("requested_by")
        .order_by("-created_at", "-id")
    )


def live_computation(*, period: str, scope_code: str) -> Computation | None:
    return Computation.objects.filter(period=period, scope_code=scope_code, status__in=LIVE).first()


def any_live(*, place: Place) -> bool:
    return computations_visible(place=place).filter(status__in=LIVE).exists()


def computation_with_user(pk: Any) -> Computation:
    return Computation.objects.select_related("requested_by").get(pk=pk)


def computation_get(*, user: Any, computation_id: uuid.UUID) -> Computation:
    """A computation the user may see: its scope is inside, or covers, a place they see dashboards of."""
    computation = Computation.objects.select_related("requested_by").filter(pk=computation_id).first()
    if computation is None or not _may_see(user, computation):
        raise NotFound(_("找不到该计算记录"))
    return computation


def _may_see(user: Any, computation: Computation) -> bool:
    """Staff see a computation whose scope is inside a place they cover, or covers one (every community: "")."""
    allowed = access.prefixes(user, access.STAFF_ROLES)
    if allowed is None:
        return True
    scope = computation.scope_code
    if not scope:
        return bool(allowed)
    scope_prefix = codes.prefix_of(scope)
    return any(scope.startswith(p) or p.startswith(scope_prefix) for p in allowed)


def settings_versions(*, place: Place, limit: int = 50) -> QuerySet[MeasureSettings]:
    """The place's own settings versions, newest first."""
    return (
        MeasureSettings.objects.filter(place=place)
        .select_related("created_by", "place")
        .order_by("-created_at", "-id")[:limit]
    )


def settings_history(*, place: Place, limit: int = 50) -> QuerySet[MeasureSettings]:
    """The versions on the place and its ancestors (what is or was in force for it), newest first."""
    return (
        MeasureSettings.objects.filter(place_id__in=[*codes.ancestor_codes(place.code), place.code])
        .select_related("created_by", "place")
        .order_by("-created_at", "-id")[:limit]
    )
