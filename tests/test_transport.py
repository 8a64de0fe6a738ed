"""Retry policy over real loopback HTTP: what is repeated, what never is."""

from __future__ import annotations

import json
import socket
import threading
import time
from collections import defaultdict, deque
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from weshop_nb import WeShopClient
from weshop_nb.service._errors import InvalidRequestError, RateLimitError, ServiceError

from .conftest import API_KEY

OK_QUERY = {"success": True, "code": "0", "msg": "success", "data": {"executions": []}}
OK_EXECUTE = {"success": True, "code": 0, "message": "success", "data": {"executionId": "e1"}}


class ScriptedService:
    """Answers each path from a queue of (status, body, headers); counts hits."""

    def __init__(self) -> None:
        self.script: dict[str, deque] = defaultdict(deque)
        self.hits: dict[str, int] = defaultdict(int)

    def then(self, path: str, status: int, body: dict, headers: dict | None = None) -> ScriptedService:
        self.script[path].append((status, body, headers or {}))
        return self

    def __call__(self, environ, start_response):
        request = Request(environ)
        name = request.path.rsplit("/", 1)[-1]
        self.hits[name] += 1
        status, body, headers = self.script[name].popleft() if self.script[name] else (200, OK_QUERY, {})
        return Response(json.dumps(body), status=status, headers=headers, mimetype="application/json")(
            environ, start_response
        )


@pytest.fixture
def scripted() -> Iterator[tuple[ScriptedService, WeShopClient]]:
    service = ScriptedService()
    server = make_server("127.0.0.1", 0, service, threaded=True)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    client = WeShopClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{server.server_port}", timeout=(2, 5))
    # Known task, so execute sends no snapshot query first.
    client._ledger.see("t")
    try:
        yield service, client
    finally:
        server.shutdown()
        server.server_close()


def _busy(status: int) -> dict:
    return {"success": False, "code": status * 100, "msg": "busy"}


def test_query_is_retried_on_gateway_errors(scripted) -> None:
    service, client = scripted
    service.then("query", 502, _busy(502)).then("query", 503, _busy(503))
    assert client.get_task("t").executions == ()
    assert service.hits["query"] == 3


def test_execute_after_a_503_checks_the_task_before_sending_again(scripted) -> None:
    service, client = scripted
    service.then("execute", 503, _busy(503)).then("execute", 200, OK_EXECUTE)
    assert client.execute("t", {"textDescription": "x"}).id == "e1"
    # The 503 may have come after the work was done: the task is read first, then it is sent again.
    assert (service.hits["execute"], service.hits["query"]) == (2, 1)


def test_execute_whose_work_was_done_is_adopted_not_resent(scripted) -> None:
    service, client = scripted
    done = {"executionId": "e0", "executionTime": "2026-01-01 00:00:00", "status": "Pending",
            "params": {"textDescription": "x"}, "result": []}  # fmt: skip
    service.then("execute", 502, _busy(502)).then("query", 200, {**OK_QUERY, "data": {"executions": [done]}})
    assert client.execute("t", {"textDescription": "x"}).id == "e0"
    assert service.hits["execute"] == 1


def test_execute_is_not_resent_when_the_task_cannot_be_read(scripted) -> None:
    service, client = scripted
    service.then("execute", 503, _busy(503))
    for _ in range(12):
        service.then("query", 400, {"success": False, "code": 1, "msg": "cannot read"})
    with pytest.raises(InvalidRequestError, match="cannot read"):
        client.execute("t", {"textDescription": "x"})
    assert service.hits["execute"] == 1


def test_execute_is_retried_after_429_honouring_retry_after(scripted) -> None:
    service, client = scripted
    service.then("execute", 429, _busy(429), {"Retry-After": "1"}).then("execute", 200, OK_EXECUTE)
    started = time.monotonic()
    assert client.execute("t", {"textDescription": "x"}).id == "e1"
    assert service.hits["execute"] == 2
    assert time.monotonic() - started >= 0.9


def test_persistent_429_surfaces_as_rate_limit_error(scripted) -> None:
    service, client = scripted
    for _ in range(4):
        service.then("delete", 429, _busy(429), {"Retry-After": "0"})
    with pytest.raises(RateLimitError):
        client.delete_task("t")
    assert service.hits["delete"] == 4  # one try and three retries


def test_service_down_is_one_clear_sentence() -> None:
    with socket.socket() as probe:  # a port nobody listens on
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WeShopClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{port}", max_retries=1)
    with pytest.raises(ServiceError) as caught:
        client.get_task("t")
    assert (
        str(caught.value)
        == f"Could not reach the WeShop service at http://127.0.0.1:{port} (is it up, is the URL right?)."
    )
    assert caught.value.__cause__ is None and caught.value.__context__ is None
    assert caught.value.fate_unknown is False


def test_the_key_is_signed_onto_api_calls_only(recorded) -> None:
    from weshop_nb.service._transport import KeyAuth

    client = WeShopClient(api_key=API_KEY, base_url="https://OpenAPI.WeShop.ai")

    def signed(url: str) -> str | None:
        # fetch_image sends through the same session as every API call, signed or not by its URL.
        recorded.get(url, body=b"x")
        client.fetch_image(url)
        return recorded.calls[-1].request.headers.get("Authorization")

    assert signed(client.base_url + "/openapi/v1/agent/info") == API_KEY
    assert signed(client.base_url + "/openapi/agent/runs") == API_KEY  # the agent-runs API
    assert signed("https://cdn.weshop.test/result.png") is None  # pictures on another host
    assert signed(client.base_url + "/files/result.png") is None  # the same host, outside the API
    assert signed("https://openapi.weshop.ai.evil.test/openapi/v1/agent/info") is None
    # Not a header of every request (the session's), and nowhere in the repr of what signs.
    assert all("Authorization" not in call.request.headers for call in recorded.calls[2:])
    assert API_KEY not in repr(KeyAuth(API_KEY))


def test_the_retry_table_in_the_docstring_is_the_policy() -> None:
    from weshop_nb.service import _transport

    calls = [value for value in vars(_transport).values() if isinstance(value, _transport.Call)]
    assert len(calls) == 12
    lines = _transport.__doc__.splitlines()
    for call in calls:
        (row,) = [line for line in lines if line.startswith(call.name + "  ")]
        *_, lost, busy = row.split()
        assert f"{call.method} {call.path}" in " ".join(row.split()), row
        assert (lost, busy) == (str(call.sends), str(call.busy_sends or "m+1")), row


@pytest.fixture
def picture_host() -> Iterator[tuple[str, list[Request]]]:
    """A host serving ``/picture.png`` and ``/moved`` (302 to it), recording every request it gets."""
    seen: list[Request] = []

    def app(environ, start_response):
        request = Request(environ)
        seen.append(request)
        if request.path == "/moved":
            return Response(status=302, headers={"Location": "/picture.png"})(environ, start_response)
        if request.path == "/cookie":
            return Response(b"\x89PNG picture", headers={"Set-Cookie": "cdn=1; Path=/"})(environ, start_response)
        return Response(b"\x89PNG picture", mimetype="image/png")(environ, start_response)

    server = make_server("127.0.0.1", 0, app, threaded=True)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    try:
        yield f"http://127.0.0.1:{server.server_port}", seen
    finally:
        server.shutdown()
        server.server_close()


def test_a_picture_sent_past_the_session_is_the_same_get(picture_host, monkeypatch) -> None:
    base, seen = picture_host
    client = WeShopClient(api_key=API_KEY, base_url="https://openapi.weshop.test")
    with monkeypatch.context() as patched:
        patched.setattr(client._session, "request", None)  # not the session's way: straight to its adapter
        assert client.fetch_image(base + "/picture.png") == b"\x89PNG picture"
    assert client.fetch_image(base + "/moved") == b"\x89PNG picture"  # a redirect is followed
    assert [request.path for request in seen] == ["/picture.png", "/moved", "/picture.png"]
    sent = seen[0].headers
    assert sent["User-Agent"].startswith("python-requests/") and "Authorization" not in sent
    # A cookie a host sets is sent back to it, as the session does.
    client.fetch_image(base + "/cookie")
    client.fetch_image(base + "/picture.png")
    assert seen[-1].cookies.get("cdn") == "1"
    # A proxy of the environment is used as requests uses it: the request goes to the proxy.
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        nobody = probe.getsockname()[1]
    monkeypatch.setenv("HTTP_PROXY", base)
    monkeypatch.setenv("NO_PROXY", "")
    proxied = WeShopClient(api_key=API_KEY, base_url="https://openapi.weshop.test", max_retries=0)
    assert proxied.fetch_image(f"http://127.0.0.1:{nobody}/picture.png") == b"\x89PNG picture"
    assert seen[-1].url == f"http://127.0.0.1:{nobody}/picture.png"  # the absolute form a proxy gets


def test_a_picture_whose_host_is_down_fails_as_through_the_session() -> None:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    client = WeShopClient(api_key=API_KEY, base_url="https://openapi.weshop.test", max_retries=0)
    with pytest.raises(ServiceError, match="Could not reach") as caught:
        client.fetch_image(f"http://127.0.0.1:{port}/picture.png")
    assert caught.value.fate_unknown is False  # refused: it never arrived
