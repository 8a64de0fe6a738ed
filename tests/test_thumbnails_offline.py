"""Pictures that outlive their host: every width from any kept copy, and a gone host failing fast."""

from __future__ import annotations

import io
import os
import socket
import subprocess
import sys
import time
from datetime import datetime, timedelta

import requests
from PIL import Image

from weshop_nb import History, WeShopClient, emulator
from weshop_nb.service._errors import ServiceError
from weshop_nb.service._models import Execution, Result
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._jobs import Job
from weshop_nb.work._session import Session

from .conftest import API_KEY


def _picture(color: str = "teal") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (768, 1024), color).save(buffer, format="PNG")
    return buffer.getvalue()


def _width(data: bytes) -> int:
    with Image.open(io.BytesIO(data)) as image:
        return image.width


class _Fetch:
    """A fetch that serves a picture until told the host is gone, and counts what it was asked."""

    def __init__(self) -> None:
        self.calls: list[str] = []
        self.gone = False

    def __call__(self, url: str) -> bytes:
        self.calls.append(url)
        if self.gone:
            raise ConnectionRefusedError(f"{url}: connection refused")
        return _picture()


def test_a_width_never_kept_is_made_from_a_wider_copy_without_fetching(tmp_path) -> None:
    fetch = _Fetch()
    ThumbnailCache(fetch, directory=tmp_path).get("http://pictures.test/a.png", 384)
    fetch.gone = True
    later = ThumbnailCache(fetch, directory=tmp_path)  # a new kernel, the host gone
    assert _width(later.get("http://pictures.test/a.png", 192)) == 192
    assert _width(later.get("http://pictures.test/a.png", 64)) == 64
    assert len(fetch.calls) == 1  # only the first, online
    assert sorted(p.name.rsplit("-", 1)[1] for p in tmp_path.iterdir()) == ["192.webp", "384.webp", "64.webp"]


def test_a_wider_copy_is_made_from_the_widest_narrower_one_only_when_the_host_is_gone(tmp_path) -> None:
    fetch = _Fetch()
    cache = ThumbnailCache(fetch, directory=tmp_path)
    cache.get("http://pictures.test/a.png", 100)
    cache.get("http://pictures.test/a.png", 188)
    assert _width(cache.get("http://pictures.test/a.png", 384)) == 384  # online: fetched at the width asked
    assert len(fetch.calls) == 3
    (tmp_path / next(p.name for p in tmp_path.iterdir() if p.name.endswith("-384.webp"))).unlink()
    fetch.gone = True
    later = ThumbnailCache(fetch, directory=tmp_path)
    # The widest kept stands in: the copy asked 188 wide (192, a quarter of 768: see embed).
    assert _width(later.get("http://pictures.test/a.png", 384)) == 192
    assert not any(p.name.endswith("-384.webp") for p in tmp_path.iterdir())  # and is not kept as 384
    assert later.get_or_empty("http://pictures.test/never-shown.png", 192) == b""


def test_a_host_that_refuses_a_connection_is_not_asked_again_for_a_while(tmp_path) -> None:
    fetch = _Fetch()
    fetch.gone = True
    cache = ThumbnailCache(fetch, directory=tmp_path, unreachable_for=0.5)
    assert [cache.get_or_empty(f"http://gone.test/{n}.png") for n in range(50)] == [b""] * 50
    assert fetch.calls == ["http://gone.test/0.png"]
    fetch.gone = False
    assert cache.get_or_empty("http://other.test/1.png")  # other hosts are asked
    time.sleep(0.6)
    assert cache.get_or_empty("http://gone.test/1.png")  # and this one again, once the while is over


def test_a_timeout_marks_the_host_too(tmp_path) -> None:
    calls = []

    def slow(url: str) -> bytes:
        calls.append(url)
        raise requests.Timeout(f"{url}: no reply")

    cache = ThumbnailCache(slow, directory=tmp_path)
    assert [cache.get_or_empty(f"http://slow.test/{n}.png") for n in range(3)] == [b""] * 3
    assert len(calls) == 1


def test_a_host_that_answers_with_an_error_is_asked_again(tmp_path) -> None:
    calls = []

    def missing(url: str) -> bytes:
        calls.append(url)
        raise ServiceError(f"Fetching {url} failed with HTTP 404.", response=object())

    cache = ThumbnailCache(missing, directory=tmp_path)
    assert [cache.get_or_empty(f"http://up.test/{n}.png") for n in range(3)] == [b""] * 3
    assert len(calls) == 3


def test_a_comparison_opened_after_the_emulator_is_gone_shows_every_picture(make_image) -> None:
    emu = emulator.serve(api_key=API_KEY, latency=0, seed=7, port=0)
    with emu, WeShopClient(api_key=API_KEY, base_url=emu.base_url, timeout=(2, 5)) as client:
        session = Session(client, poll_interval=0.1)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        jobs = [Job(task, {"textDescription": f"wide {n}", "batchCount": 2}) for n in range(2)]
        wide = session.launch(jobs).wait()  # cards 192 CSS pixels: pictures kept 384 wide
        jobs = [Job(task, {"textDescription": f"narrow {n}", "batchCount": 2}) for n in range(2)]
        narrow = session.launch(jobs, width=94).wait()  # kept 188 wide only: narrower than a comparison's
        shown = [url for run in (wide, narrow) for item in run.items for url in item.execution.images]
        assert all(len(item.thumbnails) == 2 for run in (wide, narrow) for item in run.items)
    assert len(shown) == 8
    # A new process, the emulator stopped: nothing can be fetched.
    script = "from weshop_nb import History; print(History().compare(by='prompt')._repr_html_())"
    done = subprocess.run(
        [sys.executable, "-c", script], env=dict(os.environ), capture_output=True, text=True, timeout=120
    )
    assert done.returncode == 0, done.stderr
    assert "image unavailable" not in done.stdout
    assert done.stdout.count('<img src="data:image/') == len(shown)


def _closed_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def test_two_hundred_pictures_of_a_gone_host_are_drawn_without_waiting_for_each() -> None:
    host = f"http://127.0.0.1:{_closed_port()}"
    start = datetime(2026, 1, 1)
    executions = [
        Execution(
            id=f"gone-{n}",
            status="success",
            params={"textDescription": f"prompt {n}"},  # one cell each: a cell shows 4
            executed_at=start + timedelta(seconds=n),
            results=tuple(Result("success", f"{host}/files/results/gone-{n}-{slot}.png") for slot in range(4)),
            task_id="task-gone",
        )
        for n in range(50)
    ]
    History().record_executions(executions, host)
    client = WeShopClient(base_url=host)
    started = time.monotonic()
    html = History().compare(by="prompt", fetch=client.fetch_image)._repr_html_()
    took = time.monotonic() - started
    assert html.count("image unavailable") == 200
    assert took < 30  # a guard against hanging only; benchmarks/thumbnails.py measures it
