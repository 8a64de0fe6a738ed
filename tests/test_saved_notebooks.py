"""What a saved notebook keeps of a run: its finished pictures, as static HTML.

A notebook is executed by nbclient in a real kernel and saved with nbformat, as
``jupyter nbconvert --execute`` does. Then the saved tutorial is rendered by nbconvert
and opened in Chromium with JavaScript off, as on GitHub or nbviewer: every picture loads.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

import nbformat
import pytest
from nbclient import NotebookClient

from ._lab import CHROMIUM, NO_CHROMIUM, chromium

NOTEBOOKS = Path(__file__).resolve().parent.parent / "notebooks"
WIDGET_VIEW = "application/vnd.jupyter.widget-view+json"
# What the run holds once finished, printed by the kernel: every picture as embedded.
PICTURES = """import base64, json
print(json.dumps([base64.b64encode(t).decode() for item in run.items for t in item.thumbnails]))"""


def _execute(cells: list[str], folder: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    client = NotebookClient(notebook, timeout=120, kernel_name="python3", resources={"metadata": {"path": str(folder)}})
    client.execute()
    path = folder / "saved.ipynb"
    nbformat.write(notebook, path)
    return nbformat.read(path, as_version=4)


def test_a_live_run_that_finished_before_saving_is_saved_as_its_static_pictures(tmp_path, make_image) -> None:
    (tmp_path / "garment.png").write_bytes(make_image(640, 800))
    saved = _execute(
        [
            "%load_ext weshop_nb\n%weshop demo --latency 1",
            "%%weshop run --image garment.png --batch 2 -o run\nfirst look\n---\nsecond look",  # no --wait
            # The run ends while this cell runs: its watcher thread, not this cell, replaces the display above.
            "run.wait(progress=False);",
            PICTURES,
        ],
        tmp_path,
    )
    pictures = json.loads(saved.cells[3].outputs[0].text)
    assert len(pictures) == 4
    (shown,) = saved.cells[1].outputs
    assert shown.output_type == "display_data" and WIDGET_VIEW not in shown.data  # the live grid is gone
    assert "2/2 done (2 success)" in shown.data["text/plain"]
    html = shown.data["text/html"]
    embedded = re.findall(r'<img src="data:image/webp;base64,([^"]+)"', html)
    assert embedded == pictures  # every result picture, in launch order, as the run holds it
    assert saved.cells[2].outputs == []  # `;`: the result is shown once, in the run's own cell
    # The grid's widgets were emptied before they were closed: no picture in widget state.
    assert "data:image" not in json.dumps(saved.metadata.get("widgets", {}))


def test_a_waited_run_replaces_its_progress_bar_by_a_fixed_sentence(tmp_path, make_image) -> None:
    (tmp_path / "garment.png").write_bytes(make_image(640, 800))
    saved = _execute(
        ["%load_ext weshop_nb\n%weshop demo --latency 0.5", "%%weshop run --image garment.png --wait -o run\nlook"],
        tmp_path,
    )
    progress, result = saved.cells[1].outputs
    assert progress.data == {"text/plain": "Waited for 1 execution(s)."}  # the bar is gone, the sentence stays
    assert WIDGET_VIEW not in result.data and result.data["text/html"].count("data:image/webp;base64,") == 4


@pytest.mark.skipif(CHROMIUM is None, reason=NO_CHROMIUM)
def test_the_saved_tutorial_shows_every_picture_without_javascript(tmp_path) -> None:
    from nbconvert import HTMLExporter

    notebook = nbformat.read(NOTEBOOKS / "02-prompt-experiments.ipynb", as_version=4)
    body, _ = HTMLExporter().from_notebook_node(notebook)
    page_file = tmp_path / "tutorial.html"
    page_file.write_text(body)
    with chromium() as browser:
        context = browser.new_context(java_script_enabled=False)
        # Nothing from the network: what shows must be in the file.
        context.route("http*://**/*", lambda route: route.abort())
        page = context.new_page()
        page.goto(page_file.as_uri(), wait_until="load")
        images = page.evaluate(
            "() => [...document.querySelectorAll('img')].map(i => [i.naturalWidth, i.src.slice(0, 15)])"
        )
        # The cell of the live run (`-o later`, two pictures): not a widget, its pictures.
        live = page.evaluate(
            """() => [...document.querySelectorAll('.jp-Cell')]
                      .filter(cell => cell.innerText.includes('-o later'))
                      .map(cell => [...cell.querySelectorAll('.jp-OutputArea img')]
                                      .filter(i => i.naturalWidth > 0).length)"""
        )
    loaded = [source for width, source in images if width > 0]
    assert len(loaded) == len(images)  # none broken
    # At least the 14 scene and model thumbnails, the 12 pictures of the waited sweep and the 2 of the live run.
    assert loaded.count("data:image/webp") == len(images) >= 14 + 12 + 2
    assert live == [2]
