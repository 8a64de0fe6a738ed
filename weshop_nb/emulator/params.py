"""What the emulator accepts as agents, task inputs and execution parameters.

The rules come from the agent registry in :mod:`weshop_nb.contract` (data-only, so the
emulator still depends on nothing else in weshop_nb); what is the emulator's own is the
catalogue check (a preset id must exist) and the translation of problems into refusals.
Every refusal is a :class:`Refusal` whose text names the parameter and what was wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from .. import contract

#: The emulator's own default; the reference's example answers with four images.
DEFAULT_BATCH = 4

# Problem kinds -> the refusal codes the v1 emulator has always used for them.
_CODES = {"required": 40001, "at_least_one": 40001, "required_when": 40001, "type": 40002}


class Refusal(Exception):
    """A request the service would refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400, code: int = 40000) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def check_agent(name: Any, version: Any) -> contract.AgentSpec:
    """The registered agent ``name`` at ``version``; refused otherwise."""
    if not isinstance(name, str) or not name:
        raise Refusal('agentName is required and must be a string, e.g. "aimodel".', code=40001)
    if not isinstance(version, str) or not version:
        raise Refusal('agentVersion is required and must be a string, e.g. "v1.0".', code=40001)
    spec = contract.spec(name)
    if spec is None:
        raise Refusal(f"Unknown agentName {name!r}; supported: {', '.join(contract.agents())}.", code=40004)
    if version != spec.version:
        raise Refusal(f"Unknown agentVersion {version!r} for {name}; supported: {spec.version}.", code=40004)
    return spec


def _refuse(problems: list[contract.Problem]) -> None:
    if problems:
        raise Refusal(" ".join(p.message for p in problems), code=_CODES.get(problems[0].rule, 40003))


def check_init_params(init: Any, agent: str = "aimodel") -> dict[str, Any]:
    """Validate a task's source images (v1 ``initParams``, runs ``input``); returns a dict."""
    if init is None:
        init = {}
    if not isinstance(init, Mapping):
        raise Refusal("initParams must be an object.", code=40002)
    spec = contract.spec(agent)
    if spec is not None:
        _refuse(spec.check_inputs(init))
    return dict(init)


def check_execution_params(
    agent: str,
    params: Any,
    *,
    location_ids: Collection[int],
    fashion_model_ids: Collection[int],
    background_ids: Collection[int] = (),
    inputs: Mapping[str, Any] | None = None,
    api: str = "v1",
) -> dict[str, Any]:
    """Validate ``params`` for ``agent`` by the registry, then the preset ids by the catalogue."""
    if not isinstance(params, Mapping):
        raise Refusal("params is required and must be an object.", code=40001)
    _refuse(contract.check(agent, params, inputs, api=api))
    catalogue = {
        "locationId": ("locations", location_ids),
        "fashionModelId": ("fashion models", fashion_model_ids),
        "backgroundId": ("backgrounds", background_ids),
    }
    for key, (what, ids) in catalogue.items():
        value = params.get(key)
        if value is not None and value not in ids:
            raise Refusal(f"{key} {value} does not exist; see agent info for the {what}.", code=40004)
    return dict(params)
