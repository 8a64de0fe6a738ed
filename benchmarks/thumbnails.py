"""The thumbnail pipeline (RESULTS item 8): pictures fetched and shrunk per second, and without their host.

Fetches the N result pictures of a finished run into a fresh on-disk ThumbnailCache,
one at a time (as one watcher thread does) and with a pool of 8, then a second time
from a new cache on the same folder: a warm second display downloads nothing.

Then the emulator is stopped: a new cache on the same folder (a new kernel) asks every
picture at a comparison's width (192 px, kept only at the cards' 384), and how many it
shows is counted; and 200 pictures of a host that refuses connections (a closed port on
127.0.0.1) are drawn, timed (each is "image unavailable").
Last, where one picture's CPU goes on its way to a card, one picture at a time on a quiet
machine (the floor under what ``sweep_speed.py`` measures in a sweep): the whole of
``ThumbnailCache.get`` for a new picture at a 4-picture card's width, and apart, on the same
pictures, its download, one PNG decode, and the shrink (decode, block reduction, WebP). So the
kernel's share against one decode splits into download, reduction and encoding, and the rest
(keeping the copy on disk, the cache's bookkeeping). Means over the pictures, each picture's
steps timed right after its path; the round with the smallest path of ``ROUNDS``.
Run: ``.venv/bin/python benchmarks/thumbnails.py [N]``.
"""

from __future__ import annotations

import io
import socket
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any

from _common import KEY, emit, garment
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._images import embed
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._html import pixels, thumb_width
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch

ROUNDS = 5
#: The width a live card of the default batch (4 pictures, 192 px) asks its pictures at.
CARD_WIDTH = pixels(thumb_width(4, 192))


def _rate(cache: ThumbnailCache, urls: list[str], workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(cache.get, urls))
    return len(urls) / (time.perf_counter() - started)


def _timed(function: Callable[..., Any], *args: Any) -> tuple[Any, float]:
    """``function(*args)`` and the CPU milliseconds this thread spent in it."""
    started = time.thread_time()
    result = function(*args)
    return result, (time.thread_time() - started) * 1000


def _decode(data: bytes) -> None:
    with Image.open(io.BytesIO(data)) as image:
        image.load()


def _steps(client: WeShopClient, urls: list[str], folder: str) -> dict[str, float]:
    """One round: the mean CPU (ms) of a new picture's path through the cache, and of its steps.

    Each picture's steps are timed right after its path, so a drift of the machine's speed
    falls on both alike; means, so the steps add up to the path.
    """
    cache = ThumbnailCache(client.fetch_image, directory=folder)
    times: dict[str, list[float]] = {"path": [], "download": [], "decode": [], "shrink": []}
    for url in urls:
        times["path"].append(_timed(cache.get, url, CARD_WIDTH)[1])
        data, download = _timed(client.fetch_image, url)
        times["download"].append(download)
        times["decode"].append(_timed(_decode, data)[1])
        times["shrink"].append(_timed(embed, data, CARD_WIDTH)[1])
    return {name: statistics.mean(values) for name, values in times.items()}


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with tempfile.TemporaryDirectory() as folder:
        with emulator.serve(api_key=KEY, latency=0) as emu:
            client = WeShopClient(api_key=KEY, base_url=emu.base_url)
            task = client.create_task(originalImage=client.upload_image(garment()))
            jobs = [Job(task, {"textDescription": f"p{n}", "batchCount": 4}) for n in range(count // 4)]
            run = launch(client, jobs, poll_interval=0.1).wait()
            urls = [url for execution in run.executions for url in execution.images]
            half = len(urls) // 2
            one = _rate(ThumbnailCache(client.fetch_image, directory=folder), urls[:half], workers=1)
            pooled_cache = ThumbnailCache(client.fetch_image, directory=folder)
            pooled = _rate(pooled_cache, urls[half:], workers=8)
            warm_cache = ThumbnailCache(client.fetch_image, directory=folder)
            warm = _rate(warm_cache, urls, workers=1)
            cards = ThumbnailCache(client.fetch_image, directory=folder + "/cards")
            for url in urls:  # as the cards show them: 192 CSS pixels, kept 384 wide only
                cards.get(url, 384)
            rounds = [_steps(client, urls, tempfile.mkdtemp(dir=folder)) for _ in range(ROUNDS)]
        offline = ThumbnailCache(client.fetch_image, directory=folder + "/cards")  # a new kernel, the emulator gone
        started = time.perf_counter()
        shown = sum(1 for url in urls if offline.get_or_empty(url, 192))  # a comparison's width
        offline_seconds = time.perf_counter() - started
    with socket.socket() as probe:  # a port nothing listens on
        probe.bind(("127.0.0.1", 0))
        gone = f"http://127.0.0.1:{probe.getsockname()[1]}"
    unreachable = ThumbnailCache(WeShopClient(base_url=gone).fetch_image)
    started = time.perf_counter()
    drawn = [unreachable.get_or_empty(f"{gone}/files/results/{n}.png", 192) for n in range(200)]
    unreachable_seconds = time.perf_counter() - started
    emit(
        "thumbnail_pipeline",
        pictures=len(urls),
        per_second_one_thread=round(one, 1),
        per_second_pool_of_8=round(pooled, 1),
        warm_per_second=round(warm, 1),
        warm_downloads=warm_cache.downloads,
    )
    steps = min(rounds, key=lambda figures: figures["path"])
    emit(
        "one_picture_to_a_card_cpu_ms",
        pictures=len(urls),
        width=CARD_WIDTH,
        rounds=ROUNDS,
        path=round(steps["path"], 2),
        decode=round(steps["decode"], 2),
        path_over_decode=round(steps["path"] / steps["decode"], 3),
        download=round(steps["download"], 2),
        reduce_and_encode=round(steps["shrink"] - steps["decode"], 2),
        keep_and_bookkeeping=round(steps["path"] - steps["download"] - steps["shrink"], 2),
        path_over_decode_each_round=[round(r["path"] / r["decode"], 3) for r in rounds],
    )
    emit(
        "thumbnails_without_their_host",
        pictures=len(urls),
        shown_offline_at_192=shown,
        offline_seconds=round(offline_seconds, 2),
        unreachable_pictures=len(drawn),
        unreachable_unavailable=drawn.count(b""),
        unreachable_seconds=round(unreachable_seconds, 2),
    )


if __name__ == "__main__":
    main()
