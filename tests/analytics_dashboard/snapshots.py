"""Snapshot rows written directly, as the pipeline stores them (the dashboard reads snapshots only, so its tests can set
up exactly the results they need): indicator rows with METHOD.md normalisation, dimension and composite rows, a
diagnosis, a co-participation graph for each community, and population-weighted roll-ups for the ancestors."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from django.utils import timezone

from gongzhi.analytics.engine import spec
from gongzhi.analytics.engine.config import MeasureConfig
from gongzhi.analytics.models import Computation, DiagnosisSnapshot, GraphSnapshot, IndicatorSnapshot
from gongzhi.places.models import Place

Row = dict[str, float | None]  # value, score, numerator, denominator


def normalise(id_: str, value: float | None, config: MeasureConfig) -> float | None:
    if value is None or id_ not in config.goalposts:
        return None
    lo, hi = config.goalposts[id_]
    return 100.0 * min(max((value - lo) / (hi - lo), 0.0), 1.0)


def community_values(seed: int) -> dict[str, Row]:
    """Plausible raw values for one community; ``seed`` moves them (0 is a weak community, larger is stronger)."""
    s = seed
    pop = 1000.0 + 250 * s
    share = lambda x: min(x, 1.0)  # noqa: E731
    raw: dict[str, tuple[float | None, float | None, float | None]] = {
        "I1": (share(0.10 + 0.08 * s), None, pop),
        "I2": (share(0.20 + 0.10 * s), None, 100.0),
        "I3": (share(0.15 + 0.05 * s), None, 100.0),
        "I4": (share(0.02 + 0.03 * s), None, pop),
        "I5": (share(0.10 + 0.06 * s), None, 100.0),
        "II1": (1.0 + 0.8 * s, None, pop),
        "II2": (share(0.10 + 0.08 * s), None, 10.0),
        "II3": (share(0.05 + 0.04 * s), None, pop),
        "II4": (0.5 + 0.6 * s, None, pop),
        "II5": (share(0.10 + 0.07 * s), None, 40.0),
        "II6": (None, 0.0, 0.0) if s == 0 else (share(0.5 + 0.1 * s), None, 10.0),  # no issue closed: null
        "III1": (0.4 + 0.5 * s, None, pop),
        "III2": (share(0.3 + 0.1 * s), None, None),
        "III3": (share(0.3 + 0.1 * s), None, 20.0),
        "III4": (share(0.1 + 0.06 * s), None, 40.0),
        "III5": (-0.8 + 0.15 * s, None, 200.0),
        "III6": (share(0.5 + 0.08 * s), None, 60.0),
        "III7": (0.3 + 0.02 * s, None, None),
        "E1": (5.0 + s, None, pop),
        "E2": (1.0 + 0.2 * s, None, pop),
        "G1": (0.5 + 0.2 * s, None, pop),
        "G2": (30.0 - 2 * s, None, None),
    }
    rows: dict[str, Row] = {}
    for id_, (value, num, den) in raw.items():
        numerator = num if num is not None else (None if den is None or value is None else round(value * den, 6))
        if id_ in {"II1", "III1", "E1", "E2", "G1"} and value is not None and den:
            numerator = round(value * den / 1000, 6)
        if id_ == "II4" and value is not None and den:
            numerator = round(value * den, 6)
        rows[id_] = {"value": value, "numerator": numerator, "denominator": den}
    rows["POP"] = {"value": pop, "numerator": None, "denominator": None}
    rows["NODES"] = {"value": 60.0 + 10 * s, "numerator": None, "denominator": None}
    rows["EDGES"] = {"value": 200.0 + 30 * s, "numerator": None, "denominator": None}
    rows["DENSITY"] = {"value": 0.11, "numerator": None, "denominator": None}
    return rows


def score_rows(rows: dict[str, Row], config: MeasureConfig) -> dict[str, Row]:
    """Adds the normalised score of each scored indicator, the dimension rows and the composite (equal weights)."""
    out = {k: dict(v) for k, v in rows.items()}
    dims: dict[str, float | None] = {}
    for dim in spec.DIMENSIONS:
        scores = []
        for s in (*spec.CORE, *spec.SURVEY):
            if s.dimension == dim and s.id in out:
                sc = normalise(s.id, out[s.id]["value"], config) if s.id in config.goalposts else None
                if s.id.startswith("S_") and out[s.id]["value"] is not None:
                    sc = 100.0 * (float(out[s.id]["value"] or 0) - 1.0) / 4.0
                out[s.id]["score"] = sc
                if sc is not None:
                    scores.append(sc)
        dims[dim] = sum(scores) / len(scores) if scores else None
    for s in spec.CORE:
        out.setdefault(s.id, {"value": None, "numerator": None, "denominator": None})
        out[s.id].setdefault("score", None)
    for k in spec.EXTRA_IDS:
        if k in out:
            out[k]["score"] = None
    for dim, row in spec.DIMENSION_ROWS.items():
        out[row] = {"value": None, "score": dims[dim], "numerator": None, "denominator": None}
    present = [v for v in dims.values() if v is not None]
    out[spec.COMPOSITE] = {
        "value": None,
        "score": sum(present) / len(present) if len(present) == 3 else None,
        "numerator": None,
        "denominator": None,
    }
    return out


def diagnose(rows: dict[str, Row], threshold: float) -> tuple[str, dict[str, list[str]]]:
    dims = {d: rows[spec.DIMENSION_ROWS[d]]["score"] for d in spec.DIMENSIONS}
    weak: dict[str, list[str]] = {}
    for d in spec.DIMENSIONS:
        scored = [
            (rows[s.id]["score"], s.id)
            for s in spec.CORE
            if s.dimension == d and s.scored and rows.get(s.id, {}).get("score") is not None
        ]
        weak[d] = [i for sc, i in sorted(scored) if sc is not None and sc < threshold][:3]
    known = {d: v for d, v in dims.items() if v is not None}
    if not known:
        return "", weak
    low = min(known.values())
    if low >= threshold:
        return "", weak
    return ";".join(d for d in spec.DIMENSIONS if known.get(d) == low), weak


def graph(seed: int, nodes: int = 24, *, truncated: bool = False) -> dict[str, Any]:
    data_nodes = [
        ["local" if (i + seed) % 3 else "new_citizen", 1 if i < nodes - 3 else 2 + i % 2] for i in range(nodes)
    ]
    edges = [[i, i + 1] for i in range(nodes - 4)] + [[i, i + 2] for i in range(0, nodes - 5, 3)]
    return {
        "nodes": data_nodes,
        "edges": edges,
        "truncated": truncated,
        "nodes_total": nodes * (3 if truncated else 1),
        "edges_total": len(edges) * (4 if truncated else 1),
    }


@dataclass
class Stored:
    computations: dict[str, Computation] = field(default_factory=dict)
    rows: dict[tuple[str, str], dict[str, Row]] = field(default_factory=dict)  # (place code, period) → rows


def store(
    communities: list[tuple[Place, int]],
    periods: tuple[str, ...] = ("2024", "2025"),
    *,
    rollup_to: list[Place] = (),  # type: ignore[assignment]
    config: MeasureConfig | None = None,
    seed_step: int = 1,
    truncated: tuple[str, ...] = (),
) -> Stored:
    """Stores snapshots for ``communities`` (each with its seed; the seed rises by ``seed_step`` per period) and rolls
    them up (population-weighted means; sums for counts) to each place of ``rollup_to`` over the communities beneath."""
    config = config or MeasureConfig()
    out = Stored()
    for k, period in enumerate(periods):
        comp = Computation.objects.create(
            period=period,
            scope_code="",
            config=config.to_json(),
            status="done",
            trigger="command",
            communities=len(communities),
            started_at=timezone.now(),
            finished_at=timezone.now(),
        )
        out.computations[period] = comp
        isnaps: list[IndicatorSnapshot] = []
        for place, seed in communities:
            rows = score_rows(community_values(seed + k * seed_step), config)
            out.rows[(place.code, period)] = rows
            _add(isnaps, place, period, rows, comp)
            dilemmas, weak = diagnose(rows, config.threshold)
            DiagnosisSnapshot.objects.create(place=place, period=period, dilemmas=dilemmas, weak=weak, computation=comp)
            g = graph(seed, truncated=place.code in truncated)
            GraphSnapshot.objects.create(
                place=place, period=period, nodes=g["nodes_total"], edges=g["edges_total"], data=g, computation=comp
            )
        for parent in rollup_to:
            children = [(p, out.rows[(p.code, period)]) for p, _ in communities if p.code.startswith(parent.prefix)]
            if not children:
                continue
            rows = _rollup([r for _, r in children])
            out.rows[(parent.code, period)] = rows
            _add(isnaps, parent, period, rows, comp)
            dilemmas, weak = diagnose(rows, config.threshold)
            DiagnosisSnapshot.objects.create(
                place=parent, period=period, dilemmas=dilemmas, weak=weak, computation=comp
            )
        IndicatorSnapshot.objects.bulk_create(isnaps)
    return out


def _add(out: list[IndicatorSnapshot], place: Place, period: str, rows: dict[str, Row], comp: Computation) -> None:
    for id_, r in rows.items():
        out.append(
            IndicatorSnapshot(
                place=place,
                period=period,
                indicator=id_,
                value=r.get("value"),
                score=r.get("score"),
                numerator=r.get("numerator"),
                denominator=r.get("denominator"),
                computation=comp,
            )
        )


def _rollup(children: list[dict[str, Row]]) -> dict[str, Row]:
    weights = [float(c["POP"]["value"] or 0) for c in children]
    out: dict[str, Row] = {}
    for id_ in children[0]:
        row: Row = {}
        for key in ("value", "score"):
            pairs: list[tuple[float, float]] = []
            for c, w in zip(children, weights, strict=True):
                v = c[id_].get(key)
                if v is not None:
                    pairs.append((float(v), w))
            total = sum(w for _, w in pairs)
            row[key] = sum(v * w for v, w in pairs) / total if pairs and total else None
        for key in ("numerator", "denominator"):
            vals = [float(x) for c in children if (x := c[id_].get(key)) is not None]
            row[key] = sum(vals) if vals else None
        if id_ in {"POP", "NODES", "EDGES"}:
            row["value"] = float(sum(float(c[id_]["value"] or 0) for c in children))
        out[id_] = row
    return out
