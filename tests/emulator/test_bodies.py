"""Hostile request bodies: each is a 4xx in the service's envelope saying which rule and by how much.

The limits come from :mod:`weshop_nb.emulator.bodies`, so the boundaries tested here move
with them.
"""

from __future__ import annotations

import pytest
import requests

from weshop_nb.emulator import bodies

from ..conftest import API_KEY
from .conftest import Raw

AIMODEL = {"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": "https://cdn.test/a.png"}}


def _refused(response, status: int, *texts: str) -> str:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["code"], int) and body["code"] != 0
    for text in texts:
        assert text in body["msg"], body["msg"]
    return body["msg"]


def _execute(raw: Raw, number: str) -> bytes:
    return b'{"taskId": "%s", "params": {"textDescription": "x", "batchCount": %s}}' % (
        raw.task().encode(),
        number.encode(),
    )


def test_deep_nesting_is_refused_with_its_depth(raw) -> None:
    message = _refused(raw.post("/agent/task/create", data=b"[" * 100_000), 400, "100000 levels deep")
    assert f"at most {bodies.MAX_DEPTH}" in message
    # Unbalanced brackets inside strings do not count; closed ones do not add up.
    flat = {"agentName": "[" * 5000 + "{" * 5000, "agentVersion": "v1.0", "x": [[1]] * 500}
    _refused(raw.post("/agent/task/create", flat), 400, "Unknown agentName")


def test_nesting_up_to_the_limit_reaches_the_usual_checks(raw) -> None:
    deep = b'{"agentName": ' + b"[" * (bodies.MAX_DEPTH - 1) + b"]" * (bodies.MAX_DEPTH - 1) + b"}"
    _refused(raw.post("/agent/task/create", data=deep), 400, "agentName is required")
    deeper = b'{"agentName": ' + b"[" * bodies.MAX_DEPTH + b"]" * bodies.MAX_DEPTH + b"}"
    _refused(raw.post("/agent/task/create", data=deeper), 400, f"{bodies.MAX_DEPTH + 1} levels deep")


def test_a_5000_digit_batch_count_is_refused(raw) -> None:
    message = _refused(raw.post("/agent/task/execute", data=_execute(raw, "9" * 5000)), 400, "5000 digits")
    assert "batchCount" in message and f"at most {bodies.MAX_DIGITS} digits" in message
    negative = raw.post("/agent/task/execute", data=_execute(raw, "-" + "9" * 5000))
    _refused(negative, 400, "5000 digits")
    longest = raw.post("/agent/task/execute", data=_execute(raw, "9" * bodies.MAX_DIGITS))
    _refused(longest, 400, "batchCount 999", "is out of range")


def test_long_numbers_without_a_key_and_long_floats(raw) -> None:
    in_array = b'{"agentName": [1, ' + b"7" * 4400 + b"]}"
    message = _refused(raw.post("/agent/task/create", data=in_array), 400, "4400 digits")
    assert "agentName" not in message  # not a value of agentName itself: no key is named
    long_float = raw.post("/agent/task/execute", data=_execute(raw, "9" * 5000 + ".5"))
    _refused(long_float, 400, "batchCount must be an integer")


@pytest.mark.parametrize(
    ("data", "texts"),
    [
        (b'{"agentName": "\xff\xfe"}', ("not UTF-8", "byte 0xff at position 15")),
        ('{"agentName": "é"}'.encode("latin-1"), ("not UTF-8", "byte 0xe9")),
        ('{"agentName": "aimodel"}'.encode("utf-16"), ("not UTF-8", "byte 0xff at position 0")),
        (b'{"agentName": "a \\ud800 b"}', ("unpaired surrogate", "\\ud800")),
        (b'{"agentName": "\\udc00"}', ("unpaired surrogate", "\\udc00")),
    ],
)
def test_text_that_is_not_unicode_is_refused(raw, data, texts) -> None:
    _refused(raw.post("/agent/task/create", data=data), 400, *texts)


def test_paired_surrogates_are_fine(raw) -> None:
    body = b'{"agentName": "\\ud83d\\ude00", "agentVersion": "v1.0"}'
    _refused(raw.post("/agent/task/create", data=body), 400, "Unknown agentName '\U0001f600'")


def test_json_body_over_the_limit_says_so(raw) -> None:
    filler = b" " * (bodies.JSON_LIMIT_BYTES - 1)
    message = _refused(raw.post("/agent/task/query", data=filler + b"{}"), 413, "JSON request body")
    assert f"{bodies.JSON_LIMIT_BYTES + 1} bytes" in message and "at most 1 MB" in message
    assert "Image" not in message
    _refused(raw.post("/agent/task/query", data=filler + b"{"), 400, "not valid JSON")  # exactly the limit


def test_json_body_over_the_limit_without_a_length(raw) -> None:
    def chunks():
        for _ in range(3):
            yield b" " * (bodies.JSON_LIMIT_BYTES // 2)
        yield b"{}"

    _refused(raw.post("/agent/task/query", data=chunks()), 413, "JSON request body", "at most 1 MB")


def _multipart(parts: list[tuple[str, str | None, bytes]], boundary: str = "b0undary") -> dict:
    body = b""
    for name, filename, data in parts:
        disposition = f'form-data; name="{name}"' + (f'; filename="{filename}"' if filename else "")
        body += f"--{boundary}\r\nContent-Disposition: {disposition}\r\n\r\n".encode() + data + b"\r\n"
    body += f"--{boundary}--\r\n".encode()
    return {"data": body, "headers": {"Content-Type": f"multipart/form-data; boundary={boundary}"}}


def _upload(raw: Raw, form: dict) -> requests.Response:
    headers = {"Authorization": API_KEY, **form["headers"]}
    return requests.post(
        f"{raw.base_url}/openapi/v1/asset/upload/image", data=form["data"], headers=headers, timeout=10
    )


def test_upload_body_over_the_limit_says_how_big(raw) -> None:
    size = bodies.UPLOAD_BODY_LIMIT_BYTES + 1024 * 1024
    message = _refused(_upload(raw, _multipart([("image", "g.png", b"\0" * size)])), 413, "upload body is 12.0 MB")
    assert "images may be at most 10 MB" in message


def test_too_many_multipart_parts(raw) -> None:
    parts = [(f"f{n}", None, b"x") for n in range(bodies.FORM_PARTS + 500)]
    message = _refused(_upload(raw, _multipart(parts)), 413, f"{bodies.FORM_PARTS + 500} parts")
    assert f"at most {bodies.FORM_PARTS}" in message and "Image" not in message
    enough = [(f"f{n}", None, b"x") for n in range(bodies.FORM_PARTS)]
    _refused(_upload(raw, _multipart(enough)), 400, "field named 'image'")


def test_a_large_form_field_without_a_file_name(raw) -> None:
    form = _multipart([("image", None, b"x" * (bodies.FORM_FIELD_BYTES + 1))])
    message = _refused(_upload(raw, form), 413, "without a file name", "500 KB")
    assert "Image size" not in message


def test_malformed_multipart_is_a_400(raw) -> None:
    form = _multipart([("image", "g.png", b"x")])
    form["data"] = form["data"].replace(b"Content-Disposition", b"Content-Type")
    _refused(_upload(raw, form), 400, "field named 'image'")


def test_a_bug_in_a_handler_is_answered_in_the_envelope(emu, raw, monkeypatch) -> None:
    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(emu.emulator, "_on_query", broken)
    monkeypatch.setattr(emu.emulator, "_on_catalogue_file", broken)
    for response in (
        raw.post("/agent/task/query", {"taskId": "x"}),
        raw.get("/files/catalogue/location-1.png"),
    ):
        message = _refused(response, 500, "RuntimeError")
        assert "bug in the emulator" in message
    assert emu.stats()["errors"] == 2
    raw.ok(raw.post("/agent/task/create", AIMODEL))  # still serving


def test_the_runs_api_refuses_the_same_way_in_its_envelope(emu, monkeypatch) -> None:
    base = f"{emu.base_url}/openapi/agent"
    headers = {"Authorization": API_KEY}

    def error(response, status: int, code: str, text: str) -> None:
        assert response.status_code == status, response.text
        body = response.json()
        assert body["success"] is False and body["error"]["code"] == code and text in body["error"]["message"]
        assert body["error"]["retryable"] is (status >= 500)

    error(
        requests.post(f"{base}/runs", data=b"[" * 100_000, headers=headers, timeout=10),
        400,
        "INVALID_REQUEST",
        "100000 levels deep",
    )
    over = b" " * bodies.JSON_LIMIT_BYTES + b"{}"
    error(
        requests.post(f"{base}/power-estimates", data=over, headers=headers, timeout=10),
        413,
        "PAYLOAD_TOO_LARGE",
        "JSON request body",
    )
    form = _multipart([(f"f{n}", None, b"x") for n in range(bodies.FORM_PARTS + 1)])
    upload = requests.post(
        f"{base}/assets/images", data=form["data"], headers={**headers, **form["headers"]}, timeout=10
    )
    error(upload, 413, "PAYLOAD_TOO_LARGE", f"{bodies.FORM_PARTS + 1} parts")

    def broken(*args, **kwargs):
        raise RuntimeError("a bug")

    monkeypatch.setattr(emu.emulator.runs, "_on_run_poll", broken)
    error(requests.get(f"{base}/runs/x", headers=headers, timeout=10), 500, "INTERNAL_ERROR", "bug in the emulator")
