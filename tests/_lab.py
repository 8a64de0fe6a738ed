"""What the browser tests share: Debian's Chromium and a JupyterLab process on 127.0.0.1."""

from __future__ import annotations

import os
import shutil
import signal
import socket
import subprocess
import time
import urllib.request
from collections.abc import Iterator, Mapping, Sequence
from contextlib import contextmanager, suppress
from pathlib import Path

import pytest

CHROMIUM = next((p for p in ("/usr/bin/chromium", shutil.which("chromium") or "") if p and os.path.exists(p)), None)
NO_CHROMIUM = "Debian's chromium is not installed (`make test` installs it when run as root)"
# No sandbox (root in containers), and nothing that phones home: the tests reach only 127.0.0.1.
CHROMIUM_FLAGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
    "--disable-sync",
]
# JupyterLab asks the internet for news and updates unless told not to.
QUIET_LAB = ["--LabApp.news_url=", "--LabApp.check_for_updates_class=jupyterlab.NeverCheckForUpdate"]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@contextmanager
def running_lab(
    command: Sequence[str], *, port: int, env: Mapping[str, str], log: Path, cwd: Path | None = None
) -> Iterator[str]:
    """Run ``command`` (a JupyterLab listening on ``port``) until the block ends; yield its base URL.

    Waits (at most 90 s) for ``/api/status`` to answer; a server that dies or never answers
    fails the test with the end of its ``log``. The whole process group is stopped afterwards,
    kernels included.
    """
    with open(log, "w") as out:
        server = subprocess.Popen(
            command, env=dict(env), cwd=cwd, stdout=out, stderr=subprocess.STDOUT, start_new_session=True
        )
        base = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 90
            while not _answers(f"{base}/api/status"):
                if time.monotonic() > deadline or server.poll() is not None:
                    pytest.fail(f"JupyterLab did not start: {log.read_text()[-2000:]}")
                time.sleep(0.5)
            yield base
        finally:
            _signal_group(server.pid, signal.SIGTERM)
            try:
                server.wait(timeout=20)
            except subprocess.TimeoutExpired:
                _signal_group(server.pid, signal.SIGKILL)
                server.wait()


def _signal_group(pid: int, signum: int) -> None:
    with suppress(ProcessLookupError):  # the group may be gone already
        os.killpg(pid, signum)


def _answers(url: str) -> bool:
    try:
        with urllib.request.urlopen(url, timeout=2) as reply:
            return reply.status == 200
    except OSError:
        return False
