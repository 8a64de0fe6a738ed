"""Kernel responsiveness while a run is watched (RESULTS item 3).

Starts a real IPython kernel (jupyter_client), times a trivial cell N times while idle,
then launches 100 executions against an emulator inside that kernel (without --wait)
and times the same cell while the watchers poll and fetch thumbnails. Prints median and
p95 round trips and the added latency, in milliseconds.
Run: ``.venv/bin/python benchmarks/kernel_latency.py [N]``.
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import emit
from jupyter_client.manager import start_new_kernel

LAUNCH = """
%load_ext weshop_nb
%config WeShopMagics.poll_interval = 1.0
%weshop demo --latency 6
from weshop_nb.work._jobs import Job
from PIL import Image
session = get_ipython().magics_manager.registry["WeShopMagics"].session
task = session.create_task("aimodel", "v1.0", Image.new("RGB", (640, 800), "teal"))
run = session.launch([Job(task, {"textDescription": f"p{n}", "batchCount": 1}) for n in range(100)])
"""


def _quiet(message: dict) -> None:
    """Outputs of the timed cells are not the benchmark's to print."""


def _timings(client, count: int) -> list[float]:
    times = []
    for _ in range(count):
        started = time.perf_counter()
        reply = client.execute_interactive("1 + 1", store_history=False, timeout=30, output_hook=_quiet)
        assert reply["content"]["status"] == "ok"
        times.append((time.perf_counter() - started) * 1000)
    return times


def _p95(values: list[float]) -> float:
    return sorted(values)[int(len(values) * 0.95) - 1]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 60
    manager, client = start_new_kernel(kernel_name="python3")
    try:
        idle = _timings(client, count)
        reply = client.execute_interactive(LAUNCH, timeout=120, output_hook=_quiet)
        assert reply["content"]["status"] == "ok", reply["content"]
        busy = _timings(client, count)
        check = client.execute_interactive("assert not run.done", timeout=30, output_hook=_quiet)
    finally:
        client.stop_channels()
        manager.shutdown_kernel(now=True)
    emit(
        "kernel_responsiveness",
        cells=count,
        watched_executions=100,
        idle_median_ms=round(statistics.median(idle), 2),
        busy_median_ms=round(statistics.median(busy), 2),
        busy_p95_ms=round(_p95(busy), 2),
        added_median_ms=round(statistics.median(busy) - statistics.median(idle), 2),
        added_p95_ms=round(_p95(busy) - _p95(idle), 2),
        target_added_median_ms=20,
        run_still_watched_after=check["content"]["status"] == "ok",
    )


if __name__ == "__main__":
    main()
