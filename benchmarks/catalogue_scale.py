"""1,000 executions through the magic at catalogue scale (issue 20, item 7), in two shapes.

In a fresh Python process an IPython shell loads weshop_nb and runs, against the
emulator in a process of its own (``python -m weshop_nb.emulator``, latency L = 2 s), either

``set``, the issue's own set: a collection of 500 distinct garment pictures in a folder,
each photographed in two scenes (1,000 executions on 500 tasks, one per picture)::

    %%weshop run --image photos/ --location "Sunny Beach" --location "White Studio" --wait -o run
    on a light studio background

or ``sweep``: one picture under 50 prompts x 4 locations x 5 models (1,000 executions on 50
tasks)::

    %%weshop run --image garment.png --location "Sunny Beach" --location "White Studio"
                 --location "Autumn Park" --location "Desert Dunes"
                 --model Eve --model Kenji --model Letitia --model Amara --model Lars --wait -o run
    prompt 0
    ---
    ... prompt 49

Both with the default batch (4 pictures each, 4,000 distinct result pictures).

Figures:

- wall time of the cell, and the kernel's CPU time during it, against the limit
  L + poll + D, D the time the machine's cores need to decode every result picture
  once: measured on ``DECODE_SAMPLE`` of them (fetched again after the cell, decoded on
  2 threads) and scaled to all, since holding 4,000 pictures of 0.8 MB to decode them
  at once would itself weigh 3 GB;
- task queries per execution, and against the bound tasks + 0.15 x executions;
- the peak of ``threading.active_count()`` during the cell, over the count before it;
- memory growth of the kernel: resident set after the cell over before, and the peak;
- saved bytes: the run's static picture (what a notebook keeps of it once it ended);
- executions created (the emulator's ``executions_created``) against asked and the history.

Run: ``.venv/bin/python benchmarks/catalogue_scale.py`` (both shapes, about 5 minutes on 2
cores; ``catalogue_scale.py one set|sweep`` one of them in this process).
``catalogue_scale.py saved`` measures instead the saved notebook (nbclient, a real kernel)
holding a finished 1,000-execution run.
"""

from __future__ import annotations

import contextlib
import io
import json
import os
import resource
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import _served
import requests
from _common import KEY, emit, garment, machine
from PIL import Image

LATENCY = 2.0
POLL = 2.0
PROMPTS = 50
LOCATIONS = ["Sunny Beach", "White Studio", "Autumn Park", "Desert Dunes"]
MODELS = ["Eve", "Kenji", "Letitia", "Amara", "Lars"]
SET_PICTURES = 500  # the collection: 500 garments, each in the first two locations
DECODE_SAMPLE = 200
DECODE_THREADS = 2  # the machine's cores
#: The issue's targets.
TARGETS = {"peak_threads_added": 24, "memory_growth_mb": 150, "saved_kb": 400, "queries_over_bound": 1.0}


def _stats(base_url: str) -> dict:
    return requests.get(base_url + "/_emulator/stats", timeout=10).json()


def _rss_mb() -> float:
    with open("/proc/self/statm") as handle:
        return int(handle.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 2**20


def _decode(data: bytes) -> float:
    started = time.thread_time()
    with Image.open(io.BytesIO(data)) as image:
        image.load()
    return time.thread_time() - started


def _decode_time(urls: list[str]) -> dict:
    """D scaled from ``DECODE_SAMPLE`` pictures decoded on ``DECODE_THREADS`` threads."""
    step = max(1, len(urls) // DECODE_SAMPLE)
    sample = urls[::step][:DECODE_SAMPLE]
    with requests.Session() as session:
        pictures = [session.get(url, timeout=30).content for url in sample]
    with ThreadPoolExecutor(DECODE_THREADS) as pool:
        started = time.monotonic()
        cpu = list(pool.map(_decode, pictures))
        wall = time.monotonic() - started
    scale = len(urls) / len(sample)
    return {
        "D_s": wall * scale,
        "D_cpu_s": sum(cpu) / DECODE_THREADS * scale,
        "decode_cpu_ms": statistics.median(cpu) * 1000,
        "picture_kb_median": round(statistics.median(len(p) for p in pictures) / 1024),
    }


class _Threads:
    """The peak of ``threading.active_count()`` while it runs (its own thread not counted)."""

    def __init__(self) -> None:
        self.peak = 0
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample, daemon=True)

    def _sample(self) -> None:
        while not self._stop.wait(0.02):
            self.peak = max(self.peak, threading.active_count() - 1)

    def __enter__(self) -> _Threads:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join()


def _garments(folder: str, count: int) -> str:
    """``count`` distinct garment pictures in a new folder of ``folder``: its path."""
    photos = os.path.join(folder, "photos")
    os.makedirs(photos)
    for n in range(count):
        colour = (40 + n % 180, 60 + (n * 7) % 160, 80 + (n * 13) % 150)
        Image.new("RGB", (640, 800), colour).save(os.path.join(photos, f"garment-{n:03d}.png"))
    return photos


def _cell(shape: str, folder: str) -> str:
    """The cell a user runs for ``shape`` ("set" or "sweep"), its pictures written into ``folder``."""
    if shape == "set":
        photos = _garments(folder, SET_PICTURES)
        scenes = " ".join(f'--location "{name}"' for name in LOCATIONS[:2])
        return f"%%weshop run --image {photos}/ {scenes} --wait -o run\non a light studio background"
    picture = os.path.join(folder, "garment.png")
    with open(picture, "wb") as handle:
        handle.write(garment())
    body = "\n---\n".join(f"prompt {n}" for n in range(PROMPTS))
    options = " ".join(f'--location "{name}"' for name in LOCATIONS) + " "
    options += " ".join(f"--model {name}" for name in MODELS)
    return f"%%weshop run --image {picture} {options} --wait -o run\n{body}"


def one(shape: str) -> dict:
    """1,000 executions of ``shape`` through the magic in this process."""
    from IPython.core.interactiveshell import InteractiveShell

    folder = tempfile.mkdtemp()
    os.environ["WESHOP_NB_HOME"] = folder
    process, base_url = _served.start("--api-key", KEY, "--latency", str(LATENCY), "--seed", "1")
    os.environ.update(WESHOP_API_KEY=KEY, WESHOP_BASE_URL=base_url)
    cell = _cell(shape, folder)
    try:
        shell = InteractiveShell.instance()
        shell.run_cell("%load_ext weshop_nb")
        shell.run_cell(f"%config WeShopMagics.poll_interval = {POLL}")
        shell.run_cell("%config WeShopMagics.wait_timeout = 600")
        shell.run_cell("%weshop agents")  # the package's own imports, before the baseline
        before = _stats(base_url)
        threads_before = threading.active_count()
        rss_before = _rss_mb()
        with contextlib.redirect_stdout(io.StringIO()), _Threads() as threads:
            start, cpu = time.monotonic(), time.process_time()
            shell.run_cell(cell).raise_error()
            wall, kernel_cpu = time.monotonic() - start, time.process_time() - cpu
        rss_after = _rss_mb()
        peak_rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
        after = _stats(base_url)
        run = shell.user_ns["run"]
        static = run._repr_mimebundle_()
        saved = sum(len(value.encode()) for value in static.values())
        from weshop_nb import History

        recorded = len(History().executions(limit=None))
        urls = [url for execution in run.executions for url in execution.images]
        decoding = _decode_time(urls)
        shell.run_cell("%unload_ext weshop_nb")
    finally:
        process.terminate()
        process.wait(10)
    executions = len(run.items)
    tasks = after["tasks_created"] - before["tasks_created"]
    queries = after["requests"].get("query", 0) - before["requests"].get("query", 0)
    return {
        "shape": shape,
        "executions": executions,
        "tasks": tasks,
        "uploads": after["requests"].get("upload", 0) - before["requests"].get("upload", 0),
        # The emulator stands in for a service whose GPUs are elsewhere: its CPU here is the demo's, not the user's.
        "emulator_drawing_ahead_cpu_s": after["drawing_ahead_cpu_s"] - before["drawing_ahead_cpu_s"],
        "emulator_serving_cpu_s": after["serving_cpu_s"] - before["serving_cpu_s"],
        "emulator_picture_cpu_ms": after["picture_cpu_ms"],
        "pictures": len(urls),
        "wall_s": wall,
        "kernel_cpu_s": kernel_cpu,
        "queries": queries,
        "query_bound": tasks + 0.15 * executions,
        "created": after["executions_created"] - before["executions_created"],
        "recorded_in_history": recorded,
        "succeeded": run.counts()["success"],
        "threads_before": threads_before,
        "peak_threads": threads.peak,
        "rss_before_mb": rss_before,
        "rss_after_mb": rss_after,
        "peak_rss_mb": peak_rss,
        "saved_bytes": saved,
        "load_1min": os.getloadavg()[0],
        **decoding,
    }


def report(figures: dict) -> None:
    executions = figures["executions"]
    limit = LATENCY + POLL + figures["D_s"]
    measured = {
        "peak_threads_added": figures["peak_threads"] - figures["threads_before"],
        "memory_growth_mb": round(figures["rss_after_mb"] - figures["rss_before_mb"], 1),
        "saved_kb": round(figures["saved_bytes"] / 1024, 1),
        "queries_over_bound": round(figures["queries"] / figures["query_bound"], 3),
    }
    emit(
        "catalogue_scale_through_magic",
        shape=figures["shape"],
        executions=executions,
        tasks=figures["tasks"],
        uploads=figures["uploads"],
        emulator_drawing_ahead_cpu_s=round(figures["emulator_drawing_ahead_cpu_s"], 1),
        emulator_serving_cpu_s=round(figures["emulator_serving_cpu_s"], 1),
        emulator_picture_cpu_ms=figures["emulator_picture_cpu_ms"],
        pictures=figures["pictures"],
        latency_s=LATENCY,
        poll_interval_s=POLL,
        wall_s=round(figures["wall_s"], 1),
        D_s=round(figures["D_s"], 1),
        D_cpu_s=round(figures["D_cpu_s"], 1),
        decode_sample=DECODE_SAMPLE,
        limit_s=round(limit, 1),
        wall_over_limit=round(figures["wall_s"] / limit, 2),
        wall_over_limit_from_cpu_D=round(figures["wall_s"] / (LATENCY + POLL + figures["D_cpu_s"]), 2),
        kernel_cpu_s=round(figures["kernel_cpu_s"], 1),
        kernel_cpu_per_picture_ms=round(figures["kernel_cpu_s"] / max(figures["pictures"], 1) * 1000, 1),
        queries=figures["queries"],
        queries_per_execution=round(figures["queries"] / executions, 3),
        query_bound=figures["query_bound"],
        threads_before=figures["threads_before"],
        peak_threads=figures["peak_threads"],
        rss_before_mb=round(figures["rss_before_mb"], 1),
        rss_after_mb=round(figures["rss_after_mb"], 1),
        peak_rss_mb=round(figures["peak_rss_mb"], 1),
        saved_bytes=figures["saved_bytes"],
        created=figures["created"],
        recorded_in_history=figures["recorded_in_history"],
        succeeded=figures["succeeded"],
        picture_kb_median=figures["picture_kb_median"],
        **measured,
        targets=TARGETS,
        targets_met={name: measured[name] <= bound for name, bound in TARGETS.items()},
        machine_load_1min=round(figures["load_1min"], 2),
        **machine(),
    )


def saved_notebook() -> None:
    """A notebook holding a finished 1,000-execution run, executed by nbclient in a real kernel and saved.

    The run is shown live (no ``--wait``) and waited for in a later cell, as a user meets it;
    batch 1 and the in-kernel emulator keep it short: the saved run is one contact sheet of
    one picture per execution whatever the batch, and the grid's 60 cards are emptied.
    """
    import nbformat
    from nbclient import NotebookClient

    folder = Path(tempfile.mkdtemp())
    (folder / "garment.png").write_bytes(garment())
    body = "\n---\n".join(f"prompt {n}" for n in range(PROMPTS))
    options = " ".join(f'--location "{name}"' for name in LOCATIONS) + " "
    options += " ".join(f"--model {name}" for name in MODELS)
    cells = [
        "%load_ext weshop_nb\n%weshop demo --latency 2 --seed 1",
        f"%%weshop run --image garment.png {options} --batch 1 -o run\n{body}",
        "run.wait(timeout=900, progress=False); print(run.summary())",
    ]
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    started = time.monotonic()
    resources = {"metadata": {"path": str(folder)}}
    NotebookClient(notebook, timeout=900, kernel_name="python3", resources=resources).execute()
    saved = len(nbformat.writes(notebook).encode())
    emit(
        "catalogue_scale_saved_notebook",
        executions=PROMPTS * len(LOCATIONS) * len(MODELS),
        summary=notebook.cells[2].outputs[0].get("text", "").strip(),
        saved_kb=round(saved / 1024, 1),
        widget_state_kb=round(len(json.dumps(notebook.metadata.get("widgets", {}))) / 1024, 1),
        run_cell_outputs_kb=round(len(json.dumps(notebook.cells[1].outputs)) / 1024, 1),
        target_kb=TARGETS["saved_kb"],
        seconds=round(time.monotonic() - started, 1),
    )


def main() -> None:
    if sys.argv[1:2] == ["one"]:
        print(json.dumps(one(sys.argv[2] if len(sys.argv) > 2 else "set")))
        return
    if sys.argv[1:] == ["saved"]:
        saved_notebook()
        return
    for shape in ("set", "sweep"):
        env = {**os.environ, "WESHOP_NB_HOME": tempfile.mkdtemp()}
        env.pop("WESHOP_API_KEY", None)
        env.pop("WESHOP_BASE_URL", None)
        output = subprocess.run(
            [sys.executable, os.path.abspath(__file__), "one", shape],
            capture_output=True,
            text=True,
            env=env,
            check=True,
        ).stdout
        report(json.loads(output.strip().splitlines()[-1]))


if __name__ == "__main__":
    main()
