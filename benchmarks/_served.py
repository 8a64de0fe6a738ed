"""The emulator in a process of its own, as ``make demo`` runs it beside JupyterLab.

``python _served.py EMULATOR-OPTIONS...`` runs ``python -m weshop_nb.emulator`` with
those options: every result picture drawn as the emulator always draws it (distinct
bytes per picture, about 0.8 MB each). :func:`start` runs it and returns the process and
its base URL.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path


def start(*options: str) -> tuple[subprocess.Popen, str]:
    """Start the emulator (``--port 0``); returns the process and its base URL once it listens."""
    command = [sys.executable, str(Path(__file__).resolve()), "--port", "0", *options]
    process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
    line = process.stdout.readline()  # "WeShop emulator listening on http://127.0.0.1:PORT (Ctrl-C to stop)"
    return process, line.split(" on ", 1)[1].split()[0]


def main(argv: list[str]) -> int:
    from weshop_nb.emulator import __main__ as cli

    return cli.main(argv)


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
