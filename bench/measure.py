"""The analytics benchmark (issue #9, part 3): on a migrated PostgreSQL database already loaded with a district
(``bench/district.py`` + ``import_data``/``interchange.bulk``), in one run:

(a) **floor** — the extractor's own SQL statements, replayed with a plain cursor and ``fetchall()`` (ids as text,
    decimals as floats: see ``floor_read``): the rows the engine needs, read into Python, nothing else (no frame, no
    computing);
(b) **engine** — the full recompute as a user runs it: ``services.compute_now(period=…, scope_code=…)`` (extract →
    indicators → survey → scores → roll-ups and diagnoses → graph drawings → snapshots stored), with its steps timed;
(c) **baseline** — ``bench/baseline.py`` (pandas + NetworkX) reading the same rows with the same statements and
    computing the same core indicators;

each ``--runs`` times (the baseline ``--baseline-runs`` times), every run in a fresh subprocess, whose peak resident
memory (``ru_maxrss`` from ``os.wait4``) is recorded. Phases are interleaved run by run (floor, engine, baseline,
floor, …) so that other load on the machine hits them alike. Then it checks that the baseline and the engine's stored
results agree on every core indicator of every community, and writes a JSON file and a markdown fragment
(``--write-results`` also puts the fragment into bench/RESULTS.md between the markers of the analytics section).

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/gz_scale_district \\
        .venv/bin/python bench/measure.py --period 2025 --scope 330188000000 --runs 3 --baseline-runs 1

The extractor's statements are captured without reading the data: ``extract()`` runs once with ``LIMIT 0`` added to
every statement it sends (its ``EXISTS`` probe excepted) and with the statements it reads by ``COPY`` (residents,
attendance, activities on PostgreSQL) recorded instead of run; the plain ``SELECT`` statements with their parameters
are replayed.
Targets (issue #9): engine ≤ 2 × floor, engine ≥ 20 × faster than the baseline, peak memory of the engine ≤ 4 GB.
"""

from __future__ import annotations

import argparse
import datetime
import itertools
import json
import os
import pickle
import re
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))

BEGIN = "<!-- measure.py:begin -->"
END = "<!-- measure.py:end -->"
TARGET_FLOOR_RATIO = 2.0
TARGET_SPEEDUP = 20.0
TARGET_PEAK_GB = 4.0


def _setup() -> None:
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")
    os.environ.setdefault("DEBUG", "0")  # no query log kept in memory
    import django

    django.setup()


# --- capturing the extractor's statements --------------------------------------------------------------------------


def _source_tables() -> dict[str, str]:
    """db table → engine source name."""
    from gongzhi.analytics import extract
    from gongzhi.places.models import Place

    tables = {model._meta.db_table: name for name, model in extract.SOURCE_TABLES.items()}
    tables[extract.ActivityResource._meta.db_table] = "activity_resources"
    tables[Place._meta.db_table] = "communities"
    return tables


FROM_RE = re.compile(r'\bFROM\s+"?(\w+)"?', re.IGNORECASE)


def capture(period: str, scope: str) -> list[tuple[str, str, Any]]:
    """The extractor's statements for (period, scope): ``[(source, sql, params), …]`` in the order it sends them."""
    from django.db import connection

    from gongzhi.analytics import extract as extract_module
    from gongzhi.analytics.engine.frames import empty
    from gongzhi.analytics.engine.periods import Period
    from gongzhi.analytics.extract import extract

    tables = _source_tables()
    seen: list[tuple[str, str, Any]] = []

    def limited(execute: Callable[..., Any], sql: str, params: Any, many: bool, context: Any) -> Any:
        probe = sql.lstrip().upper().startswith("SELECT CASE WHEN EXISTS")
        if probe or many or not sql.lstrip().upper().startswith("SELECT"):
            return execute(sql, params, many, context)
        match = FROM_RE.search(sql)
        source = tables.get(match.group(1), match.group(1)) if match else "?"
        seen.append((source, sql, params))
        return execute(sql + " LIMIT 0", params, many, context)

    def copied(name: str, sql: str, params: Any, moments: Any) -> Any:
        # the frames the extractor reads with COPY (on PostgreSQL): the floor replays their SELECT
        seen.append((name, sql, params))
        return empty(name)

    read_by_copy = extract_module._copy_frame
    extract_module._copy_frame = copied
    try:
        with connection.execute_wrapper(limited):
            extract(period=Period.parse(period), scope_code=scope)
    finally:
        extract_module._copy_frame = read_by_copy
    return seen


def floor_read(queries: list[tuple[str, str, Any]]) -> tuple[dict[str, list[tuple[Any, ...]]], dict[str, float]]:
    """Run the statements, fetch every row: ``({source: rows}, {source: seconds})``.

    On PostgreSQL, ids (``uuid``) are read as text and decimals (``numeric``) as floats — the form the engine needs
    them in, and the cheapest for the driver (psycopg otherwise builds a ``uuid.UUID`` and a ``Decimal`` per value,
    which makes reading 4× slower): the floor is the least it takes to have the rows in Python."""
    from django.db import connection

    rows: dict[str, list[tuple[Any, ...]]] = {}
    seconds: dict[str, float] = {}
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            from psycopg.types.numeric import FloatLoader
            from psycopg.types.string import TextLoader

            cursor.cursor.adapters.register_loader("uuid", TextLoader)
            cursor.cursor.adapters.register_loader("numeric", FloatLoader)
        for source, sql, params in queries:
            began = time.perf_counter()
            cursor.execute(sql, params)
            rows[source] = cursor.fetchall()
            seconds[source] = seconds.get(source, 0.0) + time.perf_counter() - began
    return rows, seconds


# --- the phases, each in its own process ---------------------------------------------------------------------------


def _community_values(computation: Any) -> list[tuple[str, str, float | None]]:
    from gongzhi.analytics.models import IndicatorSnapshot

    return list(
        IndicatorSnapshot.objects.filter(computation=computation, place__level="community").values_list(
            "place_id", "indicator", "value"
        )
    )


def child(args: argparse.Namespace) -> int:
    _setup()
    result: dict[str, Any] = {"phase": args.child}
    if args.child == "capture":
        queries = capture(args.period, args.scope)
        with open(args.queries, "wb") as fh:
            pickle.dump(queries, fh)
        result["queries"] = [(source, " ".join(sql.split())) for source, sql, _p in queries]
        result["machine"] = machine()
        result["tables"] = table_sizes()
    elif args.child == "explain":
        from django.db import connection

        queries = pickle.loads(Path(args.queries).read_bytes())
        plans = []
        with connection.cursor() as cursor:
            for source, sql, params in queries:
                cursor.execute("EXPLAIN (ANALYZE, BUFFERS) " + sql, params)
                plan = [row[0] for row in cursor.fetchall()]
                total = next((line for line in plan if line.startswith("Execution Time")), "")
                plans.append({"source": source, "sql": " ".join(sql.split()), "plan": plan, "time": total})
        result["plans"] = plans
    elif args.child == "floor":
        queries = pickle.loads(Path(args.queries).read_bytes())
        began = time.perf_counter()
        rows, seconds = floor_read(queries)
        result["seconds"] = time.perf_counter() - began
        result["steps"] = seconds
        result["rows"] = {k: len(v) for k, v in rows.items()}
    elif args.child == "engine":
        from gongzhi.analytics.services import compute_now

        marks: list[tuple[str, float]] = []

        def progress(done: int, total: int, label: str) -> None:
            marks.append((label or "end", time.perf_counter()))

        began = time.perf_counter()
        marks.append(("setup", began))  # until the first step: imports, settings, the computation row
        computation = compute_now(period=args.period, scope_code=args.scope, trigger="command", progress=progress)
        result["seconds"] = time.perf_counter() - began
        if computation.status != "done":
            raise SystemExit(f"compute_now failed: {computation.message}")
        from gongzhi.analytics.services import STEP_LABELS

        names = {label: key for key, label in STEP_LABELS.items()}
        result["steps"] = {names.get(a[0], a[0]): b[1] - a[1] for a, b in itertools.pairwise(marks)}
        result["message"] = computation.message
        if args.values:
            with open(args.values, "wb") as fh:
                pickle.dump(_community_values(computation), fh)
    elif args.child == "stored":
        from gongzhi.analytics.models import Computation

        newest = (
            Computation.objects.filter(period=args.period, scope_code=args.scope, status="done")
            .order_by("-finished_at")
            .first()
        )
        if newest is None:
            raise SystemExit("no done computation to compare with")
        result["computation"] = str(newest.pk)
        with open(args.values, "wb") as fh:
            pickle.dump(_community_values(newest), fh)
    elif args.child == "baseline":
        from bench import baseline

        queries = pickle.loads(Path(args.queries).read_bytes())
        began = time.perf_counter()
        rows, _seconds = floor_read(queries)
        read = time.perf_counter()
        frames = baseline.load(rows)
        del rows
        loaded = time.perf_counter()
        values = baseline.compute(frames, args.period, graph_limit=args.graph_limit)
        done = time.perf_counter()
        result["seconds"] = done - began
        result["steps"] = {"read": read - began, "frames": loaded - read, "compute": done - loaded}
        if args.values:
            values.to_pickle(args.values)
    Path(args.out).write_text(json.dumps(result, default=str))
    return 0


def run_child(
    phase: str, args: argparse.Namespace, work: Path, n: int, keep_values: bool, values: Path | None = None
) -> dict[str, Any]:
    """Run one phase in a fresh process; its result + ``peak_mb`` (the child's ru_maxrss)."""
    out = work / f"{phase}-{n}.json"
    if values is None and keep_values:
        values = work / f"{phase}-values.pickle"
    cmd = [
        sys.executable,
        str(Path(__file__).resolve()),
        "--child",
        phase,
        "--period",
        args.period,
        "--scope",
        args.scope,
        "--graph-limit",
        str(args.graph_limit),
        "--queries",
        str(work / "queries.pickle"),
        "--out",
        str(out),
    ]
    if values is not None:
        cmd += ["--values", str(values)]
    began = time.perf_counter()
    proc = subprocess.Popen(cmd, cwd=ROOT)
    _pid, status, usage = os.wait4(proc.pid, 0)
    proc.returncode = os.waitstatus_to_exitcode(status)
    wall = time.perf_counter() - began
    if proc.returncode != 0:
        raise SystemExit(f"phase {phase} run {n} failed with exit code {proc.returncode}")
    result = json.loads(out.read_text())
    result["peak_mb"] = usage.ru_maxrss / 1024  # Linux: kilobytes
    result["process_seconds"] = wall
    print(
        f"  {phase:9s} run {n}: {result.get('seconds', 0.0):8.2f} s, peak {result['peak_mb']:7.0f} MB",
        flush=True,
    )
    return result


# --- facts about the run -------------------------------------------------------------------------------------------


def machine() -> dict[str, str]:
    import igraph
    import networkx
    import numpy
    import pandas
    import polars
    import scipy
    from django.db import connection

    from bench.machine import describe

    return describe(
        {
            "polars": polars.__version__,
            "numpy": numpy.__version__,
            "scipy": scipy.__version__,
            "python-igraph": igraph.__version__,
            "pandas": pandas.__version__,
            "networkx": networkx.__version__,
            "database": connection.settings_dict.get("NAME", "?"),
        }
    )


def table_sizes() -> dict[str, int]:
    from django.db import connection

    tables = {
        "residents": "people_resident",
        "activities": "activities_activity",
        "attendance": "activities_attendance",
        "memberships": "organizations_membership",
        "issue_actions": "deliberation_issueaction",
        "communities": "places_place",
    }
    sizes = {}
    with connection.cursor() as cursor:
        for name, table in tables.items():
            where = " WHERE level = 'community'" if name == "communities" else ""
            cursor.execute(f'SELECT count(*) FROM "{table}"{where}')  # fixed table names
            sizes[name] = int(cursor.fetchone()[0])
    return sizes


def load_average() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


# --- the report ----------------------------------------------------------------------------------------------------


def summary(results: list[dict[str, Any]]) -> dict[str, Any]:
    seconds = [r["seconds"] for r in results]
    peaks = [r["peak_mb"] for r in results]
    steps: dict[str, list[float]] = {}
    for r in results:
        for k, v in r.get("steps", {}).items():
            steps.setdefault(k, []).append(v)
    return {
        "runs": len(results),
        "median_s": statistics.median(seconds) if seconds else None,
        "min_s": min(seconds) if seconds else None,
        "max_s": max(seconds) if seconds else None,
        "all_s": seconds,
        "peak_mb": max(peaks) if peaks else None,
        "steps_median_s": {k: statistics.median(v) for k, v in steps.items()},
    }


def markdown(report: dict[str, Any]) -> str:
    p = report["phases"]
    floor, engine, base = p.get("floor"), p.get("engine"), p.get("baseline")
    lines = [
        BEGIN,
        f"Measured {report['when']} by `bench/measure.py` on database `{report['machine'].get('database')}`: "
        f"period {report['period']}, scope {report['scope'] or 'every community'}, graph limit {report['graph_limit']}.",
        "",
        "Data: " + ", ".join(f"{k} {v:,}" for k, v in report["tables"].items()) + ".",
        "Rows the extractor reads: " + ", ".join(f"{k} {v:,}" for k, v in report.get("rows", {}).items() if v) + ".",
        "",
        "| phase | what | runs | median s | min s | max s | peak RSS MB |",
        "|---|---|---:|---:|---:|---:|---:|",
    ]
    what = {
        "floor": "(a) the extractor's SQL replayed, `fetchall()`, nothing else",
        "engine": "(b) `compute_now` — extract, indicators, scores, roll-ups, drawings, store",
        "baseline": "(c) `bench/baseline.py` — same SQL, pandas + NetworkX",
    }
    for name in ("floor", "engine", "baseline"):
        s = p.get(name)
        if s:
            lines.append(
                f"| {name} | {what[name]} | {s['runs']} | {s['median_s']:.1f} | {s['min_s']:.1f} | {s['max_s']:.1f} "
                f"| {s['peak_mb']:.0f} |"
            )
    lines.append("")
    if floor and engine:
        ratio = engine["median_s"] / floor["median_s"]
        ok = "met" if ratio <= TARGET_FLOOR_RATIO else "NOT met"
        lines.append(f"- **engine ÷ floor = {ratio:.2f}** (target ≤ {TARGET_FLOOR_RATIO:g}: {ok})")
    if base and engine:
        speedup = base["median_s"] / engine["median_s"]
        ok = "met" if speedup >= TARGET_SPEEDUP else "NOT met"
        lines.append(f"- **baseline ÷ engine = {speedup:.1f}×** (target ≥ {TARGET_SPEEDUP:g}×: {ok})")
    if engine:
        gb = engine["peak_mb"] / 1024
        ok = "met" if gb <= TARGET_PEAK_GB else "NOT met"
        lines.append(f"- **engine peak memory = {gb:.2f} GB** (target ≤ {TARGET_PEAK_GB:g} GB: {ok})")
    agreement = report.get("agreement")
    if agreement:
        if report.get("compared_with"):
            lines.append(
                f"- Engine values: the stored computation {report['compared_with']} (no engine phase in this run)."
            )
        if agreement["disagreements"] == 0:
            lines.append(
                f"- Baseline and engine agree on all {agreement['compared']:,} values ({agreement['communities']} "
                f"communities × {agreement['indicators']} indicators; relative tolerance 1e-9, null = null)."
            )
        else:
            lines.append(f"- **Baseline and engine DISAGREE on {agreement['disagreements']} values**, e.g.:")
            lines += [f"  - `{d}`" for d in agreement["examples"]]
    if engine and engine.get("steps_median_s"):
        steps = ", ".join(f"{k} {v:.1f}" for k, v in engine["steps_median_s"].items())
        lines.append(f"- Engine steps (median s): {steps}.")
    if base and base.get("steps_median_s"):
        steps = ", ".join(f"{k} {v:.1f}" for k, v in base["steps_median_s"].items())
        lines.append(f"- Baseline steps (median s): {steps}.")
    if floor and floor.get("steps_median_s"):
        top = sorted(floor["steps_median_s"].items(), key=lambda kv: -kv[1])[:4]
        lines.append("- Floor by statement (median s): " + ", ".join(f"{k} {v:.1f}" for k, v in top) + ", ….")
    lines.append(f"- Load average before / after: {report['load_before']} / {report['load_after']} (2 cores).")
    lines += ["", "Machine: " + "; ".join(f"{k} {v}" for k, v in report["machine"].items()) + ".", ""]
    lines += ["Reproduce:", "", "```bash", report["command"], "```", END]
    return "\n".join(lines)


def write_results(fragment: str) -> None:
    path = ROOT / "bench" / "RESULTS.md"
    text = path.read_text(encoding="utf-8")
    if BEGIN in text and END in text:
        head, rest = text.split(BEGIN, 1)
        _old, tail = rest.split(END, 1)
        text = head + fragment + tail
    else:
        text = text.rstrip("\n") + "\n\n# Analytics at district scale (issue #9)\n\n" + fragment + "\n"
    path.write_text(text, encoding="utf-8")
    print("written bench/RESULTS.md")


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n\n")[0])
    parser.add_argument("--period", default=str(datetime.date.today().year - 1))
    parser.add_argument("--scope", default="330188000000", help="place code ('' = every community)")
    parser.add_argument("--graph-limit", type=int, default=50)
    parser.add_argument("--runs", type=int, default=3, help="runs of the floor and the engine")
    parser.add_argument("--baseline-runs", type=int, default=1)
    parser.add_argument("--phases", default="floor,engine,baseline")
    parser.add_argument("--json", default="", help="write the report as JSON here")
    parser.add_argument("--markdown", default="", help="write the markdown fragment here")
    parser.add_argument("--write-results", action="store_true", help="put the fragment into bench/RESULTS.md")
    parser.add_argument("--explain", action="store_true", help="EXPLAIN ANALYZE every statement of the extractor")
    parser.add_argument("--child", default="", help=argparse.SUPPRESS)
    parser.add_argument("--queries", default="", help=argparse.SUPPRESS)
    parser.add_argument("--out", default="", help=argparse.SUPPRESS)
    parser.add_argument("--values", default="", help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        return child(args)
    if not os.environ.get("DATABASE_URL", "").startswith("postgres"):
        print("warning: DATABASE_URL is not a PostgreSQL database", file=sys.stderr)
    phases = [p for p in args.phases.split(",") if p]
    command = "DATABASE_URL=… .venv/bin/python bench/measure.py " + " ".join(
        a if a and " " not in a else repr(a) for a in (argv if argv is not None else sys.argv[1:])
    )
    report: dict[str, Any] = {
        "when": datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z"),
        "period": args.period,
        "scope": args.scope,
        "graph_limit": args.graph_limit,
        "command": command,
        "load_before": load_average(),
    }
    with tempfile.TemporaryDirectory(prefix="gz-measure-") as tmp:
        work = Path(tmp)
        print("capturing the extractor's statements …", flush=True)
        captured = run_child("capture", args, work, 0, False)
        report["machine"], report["tables"], report["queries"] = (
            captured["machine"],
            captured["tables"],
            captured["queries"],
        )
        results: dict[str, list[dict[str, Any]]] = {p: [] for p in phases}
        rounds = max(args.runs, args.baseline_runs if "baseline" in phases else 0)
        for n in range(rounds):
            for phase in phases:
                wanted = args.baseline_runs if phase == "baseline" else args.runs
                if n < wanted:
                    results[phase].append(run_child(phase, args, work, n, keep_values=n == 0))
        report["phases"] = {p: summary(r) for p, r in results.items() if r}
        if args.explain:
            report["explain"] = run_child("explain", args, work, 0, False)["plans"]
        if results.get("floor"):
            report["rows"] = results["floor"][0]["rows"]
        engine_values = work / "engine-values.pickle"
        baseline_values = work / "baseline-values.pickle"
        if baseline_values.exists() and not engine_values.exists():
            # no engine phase in this run: compare with the newest stored computation of the period and scope
            stored = run_child("stored", args, work, 0, False, values=engine_values)
            report["compared_with"] = stored["computation"]
        if engine_values.exists() and baseline_values.exists():
            report["agreement"] = agreement(engine_values, baseline_values)
    report["load_after"] = load_average()
    fragment = markdown(report)
    print(fragment)
    if args.json:
        Path(args.json).write_text(json.dumps(report, indent=1, default=str), encoding="utf-8")
    if args.markdown:
        Path(args.markdown).write_text(fragment + "\n", encoding="utf-8")
    if args.write_results:
        write_results(fragment)
    bad = report.get("agreement", {}).get("disagreements", 0)
    return 1 if bad else 0


def agreement(engine_values: Path, baseline_values: Path) -> dict[str, Any]:
    import pandas as pd

    from bench import baseline

    engine = pickle.loads(engine_values.read_bytes())
    base = pd.read_pickle(baseline_values)
    found = baseline.disagreements(base, engine)
    communities = base["community_code"].nunique()
    return {
        "communities": communities,
        "indicators": len(baseline.IDS),
        "compared": communities * len(baseline.IDS),
        "disagreements": len(found),
        "examples": [str(d) for d in found[:10]],
    }


if __name__ == "__main__":
    sys.exit(main())
