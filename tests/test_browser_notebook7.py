"""A sweep's live grid and a finished run's output in Notebook 7, in Debian's Chromium.

The JupyterLab test (test_browser.py) drives the studio; this one checks that what
``%%weshop run`` shows renders in Notebook 7 too, a front-end of its own: a notebook
that starts the in-kernel emulator, runs a two-execution sweep without ``--wait`` (the
live grid of widgets while it runs, then the finished run as static HTML in its place)
and one with ``--wait`` (static HTML), run with Run > Run All Cells as a person would.
Every picture shown in the end is loaded and embedded in the page, none fetched from
the emulator. Then the studio (notebooks/04-studio.ipynb) launches, and a star under its
grid is clicked: star bars are made when a front-end reports it shows the grid
(ipywidgets' view count), and this checks Notebook 7 reports it.
"""

from __future__ import annotations

import json
import shutil
import time
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import nbformat
import pytest

from ._lab import (
    CHROMIUM,
    ENABLED_LAUNCH,
    NO_CHROMIUM,
    chromium,
    click_a_star,
    jupyter_server,
)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
CELLS = [
    "%load_ext weshop_nb\n%weshop demo --latency 3 --seed 1",
    '%%weshop run --image data/garment.jpg --location "Sunny Beach" --model Eve --model Amara\n'
    "A linen shirt on a summer street",
    '%%weshop run --image data/garment.jpg --location "White Studio" --model Eve --wait\nA linen shirt, studio light',
]
LOADED = "img => img.complete && img.naturalWidth > 0"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


@pytest.fixture
def notebook7(tmp_path: Path) -> Iterator[str]:
    pytest.importorskip("notebook", minversion="7")
    root = tmp_path / "root"
    root.mkdir()
    shutil.copytree(NOTEBOOKS / "data", root / "data")
    shutil.copy(NOTEBOOKS / "04-studio.ipynb", root)
    notebook = nbformat.v4.new_notebook(cells=[nbformat.v4.new_code_cell(source) for source in CELLS])
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    nbformat.write(notebook, root / "grid.ipynb")
    with jupyter_server("notebook", root, tmp_path) as base:
        yield base


def _run_all(page, base: str, notebook: str, kernels: int) -> None:
    """Open ``notebook`` in Notebook 7 (its kernel the ``kernels``-th started) and run it with
    Run > Run All Cells, as a person would."""
    page.goto(f"{base}/notebooks/{notebook}")
    page.wait_for_selector(".jp-Notebook", timeout=90_000)
    _kernels_idle(base, kernels)
    page.get_by_role("menuitem", name="Run").first.click()
    page.get_by_text("Run All Cells", exact=True).click()


def _kernels_idle(base: str, count: int, timeout: float = 90) -> None:
    """Wait until ``count`` kernels have started and are idle (asked of the server, not of the page)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        with urllib.request.urlopen(f"{base}/api/kernels", timeout=5) as reply:
            kernels = json.load(reply)
        if len(kernels) >= count and all(kernel["execution_state"] == "idle" for kernel in kernels):
            return
        time.sleep(0.5)
    pytest.fail(f"{count} kernels did not start and settle within {timeout:.0f} s")


def test_runs_and_the_studio_stars_work_in_notebook7(notebook7: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        _run_all(page, notebook7, "grid.ipynb", kernels=1)
        try:
            # The live grid of widgets while the sweep runs (3 s), then the finished runs' static HTML.
            page.wait_for_selector(".weshop-grid", timeout=90_000)
            for cell, pictures in ((1, 8), (2, 4)):
                page.wait_for_function(
                    f"""() => {{
                         const cell = document.querySelectorAll('.jp-Cell')[{cell}];
                         return cell && !cell.querySelector('.weshop-grid')
                           && [...cell.querySelectorAll('.jp-OutputArea-output img')].filter({LOADED})
                             .length >= {pictures};
                       }}""",
                    timeout=120_000,
                )
        except Exception:
            page.screenshot(path=str(tmp_path / "notebook7-failed.png"), full_page=True)  # for the report
            raise
        shown = page.locator(".jp-Cell .jp-OutputArea-output img")
        sources = [shown.nth(n).get_attribute("src") or "" for n in range(shown.count())]
        page.screenshot(path=str(tmp_path / "notebook7.png"), full_page=True)
        studio = browser.new_page(viewport={"width": 1400, "height": 1800})
        _run_all(studio, notebook7, "04-studio.ipynb", kernels=2)
        try:
            studio.get_by_role("button", name="Launch 4 executions").wait_for(timeout=120_000)
            studio.wait_for_function(ENABLED_LAUNCH, timeout=60_000)
            studio.get_by_role("button", name="Launch 4 executions").click()
            rated = click_a_star(studio, tmp_path)
        except Exception:
            studio.screenshot(path=str(tmp_path / "notebook7-studio-failed.png"), full_page=True)  # for the report
            raise
    assert len(sources) >= 12 and all(src.startswith("data:image/") for src in sources)  # no URL of the emulator
    assert (tmp_path / "notebook7.png").stat().st_size > 10_000
    assert rated == [(0, 4)]  # the studio's stars were made in Notebook 7, and a click kept in the history
