"""The watcher: polling each task of a run for its unfinished executions, on a few shared threads.

The run's partner (:class:`~weshop_nb.work._run.Run` makes its watchers and starts
them). A watcher asks its run for nothing beyond :class:`WatchedRun`: the client, when
to poll (:class:`Pacing`), a way to fetch several things at once in the run's own
threads, where to record what it read, and how to stop the run's watching or say that
it ends.

Threads are bounded, whatever the size of the sweep: a :class:`TaskWatcher` is a task's
polling schedule, not a thread. One scheduler thread (:data:`SCHEDULER`) keeps every
watcher of the kernel in order of when it is due and hands each due tick to a small
pool of :data:`TICK_THREADS` threads; both end when nothing is watched. (One thread per
task made a 1,000-execution sweep peak at 62 threads.)

One tick costs one task query, which shows the task's 20 newest executions: all of them,
on the tasks a launch makes (it puts at most 20 on each). On a task given by the user
(``--task``) that holds more, the executions outside the window are queried by id,
concurrently (at most ``run.max_concurrent`` at once); so are the runs of the agent-runs
API, which has no task query (one watcher with ``task_id`` None watches them all).

The first poll waits for the expected latency (``Pacing.first``); afterwards the pause
goes back to the poll interval when an execution finished (others of the sweep are
likely close behind) and grows while none does. Every watcher of a client shares its
:class:`~weshop_nb.service._rate.RateBudget`: a 429 anywhere holds them all and makes
each lengthen its pause.

A watcher cannot die of what it reads: models parse defensively, a WeShopError is
retried later, any other exception is shown on the run and retried later too. What
failed, and since when, stays on the watcher (:attr:`TaskWatcher.last_error`,
:attr:`TaskWatcher.failing_since`) until a poll succeeds again, so the run says it for
the whole outage. Watching ends early on a refused key (the run stops and says why),
on a task that is gone (its executions end failed, and the history is told), after
``Pacing.give_up_after`` seconds of nothing but failures (the run stops and says so:
``run.watch()`` or ``%weshop resume`` watches again), or on :meth:`TaskWatcher.stop`.
:meth:`TaskWatcher.poll_once` holds the logic of one poll, so tests drive it without
threads.
"""

from __future__ import annotations

import heapq
import itertools
import threading
import time
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, replace
from datetime import datetime
from typing import TYPE_CHECKING, Any, Protocol

from ..contract import FAILED
from ..service import _events as events
from ..service._errors import AuthenticationError, InvalidRequestError, RateLimitError, WeShopError
from ..service._events import warn_once
from ..service._polling import DEFAULT_GIVE_UP_AFTER, next_interval

if TYPE_CHECKING:
    from ..service._client import WeShopClient
    from ..service._models import Execution
    from ._run import RunItem

__all__ = [
    "DEFAULT_GIVE_UP_AFTER",
    "MIN_PAUSE",
    "SCHEDULER",
    "TICK_THREADS",
    "Pacing",
    "Scheduler",
    "TaskWatcher",
    "WatchedRun",
    "gone_reason",
]

#: The soonest a watcher polls again when it expects the rest of its executions to be done.
MIN_PAUSE = 0.25
#: Threads that run due ticks, for every watcher of the kernel. A tick is one query and
#: the decoding of the pictures it brought, so a few threads keep up with the service (a
#: tick of 20 finished executions takes well under a second) without crowding the cores.
TICK_THREADS = 6


@dataclass(frozen=True)
class Pacing:
    """When a run's watchers poll, in seconds.

    ``first`` is the wait before the first poll (the expected latency), ``interval`` the
    pause while executions keep finishing, ``ceiling`` the longest pause while none does,
    ``give_up_after`` how long polls may fail in a row before watching stops (None: never).
    """

    first: float
    interval: float
    ceiling: float
    give_up_after: float | None = DEFAULT_GIVE_UP_AFTER


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
        """``watcher`` ends."""


def clock_time(moment: float) -> str:
    """``moment`` (``time.time()``) as a person reads it on this machine's clock: ``22:31:05 UTC``."""
    return datetime.fromtimestamp(moment).astimezone().strftime("%H:%M:%S %Z").strip()


def gone_reason(task_id: str | None, detail: object) -> str:
    """Why an execution of a task that no longer exists ends failed (shown on the run, kept in the history)."""
    return (
        f"stopped watching: task {task_id} is gone (deleted, or unknown to the service since a restart: "
        f"{detail}); this execution's outcome is unknown"
    )


class Scheduler:
    """Runs the due ticks of every watcher on one scheduling thread and a few tick threads.

    Both are made when the first watcher is added and end when none is left, so an idle
    kernel keeps no thread of weshop_nb's.
    """

    def __init__(self, workers: int = TICK_THREADS) -> None:
        self.workers = workers
        self._due: list[tuple[float, int, TaskWatcher]] = []
        self._order = itertools.count()
        self._busy = 0  # ticks handed to the pool and not yet back
        self._changed = threading.Condition()
        self._thread: threading.Thread | None = None
        self._pool: ThreadPoolExecutor | None = None

    def add(self, watcher: TaskWatcher, delay: float) -> None:
        """Tick ``watcher`` in ``delay`` seconds."""
        with self._changed:
            heapq.heappush(self._due, (time.monotonic() + max(0.0, delay), next(self._order), watcher))
            if self._thread is None:
                self._pool = ThreadPoolExecutor(max_workers=self.workers, thread_name_prefix="weshop-tick")
                self._thread = threading.Thread(target=self._loop, name="weshop-watch", daemon=True)
                self._thread.start()
            self._changed.notify_all()

    def wake(self) -> None:
        """Look at the schedule again now (a watcher was stopped: it ends without waiting for its turn)."""
        with self._changed:
            self._changed.notify_all()

    def watchers(self) -> list[TaskWatcher]:
        """The watchers waiting for their next tick (not those ticking right now)."""
        with self._changed:
            return [entry[2] for entry in self._due]

    @property
    def threads(self) -> int:
        """The threads this scheduler runs now (0 when nothing is watched)."""
        with self._changed:
            return 0 if self._thread is None else 1 + self.workers

    def _loop(self) -> None:
        while True:
            with self._changed:
                now = time.monotonic()
                # Due, or stopped (it ends now rather than at its turn, up to a long pause away).
                ready = [entry[2] for entry in self._due if entry[0] <= now or entry[2].stopped]
                if ready:
                    self._due = [entry for entry in self._due if entry[0] > now and not entry[2].stopped]
                    heapq.heapify(self._due)
                if not ready:
                    if not self._due and not self._busy:
                        pool, self._pool, self._thread = self._pool, None, None
                        break
                    self._changed.wait(None if not self._due else self._due[0][0] - now)
                    continue
                self._busy += len(ready)
                pool = self._pool
            try:
                for watcher in ready:
                    pool.submit(self._tick, watcher)  # type: ignore[union-attr]
            except RuntimeError:  # the interpreter is exiting: no new thread may start, so nothing more is polled
                with self._changed:
                    self._due, self._busy, self._thread = [], 0, None
                return
        if pool is not None:
            pool.shutdown(wait=False)

    def _tick(self, watcher: TaskWatcher) -> None:
        try:
            pause = watcher.tick()
        except BaseException as exc:  # a bug in the tick itself: said on the run, never a lost thread
            pause = None
            watcher.fail(exc)
        with self._changed:
            self._busy -= 1
            if pause is not None and not watcher.stopped:
                heapq.heappush(self._due, (time.monotonic() + pause, next(self._order), watcher))
            self._changed.notify_all()
        if pause is None or watcher.stopped:
            watcher.finish()


#: The one scheduler of the kernel.
SCHEDULER = Scheduler()


class TaskWatcher:
    """Polls one task for the unfinished executions of a run, tick by tick on :data:`SCHEDULER`.

    With ``task_id`` None (the runs API, which has no task query) it polls each
    unfinished execution by id instead.
    """

    def __init__(
        self, run: WatchedRun, task_id: str | None, items: list[RunItem], scheduler: Scheduler | None = None
    ) -> None:
        self.run = run
        self.task_id = task_id
        self.items = items
        self.scheduler = scheduler or SCHEDULER
        self.ticks = 0
        self.task_queries = 0
        self.execution_queries = 0
        #: Why polling fails (shown in the run's summary) until a poll succeeds again, or None.
        self.last_error: str | None = None
        #: ``time.time()`` of the first of the polls that have failed in a row, or None.
        self.failing_since: float | None = None
        #: Ticks that hit an exception other than a WeShopError (each shown, none fatal).
        self.unexpected = 0
        self._partial: str | None = None  # executions read by id that failed this tick
        self._stop = threading.Event()
        self._ended = threading.Event()
        self._started = False
        self._pacing: Pacing | None = None
        self._interval = 0.0
        self._strikes = 0

    def start(self) -> None:
        """Put the first poll on the schedule (after ``Pacing.first`` seconds)."""
        if self._started:
            raise RuntimeError("a watcher is started once; the run makes new ones to watch again")
        self._started = True
        self._pacing = self.run.pacing
        self._interval = self._pacing.interval
        self._strikes = self.run.client.rate.strikes
        self.scheduler.add(self, self._pacing.first)

    def stop(self) -> None:
        """Poll no more; a tick under way finishes first."""
        self._stop.set()
        self.scheduler.wake()

    def join(self, timeout: float | None = None) -> None:
        """Block until this watcher has ended (or ``timeout`` seconds passed)."""
        if self._started:
            self._ended.wait(timeout)

    @property
    def stopped(self) -> bool:
        return self._stop.is_set()

    @property
    def alive(self) -> bool:
        """True while it polls (started, not stopped, not ended)."""
        return self._started and not self._ended.is_set() and not self._stop.is_set()

    @property
    def ended(self) -> bool:
        """True once it stopped polling for good and told its run."""
        return self._ended.is_set()

    @property
    def unfinished(self) -> list[RunItem]:
        return [item for item in self.items if not item.done]

    def poll_once(self) -> bool:
        """One poll: one task query, plus a query by id per execution outside its window.

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
            seen.update(self._by_id(missing, every=task is None))
        changes = [(item, seen[_id_of(item)]) for item in waiting if seen.get(_id_of(item)) is not None]
        return self.run.update_many(changes)  # type: ignore[arg-type]

    def _by_id(self, execution_ids: list[str], *, every: bool) -> dict[str, Execution | None]:
        """Query executions one by one, concurrently; one that fails is left as it was this tick.

        ``every``: these are all the watcher reads (the runs API); if all of them fail,
        the poll failed.
        """

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
        trouble = [e for e in errors if not isinstance(e, InvalidRequestError)]
        if every and trouble and len(trouble) == len(execution_ids):
            raise trouble[0]  # nothing could be read: a failed poll, like a failed task query
        if errors:
            self._partial = f"{len(errors)} execution(s) could not be read this time ({errors[0]}); trying again"
        return {key: None if isinstance(value, WeShopError) else value for key, value in found.items()}

    # -- a tick --------------------------------------------------------------------------

    def tick(self) -> float | None:
        """Poll once if it is time, and say when to poll next (None: watching ends)."""
        if self._stop.is_set() or not self.unfinished:
            return None
        hold = self.run.client.rate.remaining()
        if hold > 0:  # this client was told to slow down: nobody sends until the hold is over
            return hold
        run, pacing, rate = self.run, self._pacing or self.run.pacing, self.run.client.rate
        base, ceiling = pacing.interval, pacing.ceiling
        unfinished = len(self.unfinished)
        try:
            self._partial = None
            self.poll_once()
            # Only now: during an outage the reason stays shown for the whole of it.
            self.last_error, self.failing_since = self._partial, None
            finished = unfinished - len(self.unfinished)
            self._interval = next_interval(self._interval, base, ceiling, changed=finished > 0)
            pause = self._catch_up(self._interval) if finished else self._interval
        except AuthenticationError as exc:
            # A refused key will not start working by asking again: stop, and say why.
            run.stop_watching(f"stopped watching: {exc}")
            return None
        except InvalidRequestError as exc:
            # The task is gone (deleted, or another account): nothing more will come.
            self._give_up(gone_reason(self.task_id, exc))
            return None
        except RateLimitError as exc:
            self._failed(str(exc))
            self._interval = next_interval(self._interval, base, ceiling, changed=False)
            pause = max(self._interval, exc.retry_after or 0.0)
        except WeShopError as exc:  # service or network trouble: keep the executions, try later
            self._failed(str(exc))
            self._interval = pause = next_interval(self._interval, base, ceiling, changed=False)
        except Exception as exc:  # a reply nobody foresaw, or a bug: show it, keep watching
            self.unexpected += 1
            self._failed(f"{type(exc).__name__}: {exc}")
            warn_once(f"watching task {self.task_id} hit an unexpected error", exc)
            self._interval = pause = next_interval(self._interval, base, ceiling, changed=False)
        if self.failing_since is not None and self._outlasted(pacing):
            run.stop_watching(self._gave_up_message(pacing))
            return None
        if rate.strikes != self._strikes:  # told to slow down, here or in another thread of this client
            self._strikes = rate.strikes
            self._interval = next_interval(self._interval, base, ceiling, changed=False)
            pause = max(pause, self._interval)
        return pause if self.unfinished else None

    def _failed(self, reason: str) -> None:
        self.last_error = reason
        if self.failing_since is None:
            self.failing_since = time.time()

    def _outlasted(self, pacing: Pacing) -> bool:
        limit = pacing.give_up_after
        return limit is not None and time.time() - (self.failing_since or time.time()) >= limit

    def _gave_up_message(self, pacing: Pacing) -> str:
        since = clock_time(self.failing_since or time.time())
        return (
            f"gave up watching after {pacing.give_up_after:g} s of failed polls (since {since}): "
            f"{self.last_error.rstrip('.') if self.last_error else 'no reason given'}. "
            "The executions go on at the service; run.watch() or %weshop resume watches again"
        )

    def trouble(self) -> str | None:
        """Why polling fails and since when, while it does; None otherwise."""
        reason, since = self.last_error, self.failing_since
        if reason is None:
            return None
        if since is None:  # the poll worked, some executions read by id did not
            return reason
        return f"polls failing since {clock_time(since)}: {reason.rstrip('.')}; trying again"

    def fail(self, exc: BaseException) -> None:
        """A bug in the tick itself: the run stops watching and says so (called by the scheduler)."""
        self.run.stop_watching(f"stopped watching task {self.task_id}: {type(exc).__name__}: {exc}")
        warn_once("a run's watcher stopped", exc if isinstance(exc, Exception) else None)

    def finish(self) -> None:
        """Watching ends: tell the run once (called by the scheduler)."""
        if self._ended.is_set():
            return
        self._stop.set()
        self._ended.set()
        self.run.watcher_finished(self)

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
        # Through the run's own update, so the items change under its lock like any other state;
        # and told to the history, so it no longer lists them as unfinished.
        ended = [
            (item, replace(_execution_of(item), status=FAILED, raw={"message": reason}))
            for item in (self.unfinished if items is None else items)
        ]
        self.run.update_many(ended)
        source = getattr(self.run.client, "base_url", None)
        if source:
            for _, execution in ended:
                events.emit("execution", execution, source=source)


def _execution_of(item: RunItem) -> Execution:
    return item.execution  # type: ignore[return-value]  # watched items have one


def _id_of(item: RunItem) -> str:
    return _execution_of(item).id
