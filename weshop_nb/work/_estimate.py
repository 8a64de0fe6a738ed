"""What a whole launch would cost: one estimate per distinct execution, summed.

On the runs API the service estimates each run (``power-estimates``; nothing is created
or billed); identical parameter sets are asked once. On the v1 API there is no estimate:
the total stays unknown, and what the catalogue's price notes tell is summed instead.
"""

from __future__ import annotations

import json
from collections.abc import Iterable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from ..service._catalogue import Estimate
    from ..service._client import WeShopClient
    from ._jobs import Job

__all__ = ["BudgetError", "SweepEstimate", "estimate_jobs"]


class BudgetError(ValueError):
    """A launch refused before anything started: its estimate is over the budget, or cannot be known."""


@dataclass(frozen=True)
class SweepEstimate:
    """The estimates of every execution of a launch, in launch order."""

    estimates: tuple[Estimate, ...]

    @property
    def count(self) -> int:
        return len(self.estimates)

    @property
    def points(self) -> int | None:
        """The total in points, or None when any execution's cost is unknown."""
        known = [e.points for e in self.estimates]
        return None if any(p is None for p in known) else sum(known)  # type: ignore[misc]

    @property
    def extra(self) -> int | None:
        """Points known from the catalogue's price notes, summed (None when none are known)."""
        known = [e.extra for e in self.estimates if e.extra is not None]
        return sum(known) if known else None

    @property
    def enough(self) -> bool | None:
        """False when the service said the balance is short for any of them; None when not known."""
        said = [e.enough for e in self.estimates if e.enough is not None]
        return all(said) if said else None

    def __str__(self) -> str:
        noun = "execution" if self.count == 1 else "executions"
        if self.points is not None:
            line = f"Estimate for {self.count} {noun}: {self.points} points in all ({self.estimates[0].note})."
            if self.enough is False:
                line += " The balance is not enough for all of them."
            return line + " Nothing was launched."
        notes = sorted({e.note for e in self.estimates}) or ["nothing to estimate"]
        line = f"Estimate for {self.count} {noun}: {'; '.join(notes)}."
        if self.extra is not None:
            line += f" The catalogue's price notes add {self.extra} points in all."
        return line + " Nothing was launched."

    def __repr__(self) -> str:
        return f"<SweepEstimate of {self.count}: {self.points if self.points is not None else 'unknown'} points>"


def estimate_jobs(client: WeShopClient, jobs: Iterable[Job]) -> SweepEstimate:
    """Estimate every job (each distinct body once); ``client.estimate`` checks each first."""
    asked: dict[str, Estimate] = {}
    found = []
    for job in jobs:
        task = job.task
        inputs: dict[str, Any] = {k: v for k, v in task.init_params.items()}
        key = json.dumps([task.agent_name, dict(job.params), sorted(inputs)], sort_keys=True, default=str)
        if key not in asked:
            asked[key] = client.estimate(
                str(task.agent_name), job.params, input=inputs or None, version=str(task.agent_version)
            )
        found.append(asked[key])
    return SweepEstimate(tuple(found))
