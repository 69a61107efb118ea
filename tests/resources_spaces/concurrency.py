"""Run calls at the same moment in real threads, each with its own database connection.

PostgreSQL: the threads use the test database itself (each thread gets its own connection, as in the other
concurrency tests). SQLite: the test database lives in memory with a shared cache, whose table locks fail at once
instead of waiting — unlike the file database the app runs on. So the data made so far is copied (SQLite's backup API)
into a temporary database file, and each thread opens its own connection to that file with the project's own
settings (IMMEDIATE transactions, WAL, a 20 s busy timeout): the same serialisation of writers as in production.
``read`` then runs checks against whatever database the threads wrote to.
"""

from __future__ import annotations

import contextlib
import sqlite3
import tempfile
import threading
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

from django.db import close_old_connections, connection, connections


class Race:
    def __init__(self) -> None:
        self.file: Path | None = None
        self._tmp: tempfile.TemporaryDirectory[str] | None = None

    def __enter__(self) -> Race:
        if connection.vendor == "sqlite":
            self._tmp = tempfile.TemporaryDirectory(prefix="gz-spaces-")
            self.file = Path(self._tmp.name) / "race.sqlite3"
            connection.ensure_connection()
            target = sqlite3.connect(self.file)
            try:
                connection.connection.backup(target)
            finally:
                target.close()
        return self

    def __exit__(self, *exc: Any) -> None:
        if self._tmp is not None:
            self._tmp.cleanup()

    def _file_wrapper(self) -> Any:
        from django.db.backends.sqlite3.base import DatabaseWrapper

        settings = {**connections["default"].settings_dict, "NAME": str(self.file)}
        return DatabaseWrapper(settings, alias="default")

    @contextlib.contextmanager
    def _on_file(self) -> Iterator[None]:
        """In this thread, the default connection points at the file copy (SQLite only)."""
        if self.file is None:
            yield
            return
        original = connections["default"]
        wrapper = self._file_wrapper()
        connections["default"] = wrapper
        try:
            yield
        finally:
            wrapper.close()
            connections["default"] = original

    def run(self, *calls: Callable[[], Any]) -> tuple[list[Any], list[BaseException]]:
        """Start every call at once (a barrier), each in its own thread; their results and exceptions."""
        results: list[Any] = []
        errors: list[BaseException] = []
        lock = threading.Lock()
        barrier = threading.Barrier(len(calls))

        def work(call: Callable[[], Any]) -> None:
            try:
                with self._on_file():
                    barrier.wait()
                    value = call()
                with lock:
                    results.append(value)
            except BaseException as exc:  # reported to the test
                with lock:
                    errors.append(exc)
            finally:
                if self.file is None:
                    close_old_connections()
                    connection.close()

        threads = [threading.Thread(target=work, args=(c,)) for c in calls]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        return results, errors

    def read(self, fn: Callable[[], Any]) -> Any:
        """Run ``fn`` against the database the threads wrote to."""
        if self.file is None:
            return fn()
        result: list[Any] = []

        def work() -> None:
            with self._on_file():
                result.append(fn())

        t = threading.Thread(target=work)
        t.start()
        t.join(timeout=60)
        return result[0]
