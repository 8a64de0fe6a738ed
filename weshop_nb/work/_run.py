"""A run: executions launched together, their items, their end, their download threads, stopping.

A :class:`Run` is one or many executions (a sweep: prompts x locations x models),
launched at once by :func:`weshop_nb.work._launch.launch`, which spreads them over tasks
of at most 20, never two alike on one task, so that one query per task per tick sees
them all. It holds one :class:`RunItem` per job: the job, the latest state of its
execution, its pictures.

Its partner is the watcher (:class:`~weshop_nb.work._watch.TaskWatcher`, one per task,
ticked on a few threads shared by every run), which polls and hands what it reads back
through a small interface of the run, gathered under "what its watchers use" below
(:class:`~weshop_nb.work._watch.WatchedRun` says it as a protocol): ``client``,
:attr:`Run.pacing`, :meth:`Run.fetch_all`, :meth:`Run.update_many`,
:meth:`Run.stop_watching` and :meth:`Run.watcher_finished`.

A run's items change in watcher threads and are read in the kernel's: every change and
every read of more than one field holds the run's lock. Subscribers (the live grid, the
progress bar) get every change through :meth:`Run.on_update`, called outside the lock,
and the end through :meth:`Run.on_finish` (a notebook replaces the run's live displays
by its static picture then; :class:`Ending` tells them once); the notebook layer plugs
its views in through :mod:`weshop_nb.work._hooks`, so this module knows no IPython.
Pictures and executions outside a task's query window are fetched by the run's own
threads (:class:`DownloadPool`), made on the first fetch of several and let go when
watching ends.

Stopping: the service has no call that cancels an execution: once launched it runs to
the end (and is billed) whatever the notebook does. So Ctrl-C ends only the *wait*
(:class:`WaitInterrupted`), and :meth:`Run.stop` ends only the *watching*; both say so,
and say how to watch again.
"""

from __future__ import annotations

import heapq
import itertools
import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

from ..contract import FAILED, PENDING, STATUSES, SUCCESS, TERMINAL, spec
from ..service._errors import WaitTimeout, WeShopError
from ..service._events import warn_once
from ..service._models import Execution
from . import _hooks
from ._html import pixels, thumb_width
from ._jobs import Job
from ._records import FAILED_WITHOUT_REASON, item_row
from ._save import DEFAULT_FOLDER
from ._watch import DEFAULT_GIVE_UP_AFTER, Pacing, TaskWatcher

if TYPE_CHECKING:
    import pandas as pd

    from ..service._client import WeShopClient
    from ..service._thumbnails import ThumbnailCache

__all__ = [
    "NO_CANCEL",
    "DownloadPool",
    "Ending",
    "Run",
    "RunItem",
    "WaitInterrupted",
    "call_safely",
    "interrupted_message",
    "progress_text",
    "stopped_message",
    "time_left",
]

NO_CANCEL = "it has no cancel call"


# -- an item ---------------------------------------------------------------------------


@dataclass
class RunItem:
    """One slot of a run: its job, the latest state of its execution, its thumbnails."""

    job: Job
    execution: Execution | None = None
    error: str | None = None
    thumbnails: list[bytes] = field(default_factory=list)
    launch_error: WeShopError | None = field(default=None, repr=False)
    #: ``time.monotonic()`` when the service accepted it (None when not launched by this kernel).
    started_at: float | None = field(default=None, repr=False)
    #: This kernel's rater's stars per picture (its place among the stills): what views show.
    stars: dict[int, int] = field(default_factory=dict, repr=False)
    #: ``time.monotonic()`` when this kernel first saw it finished (None while it is not).
    finished_at: float | None = field(default=None, repr=False)
    #: How many pictures its newest state has, known as soon as they start arriving, before
    #: that state is recorded: a card keeps their size while they come one by one.
    expected_pictures: int = field(default=0, repr=False)

    @property
    def status(self) -> str:
        if self.execution is None:
            return FAILED if self.error else PENDING
        return self.execution.status

    @property
    def done(self) -> bool:
        return self.status in TERMINAL

    @property
    def media(self) -> str:
        """``"image"`` or ``"video"``: what this item makes (its execution says, else its agent)."""
        found = self.execution.media if self.execution is not None else None
        if found is None:
            agent = spec(self.job.task.agent_name or "")
            found = agent.output if agent is not None else "image"
        return found

    @property
    def warnings(self) -> tuple[str, ...]:
        """What could not be read from the service's latest record of this execution."""
        return self.execution.warnings if self.execution is not None else ()

    @property
    def caption(self) -> str:
        parts = [
            self.job.prompt or "",
            getattr(self.job.location, "name", ""),
            getattr(self.job.fashion_model, "name", ""),
        ]
        return " · ".join(p for p in parts if p) or "(no prompt)"


# -- the end ---------------------------------------------------------------------------


def call_safely(callback: Callable[..., None], *args: Any) -> None:
    """``callback(*args)``; an exception is warned about once, never raised into a watcher."""
    try:
        callback(*args)
    except Exception as exc:  # a broken view must not stop the watcher
        warn_once(f"could not show a run update ({getattr(callback, '__qualname__', callback)})", exc)


class Ending:
    """The callbacks waiting for a run's end (:meth:`Run.on_finish`), and whether it came.

    A run ends when every execution is finished or when watching stops. Whichever thread
    sees it first (a watcher, or the kernel's on ``stop()``) calls the callbacks, outside
    the run's lock; a callback given after the end is called at once.

    ``seen`` is True from the moment the end is seen, ``told`` once every callback has
    returned (what ``Run.wait()`` waits for).
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._callbacks: list[Callable[[Any], None]] = []
        self.seen = False
        self.told = False

    def add(self, callback: Callable[[Any], None], run: Any) -> None:
        with self._lock:
            if not self.seen:
                self._callbacks.append(callback)
                return
        call_safely(callback, run)

    def remove(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def settle(self, run: Any, ended: Callable[[], bool]) -> bool:
        """Tell everyone, once, if ``ended()`` (checked under the lock); True when this call told them."""
        with self._lock:
            if self.seen or not ended():
                return False
            self.seen = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            call_safely(callback, run)
        self.told = True
        return True

    def reset(self) -> None:
        """The run is watched again: it can end again (called under the run's lock)."""
        self.seen = self.told = False


# -- the download threads --------------------------------------------------------------


class DownloadPool:
    """Up to ``max_concurrent`` fetches at once, in threads of its own, the lowest rank first.

    Every fetch waits in one line, ordered by its rank, then by arrival: the watchers of a
    run give a picture its place in its execution as rank, so every first picture of the
    executions seen finished is fetched before any second one, whichever tick brought
    them (first pictures first). Each thread of the pool takes the best of the line when
    it is free, so a fetch that joins later with a lower rank goes ahead of those waiting.
    """

    def __init__(self, max_concurrent: int) -> None:
        self.max_concurrent = max_concurrent
        self._pool: ThreadPoolExecutor | None = None
        self._line: list[tuple[int, int, Callable[[Any], Any], Any, Future[Any]]] = []
        self._order = itertools.count()
        self._lock = threading.Lock()

    def map(self, fetch: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
        """``[fetch(key) for key in keys]``, several at once when there are several."""
        return [future.result() for future in self.submit(fetch, keys)]

    def submit(
        self, fetch: Callable[[Any], Any], keys: Sequence[Any], ranks: Sequence[int] | None = None
    ) -> list[Future[Any]]:
        """One future per key, for ``fetch(key)``; ``ranks`` (all 0 when not given) orders the line."""
        futures: list[Future[Any]] = [Future() for _ in keys]
        if len(keys) <= 1 or self.max_concurrent == 1:
            for key, future in zip(keys, futures, strict=True):
                _settle_future(future, fetch, key)
            return futures
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="weshop-fetch")
            pool = self._pool
            for key, future, rank in zip(keys, futures, ranks or [0] * len(keys), strict=True):
                heapq.heappush(self._line, (rank, next(self._order), fetch, key, future))
        for _ in keys:  # as many turns as fetches: each turn takes the best of the line
            try:
                pool.submit(self._take_turn)
            except RuntimeError:  # closed meanwhile (the run was stopped): take the turn here
                self._take_turn()
        return futures

    def _take_turn(self) -> None:
        with self._lock:
            _, _, fetch, key, future = heapq.heappop(self._line)
        _settle_future(future, fetch, key)

    def close(self) -> None:
        """Let the threads go (a later fetch makes new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)


def _settle_future(future: Future[Any], fetch: Callable[[Any], Any], key: Any) -> None:
    try:
        future.set_result(fetch(key))
    except BaseException as exc:  # given to whoever waits for it, as pool.map would
        future.set_exception(exc)


# -- stopping --------------------------------------------------------------------------


def _unfinished(run: Run) -> int:
    return sum(not item.done for item in run.items)


def interrupted_message(run: Run, name: str = "run") -> str:
    """The one line shown when Ctrl-C ends a wait."""
    return (
        f"Stopped waiting: {_unfinished(run)} of {len(run.items)} execution(s) go on at the service "
        f"({NO_CANCEL}) and are still watched here; `{name}.wait()` waits again, `{name}.stop()` stops watching."
    )


def time_left(run: Run) -> float | None:
    """Seconds until every execution of ``run`` should be finished, at the pace so far; None before one is.

    Executions of a sweep finish at a fairly steady pace once the first ones do (the
    service works through them in parallel), so the time since the launch divided by
    the share finished is a fair guess of the whole.
    """
    with run._lock:
        started = [item.started_at for item in run.items if item.started_at is not None]
        finished = sum(item.done for item in run.items)
    total = len(run.items)
    if not started or not finished or finished >= total:
        return None
    elapsed = time.monotonic() - min(started)
    return max(0.0, elapsed * total / finished - elapsed)


def progress_text(run: Run) -> str:
    """The run's progress on one line: its counts by status, why it stalls, and the time left when known."""
    line = run.summary()
    left = time_left(run) if not run.notice else None
    if left is not None:
        line += f"; about {_duration(left)} left"
    return line


def _duration(seconds: float) -> str:
    if seconds < 90:
        return f"{max(1, round(seconds))} s"
    if seconds < 5400:
        return f"{round(seconds / 60)} min"
    return f"{seconds / 3600:.1f} h"


def stopped_message(run: Run, name: str = "run") -> str:
    """What ``Run.stop()`` leaves behind, in one line (shown with the run's counts)."""
    return (
        f"stopped watching; {_unfinished(run)} execution(s) go on at the service ({NO_CANCEL}): "
        f"`{name}.start()` watches them again"
    )


class WaitInterrupted(KeyboardInterrupt):
    """Ctrl-C ended ``Run.wait()``; the executions go on and are still watched.

    IPython shows it as its one-line message instead of a traceback (through
    ``_render_traceback_``), since the interrupted frames are only the wait's.
    """

    def __init__(self, message: str, run: Run) -> None:
        super().__init__(message)
        self.run = run

    def __str__(self) -> str:
        return str(self.args[0])

    def _render_traceback_(self) -> list[str]:
        return [str(self)]


# -- the run ---------------------------------------------------------------------------


class Run:
    """Executions launched together, watched live until they are all finished.

    Attributes
    ----------
    items : list of RunItem
        One per launched job, in launch order.
    width : int
        CSS width in pixels of each execution's card where the run is drawn; its pictures
        are kept at the size they are shown there (see :func:`weshop_nb.work._html.pixels`).
    launch_options : dict
        The options of the launch that made the run; :meth:`retry` launches with the same.
    give_up_after : float or None
        Seconds of nothing but failed polls (the service unreachable, say) after which
        watching stops and says so; None never gives up. By default the client's
        ``give_up_after``, else :data:`~weshop_nb.work._watch.DEFAULT_GIVE_UP_AFTER`.
    """

    def __init__(
        self,
        client: WeShopClient,
        items: list[RunItem],
        *,
        thumbnails: ThumbnailCache | None = None,
        poll_interval: float = 2.0,
        max_interval: float = 15.0,
        first_poll: float | None = None,
        max_concurrent: int = 8,
        width: int = 192,
        give_up_after: float | None = None,
    ) -> None:
        self.client = client
        if give_up_after is None:
            give_up_after = getattr(client, "give_up_after", DEFAULT_GIVE_UP_AFTER)
        self.give_up_after = give_up_after
        self.items = items
        self.thumbnails = thumbnails
        self.width = width
        self.poll_interval = poll_interval
        self.max_interval = max_interval
        #: Seconds before a watcher's first poll: the expected latency (default: the poll interval).
        self.first_poll = poll_interval if first_poll is None else first_poll
        #: Downloads (thumbnails, executions outside a task's window) running at once for this run.
        self.max_concurrent = max(1, max_concurrent)
        self.source = client.base_url
        self.watchers: list[TaskWatcher] = []
        #: The options of the launch that made this run (thumbnails, polling, ``max_concurrent``,
        #: ``width``, ``callback_url``): :meth:`retry` launches again with the same.
        self.launch_options: dict[str, Any] = {}
        #: Why watching stopped early (say, the key was revoked), shown with the counts.
        self.notice: str | None = None
        self._subscribers: list[Callable[[Run, RunItem], None]] = []
        self._stopped = False
        self._lock = threading.RLock()
        self._ending = Ending(self._lock)
        self._changed = threading.Condition(self._lock)
        # The threads that fetch pictures and out-of-window executions for this run.
        self._downloads = DownloadPool(max_concurrent)

    # -- state -----------------------------------------------------------------------

    @property
    def executions(self) -> list[Execution]:
        """The latest state of every launched execution, in launch order."""
        with self._lock:
            return [item.execution for item in self.items if item.execution is not None]

    @property
    def done(self) -> bool:
        """True when every execution is ``success`` or ``failed`` (or failed to launch)."""
        with self._lock:
            return all(item.done for item in self.items)

    @property
    def watching(self) -> bool:
        """True while a watcher of this run is still polling."""
        return any(watcher.alive for watcher in self.watchers)

    def counts(self) -> dict[str, int]:
        """How many items are pending, running, succeeded and failed."""
        tally = dict.fromkeys(STATUSES, 0)
        with self._lock:
            for item in self.items:
                tally[item.status] += 1
        return tally

    def summary(self) -> str:
        """One line: how many are done, by status, and why watching stopped or stalls, if it did."""
        counts = self.counts()
        finished = counts[SUCCESS] + counts[FAILED]
        detail = ", ".join(f"{n} {status}" for status, n in counts.items() if n)
        line = f"{finished}/{len(self.items)} done ({detail})"
        # Held by the watchers until a poll succeeds: said for the whole of an outage.
        trouble = self.notice or next((t for t in (w.trouble() for w in self.watchers) if t), None)
        if trouble and finished < len(self.items):
            line += f"; {trouble}"
        return line

    # -- events ----------------------------------------------------------------------

    def on_update(self, callback: Callable[[Run, RunItem], None], remove: bool = False) -> None:
        """Call ``callback(run, item)`` whenever an item changes (from the watcher thread)."""
        with self._lock:
            if remove:
                self._subscribers.remove(callback)
            else:
                self._subscribers.append(callback)

    def on_finish(self, callback: Callable[[Run], None], remove: bool = False) -> None:
        """Call ``callback(run)`` once, when every execution is finished or watching stops.

        It runs in the thread that saw the end (usually a watcher), after the last
        :meth:`on_update` call; :meth:`wait` returns only after it has. Given after the
        end, ``callback`` is called at once.
        """
        if remove:
            self._ending.remove(callback)
        else:
            self._ending.add(callback, self)

    @property
    def finished(self) -> bool:
        """True once the run has ended (all finished, or watching stopped) and its views were told."""
        return self._ending.told

    def _settle(self) -> None:
        if self._ending.settle(self, lambda: self._stopped or all(item.done for item in self.items)):
            with self._changed:
                self._changed.notify_all()

    def publish(self, item: RunItem) -> None:
        """Tell every subscriber that ``item`` changed; a subscriber that fails is warned about once."""
        with self._lock:
            subscribers = list(self._subscribers)
        for callback in subscribers:
            call_safely(callback, self, item)
        self._settle()
        with self._changed:
            self._changed.notify_all()

    def update(self, item: RunItem, execution: Execution) -> bool:
        """Record a newer state of ``item``'s execution; True when something visible changed."""
        return self.update_many([(item, execution)])

    # -- what its watchers use -------------------------------------------------------------
    # The whole of what a TaskWatcher asks of its run (with ``client``); see _watch.WatchedRun.

    @property
    def pacing(self) -> Pacing:
        """When this run's watchers poll: the first poll, the interval, the longest pause."""
        return Pacing(self.first_poll, self.poll_interval, self.max_interval, self.give_up_after)

    def fetch_all(self, fetch: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
        """``[fetch(key) for key in keys]``, up to ``max_concurrent`` at once in this run's download threads."""
        return self._downloads.map(fetch, keys)

    def stop_watching(self, reason: str) -> None:
        """Stop every watcher and say why (the executions go on at the service)."""
        with self._lock:
            self.notice = reason
        for watcher in self.watchers:
            watcher.stop()
        with self._lock:
            self._stopped = True
        self._settle()  # the run's live views end here: nothing more will come
        with self._changed:
            self._changed.notify_all()

    def update_many(self, changes: Sequence[tuple[RunItem, Execution]]) -> bool:
        """Record newer states of several items; True when something visible changed.

        Their new pictures are fetched outside the lock, up to ``max_concurrent`` at once,
        first pictures first: the download line is ordered by a picture's place in its
        execution, and each picture is shown on its item as it arrives, in that order, so
        every card here gets its first picture before any gets its second. An item takes
        its new state (a status, its list of pictures) in one step once all its new
        pictures are there: whoever sees an execution finished sees all its pictures.
        """
        with self._lock:
            # Counted from the pictures already kept too: a malformed reply that showed
            # fewer images must not make the same pictures be added twice. A video shows
            # as its poster (Execution.stills).
            fresh = []
            for item, execution in changes:
                kept = max(len(item.thumbnails), len(item.execution.stills) if item.execution else 0)
                fresh.append((item, execution, execution.stills[kept:]))
        if self.thumbnails is not None:
            self._show_as_they_arrive(fresh)
        changed = False
        for item, execution, new in fresh:
            with self._lock:
                before = item.execution
                if execution.status == FAILED and not item.error:
                    item.error = execution.error or FAILED_WITHOUT_REASON
                item.execution = execution
                if item.finished_at is None and execution.status in TERMINAL:
                    item.finished_at = time.monotonic()
            if before is None or before.status != execution.status or new or before.warnings != execution.warnings:
                changed = True
                self.publish(item)
        return changed

    def _show_as_they_arrive(self, fresh: list[tuple[RunItem, Execution, list[str]]]) -> None:
        """Fetch the new pictures of ``fresh`` (item, newer state, new URLs) and add each to its item as it comes.

        Each is kept at the size its card shows it (one picture fills the card, several
        share it). All but an item's last new picture are published at once; the last
        comes with the item's new state (:meth:`update_many`).
        """
        wanted, places, owners = [], [], []
        for item, execution, new in fresh:
            size = pixels(thumb_width(len(execution.stills), self.width))
            first = len(execution.stills) - len(new)
            for offset, url in enumerate(new):
                wanted.append((url, size))
                places.append(first + offset)
                owners.append((item, len(execution.stills), offset == len(new) - 1))
        futures = self._downloads.submit(self._thumbnail, wanted, places)
        # In the line's order: by place, then as launched; an item's pictures stay in order.
        for index in sorted(range(len(places)), key=lambda at: (places[at], at)):
            item, count, last = owners[index]
            thumb = futures[index].result()
            with self._lock:
                item.thumbnails.append(thumb)
                item.expected_pictures = count
            if not last:
                self.publish(item)

    def _thumbnail(self, wanted: tuple[str, int]) -> bytes:
        try:
            return self.thumbnails.get(*wanted)  # type: ignore[union-attr]
        except Exception:
            return b""  # shown as a broken tile, never a crash

    def watcher_finished(self, watcher: TaskWatcher) -> None:
        """``watcher``'s thread ends; the last one lets the download threads go."""
        with self._changed:
            self._changed.notify_all()
        if not any(other.alive for other in self.watchers if other is not watcher):
            self._downloads.close()

    # -- watching ----------------------------------------------------------------------

    def make_watchers(self) -> list[TaskWatcher]:
        """One watcher per task of the run, not yet started; on the runs API one for every run.

        The runs API has no task query: each run is its own task and is polled by id.
        """
        by_task: dict[str | None, list[RunItem]] = {}
        for item in self.items:
            if item.execution is not None:
                key = None if getattr(self.client, "api", "v1") == "runs" else item.job.task.id
                by_task.setdefault(key, []).append(item)
        self.watchers = [TaskWatcher(self, task_id, items) for task_id, items in by_task.items()]
        return self.watchers

    def start(self) -> Run:
        """Start watching, one watcher per task (done by ``_launch.launch``; again after :meth:`stop`)."""
        for watcher in self.watchers:
            watcher.stop()
        with self._lock:
            self.notice = None
            if not all(item.done for item in self.items):  # watched again: it can end again
                self._stopped = False
                self._ending.reset()
        for watcher in self.make_watchers():
            watcher.start()
        self._settle()  # nothing left to watch (say, every launch was refused): ended already
        return self

    def watch(self) -> Run:
        """Watch the unfinished executions again: after :meth:`stop`, a refused key put right, or an outage
        watching gave up on (its reason is in :meth:`summary`). Live views shown from now follow it."""
        return self.start()

    def stop(self) -> None:
        """Stop watching. The executions go on at the service, which has no cancel call.

        The run keeps what it has seen; :meth:`start` watches the unfinished ones again.
        The run's live views end here (replaced by its static picture, with the notice).
        """
        if self.done:
            for watcher in self.watchers:
                watcher.stop()
            self._downloads.close()
            return
        self.stop_watching(stopped_message(self))
        for item in self.items:  # so live views show the notice at once
            if not item.done:
                self.publish(item)
                break
        self._downloads.close()

    def wait(self, timeout: float | None = None, *, progress: bool | None = None) -> Run:
        """Block until every execution is finished, showing a progress bar in a notebook.

        Raises
        ------
        WaitTimeout
            When ``timeout`` seconds pass first; the run keeps being watched.
        """
        views = _hooks.views() if progress is not False else None
        show = views.wait_progress(self) if views is not None else None
        deadline = None if timeout is None else time.monotonic() + timeout
        try:
            with self._changed:
                # Ends when the run ended and its views were told (a notebook's displays are
                # final when the cell returns), or when nothing watches any more.
                while not self.finished and (self.watching or not self.watchers):
                    if show:
                        show.update()
                    remaining = None if deadline is None else deadline - time.monotonic()
                    if remaining is not None and remaining <= 0:
                        raise WaitTimeout(f"Run not finished after {timeout:g} s: {self.summary()}.", execution=self)
                    self._changed.wait(0.5 if remaining is None else min(0.5, remaining))
        except KeyboardInterrupt:
            # Ctrl-C lands wherever the main thread was, usually deep in threading.py:
            # those frames say nothing to a person, so the wait ends with one line.
            raise WaitInterrupted(interrupted_message(self), self) from None
        finally:
            if show:
                show.update()
                getattr(show, "close", lambda: None)()
        return self

    # -- what to do next ---------------------------------------------------------------

    def save(
        self,
        folder: str | os.PathLike[str] = DEFAULT_FOLDER,
        *,
        progress: bool | Callable[[int, int], None] | None = None,
    ) -> pd.DataFrame:
        """Download every picture of the run into ``folder``, under names a person can read.

        Names are prompt, scene, model, execution and index
        (``golden-hour_sunny-beach_eve_3f2a1c-1.png``); pictures already there are skipped,
        so saving again after more arrive fetches only the new ones.

        Returns
        -------
        DataFrame
            One row per picture: ``path``, ``outcome`` (downloaded, existing, failed),
            ``save_error``, then the execution's columns.
        """
        from ._save import save_run

        return save_run(self, folder, progress)

    def retry(self, which: Iterable[Any] | None = None, *, watch: bool = True, **overrides: Any) -> Run:
        """Launch again, with the same parameters, the executions that failed (or those in ``which``).

        ``which`` holds positions in :attr:`items`, :class:`RunItem` objects or execution ids.
        The new run is launched with this one's :attr:`launch_options` (thumbnails, polling,
        ``max_concurrent``, ``width``, ``callback_url``), each replaced by ``overrides`` when
        given. Returns the new :class:`Run`; this one is left as it is.
        """
        # The launch module makes runs, so it is imported here, when a run is retried.
        from ._launch import retry

        return retry(self, which, watch=watch, **overrides)

    # -- views -----------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per execution, with the columns of :data:`FRAME_COLUMNS`."""
        from ._frames import executions_frame

        with self._lock:
            rows = [item_row(item, self.source) for item in self.items]
        return executions_frame(rows)

    def __repr__(self) -> str:
        tasks = len({item.job.task.id for item in self.items})
        count = len(self.items)
        noun = "execution" if count == 1 else "executions"
        return f"<Run of {count} {noun} on {tasks} task{'' if tasks == 1 else 's'}: {self.summary()}>"

    def _repr_html_(self) -> str:
        from ._html import run_html

        with self._lock:
            return run_html(self)

    def _repr_mimebundle_(self, include: Any = None, exclude: Any = None) -> dict[str, Any]:
        return {"text/plain": repr(self), "text/html": self._repr_html_()}

    @property
    def _ipython_display_(self) -> Callable[[], None] | None:
        # IPython shows a run (a cell's result too) through this: live, replaced by its static
        # picture when it ends (an Out[] could not be). None: the static bundle above.
        views = _hooks.views()
        return None if views is None else lambda: views.display(self)

    # -- judging -----------------------------------------------------------------------

    def rate(self, which: Any, stars: int | None, picture: int = 0) -> None:
        """Give picture ``picture`` of one execution 1 to 5 ``stars`` (``None`` clears), in the history.

        ``which`` is the execution's position in :attr:`items`, its id, or the
        :class:`RunItem`. It goes through :meth:`History.rate <weshop_nb.History.rate>` (as
        ``WESHOP_NB_RATER``, else your user name; your latest rating of a picture counts),
        then the item's ``stars`` and the run's views show it.

        Raises
        ------
        RatingError
            Stars out of range, an execution not in this run (or not launched), a picture
            it does not have: nothing is stored.
        """
        from ._history import require_history
        from ._judgement import rate_item, run_item

        item = run_item(self, which)
        rate_item(require_history(), item, stars, picture, source=self.source)
        self.publish(item)
