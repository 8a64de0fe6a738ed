"""What a finished run adds to a saved notebook (RESULTS item 6).

A run of E executions x B pictures against a loopback emulator: the bytes of its static
HTML (what GitHub shows) plus the widget state of its live grid (what JupyterLab saves
under metadata.widgets), against the bytes of the full-size pictures.
Run: ``.venv/bin/python benchmarks/notebook_weight.py [E] [B]`` (default 25 x 4 = 100).
"""

from __future__ import annotations

import json
import sys

import ipywidgets as widgets
from _common import KEY, emit, garment

from weshop_nb import WeShopClient, emulator
from weshop_nb.notebook.widgets._grid import RunGrid
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._launch import launch
from weshop_nb.work._runs import Job


def _widget_state_bytes() -> int:
    # What a notebook saves under metadata.widgets: the state JSON, buffers already base64.
    return len(json.dumps(widgets.Widget.get_manager_state(drop_defaults=True)))


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    with emulator.serve(api_key=KEY, latency=0.5) as emu:
        client = WeShopClient(api_key=KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(garment()))
        jobs = [Job(task, {"textDescription": f"prompt {n}", "batchCount": batch}) for n in range(executions)]
        before = _widget_state_bytes()
        run = launch(client, jobs, thumbnails=ThumbnailCache(client.fetch_image, max_side=192), poll_interval=0.2)
        RunGrid(run)
        run.wait()
        state = _widget_state_bytes() - before
        html = len(run._repr_html_().encode())
        full = sum(len(client.fetch_image(url)) for e in run.executions for url in e.images)
    pictures = executions * batch
    emit(
        "notebook_weight",
        pictures=pictures,
        static_html_bytes=html,
        widget_state_bytes=state,
        saved_bytes_per_picture=round((html + state) / pictures),
        full_size_bytes=full,
        full_size_bytes_per_picture=round(full / pictures),
        full_over_saved=round(full / (html + state), 2),
        target_full_over_saved=50,
    )


if __name__ == "__main__":
    main()
