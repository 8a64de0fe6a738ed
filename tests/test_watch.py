"""Watchers that cannot die: malformed replies, a key revoked mid-run, surprises, 429s."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Iterator

import pytest
from werkzeug.serving import make_server

from weshop_nb import WeShopClient, emulator
from weshop_nb.emulator import Emulator
from weshop_nb.service._rate import RateBudget
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._history import History
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch
from weshop_nb.work._session import Session
from weshop_nb.work._watch import SCHEDULER

from .conftest import API_KEY

#: What the mangler does to an execution record whose prompt names it.
BREAKAGES = {
    "bad-time": lambda e: e.update(executionTime="yesterday, roughly"),
    "bad-params": lambda e: e.update(params="not an object"),
    "bad-image": lambda e: [r.update(image=12345) for r in e.get("result") or []],
    "bad-result": lambda e: e.update(result="nope"),
}


class Mangler:
    """The emulator, with malformed execution records in its query replies, and a key it can revoke.

    Once it has served a reply in which every execution it was told to wait for is
    finished, it revokes the key: the next request is refused with a 401.
    """

    def __init__(self, app: Emulator, wait_for: set[str]) -> None:
        self.app = app
        self.wait_for = wait_for
        self.revoked = threading.Event()

    def __call__(self, environ, start_response):
        if not environ["PATH_INFO"].endswith("/agent/task/query"):
            return self.app(environ, start_response)
        captured = {}

        def capture(status, headers, exc_info=None):
            captured.update(status=status, headers=headers)

        body = json.loads(b"".join(self.app(environ, capture)))
        executions = (body.get("data") or {}).get("executions") or []
        finished = {e["params"]["textDescription"] for e in executions if e["status"] in ("Success", "Failed")}
        for record in executions:
            prompt = record["params"].get("textDescription", "")
            for marker, breakage in BREAKAGES.items():
                if marker in prompt:
                    breakage(record)
        if self.wait_for <= finished and not self.revoked.is_set():
            self.revoked.set()
            self.app.api_keys.clear()  # revoked: every later request gets 401
        data = json.dumps(body).encode()
        headers = [(k, v) for k, v in captured["headers"] if k.lower() != "content-length"]
        start_response(captured["status"], [*headers, ("Content-Length", str(len(data)))])
        return [data]


@pytest.fixture
def mangled() -> Iterator[tuple[Mangler, str]]:
    prompts = {"fine one", "fine two", *BREAKAGES}
    app = Emulator(API_KEY, latency=0.3, seed=4)
    held = app.store.execute

    def execute(task, params, host_url, callback_url):
        record = held(task, params, host_url, callback_url)
        if "held" in params.get("textDescription", ""):
            record.latency = 3600  # still running when the key is revoked
        return record

    app.store.execute = execute
    mangler = Mangler(app, prompts)
    server = make_server("127.0.0.1", 0, mangler, threaded=True)
    thread = threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True)
    thread.start()
    try:
        yield mangler, f"http://127.0.0.1:{server.server_port}"
    finally:
        server.shutdown()
        server.server_close()


def test_malformed_records_and_a_revoked_key_end_the_wait_with_the_reason(ip, mangled, monkeypatch) -> None:
    mangler, base_url = mangled
    monkeypatch.setenv("WESHOP_API_KEY", API_KEY)
    monkeypatch.setenv("WESHOP_BASE_URL", base_url)
    ip.run_cell("%config WeShopMagics.poll_interval = 0.1")
    ip.run_cell("%config WeShopMagics.wait_timeout = 60")
    body = "\n---\n".join(["fine one", "fine two", *BREAKAGES, "held back"])
    picture = f"{base_url}/files/uploads/garment.png"
    with _no_thread_dies():
        started = time.monotonic()
        ip.run_cell(f"%%weshop run --image {picture} --batch 2 --wait -o run\n{body}")
        waited = time.monotonic() - started
    run = ip.user_ns["run"]
    by_prompt = {item.job.prompt: item for item in run.items}
    assert mangler.revoked.is_set()
    assert waited < 60  # returned when the key was refused, long before --wait's timeout
    assert not run.watching
    assert "refused the API key" in run.notice and "refused the API key" in run.summary()
    for prompt in ("fine one", "fine two"):
        assert by_prompt[prompt].status == "success" and len(by_prompt[prompt].thumbnails) == 2
        assert by_prompt[prompt].warnings == ()
    assert by_prompt["bad-time"].status == "success" and by_prompt["bad-time"].execution.executed_at is None
    assert "executionTime 'yesterday, roughly' is not a time" in by_prompt["bad-time"].warnings[0]
    assert by_prompt["bad-params"].execution.params == {} and "params" in by_prompt["bad-params"].warnings[0]
    assert by_prompt["bad-image"].execution.images == [] and "image URL 12345" in by_prompt["bad-image"].warnings[0]
    assert (
        by_prompt["bad-result"].status == "success"
        and "result 'nope' is not a list" in by_prompt["bad-result"].warnings[0]
    )
    assert by_prompt["held back"].status == "pending"
    html = run._repr_html_()
    assert "is not a time" in html and "refused the API key" in html
    frame = run.to_frame()
    assert frame.loc[frame["prompt"] == "bad-params", "status"].item() == "success"  # the job's prompt kept


def _until(condition, limit: float = 20.0) -> None:
    """Wait (bounded) until ``condition()`` holds."""
    deadline = time.monotonic() + limit
    while not condition():
        assert time.monotonic() < deadline, "gave up waiting"
        time.sleep(0.02)


class _no_thread_dies:
    """Fails the test if any thread ends with an exception while it runs."""

    def __enter__(self):
        self.errors = []
        self.previous = threading.excepthook
        threading.excepthook = lambda args: self.errors.append(args.exc_value)
        return self

    def __exit__(self, *exc):
        threading.excepthook = self.previous
        assert self.errors == []


def test_a_surprise_in_a_tick_is_shown_and_watching_goes_on(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0.3) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        broken = threading.Event()
        broken.set()
        real = client.get_task

        def get_task(task_id):
            if broken.is_set():
                raise KeyError("a bug nobody foresaw")
            return real(task_id)

        client.get_task = get_task
        with pytest.warns(RuntimeWarning, match="unexpected error"), _no_thread_dies():
            run = launch(client, [Job(task, {"textDescription": f"p{n}"}) for n in range(3)], poll_interval=0.05)
            (watcher,) = run.watchers
            _until(lambda: watcher.unexpected >= 2)
            assert "KeyError" in run.summary() and run.watching
            broken.clear()
            run.wait(timeout=30)
    assert run.counts()["success"] == 3 and "KeyError" not in run.summary()


def test_rate_budget_holds_every_caller_after_a_429() -> None:
    now = [100.0]
    budget = RateBudget(limit=30, clock=lambda: now[0])
    assert budget.remaining() == 0 and budget.wait() is True
    budget.hold(5)
    budget.hold(2)  # a shorter one never shortens the hold
    assert budget.strikes == 2 and budget.remaining() == 5
    budget.hold(600)
    assert budget.remaining() == 30  # capped
    budget.hold(None)
    now[0] += 31
    assert budget.remaining() == 0
    stop = threading.Event()
    stop.set()
    budget.hold(10)
    assert budget.wait(stop) is False  # a stopped watcher does not sit out the hold


def test_a_429_in_one_thread_holds_the_others(make_image) -> None:
    """The transport tells the budget of a 429 it retries itself; other threads wait it out."""
    arrivals: list[float] = []
    app = Emulator(API_KEY, latency=0.2)
    answered = []

    def service(environ, start_response):
        path = environ["PATH_INFO"]
        if path.endswith("/agent/task/query"):
            arrivals.append(time.monotonic())
            if not answered:
                answered.append(time.monotonic())
                start_response("429 Too Many Requests", [("Retry-After", "1"), ("Content-Type", "application/json")])
                return [b'{"success": false, "code": 42900, "msg": "slow down"}']
        return app(environ, start_response)

    server = make_server("127.0.0.1", 0, service, threaded=True)
    threading.Thread(target=server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True).start()
    try:
        client = WeShopClient(api_key=API_KEY, base_url=f"http://127.0.0.1:{server.server_port}")
        task = client.create_task(originalImage="https://cdn.test/garment.png")
        first = threading.Thread(target=client.get_task, args=(task.id,))
        first.start()
        _until(lambda: client.rate.strikes > 0)
        client.get_task(task.id)  # another thread of the same client, during the hold
        first.join(10)
    finally:
        server.shutdown()
        server.server_close()
    assert client.rate.strikes == 1
    assert len(arrivals) == 3
    # Nothing reached the service before the Retry-After second was over.
    assert min(arrivals[1:]) - answered[0] >= 0.9


def test_first_poll_waits_for_the_latency_learnt_from_history(emu, make_image) -> None:
    session = Session(WeShopClient(api_key=API_KEY, base_url=emu.base_url), poll_interval=0.1)
    try:
        assert session.expected_latency("aimodel") == 0.1  # nothing learnt yet: the poll interval
        task = session.create_task("aimodel", "v1.0", make_image())
        jobs = [Job(task, {"textDescription": f"p{n}", "batchCount": 1}) for n in range(4)]
        session.launch(jobs).wait(timeout=20)
        learnt = session.expected_latency("aimodel")
        assert learnt >= 0.3  # the emulator takes 0.4 s; each was seen finished at most one poll later
        assert History().typical_latency("aipose", emu.base_url) is None
        assert session.launch(jobs[:1]).first_poll == learnt
    finally:
        session.close()


def _fetchers() -> set[threading.Thread]:
    return {t for t in threading.enumerate() if t.name.startswith("weshop-fetch")}


def test_a_finished_run_leaves_no_thread_behind(client, make_image) -> None:
    task = client.create_task(originalImage=client.upload_image(make_image()))
    cache = ThumbnailCache(client.fetch_image, width=32)
    jobs = [Job(task, {"textDescription": f"p{n}", "batchCount": 1}) for n in range(21)]  # two tasks
    before = _fetchers()  # other tests' runs may still be watching
    run = launch(client, jobs, thumbnails=cache, poll_interval=0.1).wait(timeout=30)
    for watcher in run.watchers:
        watcher.join(10)
    assert len(run.watchers) == 2 and cache.downloads == 21  # pictures fetched by the run's own threads
    assert all(watcher.ended for watcher in run.watchers)
    _until(lambda: _fetchers() <= before)  # its download threads were let go
    _until(lambda: SCHEDULER.threads == 0 or bool(SCHEDULER._due))  # its threads too, unless others watch
