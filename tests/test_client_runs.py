"""WeShopClient on the agent-runs API, against replies shaped as the reference shows them.

Bodies, headers and envelopes follow the facts gathered about the runs API (WeShop's CLI
and skills references): ``{"success", "data", "meta"}`` and ``{"success": false, "error":
{"code", "message", "retryable"}}``; a start carries an ``Idempotency-Key``.
"""

from __future__ import annotations

import uuid
import warnings

import pytest
import requests
import responses

from weshop_nb import WeShopClient
from weshop_nb.service._agents import UncheckedAgentWarning
from weshop_nb.service._errors import (
    AuthenticationError,
    InvalidRequestError,
    ParameterError,
    RateLimitError,
    ServiceError,
)

from .conftest import API_KEY
from .conftest import request_body as _body

BASE = "https://openapi.weshop.ai"
RUNS = BASE + "/openapi/agent/runs"
ESTIMATES = BASE + "/openapi/agent/power-estimates"
ASSETS = BASE + "/openapi/agent/assets/images"
INFO = BASE + "/openapi/v1/agent/info"
IMAGE = "https://ai-image.weshop.ai/garment.png"
TRYON = {"generateVersion": "weshopPro", "descriptionType": "auto", "aspectRatio": "3:4", "batchCount": 2}
STARTED = {
    "success": True,
    "data": {"executionId": "exec-1", "taskId": "task-1", "powerConsumption": 80, "powerBalanceAmount": 920},
    "meta": {"executionId": "exec-1"},
}


def _error(code: str, message: str, retryable: bool) -> dict:
    return {"success": False, "error": {"code": code, "message": message, "retryable": retryable}}


def _run(status: str, results: list | None = None, **execution) -> dict:
    data = {
        "agentName": "virtualtryon",
        "agentVersion": "v1.0",
        "initParams": {"originalImage": IMAGE},
        "executions": [
            {
                "executionId": "exec-1",
                "status": status,
                "executionTime": "2026-11-20 10:00:00",
                "params": TRYON,
                "result": results or [],
                **execution,
            }
        ],
    }
    return {"success": True, "data": data, "meta": {"executionId": "exec-1"}}


@pytest.fixture
def client(monkeypatch) -> WeShopClient:
    monkeypatch.setattr("weshop_nb.service._transport.retry_pause", lambda attempt, **kw: 0.0)
    return WeShopClient(api_key=API_KEY, max_retries=0, api="runs")


def _keys(recorded) -> list[str]:
    return [call.request.headers.get("Idempotency-Key") for call in recorded.calls]


def test_start_posts_one_run_with_the_reference_body_and_keeps_billing(client, recorded) -> None:
    recorded.post(RUNS, json=STARTED)
    execution = client.start("virtualtryon", TRYON, input={"originalImage": IMAGE, "taskName": "spring"})
    call = recorded.calls[0]
    assert call.request.headers["Authorization"] == API_KEY  # raw, no "Bearer"
    assert call.request.headers["Content-Type"] == "application/json"
    uuid.UUID(call.request.headers["Idempotency-Key"])  # a uuid
    assert _body(call) == {
        "agent": {"name": "virtualtryon", "version": "v1.0"},
        "input": {"originalImage": IMAGE, "taskName": "spring"},
        "params": TRYON,
        "safeGenerate": "on",
    }
    assert (execution.id, execution.task_id, execution.status) == ("exec-1", "task-1", "pending")
    assert (execution.power_consumption, execution.power_balance) == (80, 920)
    assert execution.agent_name == "virtualtryon" and execution.media == "image"


def test_safe_generate_off_and_callback_url_are_sent(recorded) -> None:
    recorded.post(RUNS, json=STARTED)
    client = WeShopClient(api_key=API_KEY, api="runs", safe_generate=False)
    client.start(
        "aipose", {"textDescription": "arms up"}, input={"originalImage": IMAGE}, callback_url="https://h.test/"
    )
    body = _body(recorded.calls[0])
    assert (body["safeGenerate"], body["callbackUrl"]) == ("off", "https://h.test/")


def test_each_logical_start_has_its_own_key(client, recorded) -> None:
    recorded.post(RUNS, json=STARTED)
    for _ in range(2):
        client.start("aipose", {"textDescription": "arms up"}, input={"originalImage": IMAGE})
    first, second = _keys(recorded)
    assert first != second


def test_a_start_whose_reply_was_lost_is_sent_again_with_the_same_key(client, recorded) -> None:
    recorded.post(RUNS, body=requests.exceptions.ConnectionError("connection reset by peer"))
    recorded.post(RUNS, body='{"success": true, "data": {"execu')  # arrived, but unreadable
    recorded.post(RUNS, json=STARTED)
    execution = client.start("aipose", {"textDescription": "arms up"}, input={"originalImage": IMAGE})
    assert execution.id == "exec-1"
    keys = _keys(recorded)
    assert len(keys) == 3 and len(set(keys)) == 1
    assert len({call.request.body for call in recorded.calls}) == 1  # the same body each time


def test_a_retryable_error_is_sent_again_with_the_same_key(client, recorded) -> None:
    recorded.post(RUNS, json=_error("SERVICE_UNAVAILABLE", "busy", True), status=503)
    recorded.post(RUNS, json=_error("RATE_LIMITED", "slow down", True), status=429, headers={"Retry-After": "0"})
    recorded.post(RUNS, json=STARTED)
    assert client.start("aipose", {"textDescription": "x"}, input={"originalImage": IMAGE}).id == "exec-1"
    keys = _keys(recorded)
    assert len(keys) == 3 and len(set(keys)) == 1


@pytest.mark.parametrize(
    ("status", "code", "error"),
    [
        (503, "SERVICE_UNAVAILABLE", ServiceError),  # a 5xx the service says not to repeat
        (429, "RATE_LIMITED", RateLimitError),
        (402, "INSUFFICIENT_POWER", InvalidRequestError),
        (401, "UNAUTHORIZED", AuthenticationError),
        (409, "IDEMPOTENCY_CONFLICT", InvalidRequestError),
    ],
)
def test_a_non_retryable_error_is_never_sent_again(client, recorded, status, code, error) -> None:
    recorded.post(RUNS, json=_error(code, f"refused: {code}", False), status=status)
    with pytest.raises(error) as raised:
        client.start("aipose", {"textDescription": "x"}, input={"originalImage": IMAGE})
    assert len(recorded.calls) == 1
    assert raised.value.code == code and raised.value.retryable is False
    assert f"refused: {code}" in str(raised.value)


def test_retries_of_a_start_are_bounded(client, recorded) -> None:
    recorded.post(RUNS, json=_error("SERVICE_UNAVAILABLE", "busy", True), status=503)
    with pytest.raises(ServiceError, match="busy") as raised:
        client.start("aipose", {"textDescription": "x"}, input={"originalImage": IMAGE})
    assert raised.value.retryable is True
    assert len(recorded.calls) == 8 and len(set(_keys(recorded))) == 1


def test_local_rules_refuse_before_any_request(client, recorded) -> None:
    with pytest.raises(ParameterError) as refused:
        client.start(
            "virtualtryon",
            {"generateVersion": "weshopFlash", "descriptionType": "custom", "aspectRatio": "3:4"},
            input={"originalImage": IMAGE},
        )
    assert [p.rule for p in refused.value.problems] == ["required_when", "only_with"]
    assert "descriptionType=custom needs textDescription" in str(refused.value)
    with pytest.raises(ParameterError, match="kling takes 1 or 2 images in images"):
        client.start("kling", {"textDescription": "pan"}, input={"images": [IMAGE, IMAGE, IMAGE]})
    with pytest.raises(ParameterError, match="at most 1 image in images with modelName Kling_2_1_Master"):
        client.start(
            "kling", {"textDescription": "pan", "modelName": "Kling_2_1_Master"}, input={"images": [IMAGE] * 2}
        )
    with pytest.raises(ParameterError, match="originalImage is required"):
        client.start("removeBG", {"maskType": "autoSubjectSegment"}, input={})
    with pytest.raises(InvalidRequestError, match="callback_url"):
        client.start("aipose", {"textDescription": "x"}, input={"originalImage": IMAGE}, callback_url="ftp://x")
    assert len(recorded.calls) == 0


def test_an_unknown_agent_is_sent_unchecked_with_one_warning(client, recorded) -> None:
    recorded.post(RUNS, json=STARTED)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        client.start("faceswap", {"anything": 1}, input={"originalImage": IMAGE})
    assert [w.category for w in caught] == [UncheckedAgentWarning]
    assert "faceswap v1.0 is not in weshop_nb's agent registry" in str(caught[0].message)
    assert _body(recorded.calls[0])["params"] == {"anything": 1}


def test_poll_reads_the_task_shaped_reply_segmenting_is_running(client, recorded) -> None:
    recorded.post(RUNS, json=STARTED)
    recorded.get(RUNS + "/exec-1", json=_run("Segmenting"))
    client.start("virtualtryon", TRYON, input={"originalImage": IMAGE})
    execution = client.get_execution("exec-1")
    assert (execution.status, execution.task_id, execution.agent_name) == ("running", "task-1", "virtualtryon")
    # The start's billing figures stay with the execution, though polls do not repeat them.
    assert (execution.power_consumption, execution.power_balance) == (80, 920)
    assert recorded.calls[1].request.method == "GET"


def test_video_results_carry_video_and_poster(client, recorded) -> None:
    video = {"status": "Success", "video": "https://v.test/1.mp4", "videoPoster": "https://v.test/1.jpg"}
    reply = _run("Success", [video, {"status": "Success", "video": "https://v.test/2.mp4"}])
    reply["data"]["agentName"] = "kling"
    recorded.get(RUNS + "/exec-1", json=reply)
    execution = client.get_execution("exec-1")
    assert execution.videos == ["https://v.test/1.mp4", "https://v.test/2.mp4"]
    assert execution.posters == ["https://v.test/1.jpg", None]
    assert execution.images == [] and execution.media == "video"
    assert execution.results[0].poster == "https://v.test/1.jpg"


def test_wait_polls_the_run_until_it_is_done(client, recorded) -> None:
    image = {"status": "Success", "image": "https://r.test/1.png"}
    for reply in (_run("Pending"), _run("Segmenting"), _run("Running", [image]), _run("Success", [image, image])):
        recorded.get(RUNS + "/exec-1", json=reply)
    seen: list[str] = []
    done = client.wait("exec-1", poll_interval=0.0, max_interval=0.0, on_update=lambda e: seen.append(e.status))
    assert done.status == "success" and len(done.images) == 2
    assert seen == ["pending", "running", "running", "success"]  # Segmenting, then a first picture


def test_a_poll_is_sent_again_after_a_retryable_error_only(client, recorded) -> None:
    recorded.get(RUNS + "/exec-1", json=_error("SERVICE_UNAVAILABLE", "busy", True), status=503)
    recorded.get(RUNS + "/exec-1", json=_run("Running"))
    assert client.get_execution("exec-1").status == "running"
    recorded.replace(responses.GET, RUNS + "/exec-1", json=_error("NOT_FOUND", "no such run", False), status=404)
    calls = len(recorded.calls)
    with pytest.raises(InvalidRequestError, match="no such run"):
        client.get_execution("exec-1")
    assert len(recorded.calls) == calls + 1


def test_upload_posts_multipart_image_to_the_assets_path(client, recorded, make_image) -> None:
    recorded.post(ASSETS, json={"success": True, "data": {"image": "https://cdn.test/up.png"}, "meta": {}})
    assert client.upload_image(make_image()) == "https://cdn.test/up.png"
    request = recorded.calls[0].request
    assert b'name="image"' in request.body and request.headers["Authorization"] == API_KEY


def test_start_uploads_local_images_after_the_checks(client, recorded, make_image) -> None:
    recorded.post(ASSETS, json={"success": True, "data": {"image": "https://cdn.test/up.png"}, "meta": {}})
    recorded.post(RUNS, json=STARTED)
    with pytest.raises(ParameterError):  # the rules first: nothing uploaded for a refused start
        client.start("kling", {"textDescription": "pan"}, input={"images": [make_image()] * 3})
    assert len(recorded.calls) == 0
    client.start("kling", {"textDescription": "pan"}, input={"images": [make_image()]})
    assert _body(recorded.calls[1])["input"] == {"images": ["https://cdn.test/up.png"]}


def test_estimate_posts_the_run_body_and_reads_the_figures(client, recorded) -> None:
    reply = {"totalPower": 160, "type": "power", "exclusive": False, "paidPowerNotEnough": True, "isEstimated": True}
    recorded.post(ESTIMATES, json={"success": True, "data": reply, "meta": {}})
    estimate = client.estimate("virtualtryon", TRYON, input={"originalImage": IMAGE})
    assert (estimate.points, estimate.enough, estimate.estimated) == (160, False, True)
    assert _body(recorded.calls[0])["agent"] == {"name": "virtualtryon", "version": "v1.0"}
    assert "Idempotency-Key" not in recorded.calls[0].request.headers  # nothing is created


def test_v1_estimate_is_unknown_but_names_the_catalogue_price_note(recorded) -> None:
    from .fixtures import reference

    recorded.get(INFO, json=reference.INFO)
    client = WeShopClient(api_key=API_KEY, api="v1")
    params = {"textDescription": "x", "fashionModelId": 4020095, "batchCount": 4}
    estimate = client.estimate("aimodel", params)
    assert estimate.points is None and estimate.extra == 20
    assert "the v1 API has no cost estimate" in estimate.note and "Eve adds 5 points per image" in estimate.note
    assert client.estimate("aipose", {"textDescription": "x"}).points is None
    assert len(recorded.calls) == 1  # the catalogue, once; no estimate call exists on v1


def test_agent_info_reads_every_page(recorded) -> None:
    def page(number: int, locations: list, last: bool, backgrounds: list) -> dict:
        data = {
            "agentName": "removeBG",
            "agentVersion": "v1.0",
            "locations": locations,
            "fashionModels": [],
            "backgrounds": backgrounds,
            "pagination": {
                "page": number,
                "pageSize": 100,
                "locations": {"total": 0, "isLastPage": True},
                "backgrounds": {"total": 101, "isLastPage": last},
            },
        }
        return {"success": True, "code": "0", "msg": "success", "data": data}

    first = [{"id": n, "name": f"bg {n}"} for n in range(100)]
    recorded.get(INFO, json=page(1, [], False, first))
    recorded.get(INFO, json=page(2, [], True, [{"id": 100, "name": "bg 100"}]))
    info = WeShopClient(api_key=API_KEY).agent_info("removeBG")
    assert len(info.backgrounds) == 101 and info.background("bg 100").id == 100
    assert [c.request.params["page"] for c in recorded.calls] == ["1", "2"]
    assert recorded.calls[0].request.params["pageSize"] == "100"


def test_the_api_comes_from_the_argument_or_the_environment(monkeypatch) -> None:
    assert WeShopClient(api_key=API_KEY).api == "v1"
    monkeypatch.setenv("WESHOP_API", "runs")
    assert WeShopClient(api_key=API_KEY).api == "runs"
    assert WeShopClient(api_key=API_KEY, api="v1").api == "v1"
    monkeypatch.setenv("WESHOP_API", "v2")
    with pytest.raises(InvalidRequestError, match="WESHOP_API must be one of v1, runs, got 'v2'"):
        WeShopClient(api_key=API_KEY)
    with pytest.raises(InvalidRequestError, match="api must be one of v1, runs"):
        WeShopClient(api_key=API_KEY, api="rest")


def test_registry_names_and_specs() -> None:
    client = WeShopClient(api_key=API_KEY)
    assert client.agents()[:2] == ["aimodel", "virtualtryon"] and "kling" in client.agents()
    assert client.agent_spec("kling").output == "video"
    assert client.agent_spec("faceswap") is None
