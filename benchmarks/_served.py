"""The emulator in a process of its own, as ``make demo`` runs it beside JupyterLab.

``python _served.py [--predrawn] EMULATOR-OPTIONS...``: with ``--predrawn`` every result
picture is one picture drawn once, so serving it costs what serving a file costs. The
service's pictures exist when an execution succeeds (drawn on its own hardware, inside
the latency); the emulator draws each on first request, on this machine's cores (about
60 ms of CPU each), which would measure the emulator, not the client. The client still
downloads every picture and makes every thumbnail.

:func:`start` runs it and returns the process and its base URL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start(*options: str, predrawn: bool = True) -> tuple[subprocess.Popen, str]:
    """Start the emulator (``--port 0``); returns the process and its base URL once it listens."""
    command = [sys.executable, str(Path(__file__).resolve()), *(["--predrawn"] if predrawn else []), "--port", "0"]
    process = subprocess.Popen([*command, *options], stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "WeShop emulator listening on http://127.0.0.1:PORT (Ctrl-C to stop)"
    return process, line.split(" on ", 1)[1].split()[0]


def main(argv: list[str]) -> int:
    from _common import garment

    from weshop_nb.emulator import __main__ as cli
    from weshop_nb.emulator import pictures

    if "--predrawn" in argv:
        argv = [a for a in argv if a != "--predrawn"]
        # Drawn once, before the emulator listens: drawn on the first request instead, the
        # first requests of a sweep (several at once) would each draw it, on the client's cores.
        picture = pictures.render_result(
            source=garment(), colors=None, scene="Sunny Beach", model="Eve", prompt="prompt 0", slot=0
        )
        pictures.render_result = lambda *args, **kwargs: picture
    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
