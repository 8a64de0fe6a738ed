"""Outages and endings, through the magic and the public names: every run ends in a state a
person can read, and nothing is lost (the emulator's ``executions_created`` against the history)."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator

import pytest
from IPython.core.error import UsageError
from werkzeug.serving import make_server

from weshop_nb import History
from weshop_nb.emulator import Emulator

from .conftest import API_KEY


class Service:
    """The emulator behind a switch: ``down`` makes every task query fail with a 503, and
    ``restart()`` puts a new emulator (one that knows no task) at the same address."""

    def __init__(self, latency: float) -> None:
        self.latency = latency
        self.app = Emulator(API_KEY, latency=latency, seed=11)
        self.down = threading.Event()

    def restart(self) -> None:
        self.app = Emulator(API_KEY, latency=self.latency, seed=12)

    def __call__(self, environ, start_response):
        if self.down.is_set() and environ["PATH_INFO"].endswith("/agent/task/query"):
            start_response("503 Service Unavailable", [("Content-Type", "application/json")])
            return [b'{"success": false, "code": 50300, "msg": "down for maintenance"}']
        return self.app(environ, start_response)


@pytest.fixture
def service(monkeypatch) -> Iterator[tuple[Service, str]]:
    app = Service(latency=1.0)
    server = make_server("127.0.0.1", 0, app, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    base_url = f"http://127.0.0.1:{server.server_port}"
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", base_url)
    try:
        yield app, base_url
    finally:
        server.shutdown()
        server.server_close()


def _until(condition, limit: float = 30.0) -> None:
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


def _launch(ip, base_url: str, prompts: int, extra: str = "") -> None:
    ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
    ip.run_cell("%config WeShopMagics.max_poll_interval = 0.2")
    body = "\n---\n".join(f"look {n}" for n in range(prompts))
    ip.run_cell(f"%%weshop run --image {base_url}/files/uploads/garment.png --batch 1 -o run {extra}\n{body}")


def _statuses() -> dict[str, str]:
    frame = History().executions()
    return dict(zip(frame["execution_id"], frame["status"], strict=True))


def test_an_outage_is_said_throughout_then_given_up_and_watched_again(ip, service, capsys) -> None:
    app, base_url = service
    ip.run_cell("%config WeShopMagics.give_up_after = 2")
    app.app.store.latency = 8  # still running when watching gives up
    app.down.set()  # every task query fails from the first one
    _launch(ip, base_url, 3)
    run = ip.user_ns["run"]
    samples = []
    _until(lambda: run.watchers[0].failing_since is not None)
    while run.watching:  # the reason is in the summary for the whole outage, not every other poll
        samples.append(run.summary())
        time.sleep(0.05)
    assert len(samples) >= 10
    assert all("polls failing since " in line and "down for maintenance" in line for line in samples)
    summary = run.summary()
    assert "gave up watching after 2 s of failed polls (since " in summary
    assert "down for maintenance" in summary and "run.watch() or %weshop resume watches again" in summary
    assert "gave up watching after 2 s" in run._repr_html_()  # the static picture
    from weshop_nb.notebook.widgets._grid import RunProgress

    assert "gave up watching after 2 s" in RunProgress(run).value  # the live display's bar
    assert set(_statuses().values()) == {"pending"}  # nothing decided while nobody could look

    app.down.clear()  # back: `%weshop resume` and run.watch() both watch again, and finish
    ip.run_cell("%weshop resume --wait -o again")
    again = ip.user_ns["again"]  # those the service had not finished by then
    assert f"Watching {len(again.items)} unfinished execution(s) again." in capsys.readouterr().out
    assert again.counts()["success"] == len(again.items) >= 1
    run.watch().wait(timeout=20)
    assert run.counts()["success"] == 3 and "gave up" not in run.summary()
    statuses = _statuses()
    assert app.app.stats()["executions_created"] == len(statuses) == 3  # none lost, none doubled
    assert set(statuses.values()) == {"success"}


def test_a_wait_that_times_out_names_why_it_still_waits(ip, service, capsys) -> None:
    app, base_url = service
    ip.run_cell("%config WeShopMagics.wait_timeout = 1.5")
    app.down.set()
    _launch(ip, base_url, 2, "--wait")
    said = capsys.readouterr().out
    assert "Still running after 1.5 s" in said and "down for maintenance" in said and "polls failing since" in said
    run = ip.user_ns["run"]
    assert run.watching  # the default give_up_after is minutes away
    app.down.clear()
    run.wait(timeout=20)
    assert app.app.stats()["executions_created"] == len(_statuses()) == 2


def test_a_deleted_task_ends_its_executions_in_the_run_and_the_history(ip, service, capsys) -> None:
    app, base_url = service
    app.app.store.latency = 60  # still running when the task goes
    _launch(ip, base_url, 3)
    run = ip.user_ns["run"]
    task_id = run.items[0].job.task.id
    ip.run_cell(f"%weshop delete {task_id}")
    run.wait(timeout=20)
    _until(lambda: not run.watching)  # its watcher ends once the run's views were told
    assert run.counts()["failed"] == 3
    reason = run.items[0].error
    assert f"task {task_id} is gone" in reason and "outcome is unknown" in reason
    frame = History().executions()
    assert set(frame["status"]) == {"failed"} and all("is gone" in e for e in frame["error"])
    assert History().executions(status="pending").empty
    ip.run_cell("%weshop resume")
    assert "Nothing to resume" in capsys.readouterr().out
    assert app.app.stats()["executions_created"] == len(frame) == 3


def test_executions_of_a_task_a_restarted_service_lost_end_at_the_next_resume(ip, service, capsys) -> None:
    app, base_url = service
    app.app.store.latency = 60
    _launch(ip, base_url, 2)
    run = ip.user_ns["run"]
    _until(lambda: run.watchers[0].ticks >= 1)
    run.stop()  # nobody watches when the service restarts
    _until(lambda: all(watcher.ended for watcher in run.watchers))  # a poll under way has returned
    created = app.app.stats()["executions_created"]
    app.restart()
    assert len(History().executions(status="pending")) == 2
    ip.run_cell("%weshop resume")
    assert "Nothing to resume" in capsys.readouterr().out
    frame = History().executions()
    assert set(frame["status"]) == {"failed"} and all("is gone" in e and "unknown" in e for e in frame["error"])
    assert History().executions(status="pending").empty
    assert created == len(frame) == 2


def test_a_refused_key_names_the_service_and_how_to_set_another(ip, emu, monkeypatch) -> None:
    monkeypatch.setenv("WESHOP_API_KEY", "sk-wrong-key-123")
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    with pytest.raises(UsageError) as refused:
        ip.run_line_magic("weshop", "info")
    message = str(refused.value)
    assert "refused the API key" in message and f"sent to {emu.base_url}" in message
    assert "%weshop login" in message and "WESHOP_API_KEY" in message
    assert "sk-wrong-key-123" not in message
    assert emu.stats()["executions_created"] == 0


def test_a_small_picture_is_refused_with_both_sides_and_the_fix(ip, emu, monkeypatch, make_image, tmp_path) -> None:
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", emu.base_url)
    small = tmp_path / "small.png"
    small.write_bytes(make_image(300, 700))
    with pytest.raises(UsageError) as refused:
        ip.run_cell(f'%%weshop run --image {small} --location "Sunny Beach"\na walk on the beach')
    message = str(refused.value)
    assert "small.png: 300x700 px" in message
    assert "at least 513 px on each side; scale it up or crop less" in message
    assert emu.stats()["uploads"] == 0 and emu.stats()["executions_created"] == 0


def test_the_client_wait_gives_up_after_the_same_outage(service) -> None:
    from weshop_nb import WeShopClient
    from weshop_nb.service._errors import ServiceError

    app, base_url = service
    client = WeShopClient(api_key=API_KEY, base_url=base_url, give_up_after=1.0)
    task = client.create_task(originalImage=f"{base_url}/files/uploads/garment.png")
    execution = client.execute(task.id, {"textDescription": "a walk", "batchCount": 1})
    app.down.set()
    real = client.get_execution

    def get_execution(execution_id):  # the outage, for this client's execution queries
        if app.down.is_set():
            raise ServiceError("The service failed (HTTP 503): down for maintenance", fate_unknown=True)
        return real(execution_id)

    client.get_execution = get_execution
    with pytest.raises(ServiceError, match=r"Gave up waiting for execution .* every poll failed for 1 s \(since "):
        client.wait(execution.id, poll_interval=0.1, max_interval=0.2)
    app.down.clear()
    assert client.wait(execution.id, poll_interval=0.1).status == "success"
