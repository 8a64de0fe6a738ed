"""Ctrl-C and progress in real processes: a terminal IPython on a pseudo-terminal, and plain Python.

SIGINT is sent to the process as a terminal sends it on Ctrl-C. Each process is bounded
in time; the emulator makes executions that take a minute, so they are always unfinished
when the signal lands.
"""

from __future__ import annotations

import os
import pty
import select
import signal
import subprocess
import sys
import textwrap
import time
from pathlib import Path

import pytest

pytestmark = pytest.mark.skipif(sys.platform == "win32", reason="needs a POSIX pseudo-terminal and SIGINT")

_ROOT = str(Path(__file__).resolve().parents[1])
_LIMIT = 60.0  # seconds any one process may take


def _env(tmp_path: Path) -> dict[str, str]:
    env = {k: v for k, v in os.environ.items() if k not in ("WESHOP_API_KEY", "WESHOP_BASE_URL")}
    env.update(PYTHONPATH=_ROOT, WESHOP_NB_HOME=str(tmp_path / "home"), IPYTHONDIR=str(tmp_path / "ipython"))
    env.update(TERM="dumb", COLUMNS="160", LINES="40")
    return env


class _Terminal:
    """A process whose stdin, stdout and stderr are a pseudo-terminal; its output read as it comes."""

    def __init__(self, argv: list[str], env: dict[str, str]) -> None:
        self.master, slave = pty.openpty()
        self.process = subprocess.Popen(argv, stdin=slave, stdout=slave, stderr=slave, env=env, close_fds=True)
        os.close(slave)
        self.output = ""
        self.deadline = time.monotonic() + _LIMIT

    def read_until(self, text: str, start: int = 0) -> int:
        """Read until ``text`` appears after position ``start``; its position."""
        while text not in self.output[start:]:
            remaining = self.deadline - time.monotonic()
            if remaining <= 0 or (self.process.poll() is not None and not self._read(0.1)):
                raise AssertionError(f"{text!r} never came; the process wrote:\n{self.output}")
            self._read(min(remaining, 0.5))
        return self.output.index(text, start)

    def _read(self, timeout: float) -> bool:
        ready, _, _ = select.select([self.master], [], [], timeout)
        if not ready:
            return False
        try:
            chunk = os.read(self.master, 65536)
        except OSError:  # the other side closed
            return False
        self.output += chunk.decode("utf-8", "replace")
        return bool(chunk)

    def interrupt(self) -> None:
        self.process.send_signal(signal.SIGINT)

    def finish(self) -> str:
        while self.process.poll() is None and time.monotonic() < self.deadline:
            self._read(0.2)
        while self._read(0.1):
            pass
        if self.process.poll() is None:
            self.process.kill()
        os.close(self.master)
        return self.output


_SETUP = """
from weshop_nb import WeShopClient, emulator
from weshop_nb.work._jobs import Job
from weshop_nb.work._launch import launch
from PIL import Image
import io
buffer = io.BytesIO()
Image.new("RGB", (640, 800), "teal").save(buffer, format="PNG")
emu = emulator.serve(api_key="k", latency=60)
client = WeShopClient(api_key="k", base_url=emu.base_url)
task = client.create_task(originalImage=client.upload_image(buffer.getvalue()))
"""


def test_ctrl_c_in_terminal_ipython_ends_the_wait_with_one_line(tmp_path, make_image) -> None:
    garment = tmp_path / "garment.png"
    garment.write_bytes(make_image())
    code = textwrap.dedent(
        f"""
        ip = get_ipython()
        ip.run_line_magic("load_ext", "weshop_nb")
        ip.run_line_magic("config", "WeShopMagics.poll_interval = 0.2")
        ip.run_line_magic("weshop", "demo --latency 60")
        ip.run_cell_magic("weshop", "run --image {garment} --wait -o run", "one\\n---\\ntwo")
        print("AFTER THE MAGIC:", run.summary())
        print("SECOND WAIT")
        run.wait()
        print("NEVER PRINTED")
        """
    )
    argv = [sys.executable, "-m", "IPython", "--no-banner", "--colors=NoColor", "--quick", "-c", code]
    terminal = _Terminal(argv, _env(tmp_path))
    try:
        first = terminal.read_until("WeShop run: 0/2 done (2 pending)")
        terminal.interrupt()
        terminal.read_until("AFTER THE MAGIC:", first)
        second = terminal.read_until("WeShop run: 0/2 done", terminal.read_until("SECOND WAIT"))
        terminal.interrupt()
    finally:
        output = terminal.finish()
    assert "NEVER PRINTED" not in output
    assert "Traceback" not in output and "threading.py" not in output and "KeyboardInterrupt" not in output
    lines = output.split("\r\n")
    stopped = [line for line in lines if "Stopped waiting" in line]
    assert (
        stopped
        == [
            "Stopped waiting: 2 of 2 execution(s) go on at the service (it has no cancel call) and are "
            "still watched here; `run.wait()` waits again, `run.stop()` stops watching.",
        ]
        * 2
    )
    # The progress is one line rewritten in place: carriage returns, and the newline only at the end.
    progress = output[first - 1 : output.index("Stopped waiting")]
    assert progress.startswith("\rWeShop run: 0/2 done") and progress.endswith("\r\n")
    assert progress.count("\r\n") == 1
    assert output[second - 1] == "\r"


def test_ctrl_c_in_plain_python_shows_no_threading_frames(tmp_path) -> None:
    code = _SETUP + textwrap.dedent(
        """
        from weshop_nb.work import _hooks

        class Views:  # says when the wait has begun, from inside its loop
            def wait_progress(self, run):
                return self

            def update(self):
                print("WAITING", flush=True)

        _hooks.set_views_loader(Views)
        run = launch(client, [Job(task, {"textDescription": "slow"})], poll_interval=0.2)
        run.wait()
        """
    )
    terminal = _Terminal([sys.executable, "-c", code], _env(tmp_path))
    try:
        terminal.read_until("WAITING")
        terminal.interrupt()
    finally:
        output = terminal.finish()
    assert terminal.process.returncode != 0
    assert "threading.py" not in output and "During handling" not in output
    assert output.rstrip().splitlines()[-1].startswith("weshop_nb.work._run.WaitInterrupted: Stopped waiting: 1 of 1")
