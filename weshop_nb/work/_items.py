"""One slot of a run: its job, the latest state of its execution, its thumbnails."""

from __future__ import annotations

from dataclasses import dataclass, field

from ..contract import FAILED, PENDING, TERMINAL, spec
from ..service._errors import WeShopError
from ..service._models import Execution
from ._jobs import Job

__all__ = ["RunItem"]


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
