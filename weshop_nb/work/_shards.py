"""Sharding: a launch's executions spread over tasks of at most 20, never two alike on one.

A task query answers with the task's 20 newest executions (``contract.QUERY_WINDOW``), so
a task that holds at most 20 of a run's executions is watched with one query per tick,
whatever the size of the sweep. And a task that never holds two executions with the same
parameters lets the client tell, without doubt, which execution a lost execute reply
started (see :mod:`weshop_nb.service._identity`). Tasks cost nothing, so a launch makes
as many as it needs: the jobs' own task is the first shard, and the others are created
(concurrently) from the same agent and initial parameters; the source image's URL is
reused, never uploaded again.
"""

from __future__ import annotations

import math
from collections import Counter
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from dataclasses import replace
from typing import TYPE_CHECKING

from ..contract import QUERY_WINDOW
from ..service._errors import WeShopError
from ..service._identity import params_key
from ._jobs import Job

if TYPE_CHECKING:
    from ..service._client import WeShopClient
    from ..service._models import Task

__all__ = ["plan_shards", "shard"]


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


def shard(
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
