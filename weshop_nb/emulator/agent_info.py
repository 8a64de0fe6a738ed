"""Agent info pages: the presets of an agent, a page at a time.

``GET /openapi/v1/agent/info?agentName=&agentVersion=&page=&pageSize=&resourceType=``
(still under v1 for both APIs). ``pageSize`` is at most 100 and 50 by default; each
resource list is cut to the page on its own, and ``pagination`` says per resource how
many there are and whether this is the last page (the shape the official client prints).
``resourceType`` keeps one list. Which agent has which presets: aimodel locations and
fashion models, aiproduct locations, removeBG backgrounds, the others none.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from . import catalogue
from .params import Refusal

PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX = 50, 100
RESOURCES = {
    "aimodel": ("locations", "fashionModels"),
    "aiproduct": ("locations",),
    "removeBG": ("backgrounds",),
}
_KINDS = {"locations": "location", "fashionModels": "model", "backgrounds": "background"}
# Lists every reply carries, empty when the agent has none (v1 clients read these two).
_ALWAYS = ("locations", "fashionModels")


def _number(args: Mapping[str, str], key: str, default: int, maximum: int | None) -> int:
    raw = args.get(key)
    if raw is None or raw == "":
        return default
    if not raw.isdigit() or int(raw) < 1:
        raise Refusal(f"{key} must be a positive integer, got {raw!r}.", code=40002)
    if maximum is not None and int(raw) > maximum:
        raise Refusal(f"{key} {raw} is over the maximum {maximum} by {int(raw) - maximum}.", code=40003)
    return int(raw)


def page(
    name: str,
    version: str,
    args: Mapping[str, str],
    base_url: str,
    presets: Mapping[str, Sequence[dict[str, Any]]],
) -> dict[str, Any]:
    """The info reply's ``data`` for one agent; ``presets`` maps resource -> entries."""
    number = _number(args, "page", 1, None)
    size = _number(args, "pageSize", PAGE_SIZE_DEFAULT, PAGE_SIZE_MAX)
    own = RESOURCES.get(name, ())
    wanted = args.get("resourceType")
    if wanted:
        if wanted not in _KINDS:
            raise Refusal(f"resourceType {wanted!r} is not allowed; use one of: {', '.join(_KINDS)}.", code=40003)
        if wanted not in own:
            have = ", ".join(own) or "no presets"
            raise Refusal(f"{name} has no {wanted}; it has {have}.", code=40003)
    shown: dict[str, Any] = {"agentName": name, "agentVersion": version}
    pagination: dict[str, Any] = {"page": number, "pageSize": size}
    for resource in (wanted,) if wanted else (*_ALWAYS, *(r for r in own if r not in _ALWAYS)):
        entries = list(presets.get(resource, ())) if resource in own else []
        start = (number - 1) * size
        shown[resource] = [catalogue.public_entry(e, _KINDS[resource], base_url) for e in entries[start : start + size]]
        pagination[resource] = {"total": len(entries), "isLastPage": start + size >= len(entries)}
    shown["pagination"] = pagination
    return shown
