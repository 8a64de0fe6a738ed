"""History at scale: ``executions()``, ``compare(by="prompt")`` and ``images()`` over many stored executions.

Fills a fresh SQLite history with N synthetic executions as the watchers write them (4
images each, tasks of 20 with their agent and names, ten named locations), then measures
each read in a fresh process of its own, as a user meets it in a new kernel: wall and
CPU seconds of the first call, how much its process's peak resident memory grew
(``ru_maxrss``), and the peak Python memory of a second call (tracemalloc, which slows
what it watches, so it is not timed). Prints JSON lines.

Run: ``cd benchmarks && WESHOP_NB_HOME=$(mktemp -d) ../.venv/bin/python history_scale.py 10000 100000``.
With ``--postgres`` the same on PostgreSQL: a fresh database for each N on a throwaway
local server with PostgreSQL's default settings (Debian's binaries, started as the tests
start theirs, ``tests/_postgres.py``; as root it runs as the postgres user).
"""

from __future__ import annotations

import contextlib
import json
import resource
import subprocess
import sys
import tempfile
import time
import tracemalloc
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any

SOURCE = "http://127.0.0.1:8765"
#: What each measure calls on a fresh ``History``.
MEASURES = {
    "executions": lambda history: history.executions(),
    "compare_by_prompt": lambda history: history.compare(by="prompt"),
    "images": lambda history: history.images(),
}


def _open(where: str) -> Any:
    """The history at ``where``: a PostgreSQL URL, or an SQLite file."""
    from weshop_nb.work._history import History

    return History(url=where) if where.startswith("postgresql") else History(where)


def fill(where: str, count: int) -> float:
    """N executions written one task (20 executions) per transaction; returns microseconds per execution."""
    from weshop_nb.service._catalogue import AgentInfo
    from weshop_nb.service._models import Execution, Result, Task

    history = _open(where)
    locations = [{"id": 6000372 + n, "name": f"Location {n}"} for n in range(10)]
    history.record_agent_info(
        AgentInfo.from_api({"locations": locations, "fashionModels": []}, agent_name="aimodel", agent_version="v1.0"),
        SOURCE,
    )
    start = datetime(2026, 1, 1)
    started = time.perf_counter()
    for first in range(0, count, 20):
        task_id = f"task-{first // 20:05d}"
        executions = tuple(
            Execution(
                id=f"exec-{n:07d}",
                status="success",
                params={"textDescription": f"prompt {n % 50}", "locationId": 6000372 + n % 10, "batchCount": 4},
                executed_at=start + timedelta(seconds=n),
                results=tuple(Result("success", f"{SOURCE}/files/results/exec-{n:07d}-{s}.png") for s in range(4)),
                task_id=task_id,
            )
            for n in range(first, min(first + 20, count))
        )
        init = {"taskName": f"sweep {first // 400}", "originalImage": f"{SOURCE}/files/uploads/garment.png"}
        history.record_task(Task(task_id, "aimodel", "v1.0", init, executions), SOURCE)
    took = time.perf_counter() - started
    history.close()
    return took / count * 1e6


def measure(where: str, what: str) -> dict:
    """One read in this process: its time and memory (see the module docstring)."""
    import pandas  # noqa: F401  (imported up front: its import is not the history's)

    call = MEASURES[what]
    history = _open(where)
    history.schema_version  # noqa: B018  (opened before the clock starts)
    rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
    wall, cpu = time.perf_counter(), time.process_time()
    call(history)
    wall, cpu = time.perf_counter() - wall, time.process_time() - cpu
    rss_growth = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss - rss_before
    tracemalloc.start()
    call(history)
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    return {
        "seconds": round(wall, 3),
        "cpu_seconds": round(cpu, 3),
        "rss_growth_mb": round(rss_growth / 1024, 1),
        "peak_python_mb": round(peak / 2**20, 1),
    }


def main() -> None:
    if sys.argv[1:2] == ["--one"]:  # the child: one measure on an existing history
        print(json.dumps(measure(sys.argv[2], sys.argv[3])))
        return
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
            with tempfile.TemporaryDirectory() as folder:
                path = Path(folder) / "history.sqlite3"
                where = server.url(server.new_database()) if server is not None else str(path)
                insert = fill(where, count)
                size = path.stat().st_size if server is None else None
                for what in MEASURES:
                    child = [sys.executable, __file__, "--one", where, what]
                    figures = json.loads(subprocess.run(child, check=True, capture_output=True, text=True).stdout)
                    store = "postgresql" if server is not None else "sqlite"
                    print(json.dumps({"measure": f"history_{what}", "store": store, "executions": count, **figures}),
                          flush=True)  # fmt: skip
            store_figures = {"insert_us_per_execution": round(insert, 1)}
            if size is not None:
                store_figures["file_mb"] = round(size / 2**20, 1)
            print(json.dumps({"measure": "history_store", "store": store, "executions": count, **store_figures}),
                  flush=True)  # fmt: skip


if __name__ == "__main__":
    main()
