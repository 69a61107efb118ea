"""Running computations without a message broker.

- ``run_in_background(computations)``: after the surrounding transaction commits, a daemon thread runs the queued
  computations one after the other (in the order given: a computation over every community first, then narrower
  scopes with their own settings), then closes its database connections. With ``settings.ANALYTICS_INLINE`` they run
  at once in the caller (tests, single-process setups).
- ``manage.py run_computations`` (for cron, e.g. every minute) runs what is queued — computations queued by a process
  that ended before its thread ran them — and retries those left ``running`` by a crashed process (no progress for
  ``--stale-minutes``, 30 by default).

A daemon thread dies with its process: a command that queues work calls ``wait`` before it exits.
"""

from __future__ import annotations

import logging
import threading
from collections.abc import Sequence
from typing import Any

from django.conf import settings
from django.db import close_old_connections, connections, transaction

from .models import Computation

logger = logging.getLogger("gongzhi.analytics")

_threads: list[threading.Thread] = []
_lock = threading.Lock()


def inline() -> bool:
    return bool(getattr(settings, "ANALYTICS_INLINE", False))


def run_in_background(computations: Sequence[Computation]) -> None:
    """Run these queued computations after commit, in a daemon thread (inline with ``ANALYTICS_INLINE``)."""
    ids = [c.pk for c in computations]
    if not ids:
        return
    if inline():
        _run_all(ids)
        return
    transaction.on_commit(lambda: _start(ids))


def _start(ids: list[Any]) -> None:
    thread = threading.Thread(target=_worker, args=(ids,), name="analytics-computation", daemon=True)
    with _lock:
        _threads[:] = [t for t in _threads if t.is_alive()]
        _threads.append(thread)
    thread.start()


def _worker(ids: list[Any]) -> None:
    close_old_connections()
    try:
        _run_all(ids)
    except Exception:  # pragma: no cover - _run_all records failures on the computation itself
        logger.exception("background computation thread failed")
    finally:
        connections.close_all()  # this thread's connections only


def _run_all(ids: list[Any]) -> None:
    from .services import computation_run

    by_id = {c.pk: c for c in Computation.objects.filter(pk__in=ids)}
    for pk in ids:
        computation = by_id.get(pk)
        if computation is not None and computation.status == "queued":
            computation_run(computation)


def wait(timeout: float | None = None) -> None:
    """Wait for the background threads of this process (a command calls it before exiting)."""
    with _lock:
        threads = list(_threads)
    for thread in threads:
        thread.join(timeout)
