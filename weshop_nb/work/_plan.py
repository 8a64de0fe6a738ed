"""The launch plan: what a launch will send, and the checks made before any request.

``%%weshop run`` and the studio's Launch button both build a :class:`LaunchPlan` and ask
it the same questions (:meth:`~LaunchPlan.problem`, :meth:`~LaunchPlan.params`,
:meth:`~LaunchPlan.count`, :meth:`~LaunchPlan.jobs`), so a launch means the same thing
whichever face started it. The allowed values come from :mod:`weshop_nb.contract`.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

from ..contract import AGENTS, BATCH_RANGE
from ..service._models import Task
from ._jobs import Job, sweep

__all__ = ["LaunchPlan", "PlanError"]


class PlanError(ValueError):
    """A launch that breaks a rule; the message says which and what to do."""


@dataclass(frozen=True)
class LaunchPlan:
    """Every choice of one launch: the sweep (prompts x locations x models) and the shared parameters.

    ``locations`` and ``fashion_models`` may hold catalogue entries or, before they are
    looked up, the names or ids a person typed: the checks only count them.
    """

    agent: str = "aimodel"
    version: str = "v1.0"
    prompts: Sequence[str] = ()
    locations: Sequence[Any] = ()
    fashion_models: Sequence[Any] = ()
    mask: str | None = None
    custom_mask: str | None = None
    mode: str | None = None
    pose: str | None = None
    generate_version: str | None = None
    batch: int | None = None
    negative: str | None = None
    default_mask: str = "autoApparelSegment"
    default_mode: str = "freeCreation"
    extra: dict[str, Any] = field(default_factory=dict)

    @property
    def mask_type(self) -> str:
        return self.mask or ("custom" if self.custom_mask else self.default_mask)

    def problem(self) -> str | None:
        """The first rule this plan breaks, as a sentence saying what to do; None when it can launch."""
        if self.agent not in AGENTS or self.version not in AGENTS[self.agent]:
            known = ", ".join(f"{a} {' '.join(v)}" for a, v in AGENTS.items())
            return f"Unknown agent {self.agent} {self.version}; known: {known}."
        if self.batch is not None and not BATCH_RANGE[0] <= self.batch <= BATCH_RANGE[1]:
            return f"--batch must be between {BATCH_RANGE[0]} and {BATCH_RANGE[1]}, got {self.batch}."
        if self.agent == "aipose":
            if self.locations or self.fashion_models or self.mask or self.custom_mask:
                return "aipose changes the pose only: --location, --model and masks are for aimodel."
            if not self.prompts:
                return "aipose needs a prompt describing the pose."
            return None
        if not (self.prompts or self.locations or self.fashion_models):
            return "Nothing to generate: write a prompt, or choose a location or a fashion model."
        if self.mask_type == "custom" and not self.custom_mask:
            return "--mask custom needs --custom-mask PATH|URL (a PNG, transparent where editable)."
        if self.custom_mask and self.mask_type != "custom":
            return f"--custom-mask only works with --mask custom, not {self.mask_type}."
        return None

    def check(self) -> LaunchPlan:
        """The plan itself when it can launch; :class:`PlanError` naming the broken rule otherwise."""
        problem = self.problem()
        if problem:
            raise PlanError(problem)
        return self

    def params(self) -> dict[str, Any]:
        """Parameters shared by every execution (prompt, location and model are per job); None values omitted."""
        if self.agent == "aipose":
            shared = {"generateVersion": self.generate_version, "batchCount": self.batch}
        else:
            shared = {
                "maskType": self.mask_type,
                "generatedContent": self.mode or self.default_mode,
                "pose": self.pose,
                "batchCount": self.batch,
                "negTextDescription": self.negative or None,
            }
        shared.update(self.extra)
        return {key: value for key, value in shared.items() if value is not None}

    def count(self) -> int:
        """How many executions a launch of this plan starts."""
        return (len(self.prompts) or 1) * (len(self.locations) or 1) * (len(self.fashion_models) or 1)

    def jobs(self, task: Task) -> list[Job]:
        """One job per combination, on ``task``; locations and models must be catalogue entries by now."""
        return sweep(
            task,
            list(self.prompts) or [None],
            list(self.locations) or [None],
            list(self.fashion_models) or [None],
            **self.params(),
        )
