"""Reads of the place tree. Each look-up is one query, whatever the depth."""

from __future__ import annotations

from django.db.models import QuerySet
from django.utils.translation import gettext as _

from . import codes
from .models import Place


def place_get(*, code: str) -> Place | None:
    return Place.objects.filter(code=code).first()


def place_subtree(*, place: Place, include_self: bool = True, level: str | None = None) -> QuerySet[Place]:
    qs = Place.objects.filter(code__startswith=place.prefix)
    if not include_self:
        qs = qs.exclude(code=place.code)
    if level:
        qs = qs.filter(level=level)
    return qs.order_by("code")


def place_ancestors(*, place: Place) -> list[Place]:
    wanted = codes.ancestor_codes(place.code)
    found = {p.code: p for p in Place.objects.filter(code__in=wanted)}
    return [found[c] for c in wanted if c in found]


def place_children(*, place: Place) -> QuerySet[Place]:
    return Place.objects.filter(parent=place).order_by("code")


def place_for_user(*, user, code: str) -> Place:
    """A place the user covers with some role; any other code (unknown, malformed, elsewhere) is not found."""
    from gongzhi.core.errors import NotFound

    place = Place.objects.filter(code=code).first() if codes.CODE_RE.match(code or "") else None
    if place is None or not user.has_perm("places.view_place", place):
        raise NotFound(_("找不到该区划"))
    return place


def population_by_year(*, place: Place) -> list[dict[str, int]]:
    """Population by year: a community's own figures; above a community, the sum over its communities. One query."""
    from django.db.models import Sum

    from .models import Population

    rows = Population.objects.filter(place__code__startswith=place.prefix, place__level="community")
    return [
        {"year": r["year"], "population": r["total"]}
        for r in rows.order_by().values("year").annotate(total=Sum("population")).order_by("year")
    ]
