"""The machine a benchmark ran on, for its results: CPU, cores, memory, OS, Python, Django, PostgreSQL and the
versions of the libraries the benchmark names (needs Django set up and a database connection)."""

from __future__ import annotations

import os
import platform


def describe(libraries: dict[str, str]) -> dict[str, str]:
    """``{"CPU": …, "nproc": …, "memory": …, "OS": …, "Python": …, "Django": …, "PostgreSQL": …}`` followed by
    ``libraries`` (name → version)."""
    import django
    from django.db import connection

    memory = "?"
    with open("/proc/meminfo") as fh:
        for line in fh:
            if line.startswith("MemTotal:"):
                memory = f"{int(line.split()[1]) / 1024 / 1024:.1f} GiB"
    cpu = platform.processor() or "?"
    try:
        with open("/proc/cpuinfo") as fh:
            cpu = next((line.split(":", 1)[1].strip() for line in fh if line.startswith("model name")), cpu)
    except OSError:
        pass
    with connection.cursor() as cursor:
        cursor.execute("SHOW server_version")
        pg = cursor.fetchone()[0]
    return {
        "CPU": cpu,
        "nproc": str(os.cpu_count()),
        "memory": memory,
        "OS": platform.platform(),
        "Python": platform.python_version(),
        "Django": django.get_version(),
        "PostgreSQL": pg,
        **libraries,
    }
