"""The arithmetic of assessment and selection, in plain Python (no ORM): scheme validation, weighted totals, ranking
with the stated tie-break, quotas and last-place warnings. The services feed it rows and store what it returns.

Scores
    A criterion is ``{"code", "name", "weight", "max", "guide"}``; weights are positive and sum to exactly 1.
    An assessor gives every criterion a score from 0 to its ``max``. The assessor's **weighted total** is on a
    100-point scale: ``Σ weight × score ÷ max × 100`` (so criteria with different maxima weigh by their weight only).
    An entry's **total** is the mean of its assessors' totals. Every total is rounded half-up to 3 decimals before it
    is stored or compared, so the ranking uses exactly the numbers people see.

Ranking (the tie-break, in this order — stated on the round page too)
    1. higher total;
    2. higher mean score on the heaviest criterion (the criterion with the largest weight; among equal weights,
       the first in the scheme);
    3. more assessors who scored it;
    4. earlier ``founded_on`` (an unknown founding date counts as latest);
    5. smaller organisation ``ref`` (unique, so the order is always total and never depends on the database).

Selection
    In each category the first ``quota`` ranks are selected. The last ``warn_last`` of the entries that were not
    selected get a last-place warning (末位警示); a category with no more entries than its quota warns nobody.
"""

from __future__ import annotations

import datetime
import re
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from decimal import ROUND_HALF_UP, Decimal, InvalidOperation
from typing import Any

from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

THOUSANDTH = Decimal("0.001")
HUNDRED = Decimal(100)
CODE_RE = re.compile(r"^[a-z][a-z0-9_]{0,19}$")
CATEGORY_RE = re.compile(r"^[a-z][a-z0-9_]{0,39}$")
MAX_CRITERIA = 20
MAX_MAX = Decimal(1000)

# Category codes the UI names; any other lower-case code is allowed and shown as is.
CATEGORY_LABELS = {
    "studio": gettext_lazy("居民工作室"),
    "quality_org": gettext_lazy("优质社会组织"),
    "volunteer_team": gettext_lazy("志愿服务队"),
    "learning_community": gettext_lazy("学习共同体"),
}

# The tie-break as shown to people, in order (the keys of ``Candidate`` compared).
TIE_BREAK: tuple[tuple[str, Any], ...] = (
    ("total", gettext_lazy("总分高者在前")),
    ("heaviest", gettext_lazy("权重最大指标的平均得分高者在前")),
    ("assessors", gettext_lazy("评审人数多者在前")),
    ("founded_on", gettext_lazy("成立日期早者在前")),
    ("ref", gettext_lazy("组织编号小者在前")),
)


def category_label(code: str) -> str:
    label = CATEGORY_LABELS.get(code)
    return str(label) if label is not None else code


def quantize(value: Decimal) -> Decimal:
    return value.quantize(THOUSANDTH, rounding=ROUND_HALF_UP)


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
    return format(value.normalize(), "f")


def as_json_number(value: Decimal) -> int | float:
    """A Decimal for a JSON column: an int when whole, else a float (``Decimal(str(f))`` gives it back exactly)."""
    return int(value) if value == value.to_integral_value() else float(value)


# --- schemes ------------------------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Criterion:
    code: str
    name: str
    weight: Decimal
    max: Decimal
    guide: str

    @property
    def weight_text(self) -> str:
        return plain(self.weight)

    @property
    def max_text(self) -> str:
        return plain(self.max)

    def as_json(self) -> dict[str, Any]:
        return {
            "code": self.code,
            "name": self.name,
            "weight": as_json_number(self.weight),
            "max": as_json_number(self.max),
            "guide": self.guide,
        }


def criteria_of(raw: Iterable[dict[str, Any]]) -> list[Criterion]:
    """A stored (already validated) criteria list as ``Criterion`` objects."""
    return [
        Criterion(
            code=str(c["code"]),
            name=str(c.get("name", "")),
            weight=as_decimal(c["weight"]) or Decimal(0),
            max=as_decimal(c["max"]) or Decimal(1),
            guide=str(c.get("guide", "")),
        )
        for c in raw
    ]


def validate_criteria(raw: Any) -> tuple[list[Criterion], list[str]]:
    """Parse and check a criteria list; ``(criteria, errors)``, each error naming its row ("第 2 项：…")."""
    errors: list[str] = []
    if not isinstance(raw, list) or not raw:
        return [], [_("至少需要一项指标")]
    if len(raw) > MAX_CRITERIA:
        return [], [_("指标不能超过 %(n)d 项") % {"n": MAX_CRITERIA}]
    out: list[Criterion] = []
    seen: set[str] = set()
    for number, item in enumerate(raw, start=1):
        row = _("第 %(n)d 项") % {"n": number}
        if not isinstance(item, dict):
            errors.append(_("%(row)s：格式不正确") % {"row": row})
            continue
        code = str(item.get("code", "")).strip()
        name = str(item.get("name", "")).strip()
        guide = str(item.get("guide", "")).strip()
        weight = as_decimal(item.get("weight"))
        maximum = as_decimal(item.get("max"))
        if not CODE_RE.match(code):
            errors.append(_("%(row)s：代码应为小写字母开头的字母、数字或下划线（最多 20 个）") % {"row": row})
        elif code in seen:
            errors.append(_("%(row)s：代码 %(code)s 重复") % {"row": row, "code": code})
        seen.add(code)
        if not name:
            errors.append(_("%(row)s：名称必填") % {"row": row})
        elif len(name) > 50:
            errors.append(_("%(row)s：名称不能超过 50 字") % {"row": row})
        if len(guide) > 500:
            errors.append(_("%(row)s：评分说明不能超过 500 字") % {"row": row})
        if weight is None or weight <= 0 or weight > 1:
            errors.append(_("%(row)s：权重应为大于 0、不超过 1 的数") % {"row": row})
        elif weight.as_tuple().exponent < -4:  # type: ignore[operator]
            errors.append(_("%(row)s：权重最多保留 4 位小数") % {"row": row})
        if maximum is None or maximum <= 0 or maximum > MAX_MAX:
            errors.append(_("%(row)s：满分应为大于 0、不超过 1000 的数") % {"row": row})
        elif maximum.as_tuple().exponent < -2:  # type: ignore[operator]
            errors.append(_("%(row)s：满分最多保留 2 位小数") % {"row": row})
        if weight is not None and maximum is not None:
            out.append(Criterion(code, name, weight, maximum, guide))
    if not errors:
        total = sum((c.weight for c in out), Decimal(0))
        if total != 1:
            errors.append(_("各项权重之和应为 1，当前为 %(total)s") % {"total": plain(total)})
    return (out if not errors else []), errors


def heaviest(criteria: Sequence[Criterion]) -> Criterion:
    """The criterion with the largest weight; among equal weights the first."""
    best = criteria[0]
    for c in criteria[1:]:
        if c.weight > best.weight:
            best = c
    return best


# --- scores -------------------------------------------------------------------------------------------------------


def validate_scores(criteria: Sequence[Criterion], raw: Any) -> tuple[dict[str, Decimal], dict[str, list[str]]]:
    """One assessor's scores against the scheme: every criterion, a number from 0 to its max (at most 2 decimals),
    no unknown codes. ``(scores, field errors)`` with the criterion codes as field names."""
    errors: dict[str, list[str]] = {}
    if not isinstance(raw, dict):
        return {}, {"scores": [_("应为 JSON 对象：指标代码 → 得分")]}
    known = {c.code for c in criteria}
    for code in raw:
        if code not in known:
            errors.setdefault(str(code), []).append(_("不是本方案的指标"))
    scores: dict[str, Decimal] = {}
    for c in criteria:
        value = raw.get(c.code)
        if value is None or (isinstance(value, str) and not value.strip()):
            errors.setdefault(c.code, []).append(_("必填"))
            continue
        number = as_decimal(value)
        if number is None:
            errors.setdefault(c.code, []).append(_("应为数字"))
        elif number < 0 or number > c.max:
            errors.setdefault(c.code, []).append(_("应在 0 到 %(max)s 之间") % {"max": plain(c.max)})
        elif number.as_tuple().exponent < -2:  # type: ignore[operator]
            errors.setdefault(c.code, []).append(_("最多保留 2 位小数"))
        else:
            scores[c.code] = number
    return scores, errors


def weighted_total(criteria: Sequence[Criterion], scores: dict[str, Decimal]) -> Decimal:
    """One assessor's total on a 100-point scale: Σ weight × score ÷ max × 100, rounded half-up to 3 decimals."""
    return quantize(sum((c.weight * scores[c.code] / c.max for c in criteria), Decimal(0)) * HUNDRED)


def mean(values: Sequence[Decimal]) -> Decimal:
    return quantize(sum(values, Decimal(0)) / len(values)) if values else Decimal(0)


# --- ranking and selection ----------------------------------------------------------------------------------------


@dataclass(frozen=True)
class Candidate:
    """What the ranking compares, for one entry."""

    key: Any  # the entry's id
    total: Decimal
    heaviest: Decimal
    assessors: int
    founded_on: datetime.date | None
    ref: str


@dataclass(frozen=True)
class Placement:
    key: Any
    rank: int
    outcome: str  # "selected", "not_selected" or "warned"
    tie_note: str


def sort_key(c: Candidate) -> tuple[Decimal, Decimal, int, datetime.date, str]:
    return (-c.total, -c.heaviest, -c.assessors, c.founded_on or datetime.date.max, c.ref)


def _decided_by(a: Candidate, b: Candidate) -> str:
    """The label of the first tie-break rule that tells ``a`` and ``b`` apart (their totals are equal)."""
    ka, kb = sort_key(a), sort_key(b)
    for (_key, label), x, y in zip(TIE_BREAK, ka, kb, strict=True):
        if x != y:
            return str(label)
    return str(TIE_BREAK[-1][1])  # pragma: no cover - refs are unique


def rank(candidates: Iterable[Candidate], *, quota: int, warn_last: int) -> list[Placement]:
    """Rank one category's entries by the stated tie-break, select the first ``quota``, warn the last ``warn_last``
    of the others. Deterministic: the same candidates in any order give the same placements."""
    ordered = sorted(candidates, key=sort_key)
    n = len(ordered)
    selected = min(max(quota, 0), n)
    warn_from = max(selected, n - max(warn_last, 0))
    out: list[Placement] = []
    for i, c in enumerate(ordered):
        notes: list[str] = []
        if i > 0 and ordered[i - 1].total == c.total:
            notes.append(
                _("总分与第 %(other)d 名相同，按“%(rule)s”排在其后")
                % {"other": i, "rule": _decided_by(ordered[i - 1], c)}
            )
        if i + 1 < n and ordered[i + 1].total == c.total:
            notes.append(
                _("总分与第 %(other)d 名相同，按“%(rule)s”排在其前")
                % {"other": i + 2, "rule": _decided_by(c, ordered[i + 1])}
            )
        if i < selected:
            outcome = "selected"
        elif i >= warn_from:
            outcome = "warned"
        else:
            outcome = "not_selected"
        out.append(Placement(key=c.key, rank=i + 1, outcome=outcome, tie_note="；".join(notes)[:200]))
    return out
