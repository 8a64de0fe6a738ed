"""Binder for real: build the environment as Binder does from ``binder/``, then use it in Chromium.

The steps are repo2docker's for a repository with ``binder/requirements.txt`` and
``binder/postBuild``:

1. the repository's files are copied into the user's home, which is also the folder
   Jupyter serves (repo2docker's ``REPO_DIR`` is ``$HOME``); here a temporary folder;
2. a fresh Python environment gets ``pip install --no-cache-dir -r binder/requirements.txt``,
   run from the repository's root (nothing is borrowed from the project's own venv, so a
   requirement missing from ``binder/`` fails here as it would on Binder);
3. ``./binder/postBuild`` runs from the repository's root with that ``$HOME``;
4. Jupyter starts from that environment with ``--ServerApp.default_url=/lab``, the URL
   repo2docker puts on its command line (BinderHub sends people to ``/lab`` too), so no
   ``default_url`` in a config file can decide what opens.

Then Chromium opens the server's root URL, and the test checks that the first tutorial is
the notebook open in front and that ``%weshop help`` works in its kernel without
``%load_ext``. Packages come from the package index pip is configured with; JupyterLab's
news and update checks are off, so nothing else leaves the machine.
"""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path
from textwrap import dedent

import pytest

from weshop_nb.notebook._magics import OVERVIEW

from ._lab import CHROMIUM, CHROMIUM_FLAGS, NO_CHROMIUM, QUIET_LAB, free_port, running_lab

REPO = Path(__file__).resolve().parent.parent
FIRST_TUTORIAL = min((REPO / "notebooks").glob("01-*.ipynb")).relative_to(REPO)
OVERVIEW_HEADLINE = dedent(OVERVIEW).strip().splitlines()[0]
# The status bar's kernel item. (The toolbar's indicator says "idle" before a kernel is
# attached, and a cell run then is dropped.)
KERNEL_IDLE = r"() => /Python 3 \(ipykernel\) \| Idle/.test(document.getElementById('jp-main-statusbar')?.textContent)"
BUILD_TIMEOUT = 600  # seconds for one build step: a bound, not a speed target

# Only where Chromium cannot be installed is the test skipped: as root (CI), `make test` installs it.
pytestmark = [pytest.mark.slow, pytest.mark.skipif(not CHROMIUM and os.geteuid() != 0, reason=NO_CHROMIUM)]


def _copy_repository(home: Path) -> None:
    """The files Binder would get from the repository: tracked and untracked-but-not-ignored ones."""
    listed = subprocess.run(
        ["git", "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
        cwd=REPO, capture_output=True, check=True,
    ).stdout.decode().split("\0")  # fmt: skip
    for name in filter(None, listed):
        source = REPO / name
        if source.is_file():  # a tracked file deleted in the work tree is not there
            (home / name).parent.mkdir(parents=True, exist_ok=True)
            shutil.copy2(source, home / name)  # keeps postBuild executable


def _binder_env(home: Path, venv: Path) -> dict[str, str]:
    """This machine's environment as a Binder user's: that HOME, that Python, nothing of ours."""
    ours = ("WESHOP_", "JUPYTER", "IPYTHON", "PYTHON", "VIRTUAL_ENV", "XDG_CONFIG_HOME", "XDG_DATA_HOME")
    env = {key: value for key, value in os.environ.items() if not key.startswith(ours)}
    env.update(HOME=str(home), PATH=f"{venv / 'bin'}{os.pathsep}{env.get('PATH', '')}")
    env.update(PIP_NO_INPUT="1", PIP_DISABLE_PIP_VERSION_CHECK="1")  # no questions, no self-update check
    return env


def _build_step(command: list[str], *, home: Path, env: dict[str, str], log: Path) -> None:
    with open(log, "a") as out:
        out.write(f"$ {' '.join(command)}\n")
        out.flush()
        done = subprocess.run(command, cwd=home, env=env, stdout=out, stderr=subprocess.STDOUT, timeout=BUILD_TIMEOUT)
    if done.returncode != 0:
        pytest.fail(f"`{' '.join(command)}` failed as it would on Binder:\n{log.read_text()[-3000:]}")


def _build_like_binder(home: Path, venv: Path, env: dict[str, str], log: Path) -> None:
    _build_step([sys.executable, "-m", "venv", str(venv)], home=home, env=env, log=log)
    pip = [str(venv / "bin" / "python"), "-m", "pip", "install", "--no-cache-dir"]
    _build_step([*pip, "-r", "binder/requirements.txt"], home=home, env=env, log=log)
    _build_step(["./binder/postBuild"], home=home, env=env, log=log)


def _visit(base: str, screenshot: Path) -> tuple[str, str]:
    """Open ``base`` in Chromium: (the label of the tab in front, what ``%weshop help`` printed there)."""
    from playwright.sync_api import sync_playwright  # in the test extra

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        page = browser.new_page(viewport={"width": 1400, "height": 1000})
        try:
            page.goto(base)  # the root URL, where a Binder launch lands
            front = page.locator("#jp-main-dock-panel .lm-TabBar-tab.lm-mod-current").first
            front.wait_for(timeout=90_000)  # the tutorial, or a Launcher when nothing was opened
            label = front.inner_text().strip()
            if label != FIRST_TUTORIAL.name:
                return label, ""
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            page.wait_for_function(KERNEL_IDLE, timeout=90_000)
            return label, _first_cell_output(page)
        finally:
            page.screenshot(path=str(screenshot))  # for a failure report
            browser.close()


def _first_cell_output(page) -> str:
    """Put ``%weshop help`` in a new first cell, run it, and return what it printed."""
    page.locator(".jp-Notebook .jp-Cell").first.click()
    page.keyboard.press("Escape")  # command mode
    page.keyboard.press("a")  # a new code cell above, selected
    page.keyboard.press("Enter")  # edit it
    page.keyboard.type("%weshop help")
    page.keyboard.press("Shift+Enter")
    first = page.locator(".jp-Notebook .jp-Cell").first
    first.locator(".jp-OutputArea-output").first.wait_for(timeout=60_000)
    return first.locator(".jp-OutputArea").inner_text()


def test_binder_opens_the_first_tutorial_with_the_magic_loaded(tmp_path: Path) -> None:
    assert CHROMIUM, "Chromium is missing; as root, `make browser` installs Debian's chromium"
    home, venv = tmp_path / "home", tmp_path / "env"
    home.mkdir()
    _copy_repository(home)
    env = _binder_env(home, venv)
    _build_like_binder(home, venv, env, tmp_path / "build.log")

    port = free_port()
    command = [
        str(venv / "bin" / "jupyter"), "lab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.default_url=/lab", "--IdentityProvider.token=", *QUIET_LAB, "--allow-root",
    ]  # fmt: skip
    with running_lab(command, port=port, env=env, cwd=home, log=tmp_path / "jupyterlab.log") as base:
        front, output = _visit(base, tmp_path / "binder.png")

    assert front == FIRST_TUTORIAL.name
    assert OVERVIEW_HEADLINE in output, output
