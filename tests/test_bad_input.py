"""The catalogue of bad input: each refused with a clear message; local checks send nothing."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from IPython.core.error import UsageError
from PIL import Image

from weshop_nb import WeShopClient
from weshop_nb.service._errors import ImageValidationError, InvalidRequestError, ServiceError


def _requests(emu) -> int:
    return sum(emu.stats()["requests"].values())


def _png(width: int, height: int, fmt: str = "PNG") -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (width, height), "teal").save(buffer, format=fmt)
    return buffer.getvalue()


def _bomb() -> bytes:
    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", 30000, 30000, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


UPLOADS = {
    "too narrow": (_png(500, 700), "width 500 px, must be above 512 px"),
    "too short": (_png(700, 400), "height 400 px, must be above 512 px"),
    "exactly 512": (_png(512, 800), "width 512 px, must be above 512 px"),
    "aspect ratio": (_png(1300, 600), "aspect ratio 2.17 (1300x600), must be below 2"),
    "too big": (b"\x89PNG" + b"\0" * (11 * 1024 * 1024), "file size 11.0 MB, must be at most 10 MB"),
    "gif": (_png(700, 700, "GIF"), "format GIF, must be one of png, jpeg, jpg, webp"),
    "bmp": (_png(700, 700, "BMP"), "format BMP"),
    "truncated": (_png(700, 900)[:900], "damaged or truncated"),
    "not an image": (b"%PDF-1.7 this is a document", "not an image Pillow can read"),
    "decompression bomb": (_bomb(), "decompression bomb"),
}


@pytest.mark.parametrize("case", UPLOADS)
def test_upload_breaches_are_refused_locally(client, emu, tmp_path, case) -> None:
    data, message = UPLOADS[case]
    path = tmp_path / "garment.jpg"  # an image extension whatever the content
    path.write_bytes(data)
    before = _requests(emu)
    with pytest.raises(ImageValidationError, match=message.replace("(", r"\(").replace(")", r"\)")):
        client.upload_image(path)
    assert _requests(emu) == before


MAGIC_MISTAKES = {
    "unknown agent": ("--image {g} --agent aimodle", "x", "Unknown agent aimodle", True),
    "unknown version": ("--image {g} --version v9", "x", "Unknown agent aimodel v9", True),
    "unknown location": ("--image {g} --location Atlantis", "x", "Valid locations: White Studio", False),
    "unknown model": ("--image {g} --model Nobody", "x", "Valid fashion models: Letitia", False),
    "unknown mask": ("--image {g} --mask everything", "x", "invalid choice: 'everything'", True),
    "batch 0": ("--image {g} --batch 0", "x", "--batch must be between 1 and 16, got 0", True),
    "batch 17": ("--image {g} --batch 17", "x", "--batch must be between 1 and 16, got 17", True),
    "empty prompt, no scene": ("--image {g}", "   \n---\n  ", "Nothing to generate", True),
    "undefined {name}": ("--image {g}", "a {nowhere} look", "{nowhere} in the prompt is not defined", True),
    "unbalanced {": ("--image {g}", "a { look", "Unbalanced brace", True),
    "unbalanced }": ("--image {g}", "a } look", "Unbalanced brace", True),
    "task that does not exist": ("--task 0000", "x", "not found", False),
}


@pytest.mark.parametrize("case", MAGIC_MISTAKES)
def test_magic_mistakes(ip, monkeypatch, emu, tmp_path, case) -> None:
    from .conftest import API_KEY

    line, body, message, local = MAGIC_MISTAKES[case]
    photo = tmp_path / "garment.png"
    photo.write_bytes(_png(640, 800))
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    before = _requests(emu)
    with pytest.raises(UsageError) as caught:
        ip.run_cell(f"%%weshop run {line.format(g=photo)}\n{body}")
    assert message in str(caught.value)
    if local:
        assert _requests(emu) == before
    assert emu.stats()["executions_created"] == 0


def test_deleted_task_and_bad_urls(client, emu) -> None:
    task = client.create_task(originalImage="https://cdn.test/garment.png")
    client.delete_task(task.id)
    with pytest.raises(InvalidRequestError, match="not found"):
        client.execute(task.id, {"textDescription": "x"})
    with pytest.raises(InvalidRequestError, match="is not an http"):
        WeShopClient(api_key="k", base_url="ftp://example.test")
    with pytest.raises(InvalidRequestError, match="is not an http"):
        WeShopClient(api_key="k", base_url="openapi.weshop.ai")


def test_service_down_is_one_sentence_without_urllib3(ip, monkeypatch) -> None:
    import socket

    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    monkeypatch.setenv("WESHOP_API_KEY", "k")
    monkeypatch.setenv("WESHOP_BASE_URL", f"http://127.0.0.1:{port}")
    with pytest.raises(UsageError) as caught:
        ip.run_cell("%weshop info")
    text = str(caught.value)
    assert text.startswith("ServiceError: Could not reach the WeShop service")
    assert "urllib3" not in text and "Traceback" not in text
    with pytest.raises(ServiceError) as direct:
        WeShopClient(api_key="k", base_url=f"http://127.0.0.1:{port}", max_retries=0).agent_info()
    assert direct.value.__suppress_context__


# What reaches the service anyway: raw HTTP (not our client), each refused with a 4xx in
# the service's envelope that names the rule, and never a 5xx.
_MB = 1024 * 1024
SERVICE_REFUSALS = {
    "JSON nested 100000 deep": ("/agent/task/create", lambda: {"data": b"[" * 100_000}, 400, "100000 levels deep"),
    "5000-digit batchCount": (
        "/agent/task/execute",
        lambda: {"data": b'{"taskId": "t", "params": {"batchCount": %s}}' % (b"9" * 5000)},
        400,
        "number of 5000 digits (the value of batchCount)",
    ),
    "body not UTF-8": ("/agent/task/create", lambda: {"data": b'{"agentName": "\xff"}'}, 400, "not UTF-8"),
    "unpaired surrogate": ("/agent/task/create", lambda: {"data": b'{"a": "\\ud800"}'}, 400, "unpaired surrogate"),
    "JSON body over 1 MB": (
        "/agent/task/query",
        lambda: {"data": b" " * _MB + b"{}"},
        413,
        "JSON request body is 1.0 MB (1048578 bytes), 2 bytes over",
    ),
    "upload body over 11 MB": (
        "/asset/upload/image",
        lambda: {"files": {"image": ("g.png", b"\0" * (12 * _MB))}},
        413,
        "upload body is 12.0 MB",
    ),
    "1500 multipart parts": (
        "/asset/upload/image",
        lambda: {"files": {f"f{n}": (f"{n}.png", b"x") for n in range(1500)}},
        413,
        "1500 parts; at most 1000",
    ),
    "600 KB field without a file name": (
        "/asset/upload/image",
        lambda: {"files": {"image": (None, b"x" * 600_000)}},
        413,
        "without a file name is over 500 KB",
    ),
    "decompression bomb upload": (
        "/asset/upload/image",
        lambda: {"files": {"image": ("g.png", _bomb())}},
        400,
        "decompression bomb",
    ),
}


@pytest.mark.parametrize("case", SERVICE_REFUSALS)
def test_hostile_requests_get_a_4xx_envelope(emu, case) -> None:
    import requests

    from .conftest import API_KEY

    path, send, status, message = SERVICE_REFUSALS[case]
    url = f"{emu.base_url}/openapi/v1{path}"
    response = requests.post(url, headers={"Authorization": API_KEY}, timeout=30, **send())
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and isinstance(body["code"], int)
    assert message in body["msg"]
    assert emu.stats()["errors"] == 0
