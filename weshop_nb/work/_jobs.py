"""Jobs: one execution to launch each, and the sweep that makes them."""

from __future__ import annotations

import itertools
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from ..service._catalogue import FashionModel, Location
from ..service._models import Task

__all__ = ["Job", "sweep"]


@dataclass(frozen=True)
class Job:
    """One execution to launch: the task, the parameters, and the names behind the ids.

    ``input_image`` is the picture as the user named it (an absolute local path or a URL;
    the task holds the uploaded URL): the history's and ``to_frame()``'s ``input_image``.
    """

    task: Task
    params: Mapping[str, Any]
    location: Location | None = None
    fashion_model: FashionModel | None = None
    input_image: str | None = None

    @property
    def prompt(self) -> str | None:
        return self.params.get("textDescription")


def sweep(
    task: Task,
    prompts: Sequence[str | None] = (None,),
    locations: Sequence[Location | None] = (None,),
    fashion_models: Sequence[FashionModel | None] = (None,),
    *,
    variants: Sequence[Mapping[str, Any]] = ({},),
    input_image: str | None = None,
    **params: Any,
) -> list[Job]:
    """Every combination of prompt x location x fashion model x variant, as jobs sharing ``params``.

    A variant is one combination of swept parameters; variants vary fastest, so the
    variations of one prompt sit side by side.
    """
    jobs = []
    for prompt, location, model, variant in itertools.product(
        prompts or (None,), locations or (None,), fashion_models or (None,), variants or ({},)
    ):
        combined = {key: value for key, value in {**params, **variant}.items() if value is not None}
        if prompt:
            combined["textDescription"] = prompt
        if location is not None:
            combined["locationId"] = location.id
        if model is not None:
            combined["fashionModelId"] = model.id
        jobs.append(Job(task, combined, location, model, input_image))
    return jobs
