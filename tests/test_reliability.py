"""Faults injected by the emulator over loopback: nothing lost, nothing duplicated."""

from __future__ import annotations

import json
import threading
import time
from collections import Counter

import pytest
import requests

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._models import Execution, Result
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._history import History
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch
from weshop_nb.work._run import Run, RunItem

from .conftest import API_KEY, kernel_dies_mid_run

AGENT = {"agentName": "aimodel", "agentVersion": "v1.0"}
FAULT_MATRIX = {
    "5xx": {"faults": {"5xx": 0.2}},
    "429": {"faults": {"429": 0.2}},
    "reset": {"faults": {"reset": 0.2}},
    "slow": {"faults": {"slow": 0.2}, "slow_delay": 1.2},
    "badjson": {"faults": {"badjson": 0.2}},
    "failed": {"failure_rate": 0.2},
    "all": {
        "faults": {"5xx": 0.08, "429": 0.08, "reset": 0.05, "slow": 0.05, "badjson": 0.05},
        "failure_rate": 0.1,
        "slow_delay": 1.2,
    },
}


@pytest.mark.parametrize("kind", FAULT_MATRIX)
def test_sixty_executions_survive_each_fault(kind, make_image, capsys) -> None:
    with emulator.serve(api_key=API_KEY, latency=0.8, seed=11, **FAULT_MATRIX[kind]) as emu:
        # The read timeout is shorter than a slow reply, so "slow" means "reply lost".
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, timeout=(2, 0.8))
        url = client.upload_image(make_image())
        tasks = [client.create_task(originalImage=url, taskName=f"{kind} {n}") for n in range(3)]
        jobs = [Job(tasks[n % 3], {"textDescription": f"look {n}", "batchCount": 1}) for n in range(60)]
        run = launch(client, jobs, poll_interval=0.3, max_interval=1.0)
        run.wait(timeout=120)
        created = set(emu.emulator.store.executions)
        injected = emu.stats()["faults"]
    launched = {item.execution.id for item in run.items if item.execution is not None}
    recorded = set(History().executions()["execution_id"])
    statuses = Counter(item.status for item in run.items)
    with capsys.disabled():
        figures = {"kind": kind, "asked": 60, "created": len(created), "launched": len(launched)}
        figures |= {"success": statuses["success"], "failed": statuses["failed"], "injected": injected}
        figures |= {"lost": len(created - recorded), "duplicated": len(created) - 60}
        print("\nfault-matrix", json.dumps(figures))
    assert all(item.done for item in run.items)
    assert all(item.execution is not None or item.error for item in run.items)
    assert len(created) == 60  # zero duplicated, and nothing the user asked for is missing
    assert launched == created  # the client knows every execution the service started
    assert created <= recorded  # and every one is in the history database
    if kind != "failed":
        assert sum(injected.values()) > 0
    if kind in ("failed", "all"):
        failed = [item for item in run.items if item.status == "failed"]
        assert all(item.error for item in failed), [(i.execution, i.error) for i in failed if not i.error]


def test_resume_after_the_kernel_died(ip, make_image, tmp_path, monkeypatch) -> None:
    picture = tmp_path / "garment.png"
    picture.write_bytes(make_image())
    with emulator.serve(api_key=API_KEY, latency=3) as emu:
        kernel_dies_mid_run(emu.base_url, str(picture), 4, location_id=6000401)
        assert len(History().unfinished(source=emu.base_url)) == 4
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
        ip.run_cell("%weshop resume --wait -o resumed")
        run = ip.user_ns["resumed"]
        assert len(run.items) == 4 and run.counts()["success"] == 4
        assert {item.job.location.name for item in run.items} == {"Sunny Beach"}
        assert len(History().unfinished(source=emu.base_url)) == 0
        ip.run_cell("%weshop resume")  # nothing left: says so, launches nothing
        assert emu.stats()["executions_created"] == 4


def test_resume_finds_what_a_launch_cut_short_never_recorded(ip, make_image, tmp_path, monkeypatch) -> None:
    picture = tmp_path / "garment.png"
    picture.write_bytes(make_image())
    # Half the execute replies hang (the work is done), so the kernel dies with some unanswered.
    hang = {"faults": {"slow": 0.5}, "fault_endpoints": ["execute"], "slow_delay": 30, "seed": 5}
    with emulator.serve(api_key=API_KEY, latency=3.5, **hang) as emu:
        kernel_dies_mid_run(emu.base_url, str(picture), 8, mid_launch=0.8)
        created = set(emu.emulator.store.executions)
        assert len(created) == 8
        assert 0 < len(History().unfinished(source=emu.base_url)) < 8  # the dead kernel recorded only some
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        ip.run_cell("%config WeShopMagics.poll_interval = 0.2")
        ip.run_cell("%weshop resume --wait -o resumed")
        run = ip.user_ns["resumed"]
        assert {item.execution.id for item in run.items} == created
        assert run.counts()["success"] == 8
        assert emu.stats()["executions_created"] == 8


def test_resume_finds_executions_of_a_task_with_none_recorded(make_image) -> None:
    from weshop_nb.work._session import Session

    with emulator.serve(api_key=API_KEY, latency=30) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()), taskName="cut short")
        for n in range(2):  # started by a kernel that died before any reply came back
            body = {"taskId": task.id, "params": {"textDescription": f"p{n}"}}
            url = emu.base_url + "/openapi/v1/agent/task/execute"
            requests.post(url, json=body, headers={"Authorization": API_KEY}, timeout=5).raise_for_status()
        history = History()
        assert history.unfinished(source=emu.base_url).empty
        unfinished = Session(client).unfinished(history)
    assert len(unfinished) == 2 and set(unfinished["task_id"]) == {task.id}


def test_result_that_is_not_an_image_is_an_error_tile(client, emu) -> None:
    cache = ThumbnailCache(client.fetch_image, width=64)
    task = client.create_task(originalImage="https://cdn.test/garment.png")
    item = RunItem(Job(task, {"textDescription": "x"}))
    run = Run(client, [item], thumbnails=cache)
    not_a_picture = Execution("e", "success", {}, None, (Result("success", emu.base_url + "/"),), task.id)
    run.update(item, not_a_picture)
    assert item.thumbnails == [b""]
    assert "image unavailable" in run._repr_html_()


def test_untrusted_names_are_escaped_in_every_html_output(ip, make_image, tmp_path, monkeypatch) -> None:
    evil = "<script>alert('x')</script>"
    catalogue = {
        "locations": [{"id": 1, "name": evil, "categories": [evil], "tags": [{"id": 2, "name": evil}]}],
        "fashionModels": [{"id": 3, "name": evil, "profile": {"style": evil}, "tags": [{"id": 4, "name": evil}]}],
    }
    photo = tmp_path / "garment.png"
    photo.write_bytes(make_image())
    with emulator.serve(api_key=API_KEY, latency=0.2, catalogue=catalogue) as emu:
        monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
        monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
        from IPython.utils.capture import capture_output

        with capture_output() as captured:
            ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
            ip.run_cell("%weshop info")
            ip.run_cell(f"%%weshop run --image {photo} --location 1 --model 3 --wait -o run\n{evil}")
            ip.run_cell("run")
            task_id = ip.user_ns["run"].items[0].job.task.id
            ip.run_cell(f"%weshop status --task {task_id}")
            ip.run_cell("c = %weshop compare --by location_name,fashion_model_name")
            ip.run_cell("c")
        pages = [output.data.get("text/html", "") for output in captured.outputs]
        pages += [ip.user_ns["run"]._repr_html_(), ip.user_ns["c"]._repr_html_()]
    assert len([page for page in pages if page]) >= 5  # info x2, task status, run, comparison
    for page in pages:
        assert "<script>" not in page
    assert any("&lt;script&gt;" in page for page in pages)


def test_emulator_survives_a_bounded_load(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0.5) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        statuses: Counter[int] = Counter()
        accepted: list[str] = []
        lock = threading.Lock()
        headers = {"Authorization": API_KEY}
        api = emu.base_url + "/openapi/v1"
        query = {"taskId": task.id}

        def worker(number: int) -> None:
            with requests.Session() as http:
                for n in range(250):
                    if n % 5 == 0:
                        body = {"taskId": task.id, "params": {"textDescription": f"w{number}-{n}"}}
                        reply = http.post(api + "/agent/task/execute", json=body, headers=headers, timeout=10)
                        if reply.status_code == 200:
                            with lock:
                                accepted.append(reply.json()["data"]["executionId"])
                    elif n % 5 == 1:
                        reply = http.get(
                            api + "/agent/info?agentName=aimodel&agentVersion=v1.0", headers=headers, timeout=10
                        )
                    else:
                        reply = http.post(api + "/agent/task/query", json=query, headers=headers, timeout=10)
                    with lock:
                        statuses[reply.status_code] += 1

        started = time.monotonic()
        threads = [threading.Thread(target=worker, args=(n,)) for n in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(timeout=60)
        elapsed = time.monotonic() - started
        assert sum(statuses.values()) == 2000
        assert statuses == Counter({200: 2000})  # no 5xx, no refusal
        assert elapsed < 60
        assert emu.stats()["executions_created"] == len(accepted) == 400
        assert {e for e in accepted} <= set(emu.emulator.store.executions)
