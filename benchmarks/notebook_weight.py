"""What finished runs add to a saved notebook (RESULTS item 6), measured as a user gets it.

Each notebook is executed by nbclient in a real kernel (as ``jupyter nbconvert --execute``
and ``make refresh-notebooks`` do) against the in-kernel emulator (``%weshop demo``), and
saved with nbformat. What a run costs is the saved file's size minus the size of the
same file with that run's outputs and the widget state removed, so it counts the static
HTML, the widget state nbclient keeps (it keeps the last state of closed widgets too)
and the JSON around them. Measured:

- ``live``: ``%%weshop run`` without ``--wait`` (a live grid), finished during a later cell;
- ``wait``: ``%%weshop run --wait``;
- ``studio``: ``%weshop panel`` and a 4-picture launch from it, finished: the widget state
  saved by nbclient, and the state JupyterLab would save (open widgets, defaults dropped),
  in all and what the launch added to the panel's own. JupyterLab tells the kernel when it
  shows the grid, which then makes its stars; nbclient shows nothing. So JupyterLab's
  figure is read after telling the kernel so, in a notebook of its own (the stars it
  makes would count in nbclient's figure otherwise).

Run: ``.venv/bin/python benchmarks/notebook_weight.py [E] [B]`` (default 25 x 4 = 100 pictures).
"""

from __future__ import annotations

import copy
import json
import sys
import tempfile
from pathlib import Path

import nbformat
from _common import emit, garment
from nbclient import NotebookClient

GARMENT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "garment.jpg"  # the tutorials' photo
SETUP = "%load_ext weshop_nb\n%weshop demo --latency 1 --seed 1"
# Sizes printed by the kernel at the end, in a cell that is not counted.
SIZES = """import json
client = get_ipython().magics_manager.registry["WeShopMagics"].client
urls = [url for e in run.executions for url in e.images]
print(json.dumps({"pictures": len(urls), "full": sum(len(client.fetch_image(u)) for u in urls)}))"""
STUDIO = (
    '%weshop panel --image garment.png --location "Sunny Beach" --location "White Studio" --model Eve '
    '--model Amara --prompt "A relaxed summer look, natural light"'
)
LAB_STATE = """import ipywidgets, json
print(json.dumps({"lab_state": len(json.dumps(ipywidgets.Widget.get_manager_state(drop_defaults=True)))}))"""
# What JupyterLab does when it shows a widget that counts its views (ipywidgets' _view_count).
SHOWN = """import ipywidgets
for widget in list(ipywidgets.Widget.widgets.values()):
    if widget._view_count == 0:
        widget._view_count = 1"""


def _execute(cells: list[str], folder: Path) -> nbformat.NotebookNode:
    notebook = nbformat.v4.new_notebook()
    notebook.metadata["kernelspec"] = {"name": "python3", "display_name": "Python 3", "language": "python"}
    notebook.cells = [nbformat.v4.new_code_cell(source) for source in cells]
    resources = {"metadata": {"path": str(folder)}}
    NotebookClient(notebook, timeout=600, kernel_name="python3", resources=resources).execute()
    return notebook


def _size(notebook: nbformat.NotebookNode) -> int:
    return len(nbformat.writes(notebook).encode())


def _without(notebook: nbformat.NotebookNode, cells: list[int]) -> nbformat.NotebookNode:
    """The notebook without the outputs of ``cells`` and without widget state."""
    bare = copy.deepcopy(notebook)
    for index in cells:
        bare.cells[index].outputs = []
    bare.metadata.pop("widgets", None)
    return bare


def _printed(notebook: nbformat.NotebookNode, index: int) -> dict:
    return json.loads("".join(o.get("text", "") for o in notebook.cells[index].outputs if o.output_type == "stream"))


def _widget_bytes(notebook: nbformat.NotebookNode) -> int:
    widgets = notebook.metadata.get("widgets")
    return len(json.dumps(widgets, indent=1)) if widgets else 0


def _run(folder: Path, executions: int, batch: int, wait: bool) -> dict:
    prompts = "\n---\n".join(f"prompt {n}" for n in range(executions))
    magic = f"%%weshop run --image garment.png --batch {batch} -o run{' --wait' if wait else ''}\n{prompts}"
    cells = [SETUP, magic] + ([] if wait else ["run.wait();"]) + [SIZES]
    notebook = _execute(cells, folder)
    counted = [1] if wait else [1, 2]
    saved = _size(notebook) - _size(_without(notebook, counted))
    sizes = _printed(notebook, len(cells) - 1)
    html = sum(len(o.get("data", {}).get("text/html", "")) for i in counted for o in notebook.cells[i].outputs)
    pictures, full = sizes["pictures"], sizes["full"]
    return {
        "mode": "wait" if wait else "live",
        "pictures": pictures,
        "saved_bytes": saved,
        "static_html_bytes": html,
        "widget_state_bytes": _widget_bytes(notebook),
        "saved_bytes_per_picture": round(saved / pictures),
        "full_size_bytes_per_picture": round(full / pictures),
        "full_over_saved": round(full / saved, 1),
        "pictures_in_static_output": sum(
            o.get("data", {}).get("text/html", "").count("<img ") for o in notebook.cells[1].outputs
        ),
    }


def _studio(folder: Path) -> dict:
    panel = [SETUP, f"studio = {STUDIO}\nstudio"]
    launch = "studio.launch().wait(progress=False);"
    before = _execute([*panel, LAB_STATE], folder)
    after = _execute([*panel, launch, LAB_STATE], folder)  # its last cell leaves the panel's last updates time to come
    shown = _execute([*panel, launch, SHOWN, LAB_STATE], folder)
    figures = {
        "nbclient_widget_state_bytes": _widget_bytes(after),
        "jupyterlab_widget_state_bytes": _printed(shown, 4)["lab_state"],
    }
    figures["nbclient_added_by_launch"] = figures["nbclient_widget_state_bytes"] - _widget_bytes(before)
    figures["jupyterlab_added_by_launch"] = figures["jupyterlab_widget_state_bytes"] - _printed(before, 2)["lab_state"]
    return figures


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with tempfile.TemporaryDirectory() as folder:
        (Path(folder) / "garment.png").write_bytes(GARMENT.read_bytes() if GARMENT.exists() else garment())
        for wait in (False, True):
            figures = _run(Path(folder), executions, batch, wait)
            emit("notebook_weight", **figures, target_saved_bytes_per_picture=3072, target_full_over_saved=50)
        emit("studio_weight", pictures=4, **_studio(Path(folder)), target_bytes=40960)


if __name__ == "__main__":
    main()
