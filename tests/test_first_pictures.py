"""First pictures first: every card of a run shows its first picture before any card gets its second."""

from __future__ import annotations

import threading

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch
from weshop_nb.work._run import DownloadPool

from .conftest import API_KEY


def test_the_line_takes_the_lowest_rank_first_even_when_it_joins_later() -> None:
    pool = DownloadPool(2)
    gate, started, order = threading.Event(), threading.Semaphore(0), []

    def fetch(key: str) -> str:
        order.append(key)
        if key.startswith("busy"):
            started.release()
            gate.wait(10)
        return key.upper()

    first = pool.submit(fetch, ["busy-1", "busy-2"])
    for _ in range(2):  # both threads are taken
        assert started.acquire(timeout=10)
    later = pool.submit(fetch, ["a-second", "a-third"], [1, 2])
    latest = pool.submit(fetch, ["b-first", "c-first"], [0, 0])  # joins after, goes ahead
    gate.set()
    results = [future.result(10) for future in first + later + latest]
    assert results == ["BUSY-1", "BUSY-2", "A-SECOND", "A-THIRD", "B-FIRST", "C-FIRST"]
    assert order[2:] == ["b-first", "c-first", "a-second", "a-third"]
    pool.close()


def test_a_failed_fetch_is_raised_to_whoever_waits_for_it() -> None:
    pool = DownloadPool(4)

    def fetch(key: int) -> int:
        if key == 2:
            raise ValueError("no picture 2")
        return key

    futures = pool.submit(fetch, [1, 2, 3])
    assert futures[0].result(10) == 1 and futures[2].result(10) == 3
    assert isinstance(futures[1].exception(10), ValueError)
    pool.close()


def test_every_card_gets_its_first_picture_before_any_gets_its_second(make_image) -> None:
    with emulator.serve(api_key=API_KEY, latency=0, seed=3) as emu:
        client = WeShopClient(api_key=API_KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(make_image()))
        jobs = [Job(task, {"textDescription": f"look {n}", "batchCount": 4}) for n in range(6)]
        cache = ThumbnailCache(client.fetch_image, width=64)
        run = launch(client, jobs, thumbnails=cache, watch=False, max_concurrent=3)
        shown: list[tuple[str, int]] = []  # (execution, pictures on its card) at every change
        run.on_update(lambda _, item: shown.append((item.job.prompt, len(item.thumbnails))))
        (watcher,) = run.make_watchers()
        watcher.poll_once()  # one tick sees all six finished, with 24 pictures to fetch

    assert all(item.status == "success" and len(item.thumbnails) == 4 for item in run.items)
    counts = [count for _, count in shown]
    assert counts == sorted(counts)  # every card's first, then every card's second...
    assert {prompt for prompt, count in shown if count == 1} == {f"look {n}" for n in range(6)}
    # Each card at the size of its four pictures from the first one on.
    assert all(item.expected_pictures == 4 for item in run.items)
