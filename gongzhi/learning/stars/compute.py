"""The arithmetic of star ratings (星级评定), in plain Python (no ORM): validating a declared standard and turning one
resident's facts into a weighted score and stars, with the breakdown people see. The services gather the facts
set-based and store what this returns.

A standard
    ``criteria`` = ``[{"code", "name", "weight", "source", "target", "by"?}]``:

    - ``source`` is what is counted in the standard's year: ``attendance`` (sessions of courses and learning-community
      meetings the resident was present at), ``points`` (points earned, net of reversals), ``volunteer_hours``
      (confirmed volunteer hours, net of corrections) or ``assessment`` (scores 0–100 given by staff or peers; the
      value is the mean of the assessors' scores);
    - ``target`` is the value that earns the criterion's full marks: below it marks are linear, above it capped;
    - ``by`` (assessment only) says who scores: ``staff``, ``peer`` (members of the same organisation, never oneself;
      the standard must be limited to an organisation) or ``both``;
    - weights are positive and sum to exactly 1.

    ``thresholds`` = five ascending minimum scores for one to five stars (0 < t1 < … < t5 ≤ 100).

A resident's score
    Each criterion contributes ``weight × min(value ÷ target, 1) × 100`` rounded half-up to 2 decimals; the score is
    the sum of the contributions (so it equals the numbers people see in the breakdown). A missing value (nobody has
    assessed the resident yet) counts as 0 and says so; a negative value (points reversed) counts as 0. The stars are
    the number of thresholds the score reaches (``score ≥ threshold``): 0 to 5.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

CENT = Decimal("0.01")
RATIO_PLACES = Decimal("0.0001")
HUNDRED = Decimal(100)
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CRITERIA = 10
STARS = 5

ATTENDANCE, POINTS, VOLUNTEER_HOURS, ASSESSMENT = "attendance", "points", "volunteer_hours", "assessment"
SOURCES: dict[str, Any] = {
    ATTENDANCE: gettext_lazy("出勤（课程和学习共同体活动出席次数）"),
    POINTS: gettext_lazy("积分（年度内获得）"),
    VOLUNTEER_HOURS: gettext_lazy("志愿服务时长（已确认，小时）"),
    ASSESSMENT: gettext_lazy("评议（工作人员或同伴打分 0–100）"),
}
SOURCE_SHORT: dict[str, Any] = {
    ATTENDANCE: gettext_lazy("出勤"),
    POINTS: gettext_lazy("积分"),
    VOLUNTEER_HOURS: gettext_lazy("志愿服务"),
    ASSESSMENT: gettext_lazy("评议"),
}
UNITS: dict[str, Any] = {
    ATTENDANCE: gettext_lazy("次"),
    POINTS: gettext_lazy("分"),
    VOLUNTEER_HOURS: gettext_lazy("小时"),
    ASSESSMENT: gettext_lazy("分"),
}
BY_STAFF, BY_PEER, BY_BOTH = "staff", "peer", "both"
ASSESSORS: dict[str, Any] = {
    BY_STAFF: gettext_lazy("工作人员评议"),
    BY_PEER: gettext_lazy("同伴互评"),
    BY_BOTH: gettext_lazy("工作人员和同伴"),
}
# Largest targets that make sense (a typo like 1200 sessions is refused).
MAX_TARGET = {ATTENDANCE: Decimal(1000), POINTS: Decimal(100000), VOLUNTEER_HOURS: Decimal(5000), ASSESSMENT: HUNDRED}
STAR_NAMES = (
    gettext_lazy("一星"),
    gettext_lazy("二星"),
    gettext_lazy("三星"),
    gettext_lazy("四星"),
    gettext_lazy("五星"),
)


def star_name(n: int) -> str:
    return str(STAR_NAMES[n - 1]) if 1 <= n <= STARS else _("未达星级")


def as_decimal(value: Any) -> Decimal | None:
    """A number from JSON or a form (int, float, str) as an exact Decimal; None when it is not a finite number."""
    if isinstance(value, bool) or value is None:
        return None
    try:
        number = Decimal(str(value).strip())
    except (InvalidOperation, ValueError):
        return None
    return number if number.is_finite() else None


def plain(value: Decimal) -> str:
    """A Decimal as people write it: 10 not 1E+1, 0.35 not 0.3500."""
    text = format(value.normalize(), "f")
    return "0" if text in ("-0", "") else text


def as_json_number(value: Decimal) -> int | float:
    return int(value) if value == value.to_integral_value() else float(value)


def _places(value: Decimal) -> int:
    exponent = value.as_tuple().exponent
    return -exponent if isinstance(exponent, int) and exponent < 0 else 0


# --- the standard ---------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    weight: Decimal
    source: str
    target: Decimal
    by: str = ""  # assessment only: staff, peer or both

    @property
    def is_assessment(self) -> bool:
        return self.source == ASSESSMENT

    @property
    def staff_may_score(self) -> bool:
        return self.is_assessment and self.by in (BY_STAFF, BY_BOTH)

    @property
    def peers_may_score(self) -> bool:
        return self.is_assessment and self.by in (BY_PEER, BY_BOTH)

    @property
    def weight_text(self) -> str:
        return plain(self.weight)

    @property
    def weight_percent(self) -> str:
        return plain(self.weight * HUNDRED)

    @property
    def target_text(self) -> str:
        return plain(self.target)

    @property
    def source_label(self) -> str:
        return str(SOURCES.get(self.source, self.source))

    @property
    def unit(self) -> str:
        return str(UNITS.get(self.source, ""))

    @property
    def by_label(self) -> str:
        return str(ASSESSORS.get(self.by, "")) if self.is_assessment else ""

    def as_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "code": self.code,
            "name": self.name,
            "weight": as_json_number(self.weight),
            "source": self.source,
            "target": as_json_number(self.target),
        }
        if self.is_assessment:
            out["by"] = self.by
        return out


def criteria_of(raw: Iterable[Mapping[str, Any]]) -> list[Criterion]:
    """A stored (already validated) criteria list as ``Criterion`` objects."""
    return [
        Criterion(
            code=str(c["code"]),
            name=str(c.get("name", "")),
            weight=as_decimal(c.get("weight")) or Decimal(0),
            source=str(c.get("source", "")),
            target=as_decimal(c.get("target")) or Decimal(1),
            by=str(c.get("by") or (BY_STAFF if c.get("source") == ASSESSMENT else "")),
        )
        for c in raw
    ]


def thresholds_of(raw: Iterable[Any]) -> list[Decimal]:
    return [as_decimal(t) or Decimal(0) for t in raw]


def validate_criteria(raw: Any, *, organization_limited: bool) -> tuple[list[Criterion], list[str]]:
    """Parse and check a criteria list: ``(criteria, errors)``, each error naming its row ("第 2 项：…") and field.
    Peer assessment needs a standard limited to one organisation (``organization_limited``)."""
    if not isinstance(raw, list) or not raw:
        return [], [_("评定指标：至少需要一项")]
    if len(raw) > MAX_CRITERIA:
        return [], [_("评定指标：不能超过 %(n)d 项") % {"n": MAX_CRITERIA}]
    errors: list[str] = []
    out: list[Criterion] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        row = _("第 %(n)d 项") % {"n": number}
        if not isinstance(item, Mapping):
            errors.append(_("%(row)s：格式不正确") % {"row": row})
            continue
        unknown = sorted(set(item) - {"code", "name", "weight", "source", "target", "by"})
        if unknown:
            errors.append(_("%(row)s：不认识的字段 %(keys)s") % {"row": row, "keys": "、".join(map(str, unknown))})
        code = str(item.get("code") or "").strip()
        name = str(item.get("name") or "").strip()
        source = str(item.get("source") or "").strip()
        by = str(item.get("by") or "").strip()
        weight = as_decimal(item.get("weight"))
        target = as_decimal(item.get("target"))
        if not CODE_RE.match(code):
            errors.append(_("%(row)s：代码应为小写字母开头的字母、数字或下划线（最多 40 个）") % {"row": row})
        elif code in seen:
            errors.append(_("%(row)s：代码 %(code)s 重复") % {"row": row, "code": code})
        seen.add(code)
        if not name:
            errors.append(_("%(row)s：名称必填") % {"row": row})
        elif len(name) > 50:
            errors.append(_("%(row)s：名称不能超过 50 字") % {"row": row})
        if source not in SOURCES:
            errors.append(_("%(row)s：数据来源应为出勤、积分、志愿服务时长或评议之一") % {"row": row})
        if weight is None or weight <= 0 or weight > 1:
            errors.append(_("%(row)s：权重应为大于 0、不超过 1 的数") % {"row": row})
            weight = None
        elif _places(weight) > 4:
            errors.append(_("%(row)s：权重最多保留 4 位小数") % {"row": row})
        if target is None or target <= 0:
            errors.append(_("%(row)s：满分目标应为大于 0 的数") % {"row": row})
            target = None
        elif source in MAX_TARGET and target > MAX_TARGET[source]:
            errors.append(_("%(row)s：满分目标不能超过 %(max)s") % {"row": row, "max": plain(MAX_TARGET[source])})
        elif source in (ATTENDANCE, POINTS) and target != target.to_integral_value():
            errors.append(_("%(row)s：出勤和积分的满分目标应为整数") % {"row": row})
        elif _places(target) > 2:
            errors.append(_("%(row)s：满分目标最多保留 2 位小数") % {"row": row})
        if source == ASSESSMENT:
            by = by or BY_STAFF
            if by not in ASSESSORS:
                errors.append(_("%(row)s：评议人应为工作人员、同伴或两者") % {"row": row})
            elif by in (BY_PEER, BY_BOTH) and not organization_limited:
                errors.append(_("%(row)s：同伴互评只能用于限定组织的标准（请填写限定组织）") % {"row": row})
        elif by:
            errors.append(_("%(row)s：只有评议类指标可以设置评议人") % {"row": row})
            by = ""
        if weight is not None and target is not None and source in SOURCES:
            out.append(Criterion(code, name, weight, source, target, by))
    if not errors:
        total = sum((c.weight for c in out), Decimal(0))
        if total != 1:
            errors.append(_("评定指标：各项权重之和应为 1，当前为 %(total)s") % {"total": plain(total)})
    return (out if not errors else []), errors


def validate_thresholds(raw: Any) -> tuple[list[Decimal], list[str]]:
    """Five ascending minimum scores for one to five stars, each above 0 and at most 100 (2 decimals)."""
    if not isinstance(raw, (list, tuple)) or len(raw) != STARS:
        return [], [_("星级分数线：应为一星到五星的 5 个分数")]
    errors: list[str] = []
    out: list[Decimal] = []
    for n, item in enumerate(raw, start=1):
        label = _("%(star)s分数线") % {"star": star_name(n)}
        value = as_decimal(item)
        if value is None:
            errors.append(_("%(label)s：应为数字") % {"label": label})
            continue
        if value <= 0 or value > HUNDRED:
            errors.append(_("%(label)s：应大于 0、不超过 100") % {"label": label})
        elif _places(value) > 2:
            errors.append(_("%(label)s：最多保留 2 位小数") % {"label": label})
        elif out and value <= out[-1]:
            errors.append(
                _("%(label)s：应高于%(lower)s分数线 %(value)s")
                % {"label": label, "lower": star_name(n - 1), "value": plain(out[-1])}
            )
        out.append(value)
    return (out if not errors else []), errors


# --- one resident ---------------------------------------------------------------------------------------------------


@dataclass
class ResidentFacts:
    """What counted for one resident in the standard's year."""

    attendance: int = 0
    points: int = 0
    volunteer_hours: Decimal = Decimal(0)
    # criterion code → the assessors' scores (0–100)
    assessments: dict[str, list[Decimal]] = field(default_factory=dict)


@dataclass(frozen=True)
class Line:
    """One criterion of one resident's rating: the value that counted, its share of the target and its marks."""

    code: str
    name: str
    source: str
    weight: Decimal
    target: Decimal
    value: Decimal | None  # None: no data (nobody assessed yet)
    ratio: Decimal  # min(value ÷ target, 1), 4 decimals
    score: Decimal  # weight × ratio × 100, 2 decimals
    assessors: int | None = None  # assessment only: how many scored
    note: str = ""

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "source": self.source,
            "weight": plain(self.weight),
            "target": plain(self.target),
            "value": plain(self.value) if self.value is not None else None,
            "ratio": plain(self.ratio),
            "score": str(self.score),
            "assessors": self.assessors,
            "note": self.note,
        }


@dataclass(frozen=True)
class Rating:
    score: Decimal
    stars: int
    lines: list[Line]

    def breakdown(self) -> dict[str, Any]:
        return {"lines": [line.as_json() for line in self.lines]}


def mean(values: Sequence[Decimal]) -> Decimal | None:
    if not values:
        return None
    return (sum(values, Decimal(0)) / len(values)).quantize(CENT, rounding=ROUND_HALF_UP)


def stars_for(score: Decimal, thresholds: Sequence[Decimal]) -> int:
    """How many thresholds the score reaches (``score ≥ threshold``), for ascending thresholds."""
    return sum(1 for t in thresholds if score >= t)


def _value(criterion: Criterion, facts: ResidentFacts) -> tuple[Decimal | None, int | None]:
    if criterion.source == ATTENDANCE:
        return Decimal(facts.attendance), None
    if criterion.source == POINTS:
        return Decimal(facts.points), None
    if criterion.source == VOLUNTEER_HOURS:
        return Decimal(facts.volunteer_hours), None
    scores = facts.assessments.get(criterion.code, [])
    return mean(scores), len(scores)


def line_for(criterion: Criterion, facts: ResidentFacts) -> Line:
    value, assessors = _value(criterion, facts)
    note = ""
    if value is None:
        ratio = Decimal(0)
        note = _("尚无评分，按 0 计")
    elif value <= 0:
        ratio = Decimal(0)
        if value < 0:
            note = _("为负数，按 0 计")
    elif value >= criterion.target:
        ratio = Decimal(1)
        note = _("达到满分目标") if value == criterion.target else _("超过满分目标，按满分计")
    else:
        ratio = (value / criterion.target).quantize(RATIO_PLACES, rounding=ROUND_HALF_UP)
    exact = criterion.weight * min(max(value or Decimal(0), Decimal(0)) / criterion.target, Decimal(1)) * HUNDRED
    score = exact.quantize(CENT, rounding=ROUND_HALF_UP)
    return Line(
        code=criterion.code,
        name=criterion.name,
        source=criterion.source,
        weight=criterion.weight,
        target=criterion.target,
        value=value,
        ratio=ratio,
        score=score,
        assessors=assessors,
        note=note,
    )


def evaluate(criteria: Sequence[Criterion], thresholds: Sequence[Decimal], facts: ResidentFacts) -> Rating:
    """One resident's weighted score (0–100, 2 decimals), stars (0–5) and breakdown."""
    lines = [line_for(c, facts) for c in criteria]
    score = sum((line.score for line in lines), Decimal(0)).quantize(CENT)
    return Rating(score=score, stars=stars_for(score, thresholds), lines=lines)


def next_star(score: Decimal, thresholds: Sequence[Decimal]) -> tuple[int, Decimal] | None:
    """The next star level above the score and how many points it still needs, or None at five stars."""
    for n, t in enumerate(thresholds, start=1):
        if score < t:
            return n, (t - score).quantize(CENT)
    return None
