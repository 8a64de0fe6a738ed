"""The real client against the real emulator over loopback HTTP."""

from __future__ import annotations

import io

import pytest
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.emulator import pictures
from weshop_nb.service._errors import AuthenticationError, ExecutionFailed, InvalidRequestError

from .conftest import API_KEY


def test_quick_start_flow(client, emu, make_image) -> None:
    url = client.upload_image(make_image(640, 800))
    assert url.startswith(emu.base_url + "/files/uploads/")
    task = client.create_task("aimodel", "v1.0", originalImage=url, taskName="Create Task Api Test")
    params = {
        "generatedContent": "freeCreation",
        "maskType": "autoApparelSegment",
        "textDescription": "standing on the street on a sunny day",
    }
    execution = client.execute(task.id, params)
    assert execution.status == "pending"
    done = client.wait(execution.id, poll_interval=0.1)
    assert done.status == "success"
    assert done.params == params
    assert len(done.images) == 4  # the emulator's default batch
    picture = client.fetch_image(done.images[0])
    with Image.open(io.BytesIO(picture)) as image:
        assert image.format == "PNG" and image.size == pictures.RESULT_SIZE
    again = client.get_task(task.id)
    assert again.name == "Create Task Api Test"
    assert [e.id for e in again.executions] == [execution.id]


def test_local_image_is_uploaded_once_for_two_tasks(client, emu, make_image, tmp_path) -> None:
    path = tmp_path / "garment.jpg"
    path.write_bytes(make_image(700, 900, "JPEG"))
    first = client.create_task(originalImage=path)
    second = client.create_task(originalImage=str(path))
    assert first.init_params["originalImage"] == second.init_params["originalImage"]
    assert emu.stats()["uploads"] == 1


def test_result_images_are_deterministic(client, emu, make_image) -> None:
    url = client.upload_image(make_image())
    task = client.create_task(originalImage=url)
    params = {"textDescription": "same prompt", "locationId": 6000401, "batchCount": 1}
    first = client.wait(client.execute(task.id, params).id, poll_interval=0.1)
    second = client.wait(client.execute(task.id, params).id, poll_interval=0.1)
    assert first.images != second.images  # different executions, different URLs
    assert client.fetch_image(first.images[0]) == client.fetch_image(second.images[0])


def test_executions_come_back_newest_last_and_windowed(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        launched = [client.execute(task.id, {"textDescription": f"prompt {n}"}).id for n in range(23)]
        seen = client.get_task(task.id)
        assert len(seen.executions) == 20
        # executionTime has one-second resolution, so check the set and the order of times.
        assert {e.id for e in seen.executions} == set(launched[-20:])
        times = [e.executed_at for e in seen.executions]
        assert times == sorted(times)
        outside = client.get_execution(launched[0])  # still reachable by id
        assert outside.params["textDescription"] == "prompt 0"


def test_failed_execution_raises_with_reason(client, make_image) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    execution = client.execute(task.id, {"textDescription": "please #fail"})
    with pytest.raises(ExecutionFailed, match="asked to fail") as caught:
        client.wait(execution.id, poll_interval=0.1)
    assert caught.value.execution.status == "failed"
    assert caught.value.execution.images == []


def test_emulator_refusals_reach_the_user_as_typed_errors(client, emu, make_image) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    with pytest.raises(InvalidRequestError, match="locationId 1 does not exist"):
        client.execute(task.id, {"locationId": 1})
    with pytest.raises(InvalidRequestError, match="Unknown agentName 'aimodle'"):
        client.create_task("aimodle", "v1.0", originalImage="https://cdn.test/x.png")
    client.delete_task(task.id)
    with pytest.raises(InvalidRequestError, match="not found"):
        client.get_task(task.id)
    wrong = WeShopClient(api_key="wrong-key", base_url=emu.base_url)
    with pytest.raises(AuthenticationError, match="Invalid API key"):
        wrong.agent_info()


def test_agent_info_catalogue_and_thumbnails(client) -> None:
    info = client.agent_info()
    assert len(info.locations) >= 8 and len(info.fashion_models) >= 8
    assert info.location("White Studio").id == 6000372
    assert any(m.price_description and "5 points" in m.price_description for m in info.fashion_models)
    with Image.open(io.BytesIO(client.fetch_image(info.locations[0].image))) as image:
        assert image.size[0] > 0
    assert client.agent_info("aipose", "v1.0").locations == ()


def test_lost_execute_reply_is_reconciled_not_duplicated(make_image) -> None:
    # Every execute is accepted by the emulator and then its connection is reset.
    with emulator.serve(api_key=API_KEY, latency=0.2, faults={"reset": 1.0}, fault_endpoints={"execute"}) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        first = client.execute(task.id, {"textDescription": "only once"})
        second = client.execute(task.id, {"textDescription": "only once"})
        assert first.id != second.id  # the second is a new execution, not the first adopted again
        assert emu.stats()["executions_created"] == 2
        assert emu.stats()["requests"]["execute"] == 2


def test_slow_execute_reply_is_reconciled(make_image) -> None:
    with emulator.serve(api_key=API_KEY, faults={"slow": 1.0}, fault_endpoints={"execute"}, slow_delay=1.5) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, timeout=(2, 0.5))
        task = client.create_task(originalImage=client.upload_image(make_image()))
        execution = client.execute(task.id, {"textDescription": "slow reply"})
        assert emu.stats()["executions_created"] == 1
        assert client.get_execution(execution.id).params["textDescription"] == "slow reply"
