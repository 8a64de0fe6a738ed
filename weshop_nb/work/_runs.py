"""Launching executions and watching them: ``Run``, one watcher thread per task.

A :class:`Run` is one or many executions (a sweep: prompts x locations x models),
launched at once. :func:`launch` spreads them over tasks of at most 20, never two alike
on one task (:mod:`weshop_nb.work._shards`), so that one query per task per tick sees
them all. A watcher thread per task polls the task query; it waits for the expected
latency before its first poll, backs off while nothing finishes, shares its client's
rate budget with every other thread, survives transient errors and malformed replies,
and stops when everything is terminal or the key is refused.

A run's items change in watcher threads and are read in the kernel's: every change and
every read of more than one field holds the run's lock. Subscribers (the live grid, the
progress bar) get every change through :meth:`Run.on_update`, called outside the lock,
and the end through :meth:`Run.on_finish` (a notebook replaces the run's live displays
by its static picture then); the notebook layer plugs its views in through
:mod:`weshop_nb.work._hooks`, so this module knows no IPython. The watcher is in
:mod:`weshop_nb.work._watch`.
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from typing import TYPE_CHECKING, Any

from ..contract import FAILED, STATUSES, SUCCESS
from ..service._errors import WaitTimeout
from ..service._models import Execution
from . import _hooks
from ._downloads import DownloadPool
from ._ending import Ending, call_safely
from ._html import pixels, thumb_width
from ._items import RunItem
from ._jobs import Job, sweep
from ._records import FAILED_WITHOUT_REASON, item_row
from ._save import DEFAULT_FOLDER
from ._watch import TaskWatcher

if TYPE_CHECKING:
    import pandas as pd

    from ..service._client import WeShopClient
    from ..service._thumbnails import ThumbnailCache

__all__ = ["Job", "RunItem", "Run", "TaskWatcher", "sweep"]


class Run:
    """Executions launched together, watched live until they are all finished.

    Attributes
    ----------
    items : list of RunItem
        One per launched job, in launch order.
    width : int
        CSS width in pixels of each execution's card where the run is drawn; its pictures
        are kept at the size they are shown there (see :func:`weshop_nb.work._html.pixels`).
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
    ) -> None:
        self.client = client
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
        #: How the run was launched (``max_concurrent``, ``callback_url``): a retry launches the same way.
        self.launch_options: dict[str, Any] = {}
        #: How this run was started (``_launch.launch``), so :meth:`retry` starts the same way.
        self.launcher: Callable[..., Run] | None = None
        #: Why watching stopped early (say, the key was revoked), shown with the counts.
        self.notice: str | None = None
        self._subscribers: list[Callable[[Run, RunItem], None]] = []
        self._stopped = False
        self._lock = threading.RLock()
        self._ending = Ending(self._lock)
        self._changed = threading.Condition(self._lock)
        #: The threads that fetch pictures and out-of-window executions for this run.
        self.downloads = DownloadPool(max_concurrent)

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
        trouble = self.notice or next((w.last_error for w in self.watchers if w.last_error), None)
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

    def update(self, item: RunItem, execution: Execution) -> bool:
        """Record a newer state of ``item``'s execution; True when something visible changed."""
        return self.update_many([(item, execution)])

    def update_many(self, changes: Sequence[tuple[RunItem, Execution]]) -> bool:
        """Record newer states of several items; True when something visible changed.

        The new pictures of all of them are fetched at once (up to ``max_concurrent``
        downloads), outside the lock, then each item's pictures are stored with its new
        state in one step: whoever sees the new status sees its pictures.
        """
        with self._lock:
            # Counted from the pictures already kept too: a malformed reply that showed
            # fewer images must not make the same pictures be added twice. A video shows
            # as its poster (Execution.stills).
            fresh = []
            for item, execution in changes:
                kept = max(len(item.thumbnails), len(item.execution.stills) if item.execution else 0)
                fresh.append((item, execution, execution.stills[kept:]))
        # Kept at the size the card shows them: one picture fills it, several share it.
        wanted = [
            (url, pixels(thumb_width(len(execution.stills), self.width))) for _, execution, new in fresh for url in new
        ]
        fetched = iter(self.downloads.map(self._thumbnail, wanted if self.thumbnails is not None else []))
        changed = False
        for item, execution, new in fresh:
            thumbs = [next(fetched) for _ in new] if self.thumbnails is not None else []
            with self._lock:
                before = item.execution
                item.thumbnails.extend(thumbs)
                if execution.status == FAILED and not item.error:
                    item.error = execution.error or FAILED_WITHOUT_REASON
                item.execution = execution
            if before is None or before.status != execution.status or new or before.warnings != execution.warnings:
                changed = True
                self.publish(item)
        return changed

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
            self.downloads.close()

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
        """Start one watcher thread per task (done by :func:`launch`; again after :meth:`stop`)."""
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

    def stop(self) -> None:
        """Stop watching. The executions go on at the service, which has no cancel call.

        The run keeps what it has seen; :meth:`start` watches the unfinished ones again.
        The run's live views end here (replaced by its static picture, with the notice).
        """
        from ._stop import stopped_message

        if self.done:
            for watcher in self.watchers:
                watcher.stop()
            self.downloads.close()
            return
        self.stop_watching(stopped_message(self))
        for item in self.items:  # so live views show the notice at once
            if not item.done:
                self.publish(item)
                break
        self.downloads.close()

    def wait(self, timeout: float | None = None, *, progress: bool | None = None) -> Run:
        """Block until every execution is finished, showing a progress bar in a notebook.

        Raises
        ------
        WaitTimeout
            When ``timeout`` seconds pass first; the run keeps being watched.
        """
        from ._stop import WaitInterrupted, interrupted_message

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

    def retry(self, which: Iterable[Any] | None = None, *, watch: bool = True) -> Run:
        """Launch again, with the same parameters, the executions that failed (or those in ``which``).

        ``which`` holds positions in :attr:`items`, :class:`RunItem` objects or execution ids.
        Returns the new :class:`Run`; this one is left as it is.
        """
        from ._retry import retry_jobs

        if self.launcher is None:
            raise RuntimeError("This run was not started by weshop_nb's launch, so it cannot be launched again.")
        return self.launcher(
            self.client,
            retry_jobs(self, which),
            thumbnails=self.thumbnails,
            poll_interval=self.poll_interval,
            max_interval=self.max_interval,
            watch=watch,
            **self.launch_options,
        )

    # -- views -----------------------------------------------------------------------

    def to_frame(self) -> pd.DataFrame:
        """One row per execution, with the columns of :data:`FRAME_COLUMNS`."""
        from ._frames import executions_frame

        with self._lock:
            rows = [item_row(item, self.source) for item in self.items]
        return executions_frame(rows)

    def __repr__(self) -> str:
        tasks = len({item.job.task.id for item in self.items})
        return f"<Run of {len(self.items)} executions on {tasks} task(s): {self.summary()}>"

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
