"""Starting a run: :func:`launch` executes jobs at once and watches them; :func:`resume` watches again.

A launch spreads its jobs over tasks of at most 20, never two alike on one task
(:mod:`weshop_nb.work._shards`), starts them in parallel, and hands them to a
:class:`~weshop_nb.work._runs.Run`, whose watchers take over.
"""

from __future__ import annotations

import time
from collections.abc import Iterable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING, Any

from ..contract import PENDING
from ..service._errors import WeShopError
from ..service._models import Execution
from ._items import RunItem
from ._jobs import Job
from ._runs import Run
from ._shards import shard as shard_jobs

if TYPE_CHECKING:
    import pandas as pd

    from ..service._client import WeShopClient
    from ..service._thumbnails import ThumbnailCache

__all__ = ["launch", "resume"]


def launch(
    client: WeShopClient,
    jobs: Iterable[Job],
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
    never two alike on one task (:func:`weshop_nb.work._shards.shard`); ``shard=False``
    keeps every job on the task it names (``%%weshop run --task ID``). ``first_poll`` is
    the expected latency in seconds (default ``poll_interval``); ``width`` the CSS width of
    an execution's card where the run is drawn. With ``watch=False`` no
    thread is started; call ``run.start()`` or drive ``TaskWatcher.poll_once`` yourself.

    A job the service refuses becomes a failed item carrying the reason; if every job
    is refused for the same reason, that error is raised instead, since nothing started.
    """
    jobs = list(jobs)
    placed = shard_jobs(client, jobs, max_concurrent=max_concurrent) if shard else [(job, None) for job in jobs]
    items = [RunItem(job, error=str(error) if error else None, launch_error=error) for job, error in placed]
    started: dict[int, Execution] = {}

    def start(item: RunItem) -> None:
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
        except WeShopError as exc:
            item.error, item.launch_error = str(exc), exc
        except Exception as exc:  # a bug here must not lose the executions the other jobs started
            item.error = f"could not launch: {type(exc).__name__}: {exc}"

    with ThreadPoolExecutor(max_workers=max(1, max_concurrent), thread_name_prefix="weshop-launch") as pool:
        list(pool.map(start, [item for item in items if item.error is None]))
    refused = [item for item in items if id(item) not in started]
    if items and len(refused) == len(items) and len({item.error for item in refused}) == 1 and refused[0].launch_error:
        raise refused[0].launch_error
    watching = {"poll_interval": poll_interval, "max_interval": max_interval, "first_poll": first_poll}
    run = Run(client, items, thumbnails=thumbnails, max_concurrent=max_concurrent, width=width, **watching)
    run.launch_options = {"max_concurrent": max_concurrent, "callback_url": callback_url, "width": width}
    run.launcher = launch
    for item in items:
        if id(item) in started:
            # An execute whose reply was lost may come back already finished (adopted from
            # the task): record it like any update, so its error and pictures are kept.
            execution = started[id(item)]
            item.execution = replace(execution, status=PENDING, results=())
            run.update(item, execution)
    return run.start() if watch else run


def resume(client: WeShopClient, unfinished: pd.DataFrame, **options: Any) -> Run:
    """Watch again the executions of ``History.unfinished()`` (say, after a kernel restart).

    ``options`` are those of :class:`Run` (``thumbnails``, ``poll_interval``, ``max_interval``, ``width``).
    The first poll is at once: these executions may have finished long ago.
    """
    from ._records import job_from_row

    items = [RunItem(job, execution=execution) for job, execution in map(job_from_row, unfinished.to_dict("records"))]
    run = Run(client, items, **{**options, "first_poll": 0.0})
    run.launcher = launch
    return run.start()
