"""The emulator's behaviour as a service: uploads, statuses, window, files, faults, callbacks."""

from __future__ import annotations

import io
import json
import threading
import time
from collections.abc import Iterator

import pytest
import requests
from PIL import Image
from werkzeug.serving import make_server
from werkzeug.wrappers import Request, Response

from weshop_nb import emulator
from weshop_nb.emulator import pictures

from ..conftest import API_KEY
from .conftest import Raw


def _upload(raw: Raw, data: bytes, name: str = "garment.png") -> requests.Response:
    return raw.post("/asset/upload/image", files={"image": (name, data)})


def test_upload_stores_and_serves_the_image(raw, make_image) -> None:
    picture = make_image(700, 900, "WEBP")
    url = raw.ok(_upload(raw, picture))["image"]
    assert url.endswith(".webp")
    served = requests.get(url, timeout=5)
    assert served.status_code == 200 and served.content == picture
    assert served.headers["Content-Type"] == "image/webp"


@pytest.mark.parametrize(
    ("size", "fmt", "status", "text"),
    [
        ((400, 700), "PNG", 400, "width and height must both be greater than 512"),
        ((700, 512), "PNG", 400, "greater than 512"),
        ((1400, 600), "PNG", 400, "aspect ratio must be less than 2"),
        ((700, 700), "GIF", 400, "format GIF is not supported"),
        ((700, 700), "BMP", 400, "format BMP is not supported"),
    ],
)
def test_upload_rules(raw, make_image, size, fmt, status, text) -> None:
    response = _upload(raw, make_image(*size, fmt))
    assert response.status_code == status and text in response.json()["msg"]


def test_upload_refuses_non_images_big_files_and_missing_field(raw) -> None:
    assert "not a readable image" in _upload(raw, b"hello").json()["msg"]
    assert "empty" in _upload(raw, b"").json()["msg"]
    too_big = _upload(raw, b"\0" * (10 * 1024 * 1024 + 1))
    assert too_big.status_code == 413 and "10MB" in too_big.json()["msg"]
    huge = _upload(raw, b"\0" * (12 * 1024 * 1024))
    assert huge.status_code == 413 and huge.json()["success"] is False
    missing = raw.post("/asset/upload/image", files={"picture": ("a.png", b"x")})
    assert missing.status_code == 400 and "field named 'image'" in missing.json()["msg"]


def test_status_moves_pending_running_success(raw) -> None:
    with emulator.serve(api_key=API_KEY, latency=1.2) as emu:
        raw = Raw(emu.base_url)
        task = raw.task()
        body = {"taskId": task, "params": {"textDescription": "x", "batchCount": 3}}
        execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
        seen = []
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            data = raw.ok(raw.post("/agent/task/query", {"executionId": execution_id, "taskId": "ignored"}))
            execution = data["executions"][0]
            seen.append((execution["status"], sum(r["status"] == "Success" for r in execution["result"])))
            if execution["status"] == "Success":
                break
            time.sleep(0.05)
    statuses = [s for s, _ in seen]
    assert statuses[0] == "Pending" and statuses[-1] == "Success"
    assert "Running" in statuses
    assert seen[-1][1] == 3
    assert any(0 < n < 3 for s, n in seen if s == "Running")  # images arrive one by one
    assert data["agentName"] == "aimodel" and data["initParams"]["originalImage"]


def test_query_shapes_follow_the_reference(raw) -> None:
    task = raw.task()
    create = raw.post(
        "/agent/task/create",
        {"agentName": "aimodel", "agentVersion": "v1.0", **{"initParams": {"originalImage": "https://x/a.png"}}},
    ).json()
    assert create["code"] == 0 and create["message"] == "success"  # create answers code 0, "message"
    query = raw.post("/agent/task/query", {"taskId": task}).json()
    assert query["code"] == "0" and query["msg"] == "success"  # query answers code "0", "msg"
    raw.ok(raw.post("/agent/task/execute", {"taskId": task, "params": {"textDescription": "x"}}))
    execution = raw.ok(raw.post("/agent/task/query", {"taskId": task}))["executions"][0]
    time_text = execution["executionTime"]
    assert time.strptime(time_text, "%Y-%m-%d %H:%M:%S")
    assert set(execution) >= {"executionId", "executionTime", "status", "params", "result"}


def test_window_holds_twenty_newest_first() -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        raw = Raw(emu.base_url)
        task = raw.task()
        ids = []
        for n in range(25):
            body = {"taskId": task, "params": {"textDescription": f"p{n}"}}
            ids.append(raw.ok(raw.post("/agent/task/execute", body))["executionId"])
        shown = raw.ok(raw.post("/agent/task/query", {"taskId": task}))["executions"]
        assert len(shown) == 20
        assert [e["executionId"] for e in shown] == ids[:4:-1]  # newest first: clients must sort


def test_result_images_and_thumbnails_are_served(raw) -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        raw = Raw(emu.base_url)
        body = {"taskId": raw.task(), "params": {"textDescription": "x", "fashionModelId": 4020095, "batchCount": 2}}
        execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
        results = raw.ok(raw.post("/agent/task/query", {"executionId": execution_id}))["executions"][0]["result"]
        assert [r["status"] for r in results] == ["Success", "Success"]
        for result in results:
            with Image.open(io.BytesIO(requests.get(result["image"], timeout=5).content)) as image:
                assert image.size == pictures.RESULT_SIZE
        assert requests.get(f"{emu.base_url}/files/results/{execution_id}-5.png", timeout=5).status_code == 404
        info = raw.ok(raw.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0"))
        assert len(info["locations"]) >= 8 and len(info["fashionModels"]) >= 8
        for entry in info["locations"][:2] + info["fashionModels"][:2]:
            assert "colors" not in entry
            assert requests.get(entry["image"], timeout=5).headers["Content-Type"] == "image/png"
        assert requests.get(f"{emu.base_url}/files/catalogue/location-1.png", timeout=5).status_code == 404


def test_failure_rate_and_seed_are_repeatable() -> None:
    outcomes = []
    for _ in range(2):
        with emulator.serve(api_key=API_KEY, latency=0, failure_rate=0.5, seed=11) as emu:
            raw = Raw(emu.base_url)
            task = raw.task()
            statuses = []
            for n in range(12):
                body = {"taskId": task, "params": {"textDescription": f"p{n}"}}
                execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
                statuses.append(
                    raw.ok(raw.post("/agent/task/query", {"executionId": execution_id}))["executions"][0]["status"]
                )
            outcomes.append((task, statuses))
    assert outcomes[0] == outcomes[1]
    assert {"Success", "Failed"} == set(outcomes[0][1])


@pytest.mark.parametrize(
    ("kind", "status"),
    [("5xx", 503), ("429", 429), ("badjson", 200)],
)
def test_faults_before_work_change_nothing(kind, status) -> None:
    with emulator.serve(api_key=API_KEY, faults={kind: 1.0}, fault_endpoints={"create"}) as emu:
        raw = Raw(emu.base_url)
        body = {"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": "https://x/a.png"}}
        response = raw.post("/agent/task/create", body)
        assert response.status_code == status
        if kind == "429":
            assert response.headers["Retry-After"] == "1"
        if kind == "badjson":
            with pytest.raises(ValueError):
                json.loads(response.text)
        assert emu.stats()["tasks_created"] == 0
        assert emu.stats()["faults"] == {kind: 1}


def test_reset_and_slow_faults_keep_the_work() -> None:
    with emulator.serve(api_key=API_KEY, faults={"reset": 1.0}, fault_endpoints={"create"}) as emu:
        raw = Raw(emu.base_url)
        with pytest.raises(requests.ConnectionError):
            raw.post(
                "/agent/task/create",
                {"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": "https://x/a.png"}},
            )
        assert emu.stats()["tasks_created"] == 1
    with emulator.serve(api_key=API_KEY, faults={"slow": 1.0}, slow_delay=1.0, fault_endpoints={"create"}) as emu:
        raw = Raw(emu.base_url)
        with pytest.raises(requests.ReadTimeout):
            requests.post(
                emu.base_url + "/openapi/v1/agent/task/create",
                json={
                    "agentName": "aimodel",
                    "agentVersion": "v1.0",
                    "initParams": {"originalImage": "https://x/a.png"},
                },
                headers={"Authorization": API_KEY},
                timeout=0.3,
            )
        assert emu.stats()["tasks_created"] == 1


def test_fault_spec_is_checked() -> None:
    with pytest.raises(ValueError, match="unknown fault kind 'boom'"):
        emulator.serve(faults="boom:0.1")
    with pytest.raises(ValueError, match="between 0 and 1"):
        emulator.serve(faults={"5xx": 2})
    with pytest.raises(ValueError, match="kind:rate"):
        emulator.serve(faults="5xx")


class CallbackReceiver:
    """A loopback endpoint that refuses the first ``refuse`` deliveries, then says SUCCESS."""

    def __init__(self, refuse: int = 0) -> None:
        self.refuse = refuse
        self.received: list[dict] = []
        self.server = make_server("127.0.0.1", 0, self)
        self.url = f"http://127.0.0.1:{self.server.server_port}/hook"

    def __call__(self, environ, start_response):
        request = Request(environ)
        self.received.append(json.loads(request.get_data()))
        reply = "SUCCESS" if len(self.received) > self.refuse else "NOT YET"
        return Response(reply)(environ, start_response)


@pytest.fixture
def receiver() -> Iterator[CallbackReceiver]:
    hook = CallbackReceiver(refuse=1)
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    yield hook
    hook.server.shutdown()
    hook.server.server_close()


def test_callbacks_on_every_change_with_retries(receiver) -> None:
    with emulator.serve(api_key=API_KEY, latency=0.6, callback_retry_delay=0.1) as emu:
        raw = Raw(emu.base_url)
        body = {"taskId": raw.task(), "params": {"textDescription": "x", "batchCount": 1}, "callbackUrl": receiver.url}
        execution_id = raw.ok(raw.post("/agent/task/execute", body))["executionId"]
        deadline = time.monotonic() + 5
        # The emulator logs an attempt after the receiver has answered it: wait for both.
        while len(emu.emulator.callbacks.log) < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
        log = list(emu.emulator.callbacks.log)
    statuses = [payload["data"]["executions"][0]["status"] for payload in receiver.received]
    # The first delivery (Running) was refused, retried once and accepted; then Success.
    assert statuses == ["Running", "Running", "Success"]
    assert [(e["attempt"], e["accepted"]) for e in log] == [(1, False), (2, True), (1, True)]
    payload = receiver.received[-1]
    assert payload["success"] is True and payload["data"]["executions"][0]["executionId"] == execution_id
    assert payload["data"]["executions"][0]["result"][0]["image"].startswith(emu.base_url)


def test_callback_gives_up_after_two_retries() -> None:
    hook = CallbackReceiver(refuse=99)
    thread = threading.Thread(target=hook.server.serve_forever, daemon=True)
    thread.start()
    try:
        with emulator.serve(api_key=API_KEY, latency=0.2, callback_retry_delay=0.05) as emu:
            raw = Raw(emu.base_url)
            body = {"taskId": raw.task(), "params": {"textDescription": "x"}, "callbackUrl": hook.url}
            raw.ok(raw.post("/agent/task/execute", body))
            deadline = time.monotonic() + 5
            while len(hook.received) < 6 and time.monotonic() < deadline:
                time.sleep(0.05)
            time.sleep(0.3)  # room for a wrong fourth attempt to show up
        assert len(hook.received) == 6  # two changes x (one try + two retries)
    finally:
        hook.server.shutdown()
        hook.server.server_close()


def test_stats_endpoint(raw) -> None:
    raw.task()
    stats = raw.get("/_emulator/stats").json()
    assert stats["tasks_created"] == 1 and stats["requests"]["create"] == 1
