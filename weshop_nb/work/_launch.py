"""Starting runs: :func:`launch` executes jobs at once and watches them, :func:`retry`
launches a run's failed (or chosen) executions again the way it was launched, and
:func:`resume` watches again what the history says is unfinished.

Sharding: a task query answers with the task's 20 newest executions
(``contract.QUERY_WINDOW``), so a task that holds at most 20 of a run's executions is
watched with one query per tick, whatever the size of the sweep. And a task that never
holds two executions with the same parameters lets the client tell, without doubt,
which execution a lost execute reply started (see :mod:`weshop_nb.service._identity`).
Tasks cost nothing, so a launch makes as many as it needs (:func:`shard_jobs`): the jobs' own
task is the first shard, and the others are created (concurrently) from the same agent
and initial parameters; the source image's URL is reused, never uploaded again.

A retry sends each chosen job's parameters again, unchanged, through the same
:func:`launch` as the first launch (so the same sharding over tasks and the same checks
apply), with the options the run was launched with (:attr:`Run.launch_options`); the
first run is left as it was. ``Run.retry`` and ``Session.retry`` both come here.
"""

from __future__ import annotations

import json
import math
import threading
import time
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..contract import FAILED, PENDING, QUERY_WINDOW, RUNNING, SUCCESS
from ..service._errors import WeShopError
from ..service._identity import params_key
from ..service._models import Execution, Result
from ._jobs import Job
from ._records import remember_input_image
from ._run import Run, RunItem

if TYPE_CHECKING:
    import pandas as pd

    from ..service._client import WeShopClient
    from ..service._models import Task
    from ..service._thumbnails import ThumbnailCache
    from ._history import History

__all__ = [
    "LaunchInterrupted",
    "NOTHING_STARTED",
    "NOT_STARTED",
    "RetryError",
    "chosen_items",
    "done_combinations",
    "launch",
    "plan_shards",
    "resume",
    "retry",
    "shard_jobs",
]


# -- launching ---------------------------------------------------------------------------


#: What Ctrl-C before the first execute says (pictures were being uploaded, tasks made).
NOTHING_STARTED = "Stopped launching before any execution started: nothing was launched (running it again starts over)."
#: Why an item of a launch stopped by Ctrl-C has no execution (``Run.retry()`` starts it).
NOT_STARTED = "not started: the launch was stopped (Ctrl-C) before it was sent"


class LaunchInterrupted(KeyboardInterrupt):
    """Ctrl-C while a launch was starting executions: ``run`` holds what started (watched) and
    what did not (failed items saying so, which ``run.retry()`` starts).

    IPython shows it as its one line (``_render_traceback_``), never a traceback.
    """

    def __init__(self, run: Run, started: int, total: int) -> None:
        super().__init__(started, total)
        self.run, self.started, self.total = run, started, total

    def message(self, name: str = "run") -> str:
        """The one line: how many started, that they are watched, and how to start the rest."""
        rest = self.total - self.started
        line = f"Stopped launching: {self.started} of {self.total} started; they are watched."
        if rest:
            line += f" The other {rest} {'was' if rest == 1 else 'were'} not started: {name}.retry() starts them."
        return line

    def __str__(self) -> str:
        return self.message()

    def _render_traceback_(self) -> list[str]:
        return [self.message()]


def launch(
    client: WeShopClient,
    jobs: Iterable[Job | RunItem],
    *,
    shard: bool = True,
    max_concurrent: int = 8,
    thumbnails: ThumbnailCache | None = None,
    poll_interval: float = 2.0,
    max_interval: float = 15.0,
    first_poll: float | None = None,
    width: int = 192,
    callback_url: str | None = None,
    watch: bool = True,
) -> Run:
    """Execute every job at once (up to ``max_concurrent`` in flight) and start watching.

    With ``shard`` (the default) the jobs are first spread over tasks of at most 20,
    never two alike on one task (:func:`shard_jobs`); ``shard=False`` keeps every job on the
    task it names (``%%weshop run --task ID``). ``first_poll`` is the expected latency in
    seconds (default ``poll_interval``); ``width`` the CSS width of an execution's card
    where the run is drawn. With ``watch=False`` no thread is started; call
    ``run.start()`` or drive ``TaskWatcher.poll_once`` yourself. The run keeps the other
    options in :attr:`Run.launch_options`, and :func:`retry` launches with them.

    ``jobs`` may hold :class:`RunItem` s already known (done, or unfinished and watched
    again: ``--skip-done``); they take their place in the run and are not launched.

    A job the service refuses becomes a failed item carrying the reason; if every job
    is refused for the same reason, that error is raised instead, since nothing started.
    Ctrl-C while starting stops sending: :class:`LaunchInterrupted` carries the run of what
    started (watched, unless ``watch=False``) and of what did not.
    """
    entries = list(jobs)
    fresh = [entry for entry in entries if isinstance(entry, Job)]
    placed = shard_jobs(client, fresh, max_concurrent=max_concurrent) if shard else [(job, None) for job in fresh]
    new_items = iter([RunItem(job, error=str(error) if error else None, launch_error=error) for job, error in placed])
    items = [entry if isinstance(entry, RunItem) else next(new_items) for entry in entries]
    to_start = [item for item in items if item.execution is None and item.error is None]
    started: dict[int, Execution] = {}
    stopping = threading.Event()

    def start(item: RunItem) -> None:
        if stopping.is_set():
            return
        task = item.job.task
        try:
            if task.id:
                started[id(item)] = client.execute(task.id, item.job.params, callback_url=callback_url)
                item.started_at = time.monotonic()
                return
            # A draft task (the runs API): each job starts its own run, which makes its task.
            execution = client.start(
                str(task.agent_name),
                item.job.params,
                input={k: v for k, v in task.init_params.items()},
                version=str(task.agent_version),
                callback_url=callback_url,
            )
            started[id(item)] = execution
            item.started_at = time.monotonic()
            item.job = replace(item.job, task=replace(task, id=execution.task_id or ""))
            remember_input_image(client.base_url, item.job.input_image, execution_id=execution.id)
        except WeShopError as exc:
            item.error, item.launch_error = str(exc), exc
        except Exception as exc:  # a bug here must not lose the executions the other jobs started
            item.error = f"could not launch: {type(exc).__name__}: {exc}"

    interrupted = False
    pool = ThreadPoolExecutor(max_workers=max(1, max_concurrent), thread_name_prefix="weshop-launch")
    try:
        for future in [pool.submit(start, item) for item in to_start]:
            future.result()
    except KeyboardInterrupt:
        # Stop sending; what is in flight finishes (its execution is kept), the rest never leaves.
        interrupted = True
        stopping.set()
    finally:
        pool.shutdown(wait=True, cancel_futures=True)
    for item in to_start:
        if id(item) not in started and item.error is None:
            item.error = NOT_STARTED
    refused = [item for item in to_start if id(item) not in started]
    if (
        not interrupted
        and to_start
        and len(items) == len(to_start)
        and len(refused) == len(to_start)
        and len({item.error for item in refused}) == 1
        and refused[0].launch_error
    ):
        raise refused[0].launch_error
    options = {
        "thumbnails": thumbnails,
        "poll_interval": poll_interval,
        "max_interval": max_interval,
        "first_poll": first_poll,
        "max_concurrent": max_concurrent,
        "width": width,
    }
    run = Run(client, items, **options)
    run.launch_options = {**options, "callback_url": callback_url}
    for item in items:
        if id(item) in started:
            # An execute whose reply was lost may come back already finished (adopted from
            # the task): record it like any update, so its error and pictures are kept.
            execution = started[id(item)]
            item.execution = replace(execution, status=PENDING, results=())
            run.update(item, execution)
    if watch:
        run.start()
    if interrupted:
        raise LaunchInterrupted(run, len(started), len(to_start))
    return run


# -- picking up where a set stopped --------------------------------------------------------


def done_combinations(
    source: str, history: History | None, jobs: Sequence[Job], pictures: Mapping[str, str]
) -> tuple[list[Job | RunItem], str]:
    """``jobs`` with each combination already in the history for ``source`` replaced by its item.

    A combination is the picture's content (``pictures``: input image -> content key, a
    ``sha256:`` hash or the URL) and every parameter sent. One that succeeded is taken as
    done (with its pictures); one still unfinished is watched again; the rest are launched.
    A combination asked for several times (``--repeat``) counts its executions one by one.
    Returns the entries (jobs and known items, in order) and the line that says how many.
    """
    from ._records import job_from_row

    found: dict[tuple[str, str], dict[str, list[str]]] = {}
    if history is not None:
        uploads = dict(history.sql("SELECT url, sha256 FROM uploads WHERE source = ?", (source,)))
        rows = history.sql(
            "SELECT e.execution_id, e.status, e.params, t.original_image, e.input_image FROM executions e "
            "LEFT JOIN tasks t ON t.source = e.source AND t.task_id = e.task_id WHERE e.source = ? "
            "ORDER BY e.first_seen",
            (source,),
        )
        for execution_id, status, params, original, named in rows:
            picture = f"sha256:{uploads[original]}" if original in uploads else (original or named)
            try:
                key = (str(picture), params_key(json.loads(params or "{}")))
            except ValueError:
                continue
            kind = "done" if status == SUCCESS else "unfinished" if status in (PENDING, RUNNING) else None
            if kind is not None:
                found.setdefault(key, {"done": [], "unfinished": []})[kind].append(str(execution_id))
    chosen: list[tuple[int, str, str]] = []  # (position, kind, execution id)
    for position, job in enumerate(jobs):
        known = found.get((pictures.get(job.input_image or "", job.input_image or ""), params_key(job.params)))
        for kind in ("done", "unfinished"):
            if known and known[kind]:
                chosen.append((position, kind, known[kind].pop(0)))
                break
    entries: list[Job | RunItem] = list(jobs)
    if chosen and history is not None:
        wanted = {execution_id for _, _, execution_id in chosen}
        frame = history.executions(source=source)
        rows_by_id = {row["execution_id"]: row for row in frame.to_dict("records") if row["execution_id"] in wanted}
        for position, _, execution_id in chosen:
            row = rows_by_id.get(execution_id)
            if row is None:
                continue
            job, execution = job_from_row(row)
            images = [url for url in row.get("images") or [] if url]
            results = tuple(Result(status=SUCCESS, image=url) for url in images) if execution.status == SUCCESS else ()
            entries[position] = RunItem(
                replace(job, input_image=jobs[position].input_image), execution=replace(execution, results=results)
            )
    done = sum(1 for _, kind, _ in chosen if kind == "done")
    watched = len(chosen) - done
    launched = len(jobs) - len(chosen)
    line = f"{done} of {len(jobs)} already done, {watched} watched, {launched} launched."
    return entries, line


def resume(client: WeShopClient, unfinished: pd.DataFrame, **options: Any) -> Run:
    """Watch again the executions of ``History.unfinished()`` (say, after a kernel restart).

    ``options`` are those of :class:`Run` (``thumbnails``, ``poll_interval``, ``max_interval``,
    ``max_concurrent``, ``width``); a retry of the run launches with them. The first poll is
    at once: these executions may have finished long ago.
    """
    from ._records import job_from_row

    items = [RunItem(job, execution=execution) for job, execution in map(job_from_row, unfinished.to_dict("records"))]
    run = Run(client, items, **{**options, "first_poll": 0.0})
    # A retry is a new launch: its first poll waits as a launch's does, not at once.
    run.launch_options = {key: value for key, value in options.items() if key != "first_poll"}
    return run.start()


# -- launching again ---------------------------------------------------------------------


class RetryError(ValueError):
    """Nothing to retry, or a choice that names no execution of the run."""


def retry(run: Run, which: Iterable[Any] | None = None, *, watch: bool = True, **overrides: Any) -> Run:
    """Launch again the failed executions of ``run`` (or those in ``which``), the way ``run`` was launched.

    ``which`` holds positions in ``run.items``, :class:`RunItem` objects or execution ids.
    The new run gets ``run.launch_options`` (thumbnails, polling, ``max_concurrent``,
    ``width``, ``callback_url``), each replaced by ``overrides`` when given.

    Raises
    ------
    RetryError
        When nothing failed (and ``which`` is None), or ``which`` names no execution of ``run``.
    """
    jobs = [item.job for item in chosen_items(run, which)]
    return launch(run.client, jobs, watch=watch, **{**run.launch_options, **overrides})


def chosen_items(run: Run, which: Iterable[Any] | None = None) -> list[RunItem]:
    """The failed items of ``run``, or those named in ``which`` (positions, items or execution ids)."""
    if which is None:
        failed = [item for item in run.items if item.status == FAILED]
        if not failed:
            raise RetryError(
                f"Nothing to retry: none of the {len(run.items)} execution(s) failed "
                f"({run.summary()}). To run some again anyway, name them: run.retry([0, 2]) or execution ids."
            )
        return failed
    by_id = {item.execution.id: item for item in run.items if item.execution is not None}
    chosen = []
    for key in [which] if isinstance(which, (str, int)) else which:
        if isinstance(key, bool):
            key = str(key)  # True is not position 1
        if isinstance(key, int):
            if not -len(run.items) <= key < len(run.items):
                count = len(run.items)
                raise RetryError(f"No execution at position {key}: the run has {count} (0 to {count - 1}).")
            chosen.append(run.items[key])
        elif isinstance(key, str):
            if key not in by_id:
                raise RetryError(f"No execution {key!r} in this run; its ids are in run.to_frame()['execution_id'].")
            chosen.append(by_id[key])
        elif any(key is item for item in run.items):
            chosen.append(key)
        else:
            raise RetryError(f"Cannot retry {key!r}: give positions, execution ids or items of this run.")
    if not chosen:
        raise RetryError("Nothing to retry: the list of executions to retry is empty.")
    return chosen


# -- sharding ----------------------------------------------------------------------------


def plan_shards(keys: Sequence[str], capacity: int = QUERY_WINDOW) -> list[int]:
    """The shard of each job, given each job's parameter key: fewest shards, none over ``capacity``, no key twice.

    The count is the least possible: enough for ``capacity`` per shard, and one per copy
    of the most repeated parameter set. Jobs are dealt round-robin with copies of a
    parameter set next to each other, so copies land on different shards and the shards
    differ in size by at most one.
    """
    if not keys:
        return []
    first: dict[str, int] = {}
    for index, key in enumerate(keys):
        first.setdefault(key, index)
    count = max(math.ceil(len(keys) / capacity), max(Counter(keys).values()))
    order = sorted(range(len(keys)), key=lambda index: (first[keys[index]], index))
    shards = [0] * len(keys)
    for position, index in enumerate(order):
        shards[index] = position % count
    return shards


def _twin(client: WeShopClient, task: Task) -> Task:
    """A new task like ``task``: same agent, same initial parameters (the uploaded image's URL)."""
    return client.create_task(task.agent_name or "aimodel", task.agent_version or "v1.0", **dict(task.init_params))


def shard_jobs(
    client: WeShopClient, jobs: Sequence[Job], *, capacity: int = QUERY_WINDOW, max_concurrent: int = 8
) -> list[tuple[Job, WeShopError | None]]:
    """Each job on the task it will run on, with the error that stopped its task's creation, if any.

    Jobs are grouped by their task; each group is split by :func:`plan_shards`. A group
    that fits stays on its task, untouched, and so do jobs on a draft task (no id: on the
    runs API every run makes its own task).
    """
    groups: dict[str, list[int]] = {}
    for index, job in enumerate(jobs):
        groups.setdefault(job.task.id, []).append(index)
    placed: list[tuple[Job, WeShopError | None]] = [(job, None) for job in jobs]
    wanted: list[tuple[list[int], Task]] = []  # (jobs of one new shard, the task it copies)
    for task_id, indexes in groups.items():
        if not task_id:  # a draft (the runs API): each job starts a run, which is a task of its own
            continue
        numbers = plan_shards([params_key(jobs[i].params) for i in indexes], capacity)
        for number in range(1, max(numbers, default=0) + 1):
            wanted.append(([i for i, n in zip(indexes, numbers, strict=True) if n == number], jobs[indexes[0]].task))
    if not wanted:
        return placed

    def create(template: Task) -> Task | WeShopError:
        try:
            return _twin(client, template)
        except WeShopError as exc:
            return exc

    with ThreadPoolExecutor(
        max_workers=max(1, min(max_concurrent, len(wanted))), thread_name_prefix="weshop-shard"
    ) as pool:
        made = list(pool.map(create, [template for _, template in wanted]))
    for (indexes, _), outcome in zip(wanted, made, strict=True):
        for index in indexes:
            job = jobs[index]
            placed[index] = (job, outcome) if isinstance(outcome, WeShopError) else (replace(job, task=outcome), None)
    return placed
