"""Runs against the emulator: sweeps, the watcher's economy, and surviving trouble."""

from __future__ import annotations

import pytest

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._errors import InvalidRequestError, WaitTimeout
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._jobs import Job, sweep
from weshop_nb.work._launch import launch
from weshop_nb.work._records import FRAME_COLUMNS
from weshop_nb.work._session import Session

from .conftest import API_KEY


def _tasks(client: WeShopClient, picture: bytes, count: int) -> list:
    url = client.upload_image(picture)
    return [client.create_task(originalImage=url, taskName=f"task {n}") for n in range(count)]


def test_sweep_is_every_combination(client, make_image) -> None:
    (task,) = _tasks(client, make_image(), 1)
    info = client.agent_info()
    locations = [info.location("Sunny Beach"), info.location("White Studio")]
    models = [info.fashion_model("Eve"), info.fashion_model("Kenji")]
    jobs = sweep(task, ["a", "b", "c"], locations, models, maskType="autoApparelSegment", pose=None)
    assert len(jobs) == 12
    assert {(j.prompt, j.params["locationId"], j.params["fashionModelId"]) for j in jobs} == {
        (p, loc.id, m.id) for p in "abc" for loc in locations for m in models
    }
    assert all("pose" not in j.params and j.params["maskType"] == "autoApparelSegment" for j in jobs)
    assert sweep(task, [None], [None], [None], batchCount=2)[0].params == {"batchCount": 2}


def test_forty_executions_over_two_tasks_poll_once_per_task_per_tick(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=1.5, seed=5) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        tasks = _tasks(client, make_image(), 2)
        jobs = [Job(task, {"textDescription": f"prompt {n}", "batchCount": 1}) for task in tasks for n in range(20)]
        before = emu.stats()["requests"].get("query", 0)
        run = launch(client, jobs, poll_interval=0.3, max_interval=1.0)
        run.wait(timeout=30)
        queries = emu.stats()["requests"]["query"] - before
    assert run.done and run.counts()["success"] == 40
    assert len(run.watchers) == 2
    for watcher in run.watchers:
        assert watcher.execution_queries == 0  # all 20 fit in the task's window
        assert watcher.task_queries <= watcher.ticks  # at most one query per tick
    assert queries == sum(w.task_queries for w in run.watchers)
    naive = 40 * max(w.ticks for w in run.watchers)  # one query per execution per tick
    assert queries * 10 <= naive


def test_executions_outside_the_window_are_queried_by_id(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=60) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        (task,) = _tasks(client, make_image(), 1)
        jobs = [Job(task, {"textDescription": f"p{n}"}) for n in range(23)]
        run = launch(client, jobs, shard=False, watch=False)  # as with --task: all on one task
        (watcher,) = run.make_watchers()
        watcher.poll_once()
        assert (watcher.task_queries, watcher.execution_queries) == (1, 3)  # the 3 oldest fell out of the window
        assert emu.stats()["requests"]["query"] == 1 + 3


def test_poll_once_updates_items_and_thumbnails(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        (task,) = _tasks(client, make_image(), 1)
        cache = ThumbnailCache(client.fetch_image, width=64)
        run = launch(client, [Job(task, {"textDescription": "x", "batchCount": 3})], thumbnails=cache, watch=False)
        seen = []
        run.on_update(lambda r, item: seen.append((item.status, len(item.thumbnails), item.expected_pictures)))
        (watcher,) = run.make_watchers()
        assert watcher.poll_once() is True
        assert watcher.poll_once() is False  # nothing left to watch
        (item,) = run.items
        assert item.status == "success" and len(item.thumbnails) == 3
        # Shown as they arrive; the new state comes with the last picture.
        assert seen == [("pending", 1, 3), ("pending", 2, 3), ("success", 3, 3)] and cache.downloads == 3
        frame = run.to_frame()
        assert list(frame.columns) == list(FRAME_COLUMNS)
        assert frame.loc[0, "n_images"] == 3 and str(frame["status"].dtype) == "category"
        assert frame.loc[0, "source"] == emu.base_url


def test_watcher_survives_service_errors(make_image) -> None:
    faults = {"5xx": 0.4, "badjson": 0.2}
    with emulator.serve(api_key=API_KEY, latency=0.5, seed=3, faults=faults, fault_endpoints={"query"}) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url, max_retries=0)
        (task,) = _tasks(client, make_image(), 1)
        run = launch(client, [Job(task, {"textDescription": f"p{n}"}) for n in range(5)], poll_interval=0.1)
        run.wait(timeout=30)
        assert run.counts()["success"] == 5
        assert sum(emu.stats()["faults"].values()) > 0


def test_failed_and_refused_executions_are_shown_not_raised(client, make_image) -> None:
    (task,) = _tasks(client, make_image(), 1)
    jobs = [
        Job(task, {"textDescription": "fine"}),
        Job(task, {"textDescription": "#fail"}),
        Job(task, {"locationId": 1}),
    ]
    run = launch(client, jobs, poll_interval=0.1).wait(timeout=20)
    assert [item.status for item in run.items] == ["success", "failed", "failed"]
    assert "asked to fail" in run.items[1].error
    assert "locationId 1 does not exist" in run.items[2].error and run.items[2].execution is None
    assert len(run.executions) == 2
    with pytest.raises(InvalidRequestError, match="does not exist"):
        launch(client, [Job(task, {"locationId": 1}), Job(task, {"locationId": 1})])


def test_wait_times_out_and_deleted_task_stops_watching(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=30) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        (task,) = _tasks(client, make_image(), 1)
        run = launch(client, [Job(task, {"textDescription": "slow"})], poll_interval=0.1)
        with pytest.raises(WaitTimeout, match="not finished"):
            run.wait(timeout=0.3)
        client.delete_task(task.id)
        run.wait(timeout=10)
        assert run.items[0].status == "failed" and "stopped watching" in run.items[0].error


def test_static_html_escapes_and_embeds(client, make_image) -> None:
    (task,) = _tasks(client, make_image(), 1)
    cache = ThumbnailCache(client.fetch_image, width=32)
    run = launch(client, [Job(task, {"textDescription": "<script>alert(1)</script>"})], thumbnails=cache)
    run.wait(timeout=20)
    page = run._repr_html_()
    assert "<script>" not in page and "&lt;script&gt;" in page
    assert page.count("data:image/webp;base64,") == 4
    assert "127.0.0.1" not in page  # pictures embedded, not linked to the service
    assert run._repr_mimebundle_()["text/plain"].startswith("<Run of 1 execution")


def test_on_finish_is_called_once_at_the_end_or_at_once_when_late(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        (task,) = _tasks(client, make_image(), 1)
        run = launch(client, [Job(task, {"textDescription": f"p{n}"}) for n in range(2)], watch=False)
        ended: list[str] = []
        run.on_finish(lambda r: ended.append("early"))
        (watcher,) = run.make_watchers()
        assert not run.finished and ended == []
        watcher.poll_once()
        assert run.finished and ended == ["early"]  # once, after the last update
        run.publish(run.items[0])
        run.on_finish(lambda r: ended.append("late"))
        assert ended == ["early", "late"]
        stopped = launch(client, [Job(task, {"textDescription": "slow"})], watch=False)
        stopped.on_finish(lambda r: ended.append("stopped"))
        stopped.stop()  # watching stops before the execution finishes: its views end too
        assert ended[-1] == "stopped" and not stopped.done


def test_run_retry_and_session_retry_launch_the_way_the_run_was_launched(emu, make_image) -> None:
    client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
    session = Session(client, thumbnail_size=64, poll_interval=0.1, max_poll_interval=0.5, max_concurrent=3)
    task = session.create_task("aimodel", "v1.0", make_image())
    run = session.launch([Job(task, {"textDescription": "x"})], width=96)
    # Settings changed after the launch shape the next launch, not a retry of this one.
    session.configure(thumbnail_size=128, poll_interval=0.3, max_poll_interval=1.0, max_concurrent=5)
    by_run = run.retry([0], watch=False)
    by_session = session.retry(run, [0])
    assert by_run.launch_options == by_session.launch_options == run.launch_options
    for again in (by_run, by_session):
        assert (again.width, again.poll_interval, again.max_interval) == (96, 0.1, 0.5)
        assert (again.max_concurrent, again.first_poll, again.thumbnails) == (3, run.first_poll, run.thumbnails)
    assert by_session in session.runs and by_run not in session.runs
    assert run.retry([0], watch=False, width=48).width == 48  # an override replaces one option
    session.close()
