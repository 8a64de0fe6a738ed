"""Video results (kling) wherever results are shown: the history's pictures, saving, comparisons,
static HTML, the live grid and the studio's enlarged view, against the emulator."""

from __future__ import annotations

import re
from collections.abc import Iterator
from html import escape

import ipywidgets as widgets
import pytest
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.notebook.widgets._studio import Studio
from weshop_nb.service._images import thumbnail
from weshop_nb.service._models import Execution
from weshop_nb.work._frames import results_frame
from weshop_nb.work._history import History
from weshop_nb.work._html import execution_html
from weshop_nb.work._session import Session

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


HOSTILE = 'https://cdn.example/clip.mp4?a=1&b="><script>alert(1)</script>'


def _video_execution(video: str, poster: str | None) -> Execution:
    result = {"status": "Success", "video": video, "videoPoster": poster}
    raw = {"executionId": "e1", "status": "Success", "params": {"textDescription": "turn"}, "result": [result]}
    return Execution.from_api(raw, agent_name="kling")


def test_static_html_shows_a_video_as_its_poster_in_a_player(make_image) -> None:
    execution = _video_execution(HOSTILE, "https://cdn.example/poster.png")
    assert execution.stills == ["https://cdn.example/poster.png"]
    page = execution_html(execution, [thumbnail(make_image(), 160)])
    [player] = re.findall(r"<video [^>]*>", page)
    assert "controls" in player and 'poster="data:image/jpeg;base64,' in player
    assert f'src="{escape(HOSTILE)}"' in player  # referred to by its URL, escaped
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert f'<a href="{escape(HOSTILE)}" target="_blank"' in page  # opened as it is where the player cannot
    # Without a poster the player stands alone, still pointing at the video.
    bare = execution_html(_video_execution("https://cdn.example/v.mp4", None), [b""])
    assert "poster=" not in bare and 'src="https://cdn.example/v.mp4"' in bare


def test_comparisons_show_videos_as_posters_that_play(clips) -> None:
    client, done = clips
    comparison = History().compare("prompt", fetch=client.fetch_image, task=done.task_id)
    assert comparison.table.loc["she turns"].iloc[0] == done.posters
    assert comparison.videos == dict(zip(done.posters, done.videos, strict=True))
    page = comparison._repr_html_()
    players = re.findall(r'<video controls [^>]*poster="data:image/[a-z]+;base64,[^"]+" src="([^"]+)"', page)
    assert players == done.videos


def test_the_studio_grid_and_enlarged_view_play_videos(make_image, tmp_path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)  # "Save video" writes into ./weshop-pictures
    with emulator.serve(api_key=API_KEY, latency=0.05, seed=5) as server:
        session = Session(WeShopClient(api_key=API_KEY, base_url=server.base_url), poll_interval=0.05)
        studio = Studio(session, start_dir=str(tmp_path))
        studio.source.choose_bytes(make_image(), "first-frame.png")
        studio.choices.agent.value = "kling"
        studio.choices.prompts.value = "she turns"
        studio.choices.batch.value = 2
        assert "2 videos" in studio.summary.value
        run = studio.launch()
        run.wait(timeout=30, progress=False)
        execution = run.items[0].execution
        [cell] = studio.results.children[0].cells
        assert cell.card.count("<video controls") == 2 and cell.card.count("▶ open the video") == 2
        assert cell.buttons.options[1] == ("▶2", 1) and cell.buttons.tooltips[1] == "Play video 2"
        cell.select(1)
        header, player = studio.detail.children
        # The emulator's clip is an animated WebP: fetched through the session, shown as a picture, which plays.
        assert isinstance(player, widgets.Image) and player.format == "webp"
        clip = bytes(player.value)
        assert clip[:4] == b"RIFF" and b"ANIM" in clip[:64]
        assert escape(execution.videos[1]) in header.children[1].value
        studio.save_button.click()
        saved = list((tmp_path / "weshop-pictures").iterdir())
        assert [p.suffix for p in saved] == [".webp"] and saved[0].stem.endswith("-v2")
        assert saved[0].read_bytes() == clip  # the video itself, not its poster
        # A real video is streamed by the browser from its URL: an ipywidgets Video, nothing fetched.
        studio.show_video(run.items[0], 0, "https://cdn.example/clip.mp4")
        player = studio.detail.children[1]
        assert isinstance(player, widgets.Video) and player.format == "url"
        assert bytes(player.value) == b"https://cdn.example/clip.mp4" and player.controls
        session.close()
