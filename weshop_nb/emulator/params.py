"""What the emulator accepts as agents, task parameters and execution parameters.

The tables come from :mod:`weshop_nb.contract` (a data-only module, so the emulator
still depends on nothing else in weshop_nb); the checks are the emulator's own. Every
refusal is a :class:`Refusal` whose text names the parameter and what was wrong.
"""

from __future__ import annotations

from collections.abc import Collection, Mapping
from typing import Any

from ..contract import (
    AGENTS,
    AIMODEL_KEYS,
    AIPOSE_KEYS,
    BATCH_RANGE,
    GENERATE_VERSIONS,
    GENERATED_CONTENT,
    MASK_TYPES,
    POSES,
)

#: The emulator's own default; the reference's example answers with four images.
DEFAULT_BATCH = 4


class Refusal(Exception):
    """A request the service would refuse; ``status`` is the HTTP status to answer with."""

    def __init__(self, message: str, *, status: int = 400, code: int = 40000) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code


def check_agent(name: Any, version: Any) -> None:
    if not isinstance(name, str) or not name:
        raise Refusal('agentName is required and must be a string, e.g. "aimodel".', code=40001)
    if not isinstance(version, str) or not version:
        raise Refusal('agentVersion is required and must be a string, e.g. "v1.0".', code=40001)
    if name not in AGENTS:
        raise Refusal(f"Unknown agentName {name!r}; supported: {', '.join(AGENTS)}.", code=40004)
    if version not in AGENTS[name]:
        raise Refusal(f"Unknown agentVersion {version!r} for {name}; supported: {', '.join(AGENTS[name])}.", code=40004)


def _is_url(value: Any) -> bool:
    return isinstance(value, str) and value.startswith(("http://", "https://")) and len(value) > len("https://")


def check_init_params(init: Any) -> dict[str, Any]:
    if init is None:
        init = {}
    if not isinstance(init, Mapping):
        raise Refusal("initParams must be an object.", code=40002)
    if not _is_url(init.get("originalImage")):
        raise Refusal("initParams.originalImage is required and must be an http(s) image URL.", code=40001)
    name = init.get("taskName")
    if name is not None and not isinstance(name, str):
        raise Refusal("initParams.taskName must be a string.", code=40002)
    return dict(init)


def _choice(params: Mapping[str, Any], key: str, allowed: tuple[str, ...]) -> None:
    value = params.get(key)
    if value is not None and value not in allowed:
        raise Refusal(f"{key} {value!r} is not allowed; use one of: {', '.join(allowed)}.", code=40003)


def _text(params: Mapping[str, Any], key: str) -> None:
    value = params.get(key)
    if value is not None and not isinstance(value, str):
        raise Refusal(f"{key} must be a string, got {type(value).__name__}.", code=40002)


def _integer(params: Mapping[str, Any], key: str) -> int | None:
    value = params.get(key)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int):
        raise Refusal(f"{key} must be an integer, got {type(value).__name__} {value!r}.", code=40002)
    return value


def _batch(params: Mapping[str, Any]) -> None:
    count = _integer(params, "batchCount")
    low, high = BATCH_RANGE
    if count is not None and not low <= count <= high:
        raise Refusal(f"batchCount {count} is out of range; it must be between {low} and {high}.", code=40003)


def _unknown_keys(params: Mapping[str, Any], known: Collection[str], agent: str) -> None:
    unknown = sorted(set(params) - set(known))
    if unknown:
        raise Refusal(
            f"Unknown parameter(s) for {agent}: {', '.join(unknown)}. Known: {', '.join(sorted(known))}.", code=40003
        )


def check_execution_params(
    agent: str, params: Any, *, location_ids: Collection[int], fashion_model_ids: Collection[int]
) -> dict[str, Any]:
    """Validate ``params`` for ``agent``; returns them as a plain dict."""
    if not isinstance(params, Mapping):
        raise Refusal("params is required and must be an object.", code=40001)
    if agent == "aipose":
        _unknown_keys(params, AIPOSE_KEYS, agent)
        _text(params, "textDescription")
        if not str(params.get("textDescription") or "").strip():
            raise Refusal("textDescription is required for aipose: describe the pose.", code=40001)
        _choice(params, "generateVersion", GENERATE_VERSIONS)
        _batch(params)
        return dict(params)
    _unknown_keys(params, AIMODEL_KEYS, agent)
    for key in ("textDescription", "negTextDescription", "customMaskUrl"):
        _text(params, key)
    _choice(params, "generatedContent", GENERATED_CONTENT)
    _choice(params, "maskType", MASK_TYPES)
    _choice(params, "pose", POSES)
    _batch(params)
    location, model = _integer(params, "locationId"), _integer(params, "fashionModelId")
    if location is not None and location not in location_ids:
        raise Refusal(f"locationId {location} does not exist; see agent info for the locations.", code=40004)
    if model is not None and model not in fashion_model_ids:
        raise Refusal(f"fashionModelId {model} does not exist; see agent info for the fashion models.", code=40004)
    if not str(params.get("textDescription") or "").strip() and location is None and model is None:
        raise Refusal("Give at least one of textDescription, locationId or fashionModelId.", code=40001)
    if params.get("maskType") == "custom" and not _is_url(params.get("customMaskUrl")):
        raise Refusal("maskType custom needs customMaskUrl, an http(s) URL of a PNG mask.", code=40001)
    if params.get("customMaskUrl") is not None and params.get("maskType") != "custom":
        raise Refusal("customMaskUrl is only used with maskType custom.", code=40003)
    return dict(params)
