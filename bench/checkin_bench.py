"""QR check-in benchmark: the check-in endpoint against a bare Django endpoint, same server, same run.

What it does (all local, traffic only to 127.0.0.1, bounded in requests and time):

1. (Re)creates a throwaway PostgreSQL database (``gz_bench`` by default) and migrates it.
2. Creates a place chain, one course session happening now, and N residents with accounts, each logged in (a Django
   session row per resident, as a login would leave) with a CSRF cookie.
3. Starts gunicorn (``config.wsgi``, settings ``bench.settings`` = production settings + ``/bench/bare``) with 2+
   workers on a free port of 127.0.0.1, with SECRET_KEY, DATA_ENCRYPTION_KEY, DATABASE_URL and ALLOWED_HOSTS set.
4. Measures, with a thread pool of keep-alive HTTP clients, a fixed number of requests under a time limit:
   (a) ``GET /bench/bare`` → ``HttpResponse("ok")``;
   (b) ``POST /api/v1/checkin`` ``{"token": …}``: every request a different resident scanning a fresh valid token
       (issued with ``gongzhi.activities.qr``), so each one records an attendance and its points entry.
5. Prints throughput and latency percentiles, the ratio check-in ÷ bare, checks that every check-in was written
   once, stops gunicorn, drops the database (unless ``--keep``), and with ``--write-results`` writes bench/RESULTS.md.

Run from the repository root:

    .venv/bin/python bench/checkin_bench.py --write-results

Options: ``--requests`` per endpoint (default 3000), ``--seconds`` per endpoint (default 30), ``--rounds`` (default 3),
``--concurrency``
(default 8), ``--workers`` (default max(2, nproc)), ``--threads`` per worker (default 4), ``--pg`` (server URL without a
database, default ``postgres://postgres@127.0.0.1:5432``), ``--database`` (default ``gz_bench``).
"""

from __future__ import annotations

import argparse
import datetime
import http.client
import json
import os
import secrets
import signal
import socket
import subprocess
import sys
import threading
import time
import warnings
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TARGET_RATIO = 0.5
TARGET_P99_MS = 100.0
ANALYSIS_HEADING = "## Analysis"  # a section of RESULTS.md written by hand, kept when the results are rewritten


@dataclass
class Phase:
    name: str
    latencies: list[float] = field(default_factory=list)  # seconds, successful requests
    errors: dict[str, int] = field(default_factory=dict)
    elapsed: float = 0.0

    @property
    def ok(self) -> int:
        return len(self.latencies)

    @property
    def throughput(self) -> float:
        return self.ok / self.elapsed if self.elapsed else 0.0

    def percentile(self, p: float) -> float:
        if not self.latencies:
            return float("nan")
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, round(p / 100 * (len(ordered) - 1)))] * 1000

    def row(self) -> str:
        errors = sum(self.errors.values())
        return (
            f"| {self.name} | {self.ok} | {errors} | {self.elapsed:.1f} | {self.throughput:.0f} | "
            f"{self.percentile(50):.1f} | {self.percentile(90):.1f} | {self.percentile(99):.1f} | "
            f"{max(self.latencies) * 1000 if self.latencies else float('nan'):.1f} |"
        )


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return int(s.getsockname()[1])


def prepare_environment(args: argparse.Namespace) -> dict[str, str]:
    from cryptography.fernet import Fernet

    env = dict(os.environ)
    env.update(
        DJANGO_SETTINGS_MODULE="bench.settings",
        SECRET_KEY=secrets.token_urlsafe(50),
        DATA_ENCRYPTION_KEY=Fernet.generate_key().decode(),
        DATABASE_URL=f"{args.pg.rstrip('/')}/{args.database}",
        ALLOWED_HOSTS=HOST,
        LOG_LEVEL="WARNING",
        PYTHONWARNINGS="ignore:No directory at",
    )
    os.environ.update(env)
    return env


def recreate_database(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{args.database}"')


def drop_database(args: argparse.Namespace) -> None:
    import psycopg

    with psycopg.connect(f"{args.pg.rstrip('/')}/postgres", autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{args.database}" WITH (FORCE)')


def create_data(residents: int) -> tuple[Any, list[tuple[str, str]]]:
    """One course session happening now and ``residents`` logged-in residents: (activity, [(session key, csrf)])."""
    from django.conf import settings
    from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
    from django.contrib.sessions.backends.db import SessionStore
    from django.contrib.sessions.models import Session
    from django.utils import timezone
    from django.utils.crypto import get_random_string

    from gongzhi.activities.services import activity_create
    from gongzhi.people.models import Resident, User
    from gongzhi.places.models import Place

    parent = None
    for code, name, level in (
        ("330000000000", "浙江省", "province"),
        ("330100000000", "杭州市", "city"),
        ("330102000000", "上城区", "district"),
        ("330102011000", "九堡街道", "street"),
        ("330102011001", "九堡社区", "community"),
    ):
        parent = Place.objects.create(code=code, name=name, level=level, parent=parent)
    community = parent
    assert community is not None
    now = timezone.now()
    activity = activity_create(
        actor=None,
        place=community,
        kind="course_session",
        title="婆媳沟通的艺术（压测）",
        starts_at=now - datetime.timedelta(minutes=5),
        ends_at=now + datetime.timedelta(hours=2),
        ref="BENCH-1",
    )
    users = []
    for i in range(residents):
        user = User(phone=f"137{i:08d}", display_name=f"居民{i}")
        user.set_unusable_password()
        users.append(user)
    User.objects.bulk_create(users, batch_size=2000)
    Resident.objects.bulk_create(
        [
            Resident(
                ref=f"B{i:06d}",
                user=user,
                community=community,
                registered_on=datetime.date(2024, 1, 1),
                household="local" if i % 3 else "new_citizen",
            )
            for i, user in enumerate(users)
        ],
        batch_size=2000,
    )
    backend = settings.AUTHENTICATION_BACKENDS[-1]  # ModelBackend, as a password login records
    expire = now + datetime.timedelta(seconds=settings.SESSION_COOKIE_AGE)
    store = SessionStore()
    sessions, credentials = [], []
    for user in users:
        key = get_random_string(32, "abcdefghijklmnopqrstuvwxyz0123456789")
        data = {SESSION_KEY: str(user.pk), BACKEND_SESSION_KEY: backend, HASH_SESSION_KEY: user.get_session_auth_hash()}
        sessions.append(Session(session_key=key, session_data=store.encode(data), expire_date=expire))
        credentials.append((key, get_random_string(32)))
    Session.objects.bulk_create(sessions, batch_size=2000)
    return activity, credentials


def start_server(env: dict[str, str], port: int, workers: int, threads: int) -> subprocess.Popen[bytes]:
    command = [
        str(ROOT / ".venv" / "bin" / "gunicorn"),
        "config.wsgi",
        "--bind",
        f"{HOST}:{port}",
        "--workers",
        str(workers),
        "--worker-class",
        "gthread",
        "--threads",
        str(threads),
        "--keep-alive",
        "5",
        "--log-level",
        "warning",
    ]
    server = subprocess.Popen(command, cwd=ROOT, env=env)
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection(HOST, port, timeout=2)
            conn.request("GET", "/bench/bare")
            if conn.getresponse().status == 200:
                conn.close()
                return server
        except OSError:
            pass
        if server.poll() is not None:
            raise SystemExit("gunicorn exited during start-up")
        time.sleep(0.2)
    stop_server(server)
    raise SystemExit("gunicorn did not answer within 30 s")


def stop_server(server: subprocess.Popen[bytes]) -> None:
    if server.poll() is None:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()


def run_phase(name: str, port: int, make_request: Any, requests: int, seconds: float, concurrency: int) -> Phase:
    """``requests`` requests (at most ``seconds``) from ``concurrency`` keep-alive clients; ``make_request(i)`` gives
    (method, path, body, headers, check) for request number i; ``check(status, body)`` says whether it succeeded."""
    phase = Phase(name)
    lock = threading.Lock()
    counter = iter(range(requests))
    deadline = time.monotonic() + seconds

    def worker() -> None:
        conn = http.client.HTTPConnection(HOST, port, timeout=10)
        latencies: list[float] = []
        errors: dict[str, int] = {}
        while time.monotonic() < deadline:
            with lock:
                i = next(counter, None)
            if i is None:
                break
            method, path, body, headers, check = make_request(i)
            start = time.perf_counter()
            try:
                conn.request(method, path, body=body, headers=headers)
                response = conn.getresponse()
                payload = response.read()
                elapsed = time.perf_counter() - start
                if response.getheader("connection", "").lower() == "close":
                    conn.close()
            except (OSError, http.client.HTTPException) as exc:
                errors[type(exc).__name__] = errors.get(type(exc).__name__, 0) + 1
                conn.close()
                conn = http.client.HTTPConnection(HOST, port, timeout=10)
                continue
            if check(response.status, payload):
                latencies.append(elapsed)
            else:
                key = f"HTTP {response.status}: {payload[:120].decode(errors='replace')}"
                errors[key] = errors.get(key, 0) + 1
        conn.close()
        with lock:
            phase.latencies.extend(latencies)
            for k, v in errors.items():
                phase.errors[k] = phase.errors.get(k, 0) + v

    threads = [threading.Thread(target=worker) for _ in range(concurrency)]
    started = time.perf_counter()
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    phase.elapsed = time.perf_counter() - started
    return phase


def profile_one_checkin(activity: Any, credential: tuple[str, str]) -> list[str]:
    """The SQL statements of one check-in (in-process, Django's test client): the shape of the write path."""
    from django.db import connection
    from django.test import Client
    from django.test.utils import CaptureQueriesContext

    from gongzhi.activities import qr

    session, csrf = credential
    client = Client(enforce_csrf_checks=True, HTTP_HOST=HOST)
    client.cookies["sessionid"], client.cookies["csrftoken"] = session, csrf
    with CaptureQueriesContext(connection) as captured:
        response = client.post(
            "/api/v1/checkin",
            data=json.dumps({"token": qr.issue(activity.pk)}),
            content_type="application/json",
            HTTP_X_CSRFTOKEN=csrf,
        )
    if not _created(response.status_code, response.content):
        raise SystemExit(f"the check-in does not work: HTTP {response.status_code} {response.content[:200]!r}")
    return [" ".join(q["sql"].split())[:110] for q in captured.captured_queries]


def machine() -> dict[str, str]:
    import gunicorn

    from bench.machine import describe

    return describe({"gunicorn": gunicorn.__version__})


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--pg", default="postgres://postgres@127.0.0.1:5432")
    parser.add_argument("--database", default="gz_bench")
    parser.add_argument("--requests", type=int, default=3000)
    parser.add_argument("--seconds", type=float, default=30)
    parser.add_argument("--warmup", type=int, default=300)
    parser.add_argument("--rounds", type=int, default=3, help="interleaved bare/check-in rounds")
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=max(2, os.cpu_count() or 2))
    parser.add_argument("--threads", type=int, default=4)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--write-results", action="store_true", help="write bench/RESULTS.md")
    args = parser.parse_args()
    if args.workers < 2:
        parser.error("--workers must be at least 2")

    sys.path.insert(0, str(ROOT))
    warnings.filterwarnings("ignore", message="No directory at")
    env = prepare_environment(args)
    recreate_database(args)
    import django

    django.setup()
    from django.core.management import call_command

    t0 = time.monotonic()
    call_command("migrate", verbosity=0)
    activity, credentials = create_data(args.requests + args.warmup + 1)
    info = machine()
    queries = profile_one_checkin(activity, credentials.pop())
    from django.db import connections

    connections.close_all()
    print(f"database {args.database} migrated and filled in {time.monotonic() - t0:.1f} s", flush=True)

    from gongzhi.activities import qr

    port = free_port()
    server = start_server(env, port, args.workers, args.threads)
    try:

        def bare(i: int) -> tuple[str, str, None, dict[str, str], Any]:
            return "GET", "/bench/bare", None, {}, lambda status, body: status == 200 and body == b"ok"

        def checkin(i: int) -> tuple[str, str, bytes, dict[str, str], Any]:
            session, csrf = credentials[i]
            body = json.dumps({"token": qr.issue(activity.pk)}).encode()
            headers = {
                "Content-Type": "application/json",
                "Cookie": f"sessionid={session}; csrftoken={csrf}",
                "X-CSRFToken": csrf,
            }
            return "POST", "/api/v1/checkin", body, headers, _created

        warm = min(args.warmup, args.requests)
        run_phase("warm-up bare", port, bare, warm, 10, args.concurrency)
        offset = args.requests  # warm-up check-ins use the last residents, so every measured check-in is a new one

        def warm_checkin(i: int) -> tuple[str, str, bytes, dict[str, str], Any]:
            return checkin(offset + i)

        run_phase("warm-up check-in", port, warm_checkin, args.warmup, 10, args.concurrency)
        # Interleaved rounds, so that a burst of other load on the machine hits both endpoints alike.
        phases = [Phase("bare `GET /bench/bare`"), Phase("check-in `POST /api/v1/checkin`")]
        per_round = args.requests // args.rounds
        for r in range(args.rounds):
            first = r * per_round

            def checkin_round(i: int, first: int = first) -> tuple[str, str, bytes, dict[str, str], Any]:
                return checkin(first + i)

            for phase, make in zip(phases, (bare, checkin_round), strict=True):
                part = run_phase(phase.name, port, make, per_round, args.seconds / args.rounds, args.concurrency)
                phase.latencies.extend(part.latencies)
                phase.elapsed += part.elapsed
                for k, v in part.errors.items():
                    phase.errors[k] = phase.errors.get(k, 0) + v
    finally:
        stop_server(server)

    from gongzhi.activities.models import Attendance
    from gongzhi.learning.models import PointsEntry

    written = Attendance.objects.filter(activity=activity).count()
    points = PointsEntry.objects.filter(source_type="attendance").count()
    connections.close_all()
    if not args.keep:
        drop_database(args)

    bare_phase, checkin_phase = phases
    ratio = checkin_phase.throughput / bare_phase.throughput if bare_phase.throughput else 0.0
    expected = checkin_phase.ok + args.warmup + 1  # + the profiled one
    verdict = {
        "ratio": ratio,
        "checkin_p99_ms": checkin_phase.percentile(99),
        "ratio_ok": ratio >= TARGET_RATIO,
        "p99_ok": checkin_phase.percentile(99) < TARGET_P99_MS,
        "attendance_rows": written,
        "points_entries": points,
        "expected_rows": expected,
    }
    table = [
        "| endpoint | ok | errors | seconds | req/s | p50 ms | p90 ms | p99 ms | max ms |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|",
        *(p.row() for p in phases),
    ]
    print("\n".join(table))
    for p in phases:
        for error, n in p.errors.items():
            print(f"  {p.name}: {n} × {error}")
    print(
        f"ratio check-in/bare throughput = {ratio:.2f} (target ≥ {TARGET_RATIO}); check-in p99 = "
        f"{verdict['checkin_p99_ms']:.1f} ms (target < {TARGET_P99_MS:.0f} ms); attendance rows {written} "
        f"(expected {expected}), points entries {points}"
    )
    if args.write_results:
        write_results(args, info, table, verdict, queries)
    correct = written == expected and not any(p.errors for p in phases)
    return 0 if correct else 1


def _created(status: int, body: bytes) -> bool:
    if status != 200:
        return False
    try:
        return bool(json.loads(body)["created"])
    except (ValueError, KeyError):
        return False


def write_results(
    args: argparse.Namespace, info: dict[str, str], table: list[str], verdict: dict[str, Any], queries: list[str]
) -> None:
    now = datetime.datetime.now().astimezone().strftime("%Y-%m-%d %H:%M %z")
    ok = "met" if verdict["ratio_ok"] and verdict["p99_ok"] else "NOT met"
    text = f"""# QR check-in benchmark

Measured {now} by `bench/checkin_bench.py` (issue 3, item 8): the QR check-in endpoint on PostgreSQL behind gunicorn,
against a bare Django endpoint on the same server, in the same run.

## Result

{chr(10).join(table)}

- **Throughput ratio check-in ÷ bare: {verdict["ratio"]:.2f}** (target ≥ {TARGET_RATIO:.2f})
- **Check-in p99: {verdict["checkin_p99_ms"]:.1f} ms** (target < {TARGET_P99_MS:.0f} ms)
- Targets {ok}.
- Every check-in was written exactly once: {verdict["attendance_rows"]} attendance rows for {verdict["expected_rows"]}
  successful check-ins (measured + warm-up + the profiled one), and {verdict["points_entries"]} points entries (one per check-in; the
  learning app's presence handler awards `attend_course_session`).

## Set-up

- Server: `gunicorn config.wsgi` with settings `bench.settings` (= `config.settings.production` + the bare URL),
  `--workers {args.workers} --worker-class gthread --threads {args.threads} --keep-alive 5`, bound to 127.0.0.1 on a
  free port; `SECRET_KEY`, `DATA_ENCRYPTION_KEY`, `DATABASE_URL`, `ALLOWED_HOSTS` set in its environment;
  `CONN_MAX_AGE` 60 s (the project's setting).
- Database: a throwaway PostgreSQL database `{args.database}`, migrated, then one course session running now and
  {args.requests + args.warmup} residents with accounts, each logged in (one `django_session` row per resident, as a
  password login leaves it) with a CSRF cookie. Dropped afterwards.
- Bare endpoint: `GET /bench/bare` → `HttpResponse("ok")`, through the full middleware stack (sessions, CSRF, auth,
  locale, the place middleware) but no view work.
- Check-in: `POST /api/v1/checkin` with JSON `{{"token": …}}`, the session cookie and the `X-CSRFToken` header. Every
  request is a **different resident** scanning a **fresh valid token** (issued with `gongzhi.activities.qr.issue` at
  send time), so every request takes the full write path: session and user look-up, token signature and window check,
  resident look-up, the attendance insert and the points award (balance row lock, today's points, entry insert,
  balance update), in one transaction (a resident's own check-in writes no audit event; staff marks do). A request counts as successful only with HTTP 200 and `"created": true`.
- Load: {args.concurrency} client threads in one Python process (`http.client`, keep-alive connections), a fixed number
  of requests per endpoint ({args.requests}, at most {args.seconds:.0f} s each), in {args.rounds} interleaved rounds (bare,
  check-in, bare, …) so that other load on the machine hits both alike, after a warm-up of {args.warmup} requests per
  endpoint. The load generator runs on the same machine and takes CPU from the server: absolute numbers are a floor,
  the ratio is the figure to compare.

## One check-in, statement by statement

{len(queries)} SQL statements (captured in-process before the run):

```sql
{chr(10).join(queries)}
```

## Machine

{chr(10).join(f"- {k}: {v}" for k, v in info.items())}

## Reproduce

From the repository root, with PostgreSQL listening on 127.0.0.1:5432 (user `postgres`, no password, as in the
development set-up):

```bash
.venv/bin/python bench/checkin_bench.py --write-results
# options: --requests 3000 --seconds 30 --concurrency 8 --workers N --threads 4 --pg postgres://USER@HOST:PORT --keep
```

The run takes about a minute, sends traffic only to 127.0.0.1, and exits non-zero when a request failed or an
attendance is missing or doubled.
"""
    path = ROOT / "bench" / "RESULTS.md"
    if path.exists():  # keep the hand-written analysis of an earlier run
        previous = path.read_text(encoding="utf-8")
        if ANALYSIS_HEADING in previous:
            text += "\n" + previous[previous.index(ANALYSIS_HEADING) :]
    path.write_text(text, encoding="utf-8")
    print("written bench/RESULTS.md")


if __name__ == "__main__":
    sys.exit(main())
