"""What the browser tests share: Debian's Chromium, a JupyterLab (or Notebook 7) process on 127.0.0.1,
and the steps both front-ends take alike (a kernel's question, Launch, a star clicked)."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any

import pytest

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
NO_CHROMIUM = "Debian's chromium is not installed (`make test` installs it when run as root)"
# No sandbox (root in containers), and nothing that phones home: the tests reach only 127.0.0.1.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# JupyterLab asks the internet for news and updates unless told not to.
QUIET_LAB = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]
ENABLED_LAUNCH = (
    "() => [...document.querySelectorAll('button')].some(b => b.textContent.includes('Launch 4') && !b.disabled)"
)


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_lab(
    command: Sequence[str], *, port: int, env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[str]:
    """Run ``command`` (a JupyterLab listening on ``port``) until the block ends; yield its base URL.

    Waits (at most 90 s) for ``/api/status`` to answer; a server that dies or never answers
    fails the test with the end of its ``log``. The whole process group is stopped afterwards,
    kernels included.
    """
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while not _answers(f"{base}/api/status"):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
            yield base
        finally:
            _signal_group(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(server.pid, signal.SIGKILL)
                server.wait()


@contextmanager
def jupyter_server(app: str, root: Path, tmp_path: Path, *options: str) -> Iterator[str]:
    """``python -m app`` (``jupyterlab`` or ``notebook``) serving ``root`` on a free loopback port,
    with no token, until the block ends; yields its base URL.

    It runs without this shell's ``WESHOP_`` settings, with its own weshop_nb home
    (``tmp_path/home``) and Jupyter folders under ``tmp_path``, and logs to ``tmp_path/APP.log``.
    """
    port = free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WESHOP_")}
    env.update(
        WESHOP_NB_HOME=str(tmp_path / "home"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    command = [
        sys.executable, "-m", app, "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", *QUIET_LAB, *options, "--allow-root",
    ]  # fmt: skip
    with running_lab(command, port=port, env=env, log=tmp_path / f"{app}.log") as base:
        yield base


def _signal_group(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(pid, signum)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False


@contextmanager
def chromium() -> Iterator[Any]:
    """Debian's Chromium, driven by Playwright, until the block ends (the test is skipped without Playwright)."""
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            yield browser
        finally:
            browser.close()


def accept_kernel_dialog(page) -> None:
    """A fresh JupyterLab may ask which kernel to start; the notebook's own is preselected."""
    try:
        page.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=10_000)
    except Exception:
        return  # no question asked
    page.click(".jp-Dialog .jp-mod-accept")


def click_a_star(page, tmp_path: Path) -> list[tuple[int, int]]:
    """Click the fourth star under the first picture of the first card; the (picture, stars) the history holds."""
    from weshop_nb.work._history import History

    stars = page.locator(".weshop-grid .weshop-stars button")
    page.wait_for_function(
        "() => document.querySelectorAll('.weshop-grid .weshop-stars button').length >= 5", timeout=60_000
    )
    stars.nth(3).click()
    # The card's stars fill in once the kernel has kept the rating: ★★★★☆ under the picture.
    page.wait_for_function(
        "() => [...document.querySelectorAll('.weshop-grid')].some(g => g.textContent.includes('★★★★☆'))",
        timeout=30_000,
    )
    shot = tmp_path / "stars.png"
    page.locator(".weshop-grid").scroll_into_view_if_needed()
    page.screenshot(path=str(shot), full_page=True)
    print(f"screenshot of a rated picture: {shot}")
    history = History(tmp_path / "home" / "history.sqlite3")
    try:
        deadline = time.monotonic() + 30
        while True:  # the kernel's process writes it; this one reads the file
            ratings = history.ratings()
            if len(ratings) or time.monotonic() > deadline:
                return list(zip(ratings["picture"].tolist(), ratings["stars"].tolist(), strict=True))
            time.sleep(0.5)
    finally:
        history.close()


def distorted_pictures(page, selector: str) -> list[list[float]]:
    """The loaded pictures under ``selector`` drawn out of their proportions (shown and natural
    height over width, more than 3 % apart): a picture stretched to a taller neighbour's height."""
    return page.evaluate(
        """(selector) => [...document.querySelectorAll(selector)]
             .filter(img => img.complete && img.naturalWidth > 0)
             .map(img => { const box = img.getBoundingClientRect();
                           return [box.height / box.width, img.naturalHeight / img.naturalWidth]; })
             .filter(([shown, natural]) => Math.abs(shown / natural - 1) > 0.03)""",
        selector,
    )
