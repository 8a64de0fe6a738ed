"""The studio in a real JupyterLab, in Debian's Chromium, driven by Playwright.

JupyterLab runs on 127.0.0.1 with a test-only configuration (no token, its own config
and data folders) on a copy of notebooks/04-studio.ipynb. The test runs the notebook,
clicks Launch, and waits for the grid's pictures to load in the page. Then it chooses
another agent (virtualtryon) as a person would: its form appears, a choice that breaks
one of its rules disables Launch and says so, filling the field it needs enables it
again, and its launch fills a new grid. On the way it clicks a star under a picture and
reads the rating back from the history file, as another process would.

Apart, a card drawn as the static output draws it, its first picture rated, is checked in
the browser: every picture keeps its proportions beside the stars.
"""

from __future__ import annotations

import io
import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest

from ._lab import (
    CHROMIUM,
    ENABLED_LAUNCH,
    NO_CHROMIUM,
    accept_kernel_dialog,
    chromium,
    click_a_star,
    distorted_pictures,
    jupyter_server,
)

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"

pytestmark = pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)


@pytest.fixture
def lab(tmp_path: Path) -> Iterator[str]:
    root = tmp_path / "root"
    root.mkdir()
    shutil.copy(NOTEBOOKS / "04-studio.ipynb", root)
    shutil.copytree(NOTEBOOKS / "data", root / "data")
    workspaces = "--LabServerApp.workspaces_dir=" + str(tmp_path / "workspaces")
    with jupyter_server("jupyterlab", root, tmp_path, workspaces) as base:
        yield base


def _dropdown(page, label: str):
    """The <select> of the ipywidgets Dropdown whose description is ``label``."""
    return page.locator(".widget-dropdown", has=page.locator("label", has_text=label)).locator("select")


def _studio_with_virtualtryon(page) -> list[list[int]]:
    """Choose virtualtryon, break then mend its rule, launch; the sizes of the new grid's pictures."""
    _dropdown(page, "Agent").select_option("virtualtryon")
    page.get_by_placeholder("A prompt. Several prompts").fill("")  # the sweep's prompt stays otherwise
    _dropdown(page, "Prompt kind").select_option("custom")  # a custom description needs a prompt
    page.get_by_text("descriptionType=custom needs textDescription").wait_for(timeout=30_000)
    page.wait_for_function(
        "() => [...document.querySelectorAll('button')].some(b => b.textContent.includes('Launch 1') && b.disabled)"
    )
    page.get_by_placeholder("A prompt. Several prompts").fill("Walking through a park in autumn")
    page.wait_for_function(ENABLED_LAUNCH.replace("Launch 4", "Launch 1"), timeout=30_000)
    page.get_by_role("button", name="Launch 1 execution").click()
    # The new grid replaces the sweep's: one cell, its picture loaded, its prompt as the caption.
    page.wait_for_function(
        """() => {
             const grid = document.querySelector('.weshop-grid');
             if (!grid) return false;  // between the last grid and the new one
             const shown = [...grid.querySelectorAll('img')].filter(img => img.complete && img.naturalWidth > 0);
             return grid.textContent.includes('Walking through a park') && shown.length >= 1;
           }""",
        timeout=60_000,
    )
    return page.evaluate(
        """() => [...document.querySelectorAll('.weshop-grid img')]
                  .filter(img => img.naturalWidth > 0).map(img => [img.naturalWidth, img.naturalHeight])"""
    )


def test_studio_launches_and_the_grid_shows_pictures(lab: str, tmp_path: Path) -> None:
    with chromium() as browser:
        page = browser.new_page(viewport={"width": 1400, "height": 1800})
        page.goto(f"{lab}/lab/tree/04-studio.ipynb")
        page.wait_for_selector(".jp-Notebook", timeout=90_000)
        accept_kernel_dialog(page)
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
        try:
            rated = click_a_star(page, tmp_path)
        except Exception:
            page.screenshot(path=str(tmp_path / "no-stars.png"), full_page=True)  # for the failure report
            raise
        try:
            tryon = _studio_with_virtualtryon(page)
        except Exception:
            page.screenshot(path=str(tmp_path / "no-tryon.png"), full_page=True)  # for the failure report
            raise
        # The file chooser is made on the first click of Browse, in place of the button.
        browse = page.get_by_role("button", name="Browse the kernel's files")
        buttons = browse.count()  # the source picture's, and one per extra picture of virtualtryon
        browse.first.click()
        page.get_by_text("On the kernel's machine").first.wait_for(timeout=30_000)
        left = browse.count()
    assert rated == [(0, 4)]  # the first picture, four stars, kept in the history by one click
    assert (tmp_path / "stars.png").stat().st_size > 10_000
    assert len(loaded) >= 4
    assert all(width > 0 and height > 0 for width, height in loaded)
    assert len(tryon) == 1 and tryon[0][0] > 0 and tryon[0][1] > 0
    assert buttons >= 2 and left == buttons - 1  # the clicked one gave way to its chooser, the others stay
    assert (tmp_path / "studio.png").stat().st_size > 10_000


def test_a_rated_picture_leaves_its_neighbours_in_proportion() -> None:
    """A card's four pictures as the static output draws them, the first rated (its stars under it)."""
    from PIL import Image

    from weshop_nb.service._images import embed
    from weshop_nb.work._html import media_html, pictures_box

    thumbs = []
    for shade in range(4):
        picture = io.BytesIO()
        Image.new("RGB", (768, 1024), (40 * shade, 90, 160)).save(picture, format="PNG")
        thumbs.append(embed(picture.getvalue(), 188))
    card = pictures_box(media_html(thumbs, None, 94, "a card", {0: 4.0}), 192)
    with chromium() as browser:
        page = browser.new_page()
        page.set_content(card)
        page.wait_for_function("() => [...document.images].every(img => img.complete && img.naturalWidth > 0)")
        shown = page.evaluate("() => document.images.length")
        stretched = distorted_pictures(page, "img")
    assert "★★★★☆" in card and shown == 4
    assert stretched == []  # each picture's shown height / width is its own
