"""Import cost of ``%load_ext weshop_nb`` in a fresh process, against ``import requests``.

Prints one JSON line per measurement: median seconds over N fresh interpreters.
Run: ``.venv/bin/python benchmarks/load_ext_time.py [N]``.
"""

from __future__ import annotations

import json
import statistics
import subprocess
import sys

LOAD_EXT = """
import time
from IPython.core.interactiveshell import InteractiveShell
shell = InteractiveShell.instance()
start = time.perf_counter()
shell.run_line_magic("load_ext", "weshop_nb")
elapsed = time.perf_counter() - start
heavy = [m for m in ("requests", "PIL", "pandas", "ipywidgets", "werkzeug") if m in __import__("sys").modules]
print(elapsed, ",".join(heavy))
"""

IMPORT_REQUESTS = """
import time
start = time.perf_counter()
import requests
print(time.perf_counter() - start, "")
"""


def _median(code: str, runs: int) -> tuple[float, str]:
    times, heavy = [], ""
    for _ in range(runs):
        out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.split()
        times.append(float(out[0]))
        heavy = out[1] if len(out) > 1 else ""
    return statistics.median(times), heavy


def main() -> None:
    runs = int(sys.argv[1]) if len(sys.argv) > 1 else 7
    load_ext, heavy = _median(LOAD_EXT, runs)
    requests_time, _ = _median(IMPORT_REQUESTS, runs)
    print(
        json.dumps(
            {"measure": "load_ext_seconds", "median": round(load_ext, 4), "runs": runs, "heavy_modules_loaded": heavy}
        )
    )
    print(json.dumps({"measure": "import_requests_seconds", "median": round(requests_time, 4), "runs": runs}))
    print(json.dumps({"measure": "load_ext_over_import_requests", "ratio": round(load_ext / requests_time, 3)}))


if __name__ == "__main__":
    main()
