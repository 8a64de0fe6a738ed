"""Video results (kling) wherever results are shown: the history's pictures, saving, comparisons,
static HTML, the live grid and the studio's enlarged view, against the emulator."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._models import Execution
from weshop_nb.work._frames import results_frame
from weshop_nb.work._history import History

from .conftest import API_KEY


@pytest.fixture
def clips() -> Iterator[tuple[WeShopClient, Execution]]:
    """One finished kling execution of two clips (on the runs API), and its client.

    Made per test: the history it is recorded in is the test's own (``WESHOP_NB_HOME``).
    """
    with emulator.serve(api_key=API_KEY, latency=0.05, seed=5) as server:
        client = WeShopClient(api_key=API_KEY, base_url=server.base_url, api="runs")
        frame = client.upload_image(Image.new("RGB", (640, 800), "teal"))
        started = client.start("kling", {"textDescription": "she turns", "batchCount": 2}, input={"images": [frame]})
        done = client.wait(started.id, timeout=30)
        assert done.status == "success" and len(done.videos) == 2
        yield client, done
        client.close()


def test_history_images_give_each_video_its_poster(clips) -> None:
    _, done = clips
    pictures = History().images(task=done.task_id)
    assert list(pictures["image"]) == done.posters and list(pictures["video"]) == done.videos
    assert list(pictures["slot"]) == [0, 1] and set(pictures["media"]) == {"video"}
    # Saving still takes the videos themselves, not their posters.
    files = results_frame(History().executions(task=done.task_id))
    assert list(files["kind"]) == ["video", "video"] and list(files["image"]) == done.videos
