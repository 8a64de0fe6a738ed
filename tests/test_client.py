"""WeShopClient against recorded replies (the reference's own examples), by route."""

from __future__ import annotations

import pytest

from weshop_nb import WeShopClient
from weshop_nb.service._errors import (
    AuthenticationError,
    ExecutionFailed,
    ImageValidationError,
    InvalidRequestError,
    RateLimitError,
    ServiceError,
    WaitTimeout,
)

from .conftest import API_KEY
from .conftest import request_body as _body
from .fixtures import reference

BASE = "https://openapi.weshop.ai"
API = BASE + "/openapi/v1"


@pytest.fixture
def client() -> WeShopClient:
    return WeShopClient(api_key=API_KEY, max_retries=0)


def test_create_task_sends_reference_body_with_raw_key(client, recorded) -> None:
    recorded.post(API + "/agent/task/create", json=reference.CREATE)
    task = client.create_task("aimodel", "v1.0", taskName="Create Task Api Test", originalImage=reference.IMAGE)
    assert task.id == "<task id>"
    call = recorded.calls[0]
    assert call.request.headers["Authorization"] == API_KEY  # raw, no "Bearer"
    assert _body(call) == {
        "agentName": "aimodel",
        "agentVersion": "v1.0",
        "initParams": {"taskName": "Create Task Api Test", "originalImage": reference.IMAGE},
    }


def test_execute_returns_pending_execution(client, recorded) -> None:
    recorded.post(API + "/agent/task/create", json=reference.CREATE)
    recorded.post(API + "/agent/task/execute", json=reference.EXECUTE)
    task = client.create_task(originalImage=reference.IMAGE)
    params = {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "locationId": 2002093}
    execution = client.execute(task.id, params, callback_url="https://example.test/hook")
    assert (execution.id, execution.status, execution.task_id) == ("<execution id>", "pending", "<task id>")
    assert _body(recorded.calls[1]) == {
        "taskId": "<task id>",
        "params": params,
        "callbackUrl": "https://example.test/hook",
    }


def test_execute_on_unknown_task_first_learns_its_executions(client, recorded) -> None:
    recorded.post(API + "/agent/task/query", json=reference.QUERY)
    recorded.post(API + "/agent/task/execute", json=reference.EXECUTE)
    client.execute("<task id>", {"textDescription": "x"})
    assert [c.request.url.rsplit("/", 1)[-1] for c in recorded.calls] == ["query", "execute"]


def test_callback_url_must_be_http(client, recorded) -> None:
    with pytest.raises(InvalidRequestError, match="callback_url"):
        client.execute("t", {"textDescription": "x"}, callback_url="ftp://nope")
    assert len(recorded.calls) == 0


def test_query_reply_with_string_code_and_msg(client, recorded) -> None:
    recorded.post(API + "/agent/task/query", json=reference.QUERY)
    task = client.get_task("<task id>")
    assert _body(recorded.calls[0]) == {"taskId": "<task id>"}
    assert [e.id for e in task.executions] == ["exec-1", "exec-2"]
    assert task.latest.params["textDescription"] == "caucasian girl"


def test_get_execution_picks_the_asked_one(client, recorded) -> None:
    recorded.post(API + "/agent/task/query", json=reference.QUERY)
    execution = client.get_execution("exec-1")
    assert _body(recorded.calls[0]) == {"executionId": "exec-1"}
    assert execution.id == "exec-1" and execution.images == [reference.IMAGE] * 4


def test_delete_and_upload_and_info(client, recorded, make_image) -> None:
    recorded.post(API + "/agent/task/delete", json=reference.DELETE)
    recorded.post(API + "/asset/upload/image", json=reference.UPLOAD)
    recorded.get(API + "/agent/info", json=reference.INFO)
    assert client.delete_task("<task id>") is None
    assert client.upload_image(make_image()) == "<image>"
    upload = recorded.calls[1].request
    assert b'name="image"' in upload.body and upload.headers["Content-Type"].startswith("multipart/form-data")
    info = client.agent_info("aimodel", "v1.0")
    assert "agentName=aimodel" in recorded.calls[2].request.url
    assert info.location("White Studio").id == 6000372
    client.agent_info()  # cached: no second request
    assert len(recorded.calls) == 3


def test_same_bytes_are_uploaded_once(client, recorded, make_image) -> None:
    recorded.post(API + "/asset/upload/image", json=reference.UPLOAD)
    picture = make_image()
    assert client.upload_image(picture) == client.upload_image(picture)
    assert len(recorded.calls) == 1


def test_bad_image_is_refused_before_any_request(client, recorded, make_image) -> None:
    with pytest.raises(ImageValidationError, match="height 400 px, must be above 512 px"):
        client.upload_image(make_image(640, 400))
    assert len(recorded.calls) == 0


def test_missing_key_raises_before_any_request(recorded) -> None:
    client = WeShopClient()
    with pytest.raises(AuthenticationError) as caught:
        client.get_task("t")
    assert "WESHOP_API_KEY" in str(caught.value) and "%weshop login" in str(caught.value)
    assert len(recorded.calls) == 0


def test_key_and_url_from_environment(monkeypatch, recorded) -> None:
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", "http://127.0.0.1:9/")
    recorded.post("http://127.0.0.1:9/openapi/v1/agent/task/delete", json=reference.DELETE)
    client = WeShopClient()
    assert client.base_url == "http://127.0.0.1:9"
    client.delete_task("t")
    assert recorded.calls[0].request.headers["Authorization"] == API_KEY


def test_base_url_must_be_a_url() -> None:
    with pytest.raises(InvalidRequestError, match="not an http"):
        WeShopClient(api_key=API_KEY, base_url="openapi.weshop.ai")


def test_key_never_in_repr(client) -> None:
    assert API_KEY not in repr(client)
    assert "api_key=set" in repr(client)


@pytest.mark.parametrize(
    ("status", "body", "error", "text"),
    [
        (200, {"success": False, "code": 40004, "msg": "Unknown agentName"}, InvalidRequestError, "Unknown agentName"),
        (400, {"success": False, "code": "40001", "message": "taskId is required"}, InvalidRequestError, "taskId"),
        (401, {"success": False, "code": 40101, "msg": "Invalid API key."}, AuthenticationError, "Invalid API key"),
        (403, "forbidden", AuthenticationError, "forbidden"),
        (429, {"success": False, "code": 42900, "msg": "Too many"}, RateLimitError, "Too many"),
        (503, {"success": False, "code": 50300, "msg": "busy"}, ServiceError, "busy"),
        (200, "<html>gateway</html>", ServiceError, "not a JSON envelope"),
        (200, {"code": "1", "msg": "no success key, nonzero code"}, InvalidRequestError, "nonzero code"),
    ],
)
def test_refusals_become_typed_errors(client, recorded, status, body, error, text) -> None:
    kwargs = {"json": body} if isinstance(body, dict) else {"body": body}
    recorded.post(API + "/agent/task/delete", status=status, **kwargs)
    with pytest.raises(error, match=text) as caught:
        client.delete_task("t")
    assert caught.value.response is not None
    assert API_KEY not in str(caught.value)
    if isinstance(body, dict) and "code" in body:
        assert str(caught.value.code) == str(body["code"])


def test_rate_limit_error_carries_retry_after(client, recorded) -> None:
    recorded.post(
        API + "/agent/task/delete", status=429, json={"success": False, "msg": "slow"}, headers={"Retry-After": "7"}
    )
    with pytest.raises(RateLimitError) as caught:
        client.delete_task("t")
    assert caught.value.retry_after == 7.0


def _running(execution_id: str, status: str, images: int = 0) -> dict:
    data = {
        "agentName": "aimodel",
        "agentVersion": "v1.0",
        "initParams": {},
        "executions": [
            {
                "executionId": execution_id,
                "executionTime": "2024-01-01 10:00:00",
                "status": status,
                "params": {},
                "result": [{"status": "Success", "image": reference.IMAGE}] * images,
                "message": "out of credits" if status == "Failed" else None,
            }
        ],
    }
    return {"success": True, "code": "0", "msg": "success", "data": data}


def test_wait_polls_until_success_and_survives_a_failed_poll(client, recorded) -> None:
    url = API + "/agent/task/query"
    recorded.post(url, json=_running("e", "Pending"))
    recorded.post(url, status=503, json={"success": False, "msg": "busy"})
    recorded.post(url, json=_running("e", "Running"))
    recorded.post(url, json=_running("e", "Success", images=2))
    seen = []
    execution = client.wait("e", poll_interval=0.01, on_update=lambda e: seen.append(e.status))
    assert execution.status == "success" and len(execution.images) == 2
    assert seen == ["pending", "running", "success"]
    assert len(recorded.calls) == 4


def test_wait_raises_execution_failed_with_the_execution(client, recorded) -> None:
    recorded.post(API + "/agent/task/query", json=_running("e", "Failed"))
    with pytest.raises(ExecutionFailed, match="out of credits") as caught:
        client.wait("e", poll_interval=0.01)
    assert caught.value.execution.id == "e"
    assert client.wait("e", poll_interval=0.01, raise_on_failure=False).status == "failed"


def test_wait_times_out_with_last_state(client, recorded) -> None:
    recorded.post(API + "/agent/task/query", json=_running("e", "Running"))
    with pytest.raises(WaitTimeout, match="still running") as caught:
        client.wait("e", timeout=0.2, poll_interval=0.05)
    assert caught.value.execution.status == "running"


def test_fetch_image_sends_no_key_and_limits_size(client, recorded) -> None:
    recorded.get("https://cdn.test/a.png", body=b"x" * 100)
    assert client.fetch_image("https://cdn.test/a.png") == b"x" * 100
    assert "Authorization" not in recorded.calls[0].request.headers
    with pytest.raises(ServiceError, match="larger than 10 bytes"):
        client.fetch_image("https://cdn.test/a.png", max_bytes=10)
    with pytest.raises(InvalidRequestError):
        client.fetch_image("file:///etc/passwd")
