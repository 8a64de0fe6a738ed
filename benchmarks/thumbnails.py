"""The thumbnail pipeline (RESULTS item 8): pictures fetched and shrunk per second.

Fetches the N result pictures of a finished run into a fresh on-disk ThumbnailCache,
one at a time (as one watcher thread does) and with a pool of 8, then a second time
from a new cache on the same folder: a warm second display downloads nothing.
Run: ``.venv/bin/python benchmarks/thumbnails.py [N]``.
"""

from __future__ import annotations

import sys
import tempfile
import time
from concurrent.futures import ThreadPoolExecutor

from _common import KEY, emit, garment

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._thumbnails import ThumbnailCache
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch


def _rate(cache: ThumbnailCache, urls: list[str], workers: int) -> float:
    started = time.perf_counter()
    with ThreadPoolExecutor(max_workers=workers) as pool:
        list(pool.map(cache.get, urls))
    return len(urls) / (time.perf_counter() - started)


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 100
    with emulator.serve(api_key=KEY, latency=0) as emu, tempfile.TemporaryDirectory() as folder:
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
    emit(
        "thumbnail_pipeline",
        pictures=len(urls),
        per_second_one_thread=round(one, 1),
        per_second_pool_of_8=round(pooled, 1),
        warm_per_second=round(warm, 1),
        warm_downloads=warm_cache.downloads,
    )


if __name__ == "__main__":
    main()
