"""What the 治理成效 dashboards show, read from the stored snapshots only (never the engine).

Every reader takes the acting user and checks ``analytics.view_dashboard`` on the place: staff see their own subtree,
anything else is not found. Each reader runs a fixed number of queries, whatever the number of communities, indicators
or periods:

``dashboard``: (1) the place's dimension rows over every period — the periods and the trend; (2) the place's rows for
the period; (3) the computation behind them; (4) the place's diagnosis; (5) the visible ancestors (breadcrumbs);
(6) the places compared (the children, or a count of the communities beneath); (7) their dimension rows, ranked in the
database; (8) their diagnoses.

``network``: (1) the periods with a graph; (2) the graph; (3) the graph measures; (4) the ancestors.
"""

from __future__ import annotations

import datetime
from collections import defaultdict
from dataclasses import dataclass, field
from typing import Any

from django.db.models import F, Q, QuerySet
from django.utils.translation import gettext as _

from gongzhi.core.errors import NotFound
from gongzhi.people import access
from gongzhi.places import codes
from gongzhi.places.models import Level, Place

from .. import catalogue
from ..engine import spec
from ..engine.config import DEFAULT_GRAPH_LIMIT, DEFAULT_THRESHOLD, default_goalposts
from ..engine.periods import Period, PeriodError
from ..models import Computation, DiagnosisSnapshot, GraphSnapshot, IndicatorSnapshot, Weighting

VIEW = "analytics.view_dashboard"
RANK_LIMIT = 500  # places in one ranking (the lowest-ranked beyond it are left out, and the page says so)
NETWORK_IDS: tuple[str, ...] = ("NODES", "EDGES", "DENSITY", "III5", "III6", "III7")
ABOVE_STREET = frozenset({Level.PROVINCE, Level.CITY, Level.DISTRICT})


# --- places --------------------------------------------------------------------------------------------------------


def may_view(user: Any, place: Place | str) -> bool:
    return bool(getattr(user, "is_authenticated", False)) and user.has_perm(VIEW, place)


def place_for_dashboard(*, user: Any, code: str) -> Place:
    """The place with this code when the user may see its dashboard; unknown, malformed or elsewhere: not found."""
    place = None
    if isinstance(code, str) and codes.CODE_RE.match(code) and may_view(user, code):
        place = Place.objects.filter(code=code).first()
    if place is None:
        raise NotFound(_("找不到该区划"))
    return place


def _check(user: Any, place: Place) -> None:
    if not may_view(user, place):
        raise NotFound(_("找不到该区划"))


@dataclass(frozen=True)
class Crumb:
    code: str
    name: str
    level: str


def _crumbs(user: Any, place: Place) -> list[Crumb]:
    """The ancestors the user may see (one query), top down; the place itself is not included."""
    wanted = [c for c in codes.ancestor_codes(place.code) if may_view(user, c)]
    if not wanted:
        return []
    found = {p.code: p for p in Place.objects.filter(code__in=wanted).only("code", "name", "level")}
    return [Crumb(c, found[c].name, found[c].level) for c in wanted if c in found]


# --- periods -------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class PeriodChoice:
    key: str
    label: str
    quarterly: bool


def period_label(key: str) -> str:
    p = Period.parse(key)
    if p.quarter is None:
        return _("%(year)s 年") % {"year": p.year}
    return _("%(year)s 年第 %(q)s 季度") % {"year": p.year, "q": p.quarter}


def _period_sort_key(key: str) -> tuple[datetime.date, int]:
    p = Period.parse(key)
    return (p.end, 1 if p.quarter is None else 0)  # a year after its own fourth quarter


def sorted_periods(keys: Any) -> list[str]:
    """Valid period keys, oldest first (a year after its last quarter); anything else is dropped."""
    good = []
    for k in set(keys):
        try:
            Period.parse(k)
        except PeriodError:
            continue
        good.append(k)
    return sorted(good, key=_period_sort_key)


def parse_period(raw: str | None) -> str | None:
    """A period key from a query string; None when empty. Raises ``PeriodError`` for anything malformed."""
    if raw is None or not raw.strip():
        return None
    return Period.parse(raw).key


def _choices(keys: list[str]) -> list[PeriodChoice]:
    """Newest first."""
    return [PeriodChoice(k, period_label(k), Period.parse(k).quarter is not None) for k in reversed(keys)]


class PeriodsMixin:
    periods: list[PeriodChoice]

    @property
    def years(self) -> list[PeriodChoice]:
        return [p for p in self.periods if not p.quarterly]

    @property
    def quarters(self) -> list[PeriodChoice]:
        return [p for p in self.periods if p.quarterly]


# --- the dashboard -------------------------------------------------------------------------------------------------


@dataclass
class ComputationInfo:
    id: str
    period: str
    scope_code: str
    finished_at: datetime.datetime | None
    trigger: str
    weighting: str
    weighting_label: str
    threshold: float
    graph_limit: int
    goalposts: dict[str, tuple[float, float]]
    changed_goalposts: list[tuple[str, str, float, float]]  # (id, name, lo, hi) differing from METHOD.md
    expert_weights: dict[str, float]


@dataclass
class IndicatorView:
    id: str
    info: catalogue.IndicatorInfo
    value: float | None
    score: float | None
    numerator: float | None
    denominator: float | None
    goalposts: tuple[float, float] | None
    weak: bool = False  # named by the diagnosis as pulling its dimension down

    @property
    def value_text(self) -> str:
        return self.info.format(self.value)

    @property
    def score_text(self) -> str:
        return catalogue.format_score(self.score) if self.info.scored else ""

    @property
    def goalposts_text(self) -> str:
        if self.goalposts is None:
            return ""
        lo, hi = self.goalposts
        return f"{self.info.format(lo)} → {self.info.format(hi)}"

    @property
    def has_ratio(self) -> bool:
        return self.numerator is not None or self.denominator is not None

    def fraction_text(self) -> str:
        if not self.has_ratio:
            return ""
        num = "—" if self.numerator is None else f"{self.numerator:,.10g}"
        den = "—" if self.denominator is None else f"{self.denominator:,.10g}"
        return f"{num} / {den}"


@dataclass
class DimensionView:
    row: str  # DIM_I … COMPOSITE
    dim: catalogue.DimensionInfo | None  # None for the composite
    label: str
    score: float | None
    below: bool  # under the threshold
    dilemma: bool  # a dominant dilemma of the diagnosis

    @property
    def score_text(self) -> str:
        return catalogue.format_score(self.score)


@dataclass
class DilemmaView:
    dim: catalogue.DimensionInfo
    score: float | None
    weak: list[IndicatorView]


@dataclass
class DiagnosisView:
    dilemmas: list[DilemmaView]
    lowest: DimensionView | None  # the lowest dimension when there is no dominant dilemma

    @property
    def text(self) -> str:
        if not self.dilemmas:
            return str(catalogue.NO_DILEMMA)
        return "；".join(str(d.dim.dilemma) for d in self.dilemmas)


@dataclass
class RankRow:
    code: str
    name: str
    level: str
    rank: int | None
    scores: dict[str, float | None]  # DIM_I … COMPOSITE
    dilemmas: str  # as stored
    has_data: bool

    @property
    def dilemma_text(self) -> str:
        return catalogue.dilemma_text(self.dilemmas) if self.has_data else ""

    def score_text(self, row: str) -> str:
        return catalogue.format_score(self.scores.get(row))

    @property
    def cells(self) -> list[str]:
        return [self.score_text(r) for r in catalogue.DIMENSION_ROWS]


@dataclass
class Ranking:
    mode: str  # "children" or "communities"
    modes: list[str]
    rows: list[RankRow]
    total: int  # places that could be ranked (children, or communities beneath)
    with_data: int
    truncated: bool


@dataclass
class Dashboard(PeriodsMixin):
    place: Place
    period: str | None
    periods: list[PeriodChoice]
    crumbs: list[Crumb]
    computation: ComputationInfo | None = None
    dimensions: list[DimensionView] = field(default_factory=list)
    diagnosis: DiagnosisView | None = None
    indicators: list[IndicatorView] = field(default_factory=list)
    trend: dict[str, dict[str, list[Any]]] = field(default_factory=dict)
    ranking: Ranking | None = None
    requested_missing: bool = False  # the period asked for has no results here

    @property
    def has_data(self) -> bool:
        return bool(self.indicators) or any(d.score is not None for d in self.dimensions)

    @property
    def threshold(self) -> float:
        return self.computation.threshold if self.computation else DEFAULT_THRESHOLD

    @property
    def period_label(self) -> str:
        return period_label(self.period) if self.period else ""

    @property
    def is_community(self) -> bool:
        return self.place.level == Level.COMMUNITY

    def indicator_groups(self) -> list[tuple[str, list[IndicatorView]]]:
        """The indicators by dimension, then the reported ones (survey satisfaction, III7, E, G, counts)."""
        groups: list[tuple[str, list[IndicatorView]]] = []
        for dim in spec.DIMENSIONS:
            rows = [i for i in self.indicators if i.info.dimension == dim and i.info.scored]
            if rows:
                groups.append((catalogue.DIMENSIONS[dim].label, rows))
        rest = [i for i in self.indicators if not i.info.scored]
        if rest:
            groups.append((_("只报告、不计分"), rest))
        return groups

    def indicator(self, id_: str) -> IndicatorView | None:
        return next((i for i in self.indicators if i.id == id_), None)


def _computation_info(comp: Computation) -> ComputationInfo:
    config = comp.config or {}
    defaults = default_goalposts()
    posts: dict[str, tuple[float, float]] = dict(defaults)
    for key, pair in (config.get("goalposts") or {}).items():
        try:
            posts[key] = (float(pair[0]), float(pair[1]))
        except (TypeError, ValueError, IndexError):
            continue
    changed = [
        (k, str(catalogue.indicator(k).name), lo, hi)
        for k, (lo, hi) in sorted(
            posts.items(), key=lambda kv: spec.EXPORT_IDS.index(kv[0]) if kv[0] in spec.EXPORT_IDS else 99
        )
        if k in defaults and defaults[k] != (lo, hi)
    ]
    weighting = str(config.get("weighting") or Weighting.EQUAL)
    labels = dict(Weighting.choices)
    return ComputationInfo(
        id=str(comp.pk),
        period=comp.period,
        scope_code=comp.scope_code,
        finished_at=comp.finished_at or comp.created_at,
        trigger=comp.trigger,
        weighting=weighting,
        weighting_label=str(labels.get(weighting, weighting)),
        threshold=float(config.get("threshold", DEFAULT_THRESHOLD)),
        graph_limit=int(config.get("graph_limit", DEFAULT_GRAPH_LIMIT)),
        goalposts=posts,
        changed_goalposts=changed,
        expert_weights={k: float(v) for k, v in (config.get("expert_weights") or {}).items()},
    )


def _goalposts(
    id_: str, info: catalogue.IndicatorInfo, posts: dict[str, tuple[float, float]]
) -> tuple[float, float] | None:
    if not info.scored:
        return None
    if id_ in posts:
        return posts[id_]
    s = spec.BY_ID.get(id_)
    return (s.lo, s.hi) if s is not None and s.lo is not None and s.hi is not None else None


def _trend(rows: list[dict[str, Any]]) -> dict[str, dict[str, list[Any]]]:
    """{"year": {"periods": [...], "labels": [...], "DIM_I": [...], …}, "quarter": {...}} oldest first."""
    by_period: dict[str, dict[str, float | None]] = defaultdict(dict)
    for r in rows:
        by_period[r["period"]][r["indicator"]] = r["score"]
    out: dict[str, dict[str, list[Any]]] = {}
    for freq, quarterly in (("year", False), ("quarter", True)):
        keys = [k for k in sorted_periods(by_period) if (Period.parse(k).quarter is not None) == quarterly]
        series: dict[str, list[Any]] = {"periods": keys, "labels": [period_label(k) for k in keys]}
        for row in catalogue.DIMENSION_ROWS:
            series[row] = [by_period[k].get(row) for k in keys]
        out[freq] = series
    return out


def _scope_filter(place: Place, mode: str, prefix: str = "place__") -> Q:
    if mode == "communities":
        return Q(**{f"{prefix}code__startswith": place.prefix, f"{prefix}level": Level.COMMUNITY})
    return Q(**{f"{prefix}parent_id": place.code})


def ranking_modes(place: Place) -> list[str]:
    if place.level == Level.COMMUNITY:
        return []
    if place.level in ABOVE_STREET:
        return ["children", "communities"]
    return ["children"]


def _ranking(place: Place, period: str, mode: str) -> Ranking:
    modes = ranking_modes(place)
    if mode not in modes:
        mode = modes[0]
    ranked = (
        IndicatorSnapshot.objects.filter(_scope_filter(place, mode), period=period, indicator=spec.COMPOSITE)
        .order_by(F("score").desc(nulls_last=True), "place_id")
        .values("place_id")[:RANK_LIMIT]
    )
    rows = list(
        IndicatorSnapshot.objects.filter(
            period=period, indicator__in=catalogue.DIMENSION_ROWS, place_id__in=ranked
        ).values("place_id", "place__name", "place__level", "indicator", "score")
    )
    dilemmas = dict(
        DiagnosisSnapshot.objects.filter(period=period, place_id__in=ranked).values_list("place_id", "dilemmas")
    )
    by_place: dict[str, RankRow] = {}
    for r in rows:
        row = by_place.get(r["place_id"])
        if row is None:
            row = by_place[r["place_id"]] = RankRow(
                code=r["place_id"],
                name=r["place__name"],
                level=r["place__level"],
                rank=None,
                scores={k: None for k in catalogue.DIMENSION_ROWS},
                dilemmas=dilemmas.get(r["place_id"], ""),
                has_data=True,
            )
        row.scores[r["indicator"]] = r["score"]
    ordered = sorted(
        by_place.values(),
        key=lambda x: (x.scores[spec.COMPOSITE] is None, -(x.scores[spec.COMPOSITE] or 0.0), x.code),
    )
    for i, row in enumerate(ordered, start=1):
        row.rank = i if row.scores[spec.COMPOSITE] is not None else None
    if mode == "children":
        children = list(
            Place.objects.filter(parent_id=place.code).order_by("code").values_list("code", "name", "level")
        )
        total = len(children)
        ordered += [
            RankRow(code, name, level, None, {k: None for k in catalogue.DIMENSION_ROWS}, "", False)
            for code, name, level in children
            if code not in by_place
        ]
    else:
        total = Place.objects.filter(code__startswith=place.prefix, level=Level.COMMUNITY).count()
    with_data = len(by_place)
    return Ranking(
        mode=mode, modes=modes, rows=ordered, total=total, with_data=with_data, truncated=with_data >= RANK_LIMIT
    )


def _place_rows(place: Place) -> QuerySet[IndicatorSnapshot]:
    return IndicatorSnapshot.objects.filter(place=place)


def dashboard(*, user: Any, place: Place, period: str | None = None, compare: str = "children") -> Dashboard:
    """The dashboard of ``place`` for ``period`` (a key; None: the newest period with results), read from snapshots.
    ``compare`` is "children" (the places one level down) or "communities" (every community beneath)."""
    _check(user, place)
    trend_rows: list[dict[str, Any]] = [
        dict(r)
        for r in _place_rows(place)
        .filter(indicator__in=catalogue.DIMENSION_ROWS)
        .values("period", "indicator", "score")
    ]
    keys = sorted_periods(r["period"] for r in trend_rows)
    crumbs = _crumbs(user, place)
    missing = period is not None and period not in keys
    chosen = period if period is not None else (keys[-1] if keys else None)
    board = Dashboard(place=place, period=chosen, periods=_choices(keys), crumbs=crumbs, requested_missing=missing)
    board.trend = _trend(trend_rows)
    if chosen is None or missing:
        return board

    rows: list[dict[str, Any]] = [
        dict(r)
        for r in _place_rows(place)
        .filter(period=chosen)
        .values("indicator", "value", "score", "numerator", "denominator", "computation_id")
    ]
    by_id = {r["indicator"]: r for r in rows}
    anchor: dict[str, Any] = by_id.get(spec.COMPOSITE) or (rows[0] if rows else {})
    comp_id = anchor.get("computation_id")
    comp = Computation.objects.filter(pk=comp_id).first() if comp_id else None
    board.computation = _computation_info(comp) if comp else None
    posts = board.computation.goalposts if board.computation else default_goalposts()
    threshold = board.threshold

    diag = DiagnosisSnapshot.objects.filter(place=place, period=chosen).values("dilemmas", "weak").first()
    dilemmas = catalogue.parse_dilemmas(diag["dilemmas"]) if diag else []
    weak: dict[str, list[str]] = {}
    if diag and isinstance(diag["weak"], dict):
        weak = {str(k): [str(x) for x in v] for k, v in diag["weak"].items() if isinstance(v, list)}
    weak_ids = {i for d in dilemmas for i in weak.get(d, [])}

    known = [i for i in catalogue.INDICATOR_ORDER if i in by_id]
    others = sorted(i for i in by_id if i not in catalogue.INDICATOR_ORDER and i not in catalogue.DIMENSION_ROWS)
    for id_ in (*known, *others):
        r = by_id[id_]
        info = catalogue.indicator(id_)
        board.indicators.append(
            IndicatorView(
                id=id_,
                info=info,
                value=r["value"],
                score=r["score"] if info.scored else None,
                numerator=r["numerator"],
                denominator=r["denominator"],
                goalposts=_goalposts(id_, info, posts),
                weak=id_ in weak_ids,
            )
        )

    for row in catalogue.DIMENSION_ROWS:
        dim_id = next((d for d, r in spec.DIMENSION_ROWS.items() if r == row), None)
        found: dict[str, Any] = by_id.get(row) or {}
        score = found.get("score")
        board.dimensions.append(
            DimensionView(
                row=row,
                dim=catalogue.DIMENSIONS[dim_id] if dim_id else None,
                label=catalogue.DIMENSIONS[dim_id].label if dim_id else str(catalogue.indicator(row).name),
                score=score,
                below=score is not None and dim_id is not None and score < threshold,
                dilemma=dim_id in dilemmas,
            )
        )

    if diag is not None:
        views = {i.id: i for i in board.indicators}
        dims = {d.row: d for d in board.dimensions}
        board.diagnosis = DiagnosisView(
            dilemmas=[
                DilemmaView(
                    dim=catalogue.DIMENSIONS[d],
                    score=dims[spec.DIMENSION_ROWS[d]].score,
                    weak=[views[i] for i in weak.get(d, []) if i in views],
                )
                for d in dilemmas
            ],
            lowest=None,
        )
        if not dilemmas:
            scored = [d for d in board.dimensions if d.dim is not None and d.score is not None]
            board.diagnosis.lowest = min(scored, key=lambda d: d.score or 0.0) if scored else None

    if ranking_modes(place):
        board.ranking = _ranking(place, chosen, compare)
    return board


# --- the co-participation network ----------------------------------------------------------------------------------


@dataclass
class Network(PeriodsMixin):
    place: Place
    period: str | None
    periods: list[PeriodChoice]
    crumbs: list[Crumb]
    requested_missing: bool = False
    graph: dict[str, Any] | None = None  # GraphSnapshot.data
    nodes_total: int = 0
    edges_total: int = 0
    measures: list[IndicatorView] = field(default_factory=list)

    @property
    def truncated(self) -> bool:
        return bool(self.graph and self.graph.get("truncated"))

    @property
    def nodes_drawn(self) -> int:
        return len(self.graph.get("nodes") or []) if self.graph else 0

    @property
    def edges_drawn(self) -> int:
        return len(self.graph.get("edges") or []) if self.graph else 0

    @property
    def group_counts(self) -> dict[str, int]:
        counts = {"local": 0, "new_citizen": 0}
        for node in (self.graph or {}).get("nodes") or []:
            if isinstance(node, (list, tuple)) and node and node[0] in counts:
                counts[node[0]] += 1
        return counts

    @property
    def period_label(self) -> str:
        return period_label(self.period) if self.period else ""

    def measure(self, id_: str) -> IndicatorView | None:
        return next((m for m in self.measures if m.id == id_), None)


def network(*, user: Any, place: Place, period: str | None = None) -> Network:
    """The co-participation graph of a community for a period (None: the newest stored), with its measures."""
    _check(user, place)
    if place.level != Level.COMMUNITY:
        raise NotFound(_("只有社区有共同参与网络"))
    keys = sorted_periods(GraphSnapshot.objects.filter(place=place).values_list("period", flat=True))
    missing = period is not None and period not in keys
    chosen = period if period is not None else (keys[-1] if keys else None)
    net = Network(place=place, period=chosen, periods=_choices(keys), crumbs=_crumbs(user, place))
    net.requested_missing = missing
    if chosen is None or missing:
        return net
    snap = GraphSnapshot.objects.filter(place=place, period=chosen).values("nodes", "edges", "data").first()
    if snap is not None:
        data = snap["data"] if isinstance(snap["data"], dict) else {}
        net.graph = data
        net.nodes_total = int(data.get("nodes_total", snap["nodes"]) or 0)
        net.edges_total = int(data.get("edges_total", snap["edges"]) or 0)
    rows = {
        r["indicator"]: r
        for r in _place_rows(place)
        .filter(period=chosen, indicator__in=NETWORK_IDS)
        .values("indicator", "value", "score", "numerator", "denominator")
    }
    for id_ in NETWORK_IDS:
        r = rows.get(id_)
        info = catalogue.indicator(id_)
        net.measures.append(
            IndicatorView(
                id=id_,
                info=info,
                value=r["value"] if r else None,
                score=r["score"] if r and info.scored else None,
                numerator=r["numerator"] if r else None,
                denominator=r["denominator"] if r else None,
                goalposts=None,
            )
        )
    return net


def staff_may_use(user: Any) -> bool:
    """Whether the user works on some place (the dashboards are staff pages)."""
    return bool(getattr(user, "is_authenticated", False)) and access.is_staff(user)
