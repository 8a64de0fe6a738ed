"""History at scale: building ``executions()`` over many stored executions.

Fills a fresh SQLite history with N synthetic executions (4 images each, spread over
tasks of 20), then times ``executions()`` and measures its peak Python memory with
tracemalloc. Prints JSON lines. Run: ``.venv/bin/python benchmarks/history_scale.py [N ...]``.
"""

from __future__ import annotations

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


def measure(count: int) -> dict:
    with tempfile.TemporaryDirectory() as folder:
        history = History(Path(folder) / "history.sqlite3")
        executions = _executions(count)
        started = time.perf_counter()
        for first in range(0, count, 20):  # one transaction per task query, as the watcher writes
            history.record_executions(executions[first : first + 20], SOURCE)
        insert = time.perf_counter() - started
        history.close()
        fresh = History(Path(folder) / "history.sqlite3")
        started = time.perf_counter()
        frame = fresh.executions()
        build = time.perf_counter() - started
        tracemalloc.start()  # a second build, traced: tracemalloc slows what it watches
        fresh.executions()
        peak = tracemalloc.get_traced_memory()[1]
        tracemalloc.stop()
        size = (Path(folder) / "history.sqlite3").stat().st_size
        assert len(frame) == count
    return {
        "measure": "history_executions_frame",
        "executions": count,
        "build_seconds": round(build, 3),
        "peak_python_mb": round(peak / 2**20, 1),
        "insert_us_per_execution": round(insert / count * 1e6, 1),
        "file_mb": round(size / 2**20, 1),
    }


def main() -> None:
    for count in [int(a) for a in sys.argv[1:]] or [10_000]:
        print(json.dumps(measure(count)))


if __name__ == "__main__":
    main()
