"""The service's agents and their parameter rules, written once (data, standard library only).

The registry holds one :class:`AgentSpec` per agent: its image inputs, its parameters
(kind, allowed values, range, default) and the rules between them, and whether it
returns images or video. Everything else derives from it: the client's and the magic's
local checks, the studio's form, and the emulator's validation.

>>> from weshop_nb import contract
>>> contract.spec("virtualtryon").param("generateVersion").choices
('weshopFlash', 'weshopPro', 'bananaPro')
>>> [str(p) for p in contract.check("expandimage", {"targetWidth": 5000, "targetHeight": 800})]
['targetWidth 5000 is out of range (1 to 4096): over the maximum 4096 by 904.']
>>> contract.spec("somethingNew") is None   # unknown agents: pass params through unchecked
True

``check`` returns a list of :class:`Problem` (empty when valid); ``validate`` raises
:class:`ParamsError` holding them all. Pass ``inputs`` (the run's ``input`` object, or a
v1 task's ``initParams``) to check the images too; without it only image fields found in
``params`` are checked. ``api="v1"`` applies the v1 task API's documented leniency
(aimodel's ``maskType`` and ``generatedContent`` are optional there).

A few names (``MASK_TYPES``, ``GENERATED_CONTENT``, ``POSES``, ``BATCH_RANGE``) are derived
from the registry for the magic's aimodel options.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from ._agents import (
    AIMODEL,
    GENERATED_CONTENT,
    MASK_TYPES,
    REGISTRY,
    VERSION,
)
from ._limits import (
    FAILED,
    MAX_ASPECT_RATIO,
    MAX_BYTES,
    MAX_PIXELS,
    MIN_SIDE,
    PENDING,
    QUERY_WINDOW,
    RUNNING,
    STATUSES,
    SUCCESS,
    TERMINAL,
)
from ._spec import (
    KINDS,
    LOCAL_IMAGE,
    PATTERNS,
    AgentSpec,
    AllowedWhen,
    AtLeastOne,
    AtMostOne,
    AtMostWhen,
    ImageInput,
    OnlyWith,
    Param,
    ParamsError,
    Problem,
    RequiredWhen,
    Rule,
    is_url,
    stand_in,
)


def spec(name: str) -> AgentSpec | None:
    """The registered :class:`AgentSpec` called ``name``, or ``None`` for an unknown agent."""
    return REGISTRY.get(name)


def agents() -> list[str]:
    """Names of the registered agents, in registry order."""
    return list(REGISTRY)


def check(agent: str, params: Any, inputs: Mapping[str, Any] | None = None, *, api: str = "runs") -> list[Problem]:
    """Every :class:`Problem` of a call to ``agent``; empty when valid or the agent is unknown.

    Parameters
    ----------
    agent : str
        Agent name, e.g. ``"aimodel"``.
    params : mapping
        The execution parameters.
    inputs : mapping, optional
        The source images (``input`` of a run, ``initParams`` of a v1 task). When given,
        required images are checked too.
    api : {"runs", "v1"}
        Which surface's requirements apply.
    """
    found = spec(agent)
    return [] if found is None else found.check(params, inputs, api=api)


def validate(agent: str, params: Any, inputs: Mapping[str, Any] | None = None, *, api: str = "runs") -> None:
    """Like :func:`check`, but raise :class:`ParamsError` listing every problem."""
    problems = check(agent, params, inputs, api=api)
    if problems:
        raise ParamsError(agent, problems)


# -- names derived for the magic's aimodel options --

POSES = AIMODEL.param("pose").choices  # type: ignore[union-attr]
_batch = AIMODEL.param("batchCount")
BATCH_RANGE = (_batch.minimum, _batch.maximum)  # type: ignore[union-attr]

__all__ = [
    "FAILED",
    "MAX_ASPECT_RATIO",
    "MAX_BYTES",
    "MAX_PIXELS",
    "MIN_SIDE",
    "PENDING",
    "QUERY_WINDOW",
    "RUNNING",
    "STATUSES",
    "SUCCESS",
    "TERMINAL",
    "BATCH_RANGE",
    "GENERATED_CONTENT",
    "KINDS",
    "LOCAL_IMAGE",
    "MASK_TYPES",
    "PATTERNS",
    "POSES",
    "REGISTRY",
    "VERSION",
    "AgentSpec",
    "AllowedWhen",
    "AtLeastOne",
    "AtMostOne",
    "AtMostWhen",
    "ImageInput",
    "OnlyWith",
    "Param",
    "ParamsError",
    "Problem",
    "RequiredWhen",
    "Rule",
    "agents",
    "check",
    "is_url",
    "spec",
    "stand_in",
    "validate",
]
