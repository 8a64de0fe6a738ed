"""History at scale: building ``executions()`` over many stored executions, on SQLite and PostgreSQL.

Fills a fresh history with N synthetic executions (4 images each, spread over tasks of
20), then times ``executions()`` and measures its peak Python memory with tracemalloc.
Prints JSON lines. Run: ``.venv/bin/python benchmarks/history_scale.py [N ...]`` for
SQLite; with ``--postgres`` the same on PostgreSQL, a fresh database for each N on a
throwaway local server with PostgreSQL's default settings (Debian's binaries, started as
the tests start theirs: ``tests/_postgres.py``; as root it runs as the postgres user).
"""

from __future__ import annotations

import contextlib
import json
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path

import pandas  # noqa: F401  (imported up front: its import time is not the history's)

from weshop_nb.service._models import Execution, Result
from weshop_nb.work._history import History

SOURCE = "http://127.0.0.1:8765"


def _executions(count: int) -> list[Execution]:
    start = datetime(2026, 1, 1)
    return [
        Execution(
            id=f"exec-{n:07d}",
            status="success",
            params={"textDescription": f"prompt {n % 50}", "locationId": 6000372 + n % 10, "batchCount": 4},
            executed_at=start + timedelta(seconds=n),
            results=tuple(Result("success", f"{SOURCE}/files/results/exec-{n:07d}-{slot}.png") for slot in range(4)),
            task_id=f"task-{n // 20:05d}",
        )
        for n in range(count)
    ]


def measure(count: int, server=None) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        if server is not None:
            url = server.url(server.new_database())
            open_history = lambda: History(url=url)  # noqa: E731
        else:
            open_history = lambda: History(Path(folder) / "history.sqlite3")  # noqa: E731
        history = open_history()
        executions = _executions(count)
        started = time.perf_counter()
        for first in range(0, count, 20):  # one transaction per task query, as the watcher writes
            history.record_executions(executions[first : first + 20], SOURCE)
        insert = time.perf_counter() - started
        history.close()
        fresh = open_history()
        started = time.perf_counter()
        frame = fresh.executions()
        build = time.perf_counter() - started
        tracemalloc.start()  # a second build, traced: tracemalloc slows what it watches
        fresh.executions()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        if server is not None:
            tables = ("executions", "tasks")
            size = sum(fresh.sql(f"SELECT pg_total_relation_size('{table}')")[0][0] for table in tables)
        else:
            size = (Path(folder) / "history.sqlite3").stat().st_size
        fresh.close()
        assert len(frame) == count
    return {
        "measure": "history_executions_frame",
        "store": "postgresql" if server is not None else "sqlite",
        "executions": count,
        "build_seconds": round(build, 3),
        "peak_python_mb": round(peak / 2**20, 1),
        "insert_us_per_execution": round(insert / count * 1e6, 1),
        "file_mb": round(size / 2**20, 1),
    }


def main() -> None:
    postgres = "--postgres" in sys.argv[1:]
    counts = [int(a) for a in sys.argv[1:] if a != "--postgres"] or [10_000]
    with contextlib.ExitStack() as stack:
        server = None
        if postgres:
            sys.path.insert(0, str(Path(__file__).resolve().parent.parent))  # the tests' server starter
            from tests import _postgres

            reason = _postgres.why_not()
            if reason:
                sys.exit(f"No PostgreSQL here: {reason}")
            server = stack.enter_context(_postgres.running_server(durable=True))
        for count in counts:
            print(json.dumps(measure(count, server)))


if __name__ == "__main__":
    main()
