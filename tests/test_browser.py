"""The studio in a real JupyterLab, in Debian's Chromium, driven by Playwright.

JupyterLab runs on 127.0.0.1 with a test-only configuration (no token, its own config
and data folders) on a copy of notebooks/04-studio.ipynb. The test runs the notebook,
clicks Launch, and waits for the grid's pictures to load in the page.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]

ENABLED_LAUNCH = (
    "() => [...document.querySelectorAll('button')].some(b => b.textContent.includes('Launch 4') && !b.disabled)"
)

pytestmark = pytest.mark.skipif(
    CHROMIUM is None, reason="Debian's chromium is not installed (`make test` installs it when run as root)"
)


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "04-studio.ipynb", root)
    shutil.copytree(NOTEBOOKS / "data", root / "data")
    port = _free_port()
    env = {key: value for key, value in os.environ.items() if not key.startswith("WESHOP_")}
    env.update(
        WESHOP_NB_HOME=str(tmp_path / "home"),
        JUPYTER_CONFIG_DIR=str(tmp_path / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(tmp_path / "jupyter-runtime"),
        JUPYTER_DATA_DIR=str(tmp_path / "jupyter-data"),
        JUPYTERLAB_WORKSPACES_DIR=str(tmp_path / "workspaces"),
    )
    command = [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", "--LabApp.news_url=",
        "--LabServerApp.workspaces_dir=" + str(tmp_path / "workspaces"), "--allow-root",
    ]  # fmt: skip
    log = open(tmp_path / "jupyterlab.log", "w")  # noqa: SIM115 (closed below)
    server = subprocess.Popen(command, env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True)
    base = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 90
        while True:
            try:
                with urllib.request.urlopen(f"{base}/api/status", timeout=2) as reply:
                    if reply.status == 200:
                        break
            except OSError:
                pass
            if time.monotonic() > deadline or server.poll() is not None:
                pytest.fail(f"JupyterLab did not start: {(tmp_path / 'jupyterlab.log').read_text()[-2000:]}")
            time.sleep(0.5)
        yield base
    finally:
        os.killpg(server.pid, signal.SIGTERM)
        try:
            server.wait(timeout=20)
        except subprocess.TimeoutExpired:
            os.killpg(server.pid, signal.SIGKILL)
        log.close()


def _accept_kernel_dialog(page) -> None:
    """A fresh JupyterLab may ask which kernel to start; the notebook's own is preselected."""
    try:
        page.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=10_000)
    except Exception:
        return  # no question asked
    page.click(".jp-Dialog .jp-mod-accept")


def test_studio_launches_and_the_grid_shows_pictures(lab: str, tmp_path: Path) -> None:
    sync_playwright = pytest.importorskip("playwright.sync_api").sync_playwright
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1400, "height": 1800})
            page.goto(f"{lab}/lab/tree/04-studio.ipynb")
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            _accept_kernel_dialog(page)
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.get_by_role("menuitem", name="Run").first.click()  # Run > Run All Cells, as a person would
            page.get_by_text("Run All Cells", exact=True).click()
            launch = page.get_by_role("button", name="Launch 4 executions")
            try:
                launch.wait_for(timeout=120_000)
            except Exception:
                page.screenshot(path=str(tmp_path / "no-launch-button.png"), full_page=True)  # for the failure report
                raise
            page.wait_for_function(ENABLED_LAUNCH, timeout=60_000)
            launch.click()
            page.wait_for_function(
                """() => [...document.querySelectorAll('.weshop-grid img')]
                          .filter(img => img.complete && img.naturalWidth > 0).length >= 4""",
                timeout=120_000,
            )
            loaded = page.evaluate(
                """() => [...document.querySelectorAll('.weshop-grid img')]
                          .map(img => [img.naturalWidth, img.naturalHeight])"""
            )
            page.locator(".weshop-grid").scroll_into_view_if_needed()
            page.screenshot(path=str(tmp_path / "studio.png"), full_page=True)
        finally:
            browser.close()
    assert len(loaded) >= 4
    assert all(width > 0 and height > 0 for width, height in loaded)
    assert (tmp_path / "studio.png").stat().st_size > 10_000
