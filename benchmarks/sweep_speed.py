"""Sweeps through the magic, as a user runs them (RESULTS items 1 and 2).

Each sweep runs in a fresh Python process: an IPython shell loads weshop_nb and runs

    %%weshop run --image garment.png --location "Sunny Beach" --location "White Studio"
                 --model Eve --model Kenji --batch 1 --wait -o run
    prompt 0
    ---
    prompt 1 ...

with P prompts (P x 2 x 2 executions), against the emulator in a process of its own at
latency L, as ``make demo`` runs it (pictures pre-drawn: see ``_served.py``). Nothing is
prepared by hand: the magic uploads, creates the tasks and shards the sweep itself.

Figures per sweep: wall time of the cell against the limit L + poll interval (2 s, the
magic's default), and when the watchers saw every status final (the rest is fetching
and shrinking the pictures, in the kernel); against the naive loop a user would write
(execute, poll that one every second until done, next), measured on a sample and
scaled, since it is strictly sequential; task queries per execution and tasks, from the
emulator's own counters; executions created against asked (nothing doubled); the most
threads alive at once, the peak resident memory of the process and what the sweep added
to it; the machine's load (other work slows the pictures most).

Run: ``../.venv/bin/python sweep_speed.py`` (40, 100 and 300 executions), or one sweep:
``sweep_speed.py one PROMPTS LATENCY [--drawn]`` (``--drawn``: the emulator draws
every picture, on this machine's cores).
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import subprocess
import sys
import tempfile
import threading
import time

import _served
import requests
from _common import KEY, emit, garment

POLL = 2.0
#: (prompts, latency L, the issue's targets): 40, 100 and 300 executions. Targets are upper
#: bounds, except x_naive (a lower bound).
SWEEPS = (
    (10, 2.0, {"queries_per_execution": 0.15}),
    (25, 2.0, {"wall_over_limit": 1.15, "x_naive": 50, "queries_per_execution": 0.15}),
    (75, 15.0, {"queries_per_execution": 0.3}),
)
#: Executions of the naive loop actually run per latency (it takes about L + 1 s each).
NAIVE_SAMPLE = {2.0: 10, 15.0: 2}


def _stats(base_url: str) -> dict:
    return requests.get(base_url + "/_emulator/stats", timeout=10).json()


class _PeakThreads:
    """The most threads alive at once while sampling (the sampler itself not counted)."""

    def __init__(self) -> None:
        self.peak = threading.active_count()
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, threading.active_count() - 1)

    def __enter__(self) -> _PeakThreads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _watch_finals() -> dict[str, float]:
    """When a task query first showed every execution of its task finished, by task (measured here only)."""
    from weshop_nb.service._client import WeShopClient

    finals: dict[str, float] = {}
    query = WeShopClient.get_task

    def get_task(self: WeShopClient, task_id: str) -> object:
        task = query(self, task_id)
        if task.executions and all(e.done for e in task.executions):
            finals.setdefault(task_id, time.monotonic())
        return task

    WeShopClient.get_task = get_task
    return finals


def one(prompts: int, latency: float, drawn: bool) -> dict:
    """One sweep through the magic in this process; its figures."""
    from IPython.core.interactiveshell import InteractiveShell

    process, base_url = _served.start("--api-key", KEY, "--latency", str(latency), "--seed", "1", predrawn=not drawn)
    folder = tempfile.mkdtemp()
    os.environ.update(WESHOP_API_KEY=KEY, WESHOP_BASE_URL=base_url, WESHOP_NB_HOME=folder)
    picture = os.path.join(folder, "garment.png")
    with open(picture, "wb") as handle:
        handle.write(garment())
    body = "\n---\n".join(f"prompt {n}" for n in range(prompts))
    cell = (
        f'%%weshop run --image {picture} --location "Sunny Beach" --location "White Studio" '
        f"--model Eve --model Kenji --batch 1 --wait -o run\n{body}"
    )
    try:
        shell = InteractiveShell.instance()
        shell.run_cell("%load_ext weshop_nb")
        shell.run_cell(f"%config WeShopMagics.poll_interval = {POLL}")
        finals = _watch_finals()
        before = _stats(base_url)
        load = os.getloadavg()[0]  # other work on the machine slows the thumbnails most
        rss_before = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with _PeakThreads() as threads, contextlib.redirect_stdout(io.StringIO()):
            started = time.monotonic()
            shell.run_cell(cell).raise_error()
            wall = time.monotonic() - started
        rss_peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        after = _stats(base_url)
        run = shell.user_ns["run"]
        shell.run_cell("%unload_ext weshop_nb")
    finally:
        process.terminate()
        process.wait(10)
    asked = prompts * 4

    def count(stats: dict, key: str) -> int:
        return stats["requests"].get(key, 0) if key != "executions_created" else stats[key]

    return {
        "executions": asked,
        "latency_s": latency,
        "wall_s": wall,
        # Every status final, as the watchers saw it; the rest of the wall is pictures.
        "statuses_final_s": max(finals.values()) - started,
        "queries": count(after, "query") - count(before, "query"),
        "tasks": after["tasks_created"] - before["tasks_created"],
        "created": count(after, "executions_created") - count(before, "executions_created"),
        "succeeded": run.counts()["success"],
        "peak_threads": threads.peak,
        "peak_rss_mb": round(rss_peak / 1024, 1),
        "added_rss_mb": round((rss_peak - rss_before) / 1024, 1),
        "load_1min": round(load, 2),
    }


def naive(sample: int, latency: float) -> dict:
    """The loop a user would write, on ``sample`` executions: seconds and queries per execution."""
    from weshop_nb import WeShopClient

    process, base_url = _served.start("--api-key", KEY, "--latency", str(latency), "--seed", "1")
    try:
        client = WeShopClient(api_key=KEY, base_url=base_url)
        task = client.create_task(originalImage=client.upload_image(garment()))
        queries = 0
        started = time.monotonic()
        for n in range(sample):
            execution = client.execute(task.id, {"textDescription": f"p{n}", "batchCount": 1})
            while True:
                time.sleep(1.0)
                queries += 1
                if client.get_execution(execution.id).done:
                    break
        return {"per_execution_s": (time.monotonic() - started) / sample, "queries_per_execution": queries / sample}
    finally:
        process.terminate()
        process.wait(10)


def _in_fresh_process(*args: str) -> dict:
    """``one`` in a new interpreter, so threads and memory are the sweep's alone."""
    env = {**os.environ, "WESHOP_NB_HOME": tempfile.mkdtemp()}
    output = subprocess.run(
        [sys.executable, os.path.abspath(__file__), "one", *args], capture_output=True, text=True, env=env, check=True
    ).stdout
    return json.loads(output.strip().splitlines()[-1])


def report(figures: dict, targets: dict, loop: dict, measure: str = "sweep_through_magic") -> None:
    executions, latency, wall = figures["executions"], figures["latency_s"], figures["wall_s"]
    naive_wall = loop["per_execution_s"] * executions
    measured = {
        "wall_over_limit": round(wall / (latency + POLL), 3),
        "x_naive": round(naive_wall / wall, 1),
        "queries_per_execution": round(figures["queries"] / executions, 3),
    }
    met = {
        name: measured[name] >= bound if name == "x_naive" else measured[name] <= bound
        for name, bound in targets.items()
    }
    emit(
        measure,
        executions=executions,
        latency_s=latency,
        poll_interval_s=POLL,
        tasks=figures["tasks"],
        wall_s=round(wall, 2),
        statuses_final_s=round(figures["statuses_final_s"], 2),
        limit_s=latency + POLL,
        naive_wall_s=round(naive_wall, 1),
        naive_measured_on=NAIVE_SAMPLE[latency],
        queries=figures["queries"],
        naive_queries_per_execution=round(loop["queries_per_execution"], 2),
        **measured,
        targets=targets,
        targets_met=met,
        created=figures["created"],
        succeeded=figures["succeeded"],
        peak_threads=figures["peak_threads"],
        peak_rss_mb=figures["peak_rss_mb"],
        added_rss_mb=figures["added_rss_mb"],
        machine_load_1min=figures["load_1min"],
    )


def main() -> None:
    args = sys.argv[1:]
    if args and args[0] == "one":
        print(json.dumps(one(int(args[1]), float(args[2]), "--drawn" in args)))
        return
    loops = {latency: naive(sample, latency) for latency, sample in NAIVE_SAMPLE.items()}
    for prompts, latency, targets in SWEEPS:
        report(_in_fresh_process(str(prompts), str(latency)), targets, loops[latency])
    # The same 100 with the emulator drawing each picture on this machine's cores (no target).
    report(_in_fresh_process("25", "2.0", "--drawn"), {}, loops[2.0], measure="sweep_through_magic_drawn")


if __name__ == "__main__":
    main()
