"""Every registered agent through the real client and the real emulator, on both APIs."""

from __future__ import annotations

import pytest
import requests

from weshop_nb import WeShopClient, contract, emulator
from weshop_nb.emulator import catalogue
from weshop_nb.service._errors import ParameterError
from weshop_nb.work._history import History

from .conftest import API_KEY

#: One valid call per registered agent (the emulator's preset ids where one is needed).
CALLS = {
    "aimodel": {"generatedContent": "freeCreation", "maskType": "autoApparelSegment", "textDescription": "street"},
    "virtualtryon": {
        "generateVersion": "bananaPro",
        "descriptionType": "auto",
        "aspectRatio": "9:16",
        "imageSize": "1K",
    },
    "aiproduct": {"generatedContent": "freeCreation", "maskType": "autoSubjectSegment", "locationId": 6000372},
    "aipose": {"textDescription": "arms up", "generateVersion": "pro"},
    "expandimage": {"targetWidth": 1200, "targetHeight": 1200},
    "removeBG": {"maskType": "autoSubjectSegment", "backgroundHex": "#ffffff"},
    "kling": {"textDescription": "slow pan", "modelName": "Kling_2_6", "duration": "5s"},
    "ai-ghost-mannequin-generator": {"aspectRatio": "3:4", "imageSize": "2K"},
    "flat-lay": {"textDescription": "folded, sleeves out", "modelName": "nano"},
    "ai-clothes-changer": {"textDescription": "image 1 wearing image 2"},
    "outfit-generator": {"textDescription": "smart casual"},
    "ai-photoshoot": {"modelName": "nano", "aspectRatio": "21:9", "imageSize": "1K"},
}
#: The pictures of the agents that take two, in order (the others take the garment alone).
TWO_PICTURES = {"ai-clothes-changer", "ai-photoshoot"}


def test_every_registered_agent_has_a_call_here() -> None:
    assert set(CALLS) == set(contract.agents())


@pytest.mark.parametrize("api", ["v1", "runs"])
def test_every_agent_starts_and_finishes_on_both_apis(emu, make_image, api) -> None:
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, api=api, timeout=(2, 5))
    garment, person = make_image(640, 800), make_image(600, 900, color="orange")
    executions = {}
    for agent, params in CALLS.items():
        if agent in TWO_PICTURES:
            source = {"images": [person, garment]}
        elif contract.spec(agent).input("images").required:
            source = {"images": [garment]}
        else:
            source = {"originalImage": garment}
        if agent == "virtualtryon":
            source["fashionModelImage"] = person
        executions[agent] = client.start(agent, {**params, "batchCount": 1}, input={**source, "taskName": agent})
    for agent, started in executions.items():
        done = client.wait(started.id, timeout=30, poll_interval=0.05)
        assert done.status == "success", (agent, done)
        assert done.media == contract.spec(agent).output
        pictures = done.videos + [p for p in done.posters if p] if done.media == "video" else done.images
        assert len(pictures) == (2 if done.media == "video" else 1), (agent, done)
        for url in pictures:
            assert requests.get(url, timeout=5).status_code == 200
        # Billing figures come with a runs-API start only, and stay with later polls.
        assert (done.power_consumption is not None) == (api == "runs")
    if api == "runs":
        assert executions["kling"].power_consumption > executions["removeBG"].power_consumption
        balances = [e.power_balance for e in executions.values()]
        assert balances == sorted(balances, reverse=True)  # each start takes its points
    # The history has each execution, with its agent.
    frame = History().executions(source=emu.base_url)
    assert sorted(frame["agent_name"]) == sorted(CALLS)


def test_runs_api_refusals_are_local_first_and_remote_second(emu, make_image) -> None:
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, api="runs")
    before = emu.emulator.stats()["requests"]
    with pytest.raises(ParameterError, match="over the maximum 4096 by 904"):
        client.start("expandimage", {"targetWidth": 5000, "targetHeight": 800}, input={"originalImage": make_image()})
    assert emu.emulator.stats()["requests"] == before  # nothing sent, not even the upload
    # A rule only the service knows (a preset id must exist) comes back as its refusal.
    with pytest.raises(Exception, match="backgroundId 99 does not exist"):
        client.start(
            "removeBG", {"maskType": "autoSubjectSegment", "backgroundId": 99}, input={"originalImage": make_image()}
        )


def test_estimates_on_the_runs_api_match_what_the_start_bills(emu, make_image) -> None:
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, api="runs")
    url = client.upload_image(make_image())
    params = {**CALLS["virtualtryon"], "batchCount": 3}
    estimate = client.estimate("virtualtryon", params, input={"originalImage": url})
    started = client.start("virtualtryon", params, input={"originalImage": url})
    assert estimate.points == started.power_consumption > 0 and estimate.enough is True


def test_agent_info_reads_every_page_of_a_big_catalogue(make_image) -> None:
    locations = [{**catalogue.LOCATIONS[0], "id": 7000000 + n, "name": f"Scene {n}"} for n in range(230)]
    with emulator.serve(api_key=API_KEY, latency=0.1, catalogue={"locations": locations}) as emu:
        info = WeShopClient(api_key=API_KEY, base_url=emu.base_url).agent_info("aimodel")
        assert [loc.name for loc in info.locations] == [f"Scene {n}" for n in range(230)]
        assert len(info.fashion_models) == len(catalogue.FASHION_MODELS)
        assert emu.emulator.stats()["requests"]["info"] == 3  # pages of 100
        assert len(WeShopClient(api_key=API_KEY, base_url=emu.base_url).agent_info("removeBG").backgrounds) == 5
