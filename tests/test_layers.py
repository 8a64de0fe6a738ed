"""What the layered design promises: one launch plan, runs that stop on a refused key,
hooks that fail loudly once, no history file when history is off, widgets made only on
the kernel's thread, and public names that report the package."""

from __future__ import annotations

import threading
import types
import warnings

import pytest
from IPython.core.error import UsageError

# Every widget alive in this process (ipywidgets' own registry; its public alias is deprecated).
from ipywidgets.widgets.widget import _instances as _live_widgets

import weshop_nb
from weshop_nb import WeShopClient, emulator
from weshop_nb.config import home_dir
from weshop_nb.notebook import _parsers
from weshop_nb.notebook.widgets._grid import RunGrid
from weshop_nb.notebook.widgets._pickers import ChoicesPanel
from weshop_nb.service._models import Task
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch
from weshop_nb.work._plan import LaunchPlan, PlanError
from weshop_nb.work._run import Run, RunItem
from weshop_nb.work._session import Session

from .conftest import API_KEY


def _run_args(**given):
    defaults = dict(image="g.png", task=None, location=[], model=[], mask=None, custom_mask=None, mode=None)
    defaults |= dict(pose=None, generate_version=None, batch=None, negative=None)
    return types.SimpleNamespace(**(defaults | given))


def test_magic_and_studio_make_the_same_launch_plan(emu) -> None:
    session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url))
    panel = ChoicesPanel(session)
    info = panel.info
    beach, eve = info.location("Sunny Beach"), info.fashion_model("Eve")
    panel.locations.value = (beach.id,)
    panel.fashion_models.value = (eve.id,)
    panel.prompts.value = "summer\n---\nwinter"
    panel.batch.value = 3
    magic = _parsers.launch_plan(
        _run_args(location=[beach], model=[eve], batch=3, pose="originalImagePose"),
        ["summer", "winter"],
        agent="aimodel",
        version="v1.0",
        defaults=("autoApparelSegment", "freeCreation"),
    )
    studio = panel.plan()
    assert magic.params() == studio.params()
    assert magic.count() == studio.count() == 2
    task = Task(id="t", agent_name="aimodel", agent_version="v1.0", init_params={})
    assert [j.params for j in magic.jobs(task)] == [j.params for j in studio.jobs(task)]
    # The same rule refuses both faces, in the same words.
    panel.prompts.value = ""
    panel.locations.value = ()
    panel.fashion_models.value = ()
    with pytest.raises(UsageError) as refused:
        _parsers.launch_plan(_run_args(), [], agent="aimodel", version="v1.0", defaults=("a", "b"))
    assert str(refused.value) == panel.problem()
    session.close()


def test_plan_names_the_broken_rule() -> None:
    with pytest.raises(PlanError, match="between 1 and 16, got 17"):
        LaunchPlan(prompts=["p"], batch=17).check()
    with pytest.raises(PlanError, match=r"Unknown agent nope v1\.0; known: aimodel v1\.0"):
        LaunchPlan(agent="nope", prompts=["p"]).check()
    assert LaunchPlan(prompts=["p"], custom_mask="m.png").params()["maskType"] == "custom"


def test_a_refused_key_stops_watching_and_wait_returns_with_the_reason(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=30, seed=3) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        run = launch(client, [Job(task, {"textDescription": "slow"})], poll_interval=0.1, max_interval=0.2)
        client._auth._key = "revoked-key"  # the service stops accepting it mid-run
        run.wait(timeout=20)  # returns as soon as nothing watches, long before the execution ends
    assert not run.done and not run.watching
    assert "stopped watching" in run.summary() and "API key" in run.notice
    assert "revoked-key" not in run.summary()


def test_a_failing_subscriber_warns_once_and_the_others_still_hear() -> None:
    task = Task(id="t", agent_name="aimodel", agent_version="v1.0", init_params={})
    item = RunItem(Job(task, {}))
    run = Run(types.SimpleNamespace(base_url="http://x"), [item])
    heard = []
    run.on_update(lambda run, item: 1 / 0)
    run.on_update(lambda run, item: heard.append(item))
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        run.publish(item)
        run.publish(item)
    assert len(heard) == 2
    assert [str(w.message).count("ZeroDivisionError") for w in caught] == [1]


def test_history_off_opens_no_file(monkeypatch, make_image, emu, ip) -> None:
    monkeypatch.setenv("WESHOP_NB_HISTORY", "off")
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
    client.create_task(originalImage=client.upload_image(make_image()))  # an event the history would record
    with pytest.raises(UsageError, match="history is off"):
        ip.run_line_magic("weshop", "history")
    assert not list(home_dir().rglob("history.sqlite3*"))


def test_the_grid_makes_its_widgets_on_the_kernel_thread_only() -> None:
    task = Task(id="t", agent_name="aimodel", agent_version="v1.0", init_params={})
    items = [RunItem(Job(task, {"batchCount": 2})) for _ in range(3)]
    run = Run(types.SimpleNamespace(base_url="http://x"), items)
    RunGrid(run, on_select=lambda item, index: None)
    before = set(_live_widgets)

    def finish() -> None:
        for item in items:
            item.thumbnails.extend([b"jpeg-1", b"jpeg-2"])
            run.publish(item)

    watcher = threading.Thread(target=finish)
    watcher.start()
    watcher.join()
    assert set(_live_widgets) == before  # only trait values changed


def test_public_classes_report_the_package() -> None:
    for name in ("WeShopClient", "History", "Run", "Execution", "WeShopError", "Comparison"):
        assert getattr(weshop_nb, name).__module__ == "weshop_nb", name
