"""The emulator's agent-runs API: envelope, idempotent starts, billing, info pages, faults, pictures."""

from __future__ import annotations

import io
import time

import pytest
import requests
from PIL import Image, ImageDraw

from weshop_nb import emulator

from ..conftest import API_KEY

AIMODEL = {
    "agent": {"name": "aimodel", "version": "v1.0"},
    "input": {"originalImage": "https://cdn.test/a.png"},
    "params": {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "textDescription": "x"},
}


class Runs:
    def __init__(self, base_url: str, key: str = API_KEY) -> None:
        self.base, self.key = base_url, key

    def post(self, path: str, body=None, key: str | None = None, **kw) -> requests.Response:
        headers = {"Authorization": self.key, **({"Idempotency-Key": key} if key else {})}
        return requests.post(f"{self.base}/openapi/agent{path}", json=body, headers=headers, timeout=10, **kw)

    def get(self, path: str) -> requests.Response:
        return requests.get(self.base + path, headers={"Authorization": self.key}, timeout=10)

    @staticmethod
    def ok(response: requests.Response) -> dict:
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["success"] is True and isinstance(body["meta"], dict), body
        return body["data"]

    def wait(self, execution_id: str) -> tuple[dict, list[str]]:
        seen: list[str] = []
        for _ in range(200):
            data = self.ok(self.get(f"/openapi/agent/runs/{execution_id}"))
            status = data["executions"][-1]["status"]
            if not seen or seen[-1] != status:
                seen.append(status)
            if status in ("Success", "Failed"):
                return data, seen
            time.sleep(0.02)
        raise AssertionError(f"run {execution_id} never finished: {seen}")


@pytest.fixture
def runs(emu) -> Runs:
    return Runs(emu.base_url)


def _error(response: requests.Response, status: int, text: str, retryable: bool = False) -> dict:
    assert response.status_code == status, response.text
    body = response.json()
    assert body["success"] is False and set(body["error"]) == {"code", "message", "retryable"}
    assert body["error"]["retryable"] is retryable
    assert text in body["error"]["message"], body["error"]["message"]
    return body["error"]


def test_start_poll_and_billing(emu, runs) -> None:
    first = runs.ok(runs.post("/runs", AIMODEL, key="k1"))
    assert {"executionId", "taskId", "powerConsumption", "powerBalanceAmount"} <= set(first)
    second = runs.ok(runs.post("/runs", {**AIMODEL, "params": {**AIMODEL["params"], "batchCount": 2}}, key="k2"))
    assert second["powerBalanceAmount"] == first["powerBalanceAmount"] - second["powerConsumption"] > 0
    data, seen = runs.wait(first["executionId"])
    assert data["agentName"] == "aimodel" and data["initParams"] == AIMODEL["input"]
    assert seen[-1] == "Success" and "Segmenting" in seen and seen.index("Segmenting") < seen.index("Success")
    assert all(r["image"].startswith("http") for r in data["executions"][-1]["result"])
    # a run is a task with one execution: the v1 query sees it too
    v1 = requests.post(
        f"{emu.base_url}/openapi/v1/agent/task/query",
        json={"executionId": first["executionId"]},
        headers={"Authorization": API_KEY},
        timeout=10,
    ).json()["data"]
    assert v1["executions"][0]["executionId"] == first["executionId"]


def test_idempotency_key_makes_one_run(emu, runs) -> None:
    replies = [runs.ok(runs.post("/runs", AIMODEL, key="same")) for _ in range(3)]
    assert len({r["executionId"] for r in replies}) == 1
    assert emu.stats()["executions_created"] == 1
    changed = {**AIMODEL, "params": {**AIMODEL["params"], "textDescription": "y"}}
    error = _error(runs.post("/runs", changed, key="same"), 409, "already used for a different request body")
    assert error["code"] == "IDEMPOTENCY_CONFLICT"
    assert emu.stats()["executions_created"] == 1
    runs.ok(runs.post("/runs", changed, key="other"))
    assert emu.stats()["executions_created"] == 2


def test_estimate_creates_and_bills_nothing(emu, runs) -> None:
    estimate = runs.ok(runs.post("/power-estimates", AIMODEL))
    assert estimate["totalPower"] > 0 and estimate["paidPowerNotEnough"] is False
    assert {"type", "exclusive", "isEstimated"} <= set(estimate)
    assert emu.stats()["executions_created"] == 0 and emu.stats()["tasks_created"] == 0
    run = runs.ok(runs.post("/runs", AIMODEL))
    assert run["powerConsumption"] == estimate["totalPower"]


@pytest.mark.parametrize(
    ("body", "status", "text"),
    [
        ({"input": {}, "params": {}}, 400, "agent is required"),
        ({**AIMODEL, "agent": {"name": "nope", "version": "v1.0"}}, 400, "Unknown agentName 'nope'"),
        ({**AIMODEL, "input": {}}, 400, "originalImage is required for aimodel"),
        ({**AIMODEL, "params": {"textDescription": "x"}}, 400, "generatedContent is required for aimodel"),
        ({**AIMODEL, "safeGenerate": "maybe"}, 400, "safeGenerate must be on or off"),
        (
            {"agent": {"name": "kling", "version": "v1.0"}, "input": {"images": ["https://a/1", "https://a/2"]},
             "params": {"textDescription": "x", "modelName": "Kling_2_1_Master"}}, 400,
            "kling takes at most 1 image in images with modelName Kling_2_1_Master",
        ),
        (
            {"agent": {"name": "ai-photoshoot", "version": "v1.0"}, "input": {"images": ["https://a/1"]},
             "params": {}}, 400, "ai-photoshoot takes exactly 2 images in images (the character first",
        ),
    ],
)  # fmt: skip
def test_refusals_use_the_runs_envelope(runs, body, status, text) -> None:
    _error(runs.post("/runs", body), status, text)


def test_auth_and_unknown_run(runs) -> None:
    _error(Runs(runs.base, "wrong").post("/runs", AIMODEL), 401, "Invalid API key")
    _error(runs.get("/openapi/agent/runs/nope"), 404, "Execution 'nope' not found")


def test_faults_reach_the_runs_endpoints_and_are_retryable() -> None:
    with emulator.serve(api_key=API_KEY, faults="5xx:0.5,429:0.5", seed=3) as server:
        runs = Runs(server.base_url)
        statuses = set()
        for _ in range(20):
            response = runs.post("/runs", AIMODEL, key="k")
            error = _error(response, response.status_code, "", retryable=True)
            statuses.add((response.status_code, error["code"]))
        assert {s for s, _ in statuses} == {503, 429}
        assert server.stats()["executions_created"] == 0


def _info(response: requests.Response) -> dict:
    """Agent info stays on v1 for both APIs, with v1's envelope."""
    assert response.status_code == 200, response.text
    return response.json()["data"]


def test_info_pages(runs) -> None:
    info = _info(runs.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0&pageSize=3&page=2"))
    assert len(info["locations"]) == 3 and info["pagination"]["locations"]["isLastPage"] is False
    everything = _info(runs.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0"))
    assert everything["pagination"]["pageSize"] == 50
    assert len(everything["locations"]) == everything["pagination"]["locations"]["total"]
    only = _info(runs.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0&resourceType=fashionModels"))
    assert "locations" not in only and only["fashionModels"]
    backgrounds = _info(runs.get("/openapi/v1/agent/info?agentName=removeBG&agentVersion=v1.0"))["backgrounds"]
    assert backgrounds and requests.get(backgrounds[0]["image"], timeout=10).status_code == 200
    response = runs.get("/openapi/v1/agent/info?agentName=aimodel&agentVersion=v1.0&pageSize=101")
    assert response.status_code == 400 and "over the maximum 100 by 1" in response.json()["msg"]


def _garment() -> bytes:
    image = Image.new("RGB", (600, 800), (250, 250, 250))
    ImageDraw.Draw(image).rectangle((200, 200, 400, 600), fill=(200, 30, 30))
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def _result(runs: Runs, agent: str, params: dict, input_: dict) -> dict:
    body = {"agent": {"name": agent, "version": "v1.0"}, "input": input_, "params": {**params, "batchCount": 1}}
    data, _ = runs.wait(runs.ok(runs.post("/runs", body))["executionId"])
    return data["executions"][-1]["result"][0]


def _picture(url: str) -> Image.Image:
    response = requests.get(url, timeout=10)
    assert response.status_code == 200
    return Image.open(io.BytesIO(response.content))


def test_results_show_what_each_agent_did(runs) -> None:
    files = {"image": ("garment.png", _garment(), "image/png")}
    url = runs.ok(requests.post(f"{runs.base}/openapi/agent/assets/images", files=files,
                                headers={"Authorization": API_KEY}, timeout=10))["image"]  # fmt: skip
    source = {"originalImage": url}

    expanded = _picture(
        _result(runs, "expandimage", {"targetWidth": 1000, "targetHeight": 900, "fillTop": 0}, source)["image"]
    )
    assert expanded.size == (1000, 900)
    assert expanded.convert("RGB").getpixel((200 + 300, 300)) == (200, 30, 30)  # centred across, at the top

    green = _picture(
        _result(runs, "removeBG", {"maskType": "autoSubjectSegment", "backgroundHex": "#00ff00"}, source)["image"]
    )
    assert green.convert("RGB").getpixel((5, 5)) == (0, 255, 0) and green.convert("RGB").getpixel((300, 400)) == (
        200,
        30,
        30,
    )
    clear = _picture(_result(runs, "removeBG", {"maskType": "autoSubjectSegment"}, source)["image"])
    assert clear.mode == "RGBA" and clear.getpixel((5, 5))[3] == 0 and clear.getpixel((300, 400))[3] == 255

    tryon = {"generateVersion": "weshopPro", "descriptionType": "auto", "aspectRatio": "16:9"}
    wide = _picture(_result(runs, "virtualtryon", tryon, source)["image"])
    assert abs(wide.width / wide.height - 16 / 9) < 0.01

    clip = _result(runs, "kling", {"textDescription": "slow pan"}, {"images": [url]})
    video, poster = _picture(clip["video"]), _picture(clip["videoPoster"])
    assert video.format == "WEBP" and video.n_frames > 1 and poster.format == "PNG" and poster.size == video.size
