"""Take docs/studio.png, the README's picture, from a real JupyterLab against the emulator.

Run from the repository root, after ``make .venv/.test-installed`` (it needs JupyterLab,
Playwright and Debian's Chromium, as the browser test does)::

    .venv/bin/python docs/screenshot.py [--out docs/studio.png]

It opens a copy of notebooks/04-studio.ipynb in JupyterLab (no token, its own config
folders, an empty history), runs every cell, clicks *Launch*, waits until the grid's four
pictures have loaded, and saves the studio from its source picture to the filled grid
(what goes in and what comes out), shrunk and reduced to a palette so the file stays
small. Re-run it whenever the studio changes, so the README shows what a newcomer will see.
"""

from __future__ import annotations

import argparse
import io
import os
import shutil
import sys
import tempfile
from pathlib import Path

from PIL import Image

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the browser tests' helpers live in tests/_lab.py

from tests._lab import CHROMIUM, CHROMIUM_FLAGS, NO_CHROMIUM, QUIET_LAB, free_port, running_lab  # noqa: E402

NOTEBOOK = "04-studio.ipynb"
WIDTH = 880  # pixels of the saved picture: readable on GitHub, a few tens of KB
# JupyterLab's toasts (its question about news) would cover a corner of the picture.
HIDDEN = ".Toastify, .jp-toast-container { display: none !important; }"
# The output area is as wide as the page; below ``below`` (the top of the picture), the
# studio's content ends where its rightmost text, picture or control does.
CONTENT_RIGHT = """(root, below) => {
  let right = 0;
  const seen = rect => { if (rect.top >= below && rect.width > 0) right = Math.max(right, rect.right); };
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const range = document.createRange();
  while (walker.nextNode()) {
    range.selectNodeContents(walker.currentNode);
    for (const rect of range.getClientRects()) seen(rect);
  }
  for (const node of root.querySelectorAll('img, button, input, select, textarea'))
    seen(node.getBoundingClientRect());
  return right;
}"""
LOADED = """() => [...document.querySelectorAll('.weshop-grid img')]
                  .filter(img => img.complete && img.naturalWidth > 0).length >= 4"""


def _lab_command(port: int, root: Path, scratch: Path) -> list[str]:
    return [
        sys.executable, "-m", "jupyterlab", "--no-browser", "--ip=127.0.0.1", f"--port={port}",
        "--ServerApp.token=", "--ServerApp.password=", "--ServerApp.disable_check_xsrf=True",
        f"--ServerApp.root_dir={root}", *QUIET_LAB,
        "--LabServerApp.workspaces_dir=" + str(scratch / "workspaces"), "--allow-root",
    ]  # fmt: skip


def _environment(scratch: Path) -> dict[str, str]:
    # No WESHOP_* from the caller: the notebook's `%weshop demo` then starts the emulator.
    env = {key: value for key, value in os.environ.items() if not key.startswith("WESHOP_")}
    env.update(
        WESHOP_NB_HOME=str(scratch / "home"),
        JUPYTER_CONFIG_DIR=str(scratch / "jupyter-config"),
        JUPYTER_RUNTIME_DIR=str(scratch / "jupyter-runtime"),
        JUPYTER_DATA_DIR=str(scratch / "jupyter-data"),
        JUPYTERLAB_WORKSPACES_DIR=str(scratch / "workspaces"),
    )
    return env


def _studio_picture(base: str) -> bytes:
    """The studio's output area after a launch, as PNG bytes at the browser's size."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_FLAGS)
        try:
            page = browser.new_page(viewport={"width": 1600, "height": 2000})
            page.goto(f"{base}/lab/tree/{NOTEBOOK}?reset")
            page.wait_for_selector(".jp-Notebook", timeout=90_000)
            try:  # a fresh JupyterLab may ask which kernel to start; the notebook's own is preselected
                page.wait_for_selector(".jp-Dialog .jp-mod-accept", timeout=10_000)
                page.click(".jp-Dialog .jp-mod-accept")
            except Exception:
                pass
            page.wait_for_selector(".jp-Notebook-ExecutionIndicator[data-status='idle']", timeout=90_000)
            page.get_by_role("menuitem", name="Run").first.click()
            page.get_by_text("Run All Cells", exact=True).click()
            launch = page.get_by_role("button", name="Launch 4 executions")
            launch.wait_for(timeout=120_000)
            page.wait_for_function(
                "() => [...document.querySelectorAll('button')]"
                ".some(b => b.textContent.includes('Launch 4') && !b.disabled)",
                timeout=60_000,
            )
            launch.click()
            page.wait_for_function(LOADED, timeout=120_000)
            page.add_style_tag(content=HIDDEN)
            page.mouse.move(0, 0)  # no hover highlight in the picture
            # From the source picture to the grid: what goes in and what comes out.
            heading = page.get_by_text("2 · Source picture").first
            heading.evaluate("node => node.scrollIntoView({block: 'start'})")
            top, grid = heading.bounding_box(), page.locator(".weshop-grid").first.bounding_box()
            studio = page.locator(".jp-OutputArea-output", has=page.locator(".weshop-grid")).first
            left, right = studio.bounding_box()["x"], studio.evaluate(CONTENT_RIGHT, top["y"])
            clip = {
                "x": left,
                "y": top["y"] - 8,
                "width": right - left + 16,  # the grid cards' borders and a margin
                "height": grid["y"] + grid["height"] - top["y"] + 16,
            }
            return page.screenshot(clip=clip)
        finally:
            browser.close()


def _small(png: bytes) -> Image.Image:
    """At most WIDTH wide, in 256 colours: the emulator's pictures are grainy and weigh a lot."""
    picture = Image.open(io.BytesIO(png)).convert("RGB")
    if picture.width > WIDTH:  # never enlarged: that would only blur it
        picture = picture.resize((WIDTH, round(picture.height * WIDTH / picture.width)), Image.Resampling.LANCZOS)
    return picture.quantize(colors=256, method=Image.Quantize.MEDIANCUT, dither=Image.Dither.NONE)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, default=ROOT / "docs" / "studio.png")
    out = parser.parse_args().out
    if CHROMIUM is None:
        sys.exit(NO_CHROMIUM)
    with tempfile.TemporaryDirectory(prefix="weshop-screenshot-") as folder:
        scratch = Path(folder)
        root = scratch / "root"
        root.mkdir()
        shutil.copy(ROOT / "notebooks" / NOTEBOOK, root)
        shutil.copytree(ROOT / "notebooks" / "data", root / "data")
        port = free_port()
        command = _lab_command(port, root, scratch)
        with running_lab(command, port=port, env=_environment(scratch), log=scratch / "jupyterlab.log") as base:
            png = _studio_picture(base)
    _small(png).save(out, optimize=True)
    print(f"{out}: {out.stat().st_size // 1024} KB")


if __name__ == "__main__":
    main()
