"""Trying again: the jobs of a run's failed (or chosen) executions, to launch anew.

A retry sends each chosen job's parameters again, unchanged, through the same
:func:`~weshop_nb.work._runs.launch` as the first launch (so the same sharding over
tasks and the same checks apply); the first run is left as it was.
"""

from __future__ import annotations

from collections.abc import Iterable
from typing import TYPE_CHECKING, Any

from ..contract import FAILED

if TYPE_CHECKING:
    from ._jobs import Job
    from ._runs import Run, RunItem

__all__ = ["RetryError", "retry_jobs", "chosen_items"]


class RetryError(ValueError):
    """Nothing to retry, or a choice that names no execution of the run."""


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


def retry_jobs(run: Run, which: Iterable[Any] | None = None) -> list[Job]:
    """The jobs to launch again for :func:`chosen_items`, with their parameters as first sent."""
    return [item.job for item in chosen_items(run, which)]
