"""The watcher: one thread per task, polling for the unfinished executions of a run.

One tick costs one task query (which returns up to 20 recent executions) plus one query
per execution outside that window. The pause grows while nothing changes, follows
``Retry-After``, and survives service and network errors; the thread ends when every
execution it watches is finished. :meth:`TaskWatcher.poll_once` holds the logic of one
tick, so tests drive it without threads.
"""

from __future__ import annotations

import threading
from dataclasses import replace
from typing import TYPE_CHECKING

from ..contract import FAILED
from ..service._errors import AuthenticationError, InvalidRequestError, RateLimitError, WeShopError
from ..service._transport import next_interval

if TYPE_CHECKING:
    from ._runs import Run, RunItem


class TaskWatcher:
    """Polls one task for the unfinished executions of a run, in its own thread.

    With ``task_id`` None (the runs API, which has no task query) it polls each
    unfinished execution by id instead.
    """

    def __init__(self, run: Run, task_id: str | None, items: list[RunItem]) -> None:
        self.run = run
        self.task_id = task_id
        self.items = items
        self.ticks = 0
        self.task_queries = 0
        self.execution_queries = 0
        self.last_error: str | None = None
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._loop, name=f"weshop-watch-{task_id or 'runs'}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()

    def join(self, timeout: float | None = None) -> None:
        self._thread.join(timeout)

    @property
    def alive(self) -> bool:
        """True while the thread polls (started, not stopped, not finished)."""
        return self._thread.is_alive() and not self._stop.is_set()

    @property
    def unfinished(self) -> list[RunItem]:
        return [item for item in self.items if not item.done]

    def poll_once(self) -> bool:
        """One tick: one task query, plus one query per execution outside its window.

        Returns True when any execution changed.
        """
        self.ticks += 1
        waiting = self.unfinished
        if not waiting:
            return False
        task = None
        if self.task_id is not None:
            task = self.run.client.get_task(self.task_id)
            self.task_queries += 1
        changed = False
        for item in waiting:
            current = task.execution(item.execution.id) if task is not None else None  # type: ignore[union-attr]
            if current is None:  # beyond the 20 most recent: ask for it by id
                current = self.run.client.get_execution(item.execution.id)  # type: ignore[union-attr]
                self.execution_queries += 1
            changed |= self.run.update(item, current)
        return changed

    def _loop(self) -> None:
        interval = self.run.poll_interval
        while self.unfinished and not self._stop.is_set():
            pause = interval
            try:
                changed = self.poll_once()
                self.last_error = None
                interval = next_interval(interval, self.run.poll_interval, self.run.max_interval, changed=changed)
                pause = interval
            except RateLimitError as exc:
                self.last_error = str(exc)
                pause = max(interval, exc.retry_after or 0.0)
            except AuthenticationError as exc:
                # A refused key will not start working by asking again: stop, and say why.
                self.run.stop_watching(f"stopped watching: {exc}")
                return
            except InvalidRequestError as exc:
                # The task is gone (deleted, or another account): nothing more will come.
                self._give_up(f"stopped watching: {exc}")
                return
            except WeShopError as exc:  # service or network trouble: keep the executions, try later
                self.last_error = f"last poll failed ({exc}); trying again"
                interval = next_interval(interval, self.run.poll_interval, self.run.max_interval, changed=False)
                pause = interval
            self._stop.wait(pause)

    def _give_up(self, reason: str) -> None:
        for item in self.unfinished:
            item.error = reason
            if item.execution is not None:
                item.execution = replace(item.execution, status=FAILED, raw={"message": reason})
            self.run.publish(item)
