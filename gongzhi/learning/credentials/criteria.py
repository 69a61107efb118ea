"""The criteria language of credential levels, and its evaluator. Pure: no ORM, no database — facts in, results out.

A node is a group ``{"all": [node, ...]}`` / ``{"any": [node, ...]}`` or a leaf::

    {"kind": "points",            "min": 100, "series": "<Series uuid>"?, "window": W?}
    {"kind": "sessions_attended", "min": 6,   "series": "<uuid>"? | "course": "<Course uuid>"?, "window": W?}
    {"kind": "courses_completed", "min": 2,   "series": "<uuid>"?, "window": W?}
    {"kind": "tests_passed",      "min": 1,   "series": "<uuid>"? | "test": "<OnlineTest uuid>"?, "window": W?}
    {"kind": "level_held",        "rank": 1}

``W`` is ``{"from": "2025-01-01", "to": "2025-12-31"}`` (inclusive dates, either may be absent) or ``{"days": 365}``
(the last N days up to and including today: from today − (N − 1) to today). ``min`` is inclusive: a leaf is met when
what the resident has is ≥ ``min``.

- ``points``: the sum of the resident's points (reversed awards do not count) dated in the window; with ``series``,
  only points earned at sessions of that series' courses or by passing that series' tests.
- ``sessions_attended``: course sessions the resident was present at (dated by the session's start).
- ``courses_completed``: courses where the resident was present at ≥ 80 % of the sessions held so far (at least one),
  dated by the last session they attended.
- ``tests_passed``: distinct tests passed (dated by the first passing attempt).
- ``level_held``: a valid, unexpired certificate of that level (by rank) of the same programme.

``validate(tree)`` returns the problems as Chinese messages naming where they are ("第 2.1 项「最少」：…");
``evaluate(tree, facts, today)`` returns an ``Evaluation`` with one ``LeafResult`` per leaf (label, met, have, need,
and a Chinese ``detail`` such as "已参加 4/6 次课" or "已有 80 积分，还差 20 积分").
"""

from __future__ import annotations

import datetime
import re
import uuid
from collections.abc import Collection, Iterator, Mapping
from dataclasses import dataclass, field, replace
from decimal import Decimal
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

POINTS = "points"
SESSIONS = "sessions_attended"
COURSES = "courses_completed"
TESTS = "tests_passed"
LEVEL = "level_held"
KINDS = (POINTS, SESSIONS, COURSES, TESTS, LEVEL)
GROUPS = ("all", "any")

KIND_LABELS = {
    POINTS: gettext_lazy("积分"),
    SESSIONS: gettext_lazy("参加课次"),
    COURSES: gettext_lazy("完成课程"),
    TESTS: gettext_lazy("通过测试"),
    LEVEL: gettext_lazy("持有本项目级别证书"),
}
GROUP_LABELS = {"all": gettext_lazy("满足以下全部条件"), "any": gettext_lazy("满足以下任一条件")}
FIELD_LABELS = {
    "kind": gettext_lazy("条件类型"),
    "min": gettext_lazy("最少"),
    "series": gettext_lazy("主题系列"),
    "course": gettext_lazy("课程"),
    "test": gettext_lazy("测试"),
    "rank": gettext_lazy("级别"),
    "window": gettext_lazy("时间范围"),
    "from": gettext_lazy("起始日期"),
    "to": gettext_lazy("截止日期"),
    "days": gettext_lazy("近 N 天"),
}

# Which optional keys each kind accepts (besides "kind" and "window"/"min", or "rank" for level_held).
SCOPES: dict[str, tuple[str, ...]] = {
    POINTS: ("series",),
    SESSIONS: ("series", "course"),
    COURSES: ("series",),
    TESTS: ("series", "test"),
    LEVEL: (),
}
MAX_MIN = 1_000_000
MAX_DAYS = 36_500
MAX_DEPTH = 4
MAX_LEAVES = 40
COMPLETION_SHARE = Decimal("0.8")  # courses_completed: present at ≥ 80 % of the sessions held so far
DATE_RE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


# --- facts: a resident's dated events ---------------------------------------------------------------------------


@dataclass(frozen=True)
class PointsFact:
    on: datetime.date
    points: int
    series: str | None = None


@dataclass(frozen=True)
class SessionFact:
    on: datetime.date
    course: str
    series: str | None = None


@dataclass(frozen=True)
class CourseFact:
    """A course the resident has completed, dated by the last session they attended."""

    on: datetime.date
    course: str
    series: str | None = None


@dataclass(frozen=True)
class TestFact:
    __test__ = False  # not a pytest test class

    on: datetime.date
    test: str
    series: str | None = None


@dataclass(frozen=True)
class CertificateFact:
    """A certificate in status valid (expiry is checked against ``today`` by the evaluator)."""

    rank: int
    issued_on: datetime.date
    expires_on: datetime.date | None = None
    programme: str | None = None


@dataclass
class Facts:
    """What a resident has done, as dated events (ids are canonical UUID strings)."""

    points: list[PointsFact] = field(default_factory=list)
    sessions: list[SessionFact] = field(default_factory=list)
    courses: list[CourseFact] = field(default_factory=list)
    tests: list[TestFact] = field(default_factory=list)
    certificates: list[CertificateFact] = field(default_factory=list)

    def for_programme(self, programme: Any) -> Facts:
        """The same facts with only the certificates of ``programme`` (an id), for ``level_held``."""
        pid = canonical_id(programme)
        return replace(self, certificates=[c for c in self.certificates if c.programme == pid])


# --- results ----------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class LeafResult:
    label: str
    met: bool
    have: int | Decimal
    need: int
    kind: str = ""
    detail: str = ""
    path: tuple[int, ...] = ()

    @property
    def missing(self) -> int | Decimal:
        return max(self.need - self.have, 0)


@dataclass(frozen=True)
class NodeResult:
    """The evaluated tree: a group (``op`` all/any, with children) or a leaf (``op`` "leaf", with ``leaf``)."""

    op: str
    met: bool
    children: tuple[NodeResult, ...] = ()
    leaf: LeafResult | None = None

    @property
    def label(self) -> str:
        if self.leaf is not None:
            return self.leaf.label
        return str(GROUP_LABELS.get(self.op, self.op))


@dataclass(frozen=True)
class Evaluation:
    met: bool
    leaves: list[LeafResult]
    root: NodeResult | None = None

    @property
    def unmet(self) -> list[LeafResult]:
        return [leaf for leaf in self.leaves if not leaf.met]

    @property
    def met_count(self) -> int:
        return sum(1 for leaf in self.leaves if leaf.met)


@dataclass(frozen=True)
class Problem:
    """A validation problem: where (the 1-based path of the node, () for the root), which key, and what."""

    path: tuple[int, ...]
    field: str | None
    message: str

    def __str__(self) -> str:
        return format_problem(self)


# --- helpers ----------------------------------------------------------------------------------------------------


def canonical_id(value: Any) -> str | None:
    """A UUID as its canonical string (lower case, with dashes), or None when it is not one."""
    if value is None or isinstance(value, bool):
        return None
    try:
        return str(value if isinstance(value, uuid.UUID) else uuid.UUID(str(value)))
    except (ValueError, TypeError, AttributeError):
        return None


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _parse_date(value: Any) -> datetime.date | None:
    if not isinstance(value, str) or not DATE_RE.match(value):
        return None
    try:
        return datetime.date.fromisoformat(value)
    except ValueError:
        return None


def is_group(node: Any) -> bool:
    return isinstance(node, dict) and len(node) == 1 and next(iter(node)) in GROUPS


def where(path: tuple[int, ...]) -> str:
    if not path:
        return _("条件")
    return _("第 %(n)s 项") % {"n": ".".join(str(i) for i in path)}


def format_problem(problem: Problem) -> str:
    if problem.field:
        label = FIELD_LABELS.get(problem.field, problem.field)
        return _("%(where)s「%(field)s」：%(message)s") % {
            "where": where(problem.path),
            "field": label,
            "message": problem.message,
        }
    return _("%(where)s：%(message)s") % {"where": where(problem.path), "message": problem.message}


def iter_leaves(tree: Any, path: tuple[int, ...] = ()) -> Iterator[tuple[tuple[int, ...], dict[str, Any]]]:
    """Every leaf (a dict that is not a group) with its path, in document order."""
    if is_group(tree):
        for i, child in enumerate(next(iter(tree.values())) or [], start=1):
            yield from iter_leaves(child, (*path, i))
    elif isinstance(tree, dict):
        yield path, tree


def references(tree: Any) -> dict[str, set[str]]:
    """The ids a tree refers to: {"series": {...}, "course": {...}, "test": {...}} and the ranks under "rank"."""
    found: dict[str, set[str]] = {"series": set(), "course": set(), "test": set(), "rank": set()}
    for _path, leaf in iter_leaves(tree):
        for key in ("series", "course", "test"):
            cid = canonical_id(leaf.get(key))
            if cid:
                found[key].add(cid)
        if _is_int(leaf.get("rank")):
            found["rank"].add(str(leaf["rank"]))
    return found


# --- validation -------------------------------------------------------------------------------------------------


def _window_problems(window: Any, path: tuple[int, ...]) -> list[Problem]:
    if not isinstance(window, dict) or not window:
        return [Problem(path, "window", _('应为 {"from", "to"} 或 {"days"}'))]
    unknown = sorted(set(window) - {"from", "to", "days"})
    if unknown:
        return [Problem(path, "window", _("不认识的字段：%(keys)s") % {"keys": "、".join(unknown)})]
    out: list[Problem] = []
    if "days" in window:
        if "from" in window or "to" in window:
            out.append(Problem(path, "days", _("“近 N 天”与起止日期只能选一种")))
        days = window["days"]
        if not _is_int(days) or not 1 <= days <= MAX_DAYS:
            out.append(Problem(path, "days", _("必须是 1 到 %(max)d 之间的整数") % {"max": MAX_DAYS}))
        return out
    start = end = None
    for key in ("from", "to"):
        if key in window:
            parsed = _parse_date(window[key])
            if parsed is None:
                out.append(Problem(path, key, _("日期格式应为 YYYY-MM-DD")))
            elif key == "from":
                start = parsed
            else:
                end = parsed
    if start and end and start > end:
        out.append(Problem(path, "to", _("截止日期不能早于起始日期")))
    return out


def _leaf_problems(
    leaf: dict[str, Any], path: tuple[int, ...], own_rank: int | None, ranks: Collection[int] | None
) -> list[Problem]:
    kind = leaf.get("kind")
    if kind is None:
        return [Problem(path, "kind", _("必填（可选：%(kinds)s）") % {"kinds": "、".join(KINDS)})]
    if kind not in KINDS:
        return [Problem(path, "kind", _("不认识的条件类型“%(kind)s”") % {"kind": kind})]
    out: list[Problem] = []
    if kind == LEVEL:
        allowed = {"kind", "rank"}
        rank: Any = leaf.get("rank")
        if not _is_int(rank) or rank < 1:
            out.append(Problem(path, "rank", _("必须是不小于 1 的整数")))
        elif own_rank is not None and rank >= own_rank:
            out.append(Problem(path, "rank", _("只能要求低于本级别的级别")))
        elif ranks is not None and rank not in ranks:
            out.append(Problem(path, "rank", _("本项目没有第 %(rank)d 级") % {"rank": rank}))
    else:
        allowed = {"kind", "min", "window", *SCOPES[kind]}
        minimum = leaf.get("min")
        if minimum is None:
            out.append(Problem(path, "min", _("必填")))
        elif not _is_int(minimum) or not 1 <= minimum <= MAX_MIN:
            out.append(Problem(path, "min", _("必须是 1 到 %(max)d 之间的整数") % {"max": MAX_MIN}))
        for key in SCOPES[kind]:
            if key in leaf and canonical_id(leaf[key]) is None:
                out.append(Problem(path, key, _("不是有效的编号")))
        scoped = [key for key in SCOPES[kind] if leaf.get(key) is not None]
        if len(scoped) > 1:
            labels = "、".join(str(FIELD_LABELS[k]) for k in scoped)
            out.append(Problem(path, scoped[-1], _("%(keys)s只能选一个") % {"keys": labels}))
        if kind == TESTS and leaf.get("test") is not None and _is_int(minimum) and minimum != 1:
            out.append(Problem(path, "min", _("指定了测试时，最少只能是 1")))
        if "window" in leaf:
            out.extend(_window_problems(leaf["window"], path))
    unknown = sorted(set(leaf) - allowed)
    if unknown:
        out.append(
            Problem(
                path,
                None,
                _("“%(kind)s”条件不接受这些字段：%(keys)s") % {"kind": KIND_LABELS[kind], "keys": "、".join(unknown)},
            )
        )
    return out


def problems(tree: Any, *, own_rank: int | None = None, ranks: Collection[int] | None = None) -> list[Problem]:
    """Every problem of a criteria tree. ``own_rank``: the rank of the level it belongs to (``level_held`` may only
    require lower levels); ``ranks``: the ranks that exist in the programme."""
    out: list[Problem] = []
    leaves = 0

    def walk(node: Any, path: tuple[int, ...], depth: int) -> None:
        nonlocal leaves
        if not isinstance(node, dict):
            out.append(Problem(path, None, _("应为一个条件或条件组（JSON 对象）")))
            return
        if not node:
            out.append(Problem(path, None, _("请至少设置一项条件")))
            return
        groups = [key for key in node if key in GROUPS]
        if groups:
            if len(node) != 1:
                out.append(Problem(path, None, _("条件组只能有一个键：all（全部满足）或 any（任一满足）")))
                return
            children = node[groups[0]]
            if not isinstance(children, list) or not children:
                out.append(Problem(path, None, _("条件组至少要包含一项条件")))
                return
            if depth >= MAX_DEPTH:
                out.append(Problem(path, None, _("条件组最多嵌套 %(n)d 层") % {"n": MAX_DEPTH}))
                return
            for i, child in enumerate(children, start=1):
                walk(child, (*path, i), depth + 1)
            return
        leaves += 1
        out.extend(_leaf_problems(node, path, own_rank, ranks))

    walk(tree, (), 0)
    if leaves > MAX_LEAVES:
        out.append(Problem((), None, _("条件最多 %(n)d 项") % {"n": MAX_LEAVES}))
    return out


def validate(tree: Any, *, own_rank: int | None = None, ranks: Collection[int] | None = None) -> list[str]:
    """The problems of a criteria tree as Chinese messages naming the item and the field; [] when valid."""
    return [format_problem(p) for p in problems(tree, own_rank=own_rank, ranks=ranks)]


def normalize(tree: Any) -> Any:
    """A valid tree in canonical form (ids as canonical UUID strings, keys in a fixed order). Validate first."""
    if is_group(tree):
        op, children = next(iter(tree.items()))
        return {op: [normalize(child) for child in children]}
    kind = tree["kind"]
    if kind == LEVEL:
        return {"kind": kind, "rank": tree["rank"]}
    out: dict[str, Any] = {"kind": kind, "min": tree["min"]}
    for key in SCOPES[kind]:
        if tree.get(key) is not None:
            out[key] = canonical_id(tree[key])
    window = tree.get("window")
    if window:
        out["window"] = {k: window[k] for k in ("from", "to", "days") if k in window}
    return out


# --- evaluation -------------------------------------------------------------------------------------------------


def window_bounds(window: Any, today: datetime.date) -> tuple[datetime.date | None, datetime.date | None]:
    """The inclusive (first day, last day) of a window; None for an open end."""
    if not isinstance(window, dict) or not window:
        return None, None
    if "days" in window and _is_int(window["days"]):
        return today - datetime.timedelta(days=max(window["days"], 1) - 1), today
    return _parse_date(window.get("from")), _parse_date(window.get("to"))


def _inside(on: datetime.date, bounds: tuple[datetime.date | None, datetime.date | None]) -> bool:
    start, end = bounds
    return (start is None or on >= start) and (end is None or on <= end)


def _name(names: Mapping[str, str], key: str, value: Any, fallback: str) -> str:
    return names.get(canonical_id(value) or "", "") or names.get(f"{key}:{value}", "") or fallback


def window_label(window: Any) -> str:
    if not isinstance(window, dict) or not window:
        return ""
    if "days" in window:
        return _("（近 %(days)s 天）") % {"days": window["days"]}
    start, end = window.get("from"), window.get("to")
    if start and end:
        return _("（%(from)s 至 %(to)s）") % {"from": start, "to": end}
    if start:
        return _("（%(from)s 起）") % {"from": start}
    if end:
        return _("（截至 %(to)s）") % {"to": end}
    return ""


def leaf_label(leaf: Mapping[str, Any], names: Mapping[str, str] | None = None) -> str:
    """The Chinese wording of a leaf, e.g. "系列“科学育儿”内积分 ≥ 100（近 365 天）"."""
    names = names or {}
    kind = leaf.get("kind")
    minimum = leaf.get("min")
    series = _name(names, "series", leaf.get("series"), _("（未知系列）")) if leaf.get("series") else ""
    if kind == POINTS:
        text = (
            _("系列“%(series)s”内积分 ≥ %(min)s") % {"series": series, "min": minimum}
            if series
            else _("积分 ≥ %(min)s") % {"min": minimum}
        )
    elif kind == SESSIONS:
        if leaf.get("course"):
            course = _name(names, "course", leaf["course"], _("（未知课程）"))
            text = _("参加课程“%(course)s” ≥ %(min)s 次") % {"course": course, "min": minimum}
        elif series:
            text = _("参加系列“%(series)s”的课 ≥ %(min)s 次") % {"series": series, "min": minimum}
        else:
            text = _("参加课程 ≥ %(min)s 次") % {"min": minimum}
    elif kind == COURSES:
        text = (
            _("完成系列“%(series)s”的课程 ≥ %(min)s 门") % {"series": series, "min": minimum}
            if series
            else _("完成课程 ≥ %(min)s 门") % {"min": minimum}
        )
    elif kind == TESTS:
        if leaf.get("test"):
            text = _("通过测试“%(test)s”") % {"test": _name(names, "test", leaf["test"], _("（未知测试）"))}
        elif series:
            text = _("通过系列“%(series)s”的测试 ≥ %(min)s 个") % {"series": series, "min": minimum}
        else:
            text = _("通过测试 ≥ %(min)s 个") % {"min": minimum}
    elif kind == LEVEL:
        rank = leaf.get("rank")
        level = names.get(f"level:{rank}") or _("第 %(rank)s 级") % {"rank": rank}
        return _("持有本项目“%(level)s”的有效证书") % {"level": level}
    else:
        return _("无效条件")
    return text + window_label(leaf.get("window"))


def _detail(kind: str, have: int, need: int, met: bool) -> str:
    gap = max(need - have, 0)
    if kind == POINTS:
        if met:
            return _("已有 %(have)d 积分") % {"have": have}
        return _("已有 %(have)d 积分，还差 %(gap)d 积分") % {"have": have, "gap": gap}
    # Met: what the resident has ("已参加 8 次课"); not yet: have/need and the gap ("已参加 4/6 次课，还差 2 次").
    if kind == SESSIONS:
        if met:
            return _("已参加 %(have)d 次课") % {"have": have}
        return _("已参加 %(have)d/%(need)d 次课，还差 %(gap)d 次") % {"have": have, "need": need, "gap": gap}
    if kind == COURSES:
        if met:
            return _("已完成 %(have)d 门课程") % {"have": have}
        return _("已完成 %(have)d/%(need)d 门课程，还差 %(gap)d 门") % {"have": have, "need": need, "gap": gap}
    if kind == TESTS:
        if met:
            return _("已通过 %(have)d 个测试") % {"have": have}
        return _("已通过 %(have)d/%(need)d 个测试，还差 %(gap)d 个") % {"have": have, "need": need, "gap": gap}
    if kind == LEVEL:
        return _("已持有") if met else _("尚未持有")
    return ""


def _count(leaf: Mapping[str, Any], facts: Facts, today: datetime.date) -> int:
    kind = leaf["kind"]
    bounds = window_bounds(leaf.get("window"), today)
    series = canonical_id(leaf.get("series")) if leaf.get("series") else None
    if kind == POINTS:
        return sum(p.points for p in facts.points if _inside(p.on, bounds) and (series is None or p.series == series))
    if kind == SESSIONS:
        course = canonical_id(leaf.get("course")) if leaf.get("course") else None
        return sum(
            1
            for s in facts.sessions
            if _inside(s.on, bounds)
            and (series is None or s.series == series)
            and (course is None or s.course == course)
        )
    if kind == COURSES:
        return len(
            {c.course for c in facts.courses if _inside(c.on, bounds) and (series is None or c.series == series)}
        )
    if kind == TESTS:
        test = canonical_id(leaf.get("test")) if leaf.get("test") else None
        return len(
            {
                t.test
                for t in facts.tests
                if _inside(t.on, bounds) and (series is None or t.series == series) and (test is None or t.test == test)
            }
        )
    if kind == LEVEL:
        rank = leaf.get("rank")
        return int(
            any(
                c.rank == rank and c.issued_on <= today and (c.expires_on is None or c.expires_on >= today)
                for c in facts.certificates
            )
        )
    raise ValueError(kind)


def _evaluate_leaf(
    leaf: Mapping[str, Any], facts: Facts, today: datetime.date, names: Mapping[str, str], path: tuple[int, ...]
) -> LeafResult:
    kind = leaf.get("kind")
    if not isinstance(kind, str) or kind not in KINDS or _leaf_problems(dict(leaf), path, None, None):
        return LeafResult(label=_("无效条件"), met=False, have=0, need=1, kind=str(kind or ""), path=path)
    need = 1 if kind == LEVEL else int(leaf["min"])
    have = _count(leaf, facts, today)
    met = have >= need
    return LeafResult(
        label=leaf_label(leaf, names),
        met=met,
        have=have,
        need=need,
        kind=kind,
        detail=_detail(kind, have, need, met),
        path=path,
    )


def evaluate(tree: Any, facts: Facts, today: datetime.date, *, names: Mapping[str, str] | None = None) -> Evaluation:
    """Evaluate a criteria tree against a resident's facts on ``today``. ``names`` maps ids (and "level:<rank>") to
    names for the labels. An invalid node is reported as an unmet leaf "无效条件" (validate before saving)."""
    names = names or {}
    leaves: list[LeafResult] = []

    def walk(node: Any, path: tuple[int, ...]) -> NodeResult:
        if is_group(node):
            op, children = next(iter(node.items()))
            results = tuple(walk(child, (*path, i)) for i, child in enumerate(children or [], start=1))
            if not results:
                return NodeResult(op=op, met=False)
            met = all(r.met for r in results) if op == "all" else any(r.met for r in results)
            return NodeResult(op=op, met=met, children=results)
        leaf = (
            _evaluate_leaf(node, facts, today, names, path)
            if isinstance(node, dict) and node
            else LeafResult(label=_("无效条件"), met=False, have=0, need=1, path=path)
        )
        leaves.append(leaf)
        return NodeResult(op="leaf", met=leaf.met, leaf=leaf)

    root = walk(tree, ())
    return Evaluation(met=root.met, leaves=leaves, root=root)


def describe(tree: Any, names: Mapping[str, str] | None = None) -> NodeResult:
    """The tree with labels, for display without a resident (``met`` is meaningless here)."""
    root = evaluate(tree, Facts(), datetime.date.today(), names=names).root
    assert root is not None
    return root
