"""Reads that join activities and 联 link resources: which providers reach which communities (the resource network of
METHOD.md III1–III4), and the spaces and resources an activity may name. Selectors: each takes the acting user.

The network of a place's subtree over a date range has two kinds of node — providers, and the streets and communities
where their resources arrived — and an edge from a provider to a place weighted by the activities held there that used
one of its resources (``Activity.resources``) plus the needs of that community its resources fulfilled
(``Need.resource``, fulfilled in the range). An activity held at a street reaches the street. Three grouped queries,
whatever the size of the subtree.
"""

from __future__ import annotations

import datetime
from dataclasses import dataclass, field
from typing import Any

from django.db.models import Count, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places.models import Place
from gongzhi.resources.models import LearningSpace, Need, NeedStatus, ProviderKind, Resource, ResourceKind
from gongzhi.resources.rules import provider_ids
from gongzhi.resources.selectors import providers as provider_selectors

from .models import Activity


@dataclass
class ProviderNode:
    id: str
    name: str
    kind: str
    kind_label: str
    activities: int = 0
    needs: int = 0
    places: set[str] = field(default_factory=set)

    @property
    def weight(self) -> int:
        return self.activities + self.needs


@dataclass
class PlaceNode:
    code: str
    name: str
    level: str
    activities: int = 0
    needs: int = 0
    providers: set[str] = field(default_factory=set)

    @property
    def weight(self) -> int:
        return self.activities + self.needs


@dataclass
class Edge:
    provider_id: str
    place_code: str
    provider_name: str = ""
    provider_kind_label: str = ""
    place_name: str = ""
    activities: int = 0
    needs: int = 0
    resources: dict[str, str] = field(default_factory=dict)  # id → name

    @property
    def weight(self) -> int:
        return self.activities + self.needs

    @property
    def resource_names(self) -> list[str]:
        return sorted(self.resources.values())


@dataclass
class SharedResource:
    """A resource that reached more than one place."""

    id: str
    name: str
    kind_label: str
    provider_id: str
    provider_name: str
    places: list[str]  # names, in code order
    uses: int


@dataclass
class ResourceNetwork:
    place: Place
    date_from: datetime.date
    date_to: datetime.date
    providers: dict[str, ProviderNode]
    places: dict[str, PlaceNode]
    edges: list[Edge]
    shared: list[SharedResource]

    def chart(self) -> dict[str, Any]:
        """Nodes, links and categories for an ECharts graph series."""
        nodes: list[dict[str, Any]] = []
        for p in self.providers.values():
            nodes.append(
                {
                    "id": f"p:{p.id}",
                    "name": p.name,
                    "category": 0,
                    "value": p.weight,
                    "symbolSize": 18 + min(p.weight, 20) * 2,
                    "detail": p.kind_label,
                }
            )
        for c in self.places.values():
            nodes.append(
                {
                    "id": f"c:{c.code}",
                    "name": c.name,
                    "category": 1 if c.level == "community" else 2,
                    "value": c.weight,
                    "symbolSize": 14 + min(c.weight, 20) * 2,
                    "detail": c.code,
                }
            )
        links = [
            {
                "source": f"p:{e.provider_id}",
                "target": f"c:{e.place_code}",
                "value": e.weight,
                "activities": e.activities,
                "needs": e.needs,
                "lineStyle": {"width": 1 + min(e.weight, 10)},
            }
            for e in self.edges
        ]
        categories = [{"name": str(_("资源方"))}, {"name": str(_("社区"))}, {"name": str(_("街道"))}]
        return {"nodes": nodes, "links": links, "categories": categories}


def _day_bounds(date_from: datetime.date, date_to: datetime.date) -> tuple[datetime.datetime, datetime.datetime]:
    tz = timezone.get_current_timezone()
    start = datetime.datetime.combine(date_from, datetime.time.min, tzinfo=tz)
    end = datetime.datetime.combine(date_to + datetime.timedelta(days=1), datetime.time.min, tzinfo=tz)
    return start, end


def resource_network(
    *,
    user: Any,
    place: Place,
    date_from: datetime.date,
    date_to: datetime.date,
    provider_id: Any = None,
) -> ResourceNetwork:
    """The provider → place network of ``place``'s subtree from ``date_from`` to ``date_to`` (both included), for staff
    covering ``place`` (anyone else: not found). ``provider_id`` keeps one provider's edges. Three grouped queries: the
    uses by resource and place, the distinct activities by provider and place, the fulfilled needs by resource and
    community."""
    if not access.has_role_covering(user, place.code, access.STAFF_ROLES):
        raise NotFound(_("找不到该区划"))
    start, end = _day_bounds(date_from, date_to)
    uses = Activity.resources.through.objects.filter(
        activity__place__code__startswith=place.prefix, activity__starts_at__gte=start, activity__starts_at__lt=end
    )
    fulfilled = Need.objects.filter(
        community__code__startswith=place.prefix,
        status=NeedStatus.FULFILLED,
        fulfilled_on__gte=date_from,
        fulfilled_on__lte=date_to,
        resource__isnull=False,
    )
    if provider_id is not None:
        uses = uses.filter(resource__provider_id=provider_id)
        fulfilled = fulfilled.filter(resource__provider_id=provider_id)
    use_rows = (
        uses.order_by()
        .values(
            "resource_id",
            "resource__name",
            "resource__kind",
            "resource__provider_id",
            "resource__provider__name",
            "resource__provider__kind",
            "activity__place_id",
            "activity__place__name",
            "activity__place__level",
        )
        .annotate(n=Count("activity_id", distinct=True))
    )
    edge_rows = (
        uses.order_by()
        .values("resource__provider_id", "activity__place_id")
        .annotate(n=Count("activity_id", distinct=True))
    )
    need_rows = (
        fulfilled.order_by()
        .values(
            "resource_id",
            "resource__name",
            "resource__kind",
            "resource__provider_id",
            "resource__provider__name",
            "resource__provider__kind",
            "community_id",
            "community__name",
            "community__level",
        )
        .annotate(n=Count("id"))
    )
    kind_labels = dict(ResourceKind.choices)
    provider_kind_labels = dict(ProviderKind.choices)
    providers: dict[str, ProviderNode] = {}
    places: dict[str, PlaceNode] = {}
    edges: dict[tuple[str, str], Edge] = {}
    resource_places: dict[str, dict[str, Any]] = {}

    def add(row: dict[str, Any], code: str, name: str, level: str, how: str, count: bool) -> None:
        pid = str(row["resource__provider_id"])
        rid = str(row["resource_id"])
        node = providers.get(pid)
        if node is None:
            kind = row["resource__provider__kind"]
            node = providers[pid] = ProviderNode(
                id=pid,
                name=row["resource__provider__name"],
                kind=kind,
                kind_label=str(provider_kind_labels.get(kind, kind)),
            )
        target = places.get(code)
        if target is None:
            target = places[code] = PlaceNode(code=code, name=name, level=level)
        edge = edges.get((pid, code))
        if edge is None:
            edge = edges[(pid, code)] = Edge(
                provider_id=pid,
                place_code=code,
                provider_name=node.name,
                provider_kind_label=node.kind_label,
                place_name=name,
            )
        n = int(row["n"])
        if count:
            setattr(edge, how, getattr(edge, how) + n)
            setattr(node, how, getattr(node, how) + n)
            setattr(target, how, getattr(target, how) + n)
        node.places.add(code)
        target.providers.add(pid)
        edge.resources[rid] = row["resource__name"]
        info = resource_places.setdefault(
            rid,
            {
                "name": row["resource__name"],
                "kind": row["resource__kind"],
                "provider_id": pid,
                "provider_name": row["resource__provider__name"],
                "places": {},
                "uses": 0,
            },
        )
        info["places"][code] = name
        info["uses"] += n

    for use in use_rows:
        row: dict[str, Any] = dict(use)
        code = row["activity__place_id"]
        add(row, code, row["activity__place__name"], row["activity__place__level"], "activities", False)
    for need in need_rows:
        row = dict(need)
        add(row, row["community_id"], row["community__name"], row["community__level"], "needs", True)
    # An activity that used two resources of one provider is one activity on that provider's edge.
    for edge_row in edge_rows:
        key = (str(edge_row["resource__provider_id"]), edge_row["activity__place_id"])
        n = int(edge_row["n"])
        edges[key].activities += n
        providers[key[0]].activities += n
        places[key[1]].activities += n
    shared = [
        SharedResource(
            id=rid,
            name=info["name"],
            kind_label=str(kind_labels.get(info["kind"], info["kind"])),
            provider_id=info["provider_id"],
            provider_name=info["provider_name"],
            places=[info["places"][c] for c in sorted(info["places"])],
            uses=info["uses"],
        )
        for rid, info in resource_places.items()
        if len(info["places"]) > 1
    ]
    shared.sort(key=lambda s: (-len(s.places), -s.uses, s.name))
    ordered = sorted(edges.values(), key=lambda e: (-e.weight, providers[e.provider_id].name, e.place_code))
    return ResourceNetwork(
        place=place,
        date_from=date_from,
        date_to=date_to,
        providers=dict(sorted(providers.items(), key=lambda kv: (-kv[1].weight, kv[1].name))),
        places=dict(sorted(places.items())),
        edges=ordered,
        shared=shared,
    )


# --- what an activity may name ----------------------------------------------------------------------------------


def spaces_for_activity(*, user: Any, place: Place) -> QuerySet[LearningSpace]:
    """Active learning spaces the user may book, in ``place``'s street (or subtree, above a street): the spaces of places
    their staff roles cover, and the spaces of their own providers. One query."""
    if not getattr(user, "is_authenticated", False):
        return LearningSpace.objects.none()
    near = place.prefix if place.level != "community" else place.code[:9]
    mine = Q(resource__provider_id__in=sorted(provider_ids(user), key=str))
    qs = LearningSpace.objects.filter(active=True, place__code__startswith=near)
    qs = qs.filter(access.prefix_q("place__code", user, access.STAFF_ROLES) | mine)
    return qs.select_related("place").order_by("place_id", "name")


def resources_for_activity(*, user: Any, place: Place) -> QuerySet[Resource]:
    """Active resources the user may see, which an activity held at ``place`` may name (a resource need not declare the
    place in its service area: it may travel). Two queries with the service areas."""
    return provider_selectors.resources_visible(user=user, active=True)


@dataclass
class ActivityUse:
    space: LearningSpace | None
    booking: Any
    resources: list[Resource]


def activity_use(*, user: Any, activity: Activity) -> ActivityUse:
    """The space (with its booking) and the resources an activity used, for someone who may see the activity (the
    caller got it through ``activities.selectors.activity_get``). Two queries."""
    if not getattr(user, "is_authenticated", False):
        return ActivityUse(space=None, booking=None, resources=[])
    space = booking = None
    if activity.space_id is not None or activity.booking_id is not None:
        row = Activity.objects.select_related("space", "space__place", "booking").get(pk=activity.pk)
        space, booking = row.space, row.booking
    resources = list(activity.resources.select_related("provider").order_by("provider__name", "name"))
    return ActivityUse(space=space, booking=booking, resources=resources)
