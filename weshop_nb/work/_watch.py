"""The watcher: one thread per task, polling for the unfinished executions of a run.

The run's partner (:class:`~weshop_nb.work._run.Run` makes its watchers and starts
them). A watcher asks its run for nothing beyond :class:`WatchedRun`: the client, when
to poll (:class:`Pacing`), a way to fetch several things at once in the run's own
threads, where to record what it read, and how to stop the run's watching or say that
its own thread ends.

One tick costs one task query, which shows the task's 20 newest executions: all of them,
on the tasks a launch makes (it puts at most 20 on each). On a task given by the user
(``--task``) that holds more, the executions outside the window are queried by id,
concurrently (at most ``run.max_concurrent`` at once); so are the runs of the agent-runs
API, which has no task query (one watcher with ``task_id`` None watches them all).

The first poll waits for the expected latency (``Pacing.first``); afterwards the pause
goes back to the poll interval when an execution finished (others of the sweep are
likely close behind) and grows while none does. Every thread of a client shares its
:class:`~weshop_nb.service._rate.RateBudget`: a 429 anywhere holds them all and makes
each lengthen its pause.

A watcher cannot die of what it reads: models parse defensively, a WeShopError is
retried later, any other exception is shown on the run and retried later too. Only a
refused key (the run stops watching and says why), a task that is gone, or
:meth:`TaskWatcher.stop` end it early. :meth:`TaskWatcher.poll_once` holds the logic of
one tick, so tests drive it without threads.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from typing import TYPE_CHECKING, Any, Protocol

from ..contract import FAILED
from ..service._errors import AuthenticationError, InvalidRequestError, RateLimitError, WeShopError
from ..service._events import warn_once
from ..service._transport import next_interval

if TYPE_CHECKING:
    from ..service._client import WeShopClient
    from ..service._models import Execution
    from ._run import RunItem

__all__ = ["MIN_PAUSE", "Pacing", "TaskWatcher", "WatchedRun"]

#: The soonest a watcher polls again when it expects the rest of its executions to be done.
MIN_PAUSE = 0.25


@dataclass(frozen=True)
class Pacing:
    """When a run's watchers poll, in seconds.

    ``first`` is the wait before the first poll (the expected latency), ``interval`` the
    pause while executions keep finishing, ``ceiling`` the longest pause while none does.
    """

    first: float
    interval: float
    ceiling: float


class WatchedRun(Protocol):
    """What a :class:`TaskWatcher` uses of its run, and nothing more (a ``Run`` is one)."""

    #: The client the watcher polls with (its task and execution queries, its rate budget).
    client: WeShopClient

    @property
    def pacing(self) -> Pacing:
        """When to poll."""

    def fetch_all(self, fetch: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
        """``[fetch(key) for key in keys]``, several at once in the run's own threads."""

    def update_many(self, changes: Sequence[tuple[RunItem, Execution]]) -> bool:
        """Record newer states of the run's items; True when something visible changed."""

    def stop_watching(self, reason: str) -> None:
        """Stop every watcher of the run and say why."""

    def watcher_finished(self, watcher: TaskWatcher) -> None:
        """``watcher``'s thread ends."""


class TaskWatcher:
    """Polls one task for the unfinished executions of a run, in its own thread.

    With ``task_id`` None (the runs API, which has no task query) it polls each
    unfinished execution by id instead.
    """

    def __init__(self, run: WatchedRun, task_id: str | None, items: list[RunItem]) -> None:
        self.run = run
        self.task_id = task_id
        self.items = items
        self.ticks = 0
        self.task_queries = 0
        self.execution_queries = 0
        #: Why the last tick failed (shown in the run's summary), or None.
        self.last_error: str | None = None
        #: Ticks that hit an exception other than a WeShopError (each shown, none fatal).
        self.unexpected = 0
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
        """One tick: one task query, plus a query by id per execution outside its window.

        Returns True when any execution changed.
        """
        self.ticks += 1
        waiting = self.unfinished
        if not waiting:
            return False
        task = None
        if self.task_id is not None:  # None: the runs API, which has no task query
            task = self.run.client.get_task(self.task_id)
            self.task_queries += 1
        seen = {_id_of(item): task.execution(_id_of(item)) if task is not None else None for item in waiting}
        missing = [item_id for item_id, current in seen.items() if current is None]
        if missing:  # beyond the 20 most recent (a task given with --task), or runs: ask for each by id
            seen.update(self._by_id(missing))
        changes = [(item, seen[_id_of(item)]) for item in waiting if seen.get(_id_of(item)) is not None]
        return self.run.update_many(changes)  # type: ignore[arg-type]

    def _by_id(self, execution_ids: list[str]) -> dict[str, Execution | None]:
        """Query executions one by one, concurrently; one that fails is left as it was this tick."""

        def fetch(execution_id: str) -> Execution | WeShopError:
            try:
                return self.run.client.get_execution(execution_id)
            except WeShopError as exc:
                return exc

        self.execution_queries += len(execution_ids)
        found = dict(zip(execution_ids, self.run.fetch_all(fetch, execution_ids), strict=True))
        errors = [outcome for outcome in found.values() if isinstance(outcome, WeShopError)]
        refused = next((e for e in errors if isinstance(e, AuthenticationError)), None)
        if refused is not None:
            raise refused
        gone = [item for item in self.unfinished if isinstance(found.get(_id_of(item)), InvalidRequestError)]
        if gone:  # deleted on its own: that one will never finish
            self._give_up(f"stopped watching: {found[_id_of(gone[0])]}", gone)
        if errors:
            self.last_error = f"{len(errors)} execution(s) could not be read this time ({errors[0]}); trying again"
        return {key: None if isinstance(value, WeShopError) else value for key, value in found.items()}

    # -- the thread --------------------------------------------------------------------------

    def _loop(self) -> None:
        try:
            self._watch()
        except Exception as exc:  # a bug in the loop itself: say so on the run rather than vanish
            self.run.stop_watching(f"stopped watching task {self.task_id}: {type(exc).__name__}: {exc}")
            warn_once("a run's watcher stopped", exc)
        finally:
            self.run.watcher_finished(self)

    def _watch(self) -> None:
        run, rate, pacing = self.run, self.run.client.rate, self.run.pacing
        base, ceiling = pacing.interval, pacing.ceiling
        interval, pause, strikes = base, pacing.first, rate.strikes
        while self.unfinished:
            if self._stop.wait(pause) or not rate.wait(self._stop):
                return
            unfinished = len(self.unfinished)
            try:
                self.last_error = None
                self.poll_once()
                finished = unfinished - len(self.unfinished)
                interval = next_interval(interval, base, ceiling, changed=finished > 0)
                pause = self._catch_up(interval) if finished else interval
            except AuthenticationError as exc:
                # A refused key will not start working by asking again: stop, and say why.
                run.stop_watching(f"stopped watching: {exc}")
                return
            except InvalidRequestError as exc:
                # The task is gone (deleted, or another account): nothing more will come.
                self._give_up(f"stopped watching: {exc}")
                return
            except RateLimitError as exc:
                self.last_error = str(exc)
                interval = next_interval(interval, base, ceiling, changed=False)
                pause = max(interval, exc.retry_after or 0.0)
            except WeShopError as exc:  # service or network trouble: keep the executions, try later
                self.last_error = f"last poll failed ({exc}); trying again"
                interval = pause = next_interval(interval, base, ceiling, changed=False)
            except Exception as exc:  # a reply nobody foresaw, or a bug: show it, keep watching
                self.unexpected += 1
                self.last_error = f"last poll hit {type(exc).__name__}: {exc}; trying again"
                warn_once(f"watching task {self.task_id} hit an unexpected error", exc)
                interval = pause = next_interval(interval, base, ceiling, changed=False)
            if rate.strikes != strikes:  # told to slow down, here or in another thread of this client
                strikes = rate.strikes
                interval = next_interval(interval, base, ceiling, changed=False)
                pause = max(pause, interval)

    def _catch_up(self, interval: float) -> float:
        """The pause after a tick where some executions finished and some did not.

        Executions launched together take about as long: the quickest finished one took at
        most its age, so the rest should be done when they reach that age. Poll then, if
        that is sooner than ``interval`` (never sooner than :data:`MIN_PAUSE`).
        """
        now = time.monotonic()
        finished = [now - item.started_at for item in self.items if item.done and item.started_at is not None]
        waiting = [now - item.started_at for item in self.unfinished if item.started_at is not None]
        if not finished or not waiting:
            return interval
        return min(interval, max(MIN_PAUSE, min(finished) - min(waiting)))

    def _give_up(self, reason: str, items: list[RunItem] | None = None) -> None:
        # Through the run's own update, so the items change under its lock like any other state.
        ended = [
            (item, replace(_execution_of(item), status=FAILED, raw={"message": reason}))
            for item in (self.unfinished if items is None else items)
        ]
        self.run.update_many(ended)


def _execution_of(item: RunItem) -> Execution:
    return item.execution  # type: ignore[return-value]  # watched items have one


def _id_of(item: RunItem) -> str:
    return _execution_of(item).id
