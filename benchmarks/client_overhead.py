"""CPU time the client spends per API call, the emulator excluded (RESULTS item 4).

The emulator runs in its own process, so the CPU time measured here (process_time of
this process) is the client's: building the request, requests/urllib3, parsing the
envelope and the dataclasses. Prints the median microseconds per call over batches.
Run: ``.venv/bin/python benchmarks/client_overhead.py [CALLS]``.
"""

from __future__ import annotations

import os
import statistics
import subprocess
import sys
import time

from _common import KEY, emit, garment

from weshop_nb import WeShopClient


def main() -> None:
    calls = int(sys.argv[1]) if len(sys.argv) > 1 else 400
    os.environ["WESHOP_NB_HISTORY"] = "off"  # the client alone, not the history store
    server = subprocess.Popen(
        [sys.executable, "-m", "weshop_nb.emulator", "--port", "0", "--api-key", KEY, "--latency", "0"],
        stdout=subprocess.PIPE,
        text=True,
    )
    try:
        base_url = server.stdout.readline().split("listening on ", 1)[1].split()[0]  # type: ignore[union-attr]
        client = WeShopClient(api_key=KEY, base_url=base_url)
        task = client.create_task(originalImage=client.upload_image(garment()))
        for n in range(20):
            client.execute(task.id, {"textDescription": f"p{n}", "batchCount": 1})
        figures = {}
        for name, call in (
            ("get_task_20_executions", lambda: client.get_task(task.id)),
            ("agent_info_uncached", lambda: client.agent_info(refresh=True)),
            ("execute", lambda: client.execute(task.id, {"textDescription": "x", "batchCount": 1})),
        ):
            batches = []
            for _ in range(max(1, calls // 50)):
                cpu = time.process_time()
                for _ in range(50):
                    call()
                batches.append((time.process_time() - cpu) / 50 * 1e6)
            figures[name] = round(statistics.median(batches))
    finally:
        server.terminate()
        server.wait(timeout=10)
    emit("client_cpu_per_call_us", calls_per_kind=calls, **figures)


if __name__ == "__main__":
    main()
