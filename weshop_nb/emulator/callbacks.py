"""Callbacks: POST the query payload of an execution to its ``callbackUrl``.

As the reference says: on every status change, by POST, expecting ``SUCCESS`` in the
reply body, retrying twice otherwise. Each execution with a callback gets one daemon
thread that sleeps until the next change; stopping the emulator stops them all.
"""

from __future__ import annotations

import json
import threading
import time
import urllib.request
from collections.abc import Callable
from typing import Any

from .state import ExecutionRecord


class Callbacks:
    """Sends callbacks and keeps a log of every attempt (for tests and debugging)."""

    def __init__(self, *, retries: int = 2, retry_delay: float = 0.5, timeout: float = 5.0) -> None:
        self.retries = retries
        self.retry_delay = retry_delay
        self.timeout = timeout
        self.log: list[dict[str, Any]] = []
        self._stop = threading.Event()
        self._lock = threading.Lock()

    def watch(self, record: ExecutionRecord, payload: Callable[[], dict[str, Any]]) -> None:
        """Call back at each status change of ``record``; ``payload()`` builds the body then."""
        thread = threading.Thread(target=self._run, args=(record, payload), name=f"callback-{record.id}", daemon=True)
        thread.start()

    def stop(self) -> None:
        self._stop.set()

    def _run(self, record: ExecutionRecord, payload: Callable[[], dict[str, Any]]) -> None:
        for moment in record.change_times():
            if self._stop.wait(max(0.0, moment - time.time())):
                return
            self._deliver(record, payload())

    def _deliver(self, record: ExecutionRecord, body: dict[str, Any]) -> None:
        data = json.dumps(body).encode()
        status = body["data"]["executions"][0]["status"]
        for attempt in range(1, self.retries + 2):
            request = urllib.request.Request(
                str(record.callback_url), data=data, headers={"Content-Type": "application/json"}, method="POST"
            )
            try:
                with urllib.request.urlopen(request, timeout=self.timeout) as reply:
                    accepted = reply.read(64).decode(errors="replace").strip() == "SUCCESS"
            except Exception:
                accepted = False
            with self._lock:
                self.log.append({"execution_id": record.id, "status": status, "attempt": attempt, "accepted": accepted})
            if accepted or self._stop.wait(self.retry_delay):
                return
