"""Where the engine's time goes at district scale (issue #9, part 4): cProfile + pstats, and a step-by-step timing.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gz_scale_district \\
        .venv/bin/python bench/profile_engine.py --period 2025 --scope 330188000000 --save-input /tmp/district-2025

    # later, without the database (the saved input is the extractor's output as Parquet files):
    .venv/bin/python bench/profile_engine.py --period 2025 --input /tmp/district-2025

It times ``extract`` (unless ``--input``) and the coding of ids as integers (``keys.encode_ids``, which the pipeline
does; ``--text-ids`` skips it), then the engine's parts one by one — the shared intermediate frames, the
formulas, the co-participation graph's nodes and edges (``graphs.graph_parts``), the per-community graph measures,
the drawings — and profiles ``compute_indicators`` + ``drawings`` under cProfile, printing the functions with the most
cumulative and own time (``--top``). ``--stats FILE`` keeps the raw profile for ``python -m pstats FILE``.
"""

from __future__ import annotations

import argparse
import cProfile
import io
import json
import os
import pstats
import resource
import sys
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "0")
    import django

    django.setup()


def save_input(data: Any, folder: Path) -> None:
    from dataclasses import fields

    folder.mkdir(parents=True, exist_ok=True)
    for f in fields(data):
        if f.name == "missing":
            continue
        getattr(data, f.name).write_parquet(folder / f"{f.name}.parquet")
    (folder / "missing.json").write_text(json.dumps(sorted(data.missing)))


def load_input(folder: Path) -> Any:
    from dataclasses import fields

    import polars as pl

    from gongzhi.analytics.engine.frames import EngineInput

    data = EngineInput(missing=frozenset(json.loads((folder / "missing.json").read_text())))
    for f in fields(data):
        if f.name != "missing":
            setattr(data, f.name, pl.read_parquet(folder / f"{f.name}.parquet"))
    return data


def timed(label: str, fn: Any, *args: Any, **kwargs: Any) -> Any:
    began = time.perf_counter()
    out = fn(*args, **kwargs)
    print(f"{label:44s} {time.perf_counter() - began:8.2f} s", flush=True)
    return out


def steps(data: Any, period: Any, graph_limit: int) -> None:
    """The engine's parts one by one (each builds on the cached results of the one before, as in a real run)."""
    from gongzhi.analytics.engine import graphs, indicators

    ctx = indicators.Context(data, period)
    for name in ("comms", "residents", "pop", "present", "present_before", "learners", "deliberators", "held"):
        timed(f"context.{name}", getattr, ctx, name)
    for indicator, formula in indicators.FORMULAS.items():
        timed(f"formula {indicator}", formula, ctx)
    graphs.clear_cache()
    parts = timed("graphs.graph_parts (nodes + edges)", graphs.graph_parts, data, period, graph_limit=graph_limit)
    print(f"{'':44s} nodes {parts.nodes.height:,}, edges {parts.edges.height:,}")
    timed("graphs.graph_measures (per community)", graphs.graph_measures, data, period, graph_limit=graph_limit)
    timed("graphs.drawings (per community)", graphs.drawings, data, period, graph_limit=graph_limit)
    graphs.clear_cache()


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--period", required=True)
    parser.add_argument("--scope", default="330188000000")
    parser.add_argument("--graph-limit", type=int, default=50)
    parser.add_argument("--input", default="", help="a folder written by --save-input (no database needed)")
    parser.add_argument("--save-input", default="")
    parser.add_argument("--top", type=int, default=30)
    parser.add_argument("--stats", default="", help="write the raw cProfile stats here")
    parser.add_argument("--no-steps", action="store_true")
    parser.add_argument("--text-ids", action="store_true", help="profile on text ids (not coded as integers)")
    args = parser.parse_args(argv)

    if args.input:
        from gongzhi.analytics.engine.periods import Period

        data = timed("load saved input (Parquet)", load_input, Path(args.input))
    else:
        _setup()
        from gongzhi.analytics.engine.periods import Period
        from gongzhi.analytics.extract import extract

        data = timed("extract", extract, period=Period.parse(args.period), scope_code=args.scope)
        if args.save_input:
            save_input(data, Path(args.save_input))
    if not args.text_ids:
        from gongzhi.analytics.engine.keys import encode_ids

        data = timed("keys.encode_ids (as the pipeline computes)", encode_ids, data)
    period = Period.parse(args.period)
    print(
        f"{'':44s} communities {data.communities.height:,}, residents {data.residents.height:,}, "
        f"attendance {data.attendance.height:,}, activities {data.activities.height:,}"
    )
    if not args.no_steps:
        steps(data, period, args.graph_limit)

    from gongzhi.analytics.engine import graphs
    from gongzhi.analytics.engine.indicators import compute_indicators

    graphs.clear_cache()
    profiler = cProfile.Profile()
    began = time.perf_counter()
    profiler.enable()
    compute_indicators(data, period, graph_limit=args.graph_limit)
    graphs.drawings(data, period, graph_limit=args.graph_limit)
    profiler.disable()
    print(f"{'compute_indicators + drawings (profiled)':44s} {time.perf_counter() - began:8.2f} s")
    print(f"peak RSS {resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024:.0f} MB")
    if args.stats:
        profiler.dump_stats(args.stats)
    for key in ("cumulative", "tottime"):
        out = io.StringIO()
        pstats.Stats(profiler, stream=out).strip_dirs().sort_stats(key).print_stats(args.top)
        print(f"\n--- by {key} ---")
        print("\n".join(line for line in out.getvalue().splitlines() if line.strip())[-(args.top + 4) * 120 :])
    return 0


if __name__ == "__main__":
    sys.exit(main())
