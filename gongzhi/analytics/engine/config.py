"""``MeasureConfig``: the settings a computation runs with (METHOD.md defaults), serialised canonically so that the
same settings give the same JSON (and the same results, byte for byte)."""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from typing import Any

from .spec import CORE

WEIGHTINGS = ("equal", "entropy", "expert")
DEFAULT_THRESHOLD = 60.0
DEFAULT_GRAPH_LIMIT = 50


def default_goalposts() -> dict[str, tuple[float, float]]:
    return {s.id: (s.lo, s.hi) for s in CORE if s.lo is not None and s.hi is not None}


@dataclass(frozen=True)
class MeasureConfig:
    goalposts: dict[str, tuple[float, float]] = field(default_factory=default_goalposts)
    weighting: str = "equal"
    expert_weights: dict[str, float] = field(default_factory=dict)  # indicator id → weight ≥ 0 (missing: 0)
    threshold: float = DEFAULT_THRESHOLD
    graph_limit: int = DEFAULT_GRAPH_LIMIT

    def __post_init__(self) -> None:
        if self.weighting not in WEIGHTINGS:
            raise ValueError(f"weighting must be one of {WEIGHTINGS}")
        for key, (lo, hi) in self.goalposts.items():
            if not hi > lo:
                raise ValueError(f"goalposts of {key}: hi must be greater than lo")
        if any(w < 0 for w in self.expert_weights.values()):
            raise ValueError("expert weights must be ≥ 0")
        if not 0 <= self.threshold <= 100:
            raise ValueError("threshold must be within 0–100")
        if self.graph_limit < 2:
            raise ValueError("graph limit must be at least 2")

    @classmethod
    def from_overrides(
        cls,
        *,
        goalposts: dict[str, Any] | None = None,
        weighting: str = "equal",
        expert_weights: dict[str, Any] | None = None,
        threshold: float = DEFAULT_THRESHOLD,
        graph_limit: int = DEFAULT_GRAPH_LIMIT,
    ) -> MeasureConfig:
        posts = default_goalposts()
        for key, pair in (goalposts or {}).items():
            if key not in posts:
                raise ValueError(f"unknown scored indicator {key!r}")
            posts[key] = (float(pair[0]), float(pair[1]))
        return cls(
            goalposts=posts,
            weighting=weighting,
            expert_weights={k: float(v) for k, v in (expert_weights or {}).items()},
            threshold=float(threshold),
            graph_limit=int(graph_limit),
        )

    def to_json(self) -> dict[str, Any]:
        return {
            "goalposts": {k: [self.goalposts[k][0], self.goalposts[k][1]] for k in sorted(self.goalposts)},
            "weighting": self.weighting,
            "expert_weights": {k: self.expert_weights[k] for k in sorted(self.expert_weights)},
            "threshold": self.threshold,
            "graph_limit": self.graph_limit,
        }

    @classmethod
    def from_json(cls, data: dict[str, Any]) -> MeasureConfig:
        return cls.from_overrides(
            goalposts=data.get("goalposts"),
            weighting=data.get("weighting", "equal"),
            expert_weights=data.get("expert_weights"),
            threshold=data.get("threshold", DEFAULT_THRESHOLD),
            graph_limit=data.get("graph_limit", DEFAULT_GRAPH_LIMIT),
        )

    def canonical(self) -> str:
        return json.dumps(self.to_json(), sort_keys=True, ensure_ascii=False, separators=(",", ":"))
