"""Bytes a finished run's live grid adds to a notebook's saved widget state.

Runs E executions x B images against a loopback emulator, builds the live grid, and
measures the widget state JupyterLab would save (JSON plus binary buffers, as base64),
against the bytes of the full-size result images. Prints JSON lines.
Run: ``.venv/bin/python benchmarks/widget_state.py [E] [B]`` (default 12 x 4 = 48 images).
"""

from __future__ import annotations

import io
import json
import sys

import ipywidgets as widgets
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.images import ThumbnailCache
from weshop_nb.runs import Job, launch
from weshop_nb.widgets.grid import RunGrid


def _state_bytes() -> int:
    # What a notebook saves under metadata.widgets: the state JSON, buffers already base64.
    return len(json.dumps(widgets.Widget.get_manager_state(drop_defaults=True)))


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 12
    batch = int(sys.argv[2]) if len(sys.argv) > 2 else 4
    picture = io.BytesIO()
    Image.new("RGB", (640, 800), "teal").save(picture, format="PNG")
    with emulator.serve(api_key="bench", latency=0.5) as emu:
        client = WeShopClient(api_key="bench", base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(picture.getvalue()))
        jobs = [Job(task, {"textDescription": f"prompt {n}", "batchCount": batch}) for n in range(executions)]
        cache = ThumbnailCache(client.fetch_image, max_side=192)
        before = _state_bytes()
        run = launch(client, jobs, thumbnails=cache, poll_interval=0.2)
        RunGrid(run)
        run.wait()
        grid_bytes = _state_bytes() - before
        full = sum(len(client.fetch_image(url)) for e in run.executions for url in e.images)
    images = executions * batch
    print(json.dumps({"measure": "grid_widget_state", "images": images, "state_bytes": grid_bytes,
                      "bytes_per_image": round(grid_bytes / images), "full_size_bytes": full,
                      "full_over_state": round(full / grid_bytes, 1)}))  # fmt: skip


if __name__ == "__main__":
    main()
