"""The v1 task API checks every registered agent by the contract's registry."""

from __future__ import annotations

import pytest

from weshop_nb import contract

URL = "https://cdn.test/garment.png"


def _refused(response, text: str, code: int) -> None:
    assert response.status_code == 400, response.text
    body = response.json()
    assert body["success"] is False and body["code"] == code
    assert text in body["msg"], body["msg"]


@pytest.mark.parametrize(
    ("agent", "params", "text", "code"),
    [
        ("virtualtryon", {"generateVersion": "weshopPro", "descriptionType": "custom"},
         "descriptionType=custom needs textDescription", 40001),
        ("virtualtryon", {"generateVersion": "weshopFlash", "descriptionType": "auto", "aspectRatio": "1:1"},
         "aspectRatio is only used with generateVersion weshopPro or bananaPro, not weshopFlash", 40003),
        ("expandimage", {"targetWidth": 5000, "targetHeight": 100}, "over the maximum 4096 by 904", 40003),
        ("removeBG", {"maskType": "autoSubjectSegment", "backgroundHex": "fff"}, "'fff' is not #rrggbb", 40003),
        ("removeBG", {"maskType": "autoSubjectSegment", "backgroundId": 99}, "backgroundId 99 does not exist", 40004),
        ("aiproduct", {"generatedContent": "freeCreation", "maskType": "autoSubjectSegment"},
         "at least one of textDescription or locationId", 40001),
        ("kling", {"textDescription": "x", "duration": "20s"}, "duration '20s' is not allowed", 40003),
    ],
)  # fmt: skip
def test_v1_execute_refuses_by_the_registry(raw, agent, params, text, code) -> None:
    inputs = {"images": [URL]} if agent == "kling" else {"originalImage": URL}
    body = {"agentName": agent, "agentVersion": "v1.0", "initParams": inputs}
    task = raw.ok(raw.post("/agent/task/create", body))["taskId"]
    _refused(raw.post("/agent/task/execute", {"taskId": task, "params": params}), text, code)


def test_v1_create_checks_the_agents_images(raw) -> None:
    body = {"agentName": "kling", "agentVersion": "v1.0", "initParams": {"images": [URL, URL, URL]}}
    _refused(raw.post("/agent/task/create", body), "kling takes 1 or 2 images in images", 40003)
    body = {"agentName": "ai-clothes-changer", "agentVersion": "v1.0", "initParams": {"images": [URL]}}
    _refused(raw.post("/agent/task/create", body), "ai-clothes-changer takes exactly 2 images in images", 40003)
    body = {"agentName": "virtualtryon", "agentVersion": "v1.0", "initParams": {"originalImage": URL, "x": URL}}
    _refused(raw.post("/agent/task/create", body), "Unknown input(s) for virtualtryon: x", 40003)


def test_v1_execute_reads_the_tasks_images_for_a_rule_about_them(raw) -> None:
    # A last frame sits in the task's initParams; the model that refuses it comes with the execution.
    body = {"agentName": "kling", "agentVersion": "v1.0", "initParams": {"images": [URL, URL]}}
    task = raw.ok(raw.post("/agent/task/create", body))["taskId"]
    params = {"textDescription": "x", "modelName": "Kling_2_1_Master"}
    _refused(
        raw.post("/agent/task/execute", {"taskId": task, "params": params}), "with modelName Kling_2_1_Master", 40003
    )
    assert raw.ok(raw.post("/agent/task/execute", {"taskId": task, "params": {**params, "modelName": "Kling_2_1"}}))


def test_v1_runs_every_registered_agent(raw) -> None:
    calls = {
        "virtualtryon": {"generateVersion": "bananaPro", "descriptionType": "auto", "imageSize": "1K"},
        "aiproduct": {"generatedContent": "freeCreation", "maskType": "autoSubjectSegment", "locationId": 6000372},
        "expandimage": {"targetWidth": 1024, "targetHeight": 1024},
        "removeBG": {"maskType": "autoSubjectSegment", "backgroundId": 3},
        "kling": {"textDescription": "turn", "modelName": "Kling_2_6", "generateAudio": "false"},
        "ai-ghost-mannequin-generator": {"aspectRatio": "auto"},
        "flat-lay": {"textDescription": "folded"},
        "ai-clothes-changer": {},
        "outfit-generator": {"textDescription": "smart casual"},
        "ai-photoshoot": {"modelName": "nano", "imageSize": "2K"},
    }
    two = ("ai-clothes-changer", "ai-photoshoot")
    for agent, params in calls.items():
        takes_list = contract.spec(agent).input("images").required
        inputs = {"images": [URL, URL] if agent in two else [URL]} if takes_list else {"originalImage": URL}
        body = {"agentName": agent, "agentVersion": "v1.0", "initParams": inputs}
        task = raw.ok(raw.post("/agent/task/create", body))["taskId"]
        assert raw.ok(raw.post("/agent/task/execute", {"taskId": task, "params": params}))["executionId"]
