"""Run and store the mechanism test (METHOD.md "The mechanism test") over the stored snapshots under a place.

Permission checks are the callers' (``analytics.run_mechanism`` on the place). The estimates come from
``gongzhi.analytics.engine.mechanism``; this module reads the panel, checks the request, runs the engine for each
mediator and stores one ``MechanismResult`` with everything it used, audited. The same request over the same data
gives the same numbers: run again (a double submit, a retry), it returns the stored result instead of a copy.
"""

from __future__ import annotations

import hashlib
import json
import time
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from gongzhi.core.audit import acting_user, audit_record
from gongzhi.core.errors import DomainError, full_clean_or_invalid
from gongzhi.places.models import Place

from ..engine import mechanism as engine
from ..engine.periods import Period, PeriodError
from ..models import MechanismResult
from . import selectors
from .selectors import MEDIATORS, OUTCOMES, X_ID

MIN_PERIODS = 2
MIN_COMMUNITIES = 5
MIN_RESAMPLES = 100
MAX_RESAMPLES = 10_000
MAX_SEED = 2**31 - 1
DEFAULT_RESAMPLES = engine.DEFAULT_RESAMPLES
DEFAULT_SEED = engine.DEFAULT_SEED
ALPHA = engine.DEFAULT_ALPHA
METHOD_VERSION = 1


def outcome_series(frame: Any, outcome: str) -> Any:
    """Y: G1 as stored (closed and implemented issues per 1,000 population); satisfaction as its 0–100 scale score
    (the mean of item means, 1 → 0 and 5 → 100, as METHOD.md maps survey scales)."""
    if outcome == "S_SATISFACTION":
        return (frame["S_SATISFACTION"] - 1.0) * 25.0
    return frame[outcome]


def _bad(field: str, message: str) -> DomainError:
    return DomainError(message, fields={field: [message]})


def _clean_periods(periods: Any, available: list[str]) -> list[str]:
    if isinstance(periods, str) or not isinstance(periods, list | tuple):
        raise _bad("periods", _("请选择时期"))
    keys: list[str] = []
    for raw in periods:
        try:
            key = Period.parse(str(raw)).key
        except PeriodError:
            raise _bad("periods", _("时期格式应为 2025 或 2025Q1：%(value)s") % {"value": str(raw)[:20]}) from None
        if key not in keys:
            keys.append(key)
    if len(keys) < MIN_PERIODS:
        raise _bad("periods", _("请至少选择 %(n)d 个时期") % {"n": MIN_PERIODS})
    unknown = [k for k in keys if k not in available]
    if unknown:
        raise _bad("periods", _("这些时期在本区划下没有测评结果：%(periods)s") % {"periods": "、".join(unknown)})
    if len({Period.parse(k).quarter is None for k in keys}) > 1:
        raise _bad("periods", _("所选时期须同为年度或同为季度"))
    return sorted(keys, key=engine.period_sort_key)


def _clean_int(value: Any, field: str, low: int, high: int) -> int:
    if isinstance(value, bool) or not isinstance(value, int):
        raise _bad(field, _("应为整数"))
    if not low <= value <= high:
        raise _bad(field, _("应在 %(low)d 到 %(high)d 之间") % {"low": low, "high": high})
    return value


def _fingerprint(rows: list[list[Any]]) -> str:
    text = json.dumps(rows, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    return hashlib.sha256(text.encode()).hexdigest()


def _library_versions() -> dict[str, str]:
    import linearmodels
    import numpy
    import statsmodels

    return {
        "numpy": numpy.__version__,
        "statsmodels": statsmodels.__version__,
        "linearmodels": linearmodels.__version__,
    }


def mechanism_run(
    *,
    place: Place,
    periods: list[str],
    outcome: str = "G1",
    resamples: int = DEFAULT_RESAMPLES,
    seed: int = DEFAULT_SEED,
    actor: Any,
) -> MechanismResult:
    """Run the mechanism test over the communities under ``place`` in ``periods`` (X = E1, M = each dimension score
    and the composite, Y = ``outcome``) and store it. Refuses (DomainError, nothing written) an unknown outcome,
    fewer than two periods, a period without results under the place, mixed years and quarters, fewer than five
    communities with data, or resamples/seed out of range."""
    if outcome not in OUTCOMES:
        raise _bad("outcome", _("结果变量只能是 G1 或满意度"))
    resamples = _clean_int(resamples, "resamples", MIN_RESAMPLES, MAX_RESAMPLES)
    seed = _clean_int(seed, "seed", 0, MAX_SEED)
    keys = _clean_periods(periods, selectors.snapshot_periods(place=place))

    panel = selectors.mechanism_panel(place=place, periods=keys)
    frame = panel.frame
    y = outcome_series(frame, outcome)
    has_m = frame[list(MEDIATORS)].notna().any(axis=1)
    usable = frame[frame[X_ID].notna() & y.notna() & has_m]
    n_communities = int(usable["community"].nunique())
    if n_communities < MIN_COMMUNITIES:
        label = _("治理满意度") if outcome == "S_SATISFACTION" else "G1"
        raise _bad(
            "periods",
            _("所选时期内同时有 E1、%(y)s 和维度得分的社区只有 %(n)d 个，至少需要 %(min)d 个")
            % {"y": label, "n": n_communities, "min": MIN_COMMUNITIES},
        )
    usable_periods = sorted(set(usable["period"]), key=engine.period_sort_key)
    if len(usable_periods) < MIN_PERIODS:
        raise _bad(
            "periods",
            _("所选时期中只有 %(n)d 个有数据，至少需要 %(min)d 个") % {"n": len(usable_periods), "min": MIN_PERIODS},
        )

    started = time.perf_counter()
    mediators: list[dict[str, Any]] = []
    for mediator in MEDIATORS:
        data = frame[["community", "period"]].assign(X=frame[X_ID], M=frame[mediator], Y=y)
        mediators.append(
            {
                "mediator": mediator,
                "mediation": engine.mediation(data, resamples=resamples, seed=seed, alpha=ALPHA),
                "fixed_effects": engine.fixed_effects(data),
            }
        )
    elapsed_ms = round(1000 * (time.perf_counter() - started))

    rows = [
        [community, period, *(engine.rnd(v, 12) for v in values)]
        for community, period, *values in frame[list(selectors.PANEL_COLUMNS)].itertuples(index=False)
    ]
    config = {
        "method_version": METHOD_VERSION,
        "place_code": place.code,
        "periods": keys,
        "x": X_ID,
        "outcome": outcome,
        "mediators": list(MEDIATORS),
        "resamples": resamples,
        "seed": seed,
        "alpha": ALPHA,
        "ci": "percentile bootstrap, communities resampled with replacement (numpy PCG64)",
        "paths": "pooled OLS with community-clustered standard errors (statsmodels)",
        "fixed_effects": "PanelOLS entity + time effects, clustered by community (linearmodels)",
        "outcome_scale": "0-100 (1 -> 0, 5 -> 100)" if outcome == "S_SATISFACTION" else "value",
        "panel_rows": len(rows),
        "panel_sha256": _fingerprint(rows),
        "computations": panel.computations,
        "libraries": _library_versions(),
    }
    result = {
        "x": X_ID,
        "y": outcome,
        "panel": {
            "rows": len(usable),
            "communities": n_communities,
            "periods": usable_periods,
        },
        "mediators": mediators,
    }
    with transaction.atomic():
        # Storing is serialised per place (a no-key row lock on PostgreSQL): of two identical submits, the second
        # waits here, then finds the first one's row (same settings, same data fingerprint) and returns it.
        list(Place.objects.select_for_update(no_key=True).filter(code=place.code).values_list("code", flat=True))
        newest = selectors.mechanism_newest(place=place)
        if newest is not None and newest.config == config:
            return newest
        stored = MechanismResult(place=place, config=config, result=result, requested_by=acting_user(actor))
        full_clean_or_invalid(stored)
        stored.save()
        audit_record(
            actor=actor,
            action="create",
            target_type="mechanism_result",
            target_id=str(stored.pk),
            place_code=place.code,
            summary=f"{outcome} {','.join(keys)} ({n_communities})",
            changes={"periods": keys, "outcome": outcome, "resamples": resamples, "seed": seed, "ms": elapsed_ms},
        )
    return stored
