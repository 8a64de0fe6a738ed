"""Runs at catalogue scale stay light: bounded threads, at most LIVE_CARDS cards live, a bounded
static picture (issue 20, item 7; the figures for 1,000 executions are in benchmarks/catalogue_scale.py)."""

from __future__ import annotations

import io
import re
import threading
import time
import types

from PIL import Image

from weshop_nb import History
from weshop_nb.contract import SUCCESS
from weshop_nb.service._models import Execution, Task
from weshop_nb.work._html import LIVE_CARDS
from weshop_nb.work._jobs import Job
from weshop_nb.work._run import Run, RunItem, progress_text

from .conftest import API_KEY


def _threads() -> int:
    # The in-process emulator's server starts a thread per request: those are the service's, not the kernel's.
    return sum("process_request_thread" not in thread.name for thread in threading.enumerate())


def test_a_200_execution_sweep_runs_on_a_bounded_number_of_threads(ip, emu, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
    baseline = _threads()
    peak = [baseline]
    done = threading.Event()

    def sample() -> None:
        while not done.wait(0.01):
            peak[0] = max(peak[0], _threads() - 1)  # this sampler not counted

    sampler = threading.Thread(target=sample, daemon=True)
    sampler.start()
    body = "\n---\n".join(f"look {n}" for n in range(50))
    locations = " ".join(
        f'--location "{name}"' for name in ("Sunny Beach", "White Studio", "Autumn Park", "Desert Dunes")
    )
    try:
        ip.run_cell(
            f"%%weshop run --image {emu.base_url}/files/uploads/g.png {locations} --batch 1 --wait -o run\n{body}"
        )
    finally:
        done.set()
        sampler.join()
    run = ip.user_ns["run"]
    assert run.counts()["success"] == 200 and len({item.job.task.id for item in run.items}) == 10
    assert peak[0] - baseline <= 24  # one thread per task made it 1 + 10 + 8 at least, and 62 for 1,000
    tasks = len({item.job.task.id for item in run.items})
    queries = emu.stats()["requests"]["query"]
    assert queries <= tasks + 0.15 * len(run.items)
    assert emu.stats()["executions_created"] == len(History().executions()) == 200


def _picture(shade: int) -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (384, 512), (shade % 256, 90, 140)).save(buffer, format="WEBP", quality=40)
    return buffer.getvalue()


def _large_run(count: int) -> tuple[Run, list[RunItem]]:
    task = Task(id="t", agent_name="aimodel", agent_version="v1.0", init_params={})
    items = [RunItem(Job(task, {"textDescription": f"look {n}"})) for n in range(count)]
    for n, item in enumerate(items):
        item.execution = Execution(f"e{n}", "pending", {}, None, (), task_id="t")
    return Run(types.SimpleNamespace(base_url="http://x"), items), items


def _finish(run: Run, item: RunItem, n: int) -> None:
    item.thumbnails.extend([_picture(n)] * 4)
    item.execution = Execution(f"e{n}", SUCCESS, {}, None, (), task_id="t")
    item.finished_at = float(n)
    run.publish(item)


def test_the_live_grid_of_a_large_run_shows_the_newest_finished_cards_only() -> None:
    from weshop_nb.notebook.widgets._grid import RunGrid

    run, items = _large_run(300)
    grid = RunGrid(run)
    assert len(grid.cells) == LIVE_CARDS
    for n, item in enumerate(items[:200]):
        _finish(run, item, n)
    shown = [cell.item for cell in grid.cells]
    assert len(grid.cells) == LIVE_CARDS and set(map(id, shown)) == set(map(id, items[140:200]))
    assert all("look 1" in cell.value for cell in grid.cells)  # looks 140 to 199
    deadline = time.monotonic() + 5  # the bar is redrawn a few times a second, the last change included
    while "200/300 done" not in grid.progress.value:
        assert time.monotonic() < deadline
        time.sleep(0.05)
    grid.release()


def test_the_static_picture_of_a_large_run_is_one_bounded_contact_sheet() -> None:
    run, items = _large_run(1000)
    for n, item in enumerate(items):
        _finish(run, item, n)
    html = run._repr_html_()
    assert len(html.encode()) < 400 * 1024
    assert html.count("<img") == 1  # one sheet, not a card per execution
    assert "1000/1000 done" in html and "run.to_frame()" in html and "run.save(" in html
    assert f"The newest {LIVE_CARDS} of 1000 executions" in html


def test_an_eta_is_given_once_some_have_finished() -> None:
    run, items = _large_run(100)
    assert "left" not in progress_text(run)  # nothing finished: no guess
    launched = time.monotonic() - 10
    for item in items:
        item.started_at = launched
    for n, item in enumerate(items[:50]):
        _finish(run, item, n)
    assert re.search(r"50/100 done .*; about (9|10|11) s left", progress_text(run))
