"""Every refusal: the service's envelope, a clear msg, and never a 5xx."""

from __future__ import annotations

import pytest

from weshop_nb import emulator

from ..conftest import API_KEY
from .conftest import Raw

AIMODEL = {"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": "https://cdn.test/a.png"}}


def _refused(response, status: int, text: str) -> None:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False
    assert isinstance(body["code"], int) and body["code"] != 0
    assert text in body["msg"], body["msg"]


@pytest.mark.parametrize(
    ("key", "text"),
    [(None, "Missing API key"), ("wrong", "Invalid API key"), (f"Bearer {API_KEY}", "without 'Bearer'")],
)
def test_auth_refusals(raw, key, text) -> None:
    _refused(raw.post("/agent/task/create", AIMODEL, key=key), 401, text)
    _refused(raw.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0", key=key), 401, text)


@pytest.mark.parametrize(
    ("path", "data", "text"),
    [
        ("/agent/task/create", b"", "body is empty"),
        ("/agent/task/create", b"{not json", "not valid JSON"),
        ("/agent/task/create", b"[1, 2]", "must be a JSON object"),
        ("/agent/task/create", b'"text"', "must be a JSON object"),
        ("/agent/task/execute", b"null", "must be a JSON object"),
        ("/agent/task/query", b"{}", "Give executionId or taskId"),
        ("/agent/task/delete", b"{}", "taskId is required"),
        ("/agent/task/execute", b"{}", "taskId is required"),
    ],
)
def test_malformed_bodies(raw, path, data, text) -> None:
    _refused(raw.post(path, data=data), 400, text)


@pytest.mark.parametrize(
    ("body", "text"),
    [
        ({"agentVersion": "v1.0"}, "agentName is required"),
        ({"agentName": "aimodel"}, "agentVersion is required"),
        ({"agentName": 5, "agentVersion": "v1.0"}, "agentName is required and must be a string"),
        ({"agentName": "aimodle", "agentVersion": "v1.0"}, "Unknown agentName 'aimodle'"),
        ({"agentName": "aimodel", "agentVersion": "v9"}, "Unknown agentVersion 'v9'"),
        ({"agentName": "aimodel", "agentVersion": "v1.0"}, "originalImage is required"),
        ({**AIMODEL, "initParams": []}, "initParams must be an object"),
        ({**AIMODEL, "initParams": {"originalImage": "/tmp/a.png"}}, "http(s) image URL"),
        ({**AIMODEL, "initParams": {"originalImage": "https://x/a.png", "taskName": 3}}, "taskName must be a string"),
    ],
)
def test_create_refusals(raw, body, text) -> None:
    _refused(raw.post("/agent/task/create", body), 400, text)


@pytest.mark.parametrize(
    ("params", "text"),
    [
        (None, "params is required"),
        ("text", "params is required and must be an object"),
        ({}, "at least one of textDescription, locationId or fashionModelId"),
        ({"textDescription": "   "}, "at least one of"),
        ({"textDescription": 5}, "textDescription must be a string"),
        ({"locationId": "6000372"}, "locationId must be an integer, got str"),
        ({"locationId": True}, "locationId must be an integer"),
        ({"locationId": 1}, "locationId 1 does not exist"),
        ({"fashionModelId": 2}, "fashionModelId 2 does not exist"),
        ({"textDescription": "x", "maskType": "auto"}, "maskType 'auto' is not allowed"),
        ({"textDescription": "x", "generatedContent": "copy"}, "generatedContent 'copy' is not allowed"),
        ({"textDescription": "x", "pose": "dance"}, "pose 'dance' is not allowed"),
        ({"textDescription": "x", "batchCount": 0}, "batchCount 0 is out of range"),
        ({"textDescription": "x", "batchCount": 17}, "batchCount 17 is out of range"),
        ({"textDescription": "x", "batchCount": 2.5}, "batchCount must be an integer"),
        ({"textDescription": "x", "maskType": "custom"}, "needs customMaskUrl"),
        ({"textDescription": "x", "customMaskUrl": "https://m/a.png"}, "only used with maskType custom"),
        ({"textDescription": "x", "colour": "red"}, "Unknown parameter(s) for aimodel: colour"),
    ],
)
def test_execute_param_refusals(raw, params, text) -> None:
    body = {"taskId": raw.task(), "params": params}
    _refused(raw.post("/agent/task/execute", body), 400, text)


def test_aipose_params(raw) -> None:
    task = raw.task(agent="aipose")
    _refused(raw.post("/agent/task/execute", {"taskId": task, "params": {}}), 400, "textDescription is required")
    bad = {"taskId": task, "params": {"textDescription": "arms up", "generateVersion": "max"}}
    _refused(raw.post("/agent/task/execute", bad), 400, "generateVersion 'max' is not allowed")
    good = {"taskId": task, "params": {"textDescription": "arms up", "generateVersion": "pro", "batchCount": 2}}
    assert raw.ok(raw.post("/agent/task/execute", good))["executionId"]


@pytest.mark.parametrize(
    ("path", "body", "status", "text"),
    [
        ("/agent/task/execute", {"taskId": "nope", "params": {"textDescription": "x"}}, 404, "Task 'nope' not found"),
        ("/agent/task/execute", {"taskId": 12, "params": {"textDescription": "x"}}, 400, "taskId must be a string"),
        ("/agent/task/query", {"taskId": "nope"}, 404, "not found"),
        ("/agent/task/query", {"executionId": "nope"}, 404, "Execution 'nope' not found"),
        ("/agent/task/query", {"executionId": ["a"]}, 400, "executionId must be a string"),
        ("/agent/task/delete", {"taskId": "nope"}, 404, "not found"),
    ],
)
def test_unknown_ids(raw, path, body, status, text) -> None:
    _refused(raw.post(path, body), status, text)


def test_callback_url_must_be_a_url(raw) -> None:
    body = {"taskId": raw.task(), "params": {"textDescription": "x"}, "callbackUrl": "localhost/hook"}
    _refused(raw.post("/agent/task/execute", body), 400, "callbackUrl must be a complete URL")


def test_tasks_belong_to_their_key() -> None:
    with emulator.serve(api_key=["a", "b"]) as server:
        client = Raw(server.base_url)
        task = client.ok(client.post("/agent/task/create", AIMODEL, key="a"))["taskId"]
        assert client.ok(client.post("/agent/task/query", {"taskId": task}, key="a"))["executions"] == []
        _refused(client.post("/agent/task/query", {"taskId": task}, key="b"), 404, "not found")


def test_info_refusals_and_unknown_paths(raw) -> None:
    _refused(raw.get("/openapi/v1/agent/info"), 400, "agentName is required")
    _refused(raw.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v2"), 400, "Unknown agentVersion")
    _refused(raw.get("/openapi/v1/agent/task/create"), 405, "Method GET is not allowed")
    _refused(raw.get("/openapi/v1/nothing/here"), 404, "No such path")


def test_deleted_task_is_gone_with_its_executions(raw) -> None:
    task = raw.task()
    execution = raw.ok(raw.post("/agent/task/execute", {"taskId": task, "params": {"textDescription": "x"}}))
    raw.ok(raw.post("/agent/task/delete", {"taskId": task}))
    _refused(raw.post("/agent/task/query", {"taskId": task}), 404, "not found")
    _refused(raw.post("/agent/task/query", {"executionId": execution["executionId"]}), 404, "not found")


WRONG_VALUES = [None, 0, -1, 1.5, True, "", "x", [], {}, {"nested": [1]}, "9" * 400]
VALID_BODIES = {
    "/agent/task/create": AIMODEL,
    "/agent/task/execute": {"taskId": "TASK", "params": {"textDescription": "x", "batchCount": 2}},
    "/agent/task/query": {"taskId": "TASK"},
    "/agent/task/delete": {"taskId": "TASK"},
}


def _variants(body: dict):
    """The body with each field, and each field of its objects, replaced by each wrong value."""
    for key, value in body.items():
        for wrong in WRONG_VALUES:
            yield {**body, key: wrong}
        if isinstance(value, dict):
            for inner in value:
                for wrong in WRONG_VALUES:
                    yield {**body, key: {**value, inner: wrong}}


def test_no_wrongly_typed_body_gets_a_5xx(raw) -> None:
    sent = 0
    for path, body in VALID_BODIES.items():
        for variant in _variants(body):
            if variant.get("taskId") == "TASK":
                variant["taskId"] = raw.task()
            response = raw.post(path, variant)
            sent += 1
            assert response.status_code < 500, (path, variant, response.text)
            assert isinstance(response.json()["success"], bool)
    assert sent >= 100
    assert raw.get("/_emulator/stats").json()["errors"] == 0  # nothing reached the last-resort guard
