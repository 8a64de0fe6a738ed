"""Uploads: the decompression-bomb limit, storage on disk, and results drawn from a bounded copy."""

from __future__ import annotations

import gc
import io
import os
import struct
import subprocess
import sys
import tempfile
import time
import zlib
from pathlib import Path

import pytest
import requests
from PIL import Image

from weshop_nb import emulator
from weshop_nb.contract import MAX_PIXELS
from weshop_nb.emulator import pictures, uploads
from weshop_nb.emulator.params import Refusal

from ..conftest import API_KEY
from .conftest import Raw


def _png_header(width: int, height: int) -> bytes:
    """A PNG that declares its size and holds no pixels: a bomb costs nothing to send."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


def _upload(raw: Raw, data: bytes) -> requests.Response:
    return raw.post("/asset/upload/image", files={"image": ("garment.png", data)})


def test_the_limit_is_the_clients() -> None:
    from weshop_nb.service import _images

    assert _images.MAX_PIXELS is MAX_PIXELS  # written once, in the contract


@pytest.mark.filterwarnings("ignore::PIL.Image.DecompressionBombWarning")  # Pillow's, from the emulator's thread
def test_a_144_megapixel_png_is_refused(raw) -> None:
    response = _upload(raw, _png_header(12000, 12000))
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and isinstance(body["code"], int)
    assert "12000x12000" in body["msg"] and "144.0 megapixels" in body["msg"]
    assert f"at most {MAX_PIXELS / 1e6:.0f} megapixels" in body["msg"] and "decompression bomb" in body["msg"]
    assert requests.get(f"{raw.base_url}/_emulator/stats", timeout=5).json()["uploads"] == 0


def test_pillows_own_bomb_error_names_the_rule(raw) -> None:
    response = _upload(raw, _png_header(30000, 30000))
    assert response.status_code == 400, response.text
    message = response.json()["msg"]
    assert "decompression bomb" in message and "900000000 pixels" in message
    assert "not a readable image" not in message


def test_the_pixel_limit_is_inclusive() -> None:
    side = round(MAX_PIXELS**0.5)
    assert side * side == MAX_PIXELS
    uploads.check_pixels(_png_header(side, side))
    with pytest.raises(Refusal, match=f"{side + 1}x{side}"):
        uploads.check_pixels(_png_header(side + 1, side))
    uploads.check_pixels(b"not an image")  # other rules speak about that


def test_uploads_live_on_disk_until_the_emulator_stops(make_image) -> None:
    picture = make_image(700, 900)
    with emulator.serve(api_key=API_KEY) as server:
        raw = Raw(server.base_url)
        assert server.emulator.uploads.folder is None  # nothing made until something is uploaded
        url = raw.ok(_upload(raw, picture))["image"]
        folder = Path(server.emulator.uploads.folder)
        assert (folder / url.rsplit("/", 1)[-1]).read_bytes() == picture
        assert requests.get(url, timeout=5).content == picture
        assert server.stats()["uploads"] == 1
    assert not folder.exists()


def test_only_stored_names_are_served(raw, make_image) -> None:
    raw.ok(_upload(raw, make_image(700, 900)))
    for name in ("..", "...png", "x.png", ".%2e"):
        response = raw.get(f"/files/uploads/{name}")
        assert response.status_code == 404 and response.json()["success"] is False


def test_results_are_drawn_from_a_bounded_copy(raw, make_image, monkeypatch) -> None:
    sources = []
    draw = pictures.result_parts  # what the emulator draws a result with

    def spy(**kwargs):
        with Image.open(io.BytesIO(kwargs["source"])) as image:
            sources.append(image.size)
        return draw(**kwargs)

    monkeypatch.setattr(pictures, "result_parts", spy)
    url = raw.ok(_upload(raw, make_image(3000, 2000)))["image"]
    task = raw.task(image=url)
    execution = raw.ok(
        raw.post("/agent/task/execute", {"taskId": task, "params": {"textDescription": "x", "batchCount": 1}})
    )
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        view = raw.ok(raw.post("/agent/task/query", {"executionId": execution["executionId"]}))["executions"][0]
        if view["status"] == "Success":
            break
        time.sleep(0.05)
    result = requests.get(view["result"][0]["image"], timeout=10)
    assert result.status_code == 200 and result.headers["Content-Type"] == "image/png"
    ((width, height),) = sources
    assert max(width, height) == uploads.WORKING_SIDE
    assert abs(width / height - 1.5) < 0.01  # the garment keeps its shape


def test_working_copies(make_image) -> None:
    store = uploads.Uploads(working_side=100)
    small, big = make_image(80, 60), make_image(300, 200)
    damaged = big[: len(big) // 2]
    for name, data in (("s.png", small), ("b.png", big), ("d.png", damaged)):
        store.add(name, data)
    assert store.working_copy("s.png") == small  # small enough: the original itself
    with Image.open(io.BytesIO(store.working_copy("b.png"))) as image:
        assert image.size == (100, 67)
    assert store.working_copy("d.png") is None and store.original("d.png") == damaged  # nothing big is opened
    assert store.working_copy("never.png") is None and store.count == 3
    folder = Path(store.folder)
    store.close()
    assert not folder.exists() and store.original("s.png") is None


def test_an_emulator_never_stopped_leaves_no_folder(make_image) -> None:
    from werkzeug.test import Client

    app = emulator.Emulator(API_KEY)
    reply = Client(app).post(
        "/openapi/v1/asset/upload/image",
        data={"image": (io.BytesIO(make_image(700, 900)), "garment.png")},
        headers={"Authorization": API_KEY},
    )
    assert reply.status_code == 200, reply.text
    folder = Path(app.uploads.folder)
    assert folder.exists()
    del app, reply
    gc.collect()
    assert not folder.exists()


def test_the_command_line_emulator_cleans_up_when_terminated(make_image, tmp_path) -> None:
    command = [sys.executable, "-m", "weshop_nb.emulator", "--port", "0", "--api-key", API_KEY]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True, env={**os.environ, "TMPDIR": str(tmp_path)})
    try:
        base = process.stdout.readline().split("listening on ", 1)[1].split()[0]  # type: ignore[union-attr]
        raw = Raw(base)
        raw.ok(_upload(raw, make_image(700, 900)))
        assert len(list(tmp_path.glob("weshop-emulator-*"))) == 1
    finally:
        process.terminate()  # SIGTERM, as a test teardown, `kill` or a container stop sends
        assert process.wait(timeout=10) == 0
    assert list(tmp_path.glob("weshop-emulator-*")) == []


def test_folders_of_emulators_that_were_killed_are_swept(make_image, tmp_path, monkeypatch) -> None:
    monkeypatch.setattr(tempfile, "tempdir", str(tmp_path))
    gone = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"], capture_output=True, text=True)
    dead = tmp_path / f"weshop-emulator-{int(gone.stdout)}-abc"  # its process ended without cleaning up
    alive = tmp_path / f"weshop-emulator-{os.getppid()}-def"  # a running process's: kept
    for folder in (dead, alive):
        folder.mkdir()
        (folder / "x.png").write_bytes(b"x")
    store = uploads.Uploads()
    store.add("a.png", make_image(700, 900))
    assert not dead.exists() and alive.exists()
    assert Path(store.folder).name.startswith(f"weshop-emulator-{os.getpid()}-")
    store.close()
