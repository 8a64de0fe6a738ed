"""Sweep completion and polling economy (RESULTS items 1 and 2).

100 executions over 5 tasks on a loopback emulator with latency L (default 2 s). The
limit is L plus one poll interval; the figure is wall time / limit. The baseline is the
loop a user would write: execute, then poll that one execution every second until it
is done, one after another. It is strictly sequential, so it is run on a sample and
scaled by executions / sample (said in the output).
Run: ``.venv/bin/python benchmarks/sweep_speed.py [EXECUTIONS] [TASKS] [LATENCY] [SAMPLE]``.
"""

from __future__ import annotations

import sys
import time

from _common import KEY, emit, garment

from weshop_nb import WeShopClient, emulator
from weshop_nb.work._runs import Job, launch


def watched(executions: int, tasks: int, latency: float, poll: float) -> dict:
    with emulator.serve(api_key=KEY, latency=latency, seed=1) as emu:
        client = WeShopClient(api_key=KEY, base_url=emu.base_url)
        url = client.upload_image(garment())
        created = [client.create_task(originalImage=url) for _ in range(tasks)]
        jobs = [Job(created[n % tasks], {"textDescription": f"p{n}", "batchCount": 1}) for n in range(executions)]
        before = dict(emu.stats()["requests"])
        started = time.monotonic()
        run = launch(client, jobs, poll_interval=poll, max_interval=15.0, max_concurrent=16)
        run.wait()
        wall = time.monotonic() - started
        after = emu.stats()["requests"]
    queries = after.get("query", 0) - before.get("query", 0)
    return {"wall_s": wall, "queries": queries, "done": run.counts()["success"]}


def naive(sample: int, latency: float) -> dict:
    with emulator.serve(api_key=KEY, latency=latency, seed=1) as emu:
        client = WeShopClient(api_key=KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(garment()))
        queries = 0
        started = time.monotonic()
        for n in range(sample):
            execution = client.execute(task.id, {"textDescription": f"p{n}", "batchCount": 1})
            while True:
                time.sleep(1.0)
                queries += 1
                if client.get_execution(execution.id).done:
                    break
        return {"wall_s": time.monotonic() - started, "queries": queries}


def main() -> None:
    args = sys.argv[1:]
    executions = int(args[0]) if args else 100
    tasks = int(args[1]) if len(args) > 1 else 5
    latency = float(args[2]) if len(args) > 2 else 2.0
    sample = int(args[3]) if len(args) > 3 else 10
    poll = 2.0  # WeShopMagics.poll_interval's default
    fast = watched(executions, tasks, latency, poll)
    limit = latency + poll
    slow = naive(sample, latency)
    scale = executions / sample
    naive_wall, naive_queries = slow["wall_s"] * scale, slow["queries"] * scale
    emit(
        "sweep_completion",
        executions=executions,
        tasks=tasks,
        latency_s=latency,
        poll_interval_s=poll,
        wall_s=round(fast["wall_s"], 2),
        limit_s=limit,
        wall_over_limit=round(fast["wall_s"] / limit, 3),
        target_wall_over_limit=1.15,
        naive_wall_s=round(naive_wall, 1),
        naive_measured_on=sample,
        speedup_over_naive=round(naive_wall / fast["wall_s"], 1),
        target_speedup=50,
        succeeded=fast["done"],
    )
    emit(
        "polling_economy",
        executions=executions,
        queries=fast["queries"],
        queries_per_execution=round(fast["queries"] / executions, 3),
        naive_queries=round(naive_queries),
        naive_queries_per_execution=round(naive_queries / executions, 2),
        fewer_queries_factor=round(naive_queries / max(fast["queries"], 1), 1),
        target_factor=10,
    )


if __name__ == "__main__":
    main()
