"""The emulator's server keeps connections alive, as a real service does, and stopping ends them."""

from __future__ import annotations

import http.client
import time
from urllib.parse import urlsplit

import pytest

from weshop_nb import emulator

from ..conftest import API_KEY


def _connection(base_url: str) -> http.client.HTTPConnection:
    parts = urlsplit(base_url)
    return http.client.HTTPConnection(parts.hostname, parts.port, timeout=10)


def _ask(connection: http.client.HTTPConnection, method: str, path: str, **kw) -> tuple[int, bytes, bool]:
    connection.request(method, path, **kw)
    reply = connection.getresponse()
    return reply.status, reply.read(), reply.will_close


def test_one_connection_serves_several_requests() -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        connection = _connection(emu.base_url)
        first = _ask(connection, "GET", "/")
        sock = connection.sock
        second = _ask(connection, "GET", "/_emulator/stats")
        assert connection.sock is sock  # not closed and opened again: the same connection
        connection.close()
    assert first[0] == 200 and b"WeShop OpenAPI emulator" in first[1] and first[2] is False
    assert second[0] == 200 and b"serving_cpu_s" in second[1] and second[2] is False


def test_a_body_the_service_refused_unread_does_not_spoil_the_next_request() -> None:
    body = (
        b"--b\r\nContent-Disposition: form-data; name=image; filename=a.png\r\n\r\n" + b"x" * 200_000 + b"\r\n--b--\r\n"
    )
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        connection = _connection(emu.base_url)
        refused = _ask(  # no key: refused before the body is looked at
            connection, "POST", "/openapi/v1/asset/upload/image", body=body,
            headers={"Content-Type": "multipart/form-data; boundary=b"},
        )  # fmt: skip
        after = _ask(connection, "GET", "/")
        connection.close()
    assert refused[0] == 401 and refused[2] is False
    assert after[0] == 200 and b"WeShop OpenAPI emulator" in after[1]


def test_a_stopped_emulator_answers_nothing_on_a_kept_connection() -> None:
    emu = emulator.serve(api_key=API_KEY, latency=0)
    connection = _connection(emu.base_url)
    try:
        assert _ask(connection, "GET", "/")[0] == 200
    finally:
        emu.stop()
    with pytest.raises(OSError):  # the connection was closed by stop(), not served by a thread left behind
        _ask(connection, "GET", "/")
    connection.close()


def test_each_request_counts_its_cpu_while_its_connection_stays_open() -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        connection = _connection(emu.base_url)
        auth = {"Authorization": API_KEY, "Content-Type": "application/json"}
        body = b'{"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": "https://cdn.test/g.png"}}'
        before = emu.emulator.serving_cpu
        for _ in range(20):
            _ask(connection, "POST", "/openapi/v1/agent/task/create", body=body, headers=auth)
        time.sleep(0.1)  # the count is added as each request ends, after its reply is written
        counted = emu.emulator.serving_cpu - before
        still_open = connection.sock is not None
        connection.close()
    assert still_open
    assert counted > 0  # twenty requests of one open connection, counted before it closes
