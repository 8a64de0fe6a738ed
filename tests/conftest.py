"""Shared fixtures: a clean environment, images of any size, and a live emulator."""

from __future__ import annotations

import io
import json
import os
import subprocess
import sys
import textwrap
from collections.abc import Callable, Iterator
from typing import Any

import pytest
import responses
from IPython.core.interactiveshell import InteractiveShell
from PIL import Image

from tests import _postgres
from weshop_nb import WeShopClient, emulator

API_KEY = "test-key-7f3a9c1e-do-not-leak"


@pytest.fixture(autouse=True)
def _clean_env(monkeypatch: pytest.MonkeyPatch, tmp_path_factory: pytest.TempPathFactory) -> None:
    """No test sees the developer's key, service URL or history folder."""
    monkeypatch.delenv("WESHOP_API_KEY", raising=False)
    monkeypatch.delenv("WESHOP_BASE_URL", raising=False)
    monkeypatch.delenv("WESHOP_NB_HISTORY_URL", raising=False)
    monkeypatch.setenv("WESHOP_NB_HOME", str(tmp_path_factory.mktemp("weshop_home")))


@pytest.fixture(scope="session")
def postgres() -> Iterator[_postgres.Server]:
    """One real PostgreSQL server for the session (see tests/_postgres.py); skipped, with the reason, without one."""
    reason = _postgres.why_not()
    if reason:
        pytest.skip(reason)
    with _postgres.running_server() as server:
        yield server


#: A history test that runs on both stores (the ``store`` fixture's two values).
on_both_stores = pytest.mark.usefixtures("store")


@pytest.fixture(params=["sqlite", "postgresql"])
def store(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> str:
    """Run a history test on both stores: the SQLite file at home, or a fresh database on the test server.

    For ``postgresql``, ``WESHOP_NB_HISTORY_URL`` names the database, so ``History()``, the
    default history the client records into, and any process a test starts all use it.
    """
    if request.param == "postgresql":
        server = request.getfixturevalue("postgres")
        monkeypatch.setenv("WESHOP_NB_HISTORY_URL", server.url(server.new_database()))
    return request.param


@pytest.fixture(autouse=True)
def _no_watcher_outlives_its_test() -> Iterator[None]:
    """A run a test left watching (say, after Ctrl-C ended its wait) stops with the test: its
    emulator is gone, and its polls would land in the next test's recorded HTTP."""
    yield
    from weshop_nb.work._watch import SCHEDULER

    for watcher in SCHEDULER.watchers():
        watcher.stop()


@pytest.fixture
def make_image() -> Callable[..., bytes]:
    """``make_image(width, height, fmt="PNG", color="teal")`` -> encoded bytes."""

    def make(width: int = 640, height: int = 800, fmt: str = "PNG", color: str = "teal") -> bytes:
        buffer = io.BytesIO()
        Image.new("RGB", (width, height), color).save(buffer, format=fmt)
        return buffer.getvalue()

    return make


@pytest.fixture
def emu() -> Iterator[emulator.EmulatorServer]:
    """A fresh emulator on a free loopback port, fast enough for tests."""
    with emulator.serve(api_key=API_KEY, latency=0.4, seed=7) as server:
        yield server


@pytest.fixture
def client(emu: emulator.EmulatorServer) -> Iterator[WeShopClient]:
    with WeShopClient(api_key=API_KEY, base_url=emu.base_url, timeout=(2, 5)) as weshop:
        yield weshop


def kernel_dies_mid_run(
    base_url: str, picture: str, count: int, location_id: int | None = None, *, mid_launch: float | None = None
) -> None:
    """In another process: launch ``count`` executions on ``picture``, then die without warning.

    With ``mid_launch`` it dies that many seconds after the launch began, whether or not
    every execute has had its reply.
    """
    script = textwrap.dedent(
        f"""
        import os, threading
        from weshop_nb import WeShopClient
        from weshop_nb.work._jobs import Job
        from weshop_nb.work._launch import launch
        client = WeShopClient(api_key={API_KEY!r}, base_url={base_url!r})
        location = client.agent_info().location({location_id!r}) if {location_id!r} else None
        params = {{"locationId": {location_id!r}}} if location else {{}}
        task = client.create_task(originalImage={picture!r}, taskName="dies")
        jobs = [Job(task, {{"textDescription": f"p{{n}}", **params}}, location) for n in range({count})]
        if {mid_launch!r} is None:
            launch(client, jobs, poll_interval=0.1).watchers[0].join(0.5)
        else:
            threading.Thread(target=launch, args=(client, jobs), daemon=True).start()
            threading.Event().wait({mid_launch!r})
        os._exit(9)  # the kernel dies mid-run
        """
    )
    env = {**os.environ, "WESHOP_NB_HOME": os.environ["WESHOP_NB_HOME"]}
    assert subprocess.run([sys.executable, "-c", script], env=env, timeout=60).returncode == 9


class TestingShell(InteractiveShell):
    """An IPython shell whose cells re-raise their errors, so tests see them."""

    def run_cell(self, raw_cell, *args, **kwargs):
        result = super().run_cell(raw_cell, *args, **kwargs)
        result.raise_error()
        return result


@pytest.fixture
def ip() -> Iterator[TestingShell]:
    """A fresh shell with weshop_nb loaded; unloaded (emulator and watchers stopped) after."""
    TestingShell.clear_instance()
    shell = TestingShell.instance()
    shell.run_cell("%load_ext weshop_nb")
    yield shell
    shell.run_cell("%unload_ext weshop_nb")
    TestingShell.clear_instance()


@pytest.fixture
def recorded() -> Iterator[responses.RequestsMock]:
    """Recorded HTTP for unit tests of the client: every request is answered from the recording."""
    with responses.RequestsMock(assert_all_requests_are_fired=False) as mock:
        yield mock


def request_body(call: Any) -> dict:
    """The JSON body a recorded call sent."""
    return json.loads(call.request.body)


def run_cell_capturing(ip: TestingShell, text: str) -> Any:
    """Run a cell and return what it printed and showed; an exception in it is raised, not just shown."""
    from IPython.utils.capture import capture_output

    with capture_output() as captured:
        result = ip.run_cell(text)
    if result.error_in_exec is not None:
        raise result.error_in_exec
    return captured
