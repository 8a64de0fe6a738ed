"""Requests a watched sweep costs, against polling each execution on its own.

Launches E executions over T tasks on a loopback emulator (latency L), waits, and
prints the emulator's own request counts as JSON lines.
Run: ``.venv/bin/python benchmarks/sweep_requests.py [E] [T] [L]``.
"""

from __future__ import annotations

import io
import json
import sys
import time

from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.runs import Job, launch


def main() -> None:
    executions = int(sys.argv[1]) if len(sys.argv) > 1 else 40
    tasks = int(sys.argv[2]) if len(sys.argv) > 2 else 2
    latency = float(sys.argv[3]) if len(sys.argv) > 3 else 2.0
    poll_interval = 1.0
    picture = io.BytesIO()
    Image.new("RGB", (640, 800), "teal").save(picture, format="PNG")
    with emulator.serve(api_key="bench", latency=latency, seed=1) as emu:
        client = WeShopClient(api_key="bench", base_url=emu.base_url)
        url = client.upload_image(picture.getvalue())
        created = [client.create_task(originalImage=url) for _ in range(tasks)]
        jobs = [Job(created[n % tasks], {"textDescription": f"prompt {n}", "batchCount": 1}) for n in range(executions)]
        started = time.monotonic()
        run = launch(client, jobs, poll_interval=poll_interval)
        run.wait()
        wall = time.monotonic() - started
        requests = emu.stats()["requests"]
    ticks = sum(w.ticks for w in run.watchers)
    queries = requests.get("query", 0)
    print(
        json.dumps(
            {
                "measure": "sweep",
                "executions": executions,
                "tasks": tasks,
                "latency_s": latency,
                "poll_interval_s": poll_interval,
                "wall_s": round(wall, 2),
                "execute_requests": requests.get("execute", 0),
                "query_requests": queries,
                "watcher_ticks": ticks,
                "queries_per_execution": round(queries / executions, 3),
            }
        )
    )
    # A naive loop polls each execution once per tick: executions x ticks-per-task.
    naive = executions * max(w.ticks for w in run.watchers)
    print(
        json.dumps(
            {
                "measure": "naive_per_execution_polling",
                "query_requests": naive,
                "ratio_naive_over_watched": round(naive / max(queries, 1), 1),
            }
        )
    )


if __name__ == "__main__":
    main()
