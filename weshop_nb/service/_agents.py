"""What starting an agent needs whichever API the client speaks: the registry's local checks.

Before any request, :func:`prepare_inputs` checks local images by the upload rules and
the parameters and inputs by the agent's rules (:mod:`weshop_nb.contract`), so a mistake
sends nothing; :func:`uploaded` swaps each checked image for its URL. Also here: reading
every page of an agent's catalogue, and the v1 API's word on cost (a price note).

Agents the registry does not know (or versions it does not describe) are passed through
unchecked, with one :class:`UncheckedAgentWarning` per agent and version saying so: the
service may well know agents this version of weshop_nb does not.
"""

from __future__ import annotations

import re
import warnings
from collections.abc import Callable, Mapping
from typing import Any

from .. import contract
from ..contract import LOCAL_IMAGE, is_url
from ._catalogue import AgentInfo, Estimate
from ._errors import InvalidRequestError, ParameterError
from ._fields import integer

__all__ = [
    "UncheckedAgentWarning",
    "prepare_inputs",
    "uploaded",
    "v1_estimate",
    "read_info_pages",
    "check_api",
]

#: A catalogue is read a page at a time; this many at most (the service allows 100 per page).
INFO_PAGE_SIZE, INFO_MAX_PAGES = 100, 50
_POINTS = re.compile(r"(\d+)\s*points?", re.IGNORECASE)


class UncheckedAgentWarning(UserWarning):
    """An agent (or version) the registry does not describe: its parameters are sent unchecked."""


def read_info_pages(get: Any, params: Mapping[str, Any]) -> dict[str, Any]:
    """Every page of an agent's catalogue, as one reply's ``data``.

    ``get(query)`` returns one page's ``data``. A reply without ``pagination`` is the whole
    catalogue (as the v1 reference shows it); otherwise pages are read until each list
    says it is on its last page.
    """
    first = get({**params, "page": 1, "pageSize": INFO_PAGE_SIZE})
    merged = dict(first)
    pages = first
    for number in range(2, INFO_MAX_PAGES + 1):
        pagination = pages.get("pagination")
        if not isinstance(pagination, Mapping):
            break
        going = [k for k, v in pagination.items() if isinstance(v, Mapping) and v.get("isLastPage") is False]
        if not going:
            break
        pages = get({**params, "page": number, "pageSize": INFO_PAGE_SIZE})
        for key in going:
            merged[key] = [*merged.get(key, []), *(pages.get(key) or [])]
    merged.pop("pagination", None)
    return merged


def prepare_inputs(
    agent: str, version: str, params: Mapping[str, Any], inputs: Mapping[str, Any] | None, *, api: str
) -> dict[str, Any]:
    """``inputs`` with local images checked by the upload rules, then the agent's rules; nothing sent.

    Returns the inputs with each local image as its checked :class:`ImageFile`. An agent
    (or version) the registry does not describe gets one :class:`UncheckedAgentWarning`,
    pointing at the caller of the client's method.

    Raises
    ------
    ParameterError
        When ``params`` or ``inputs`` break the agent's rules (``.problems`` lists them).
    """
    from ._images import ImageFile, prepare_upload

    if not isinstance(params, Mapping):
        raise ParameterError("params must be a mapping of parameter names to values.")
    spec = contract.spec(agent)
    if spec is not None and version != spec.version:
        spec = None
    if spec is None:
        warnings.warn(
            f"{agent} {version} is not in weshop_nb's agent registry ({', '.join(contract.agents())} "
            f"{contract.VERSION}): its parameters are sent unchecked.",
            UncheckedAgentWarning,
            stacklevel=3,
        )
    images = {i.name for i in spec.inputs} if spec is not None else None

    def local(key: str, value: Any) -> bool:
        if isinstance(value, ImageFile):
            return True
        if isinstance(value, str):  # a path for an image input of a known agent, else a value as given
            return images is not None and key in images and not is_url(value)
        return not isinstance(value, (int, float, bool, type(None), Mapping))

    def prepare(key: str, value: Any) -> Any:
        if isinstance(value, list):
            return [prepare(key, v) for v in value]
        return (value if isinstance(value, ImageFile) else prepare_upload(value)) if local(key, value) else value

    prepared = {key: prepare(key, value) for key, value in dict(inputs or {}).items()}
    if spec is not None:
        seen = {k: _stand_in(v) for k, v in prepared.items()}
        problems = spec.check(params, seen if inputs is not None else None, api=api)
        if problems:
            raise ParameterError(f"{agent}: " + " ".join(p.message for p in problems), problems=problems)
    return prepared


def uploaded(prepared: Mapping[str, Any], upload: Callable[[Any], str]) -> dict[str, Any]:
    """``prepared`` with each checked local image replaced by the URL ``upload`` gives it."""
    from ._images import ImageFile

    def url(value: Any) -> Any:
        if isinstance(value, list):
            return [url(v) for v in value]
        return upload(value) if isinstance(value, ImageFile) else value

    return {key: url(value) for key, value in prepared.items()}


def v1_estimate(params: Mapping[str, Any], info: Callable[[], AgentInfo]) -> Estimate:
    """What the v1 API can say of a start's cost: nothing, but the catalogue's price note of its fashion model.

    ``info()`` gives the agent's catalogue; it is read only when ``params`` name a fashion model.
    """
    unknown = "unknown: the v1 API has no cost estimate (WESHOP_API=runs asks the service)"
    model_id = params.get("fashionModelId")
    if model_id is None:
        return Estimate(points=None, note=unknown)
    model = info().fashion_model(model_id)
    found = _POINTS.search(model.price_description or "")
    if found is None:
        return Estimate(points=None, note=f"{unknown}; the fashion model {model.name} has no price note")
    each, batch = int(found.group(1)), integer(params.get("batchCount"))
    if batch is None:
        note = f"{unknown}; the fashion model {model.name} adds {each} points per image"
        return Estimate(points=None, note=note)
    note = f"{unknown}; the fashion model {model.name} adds {each} points per image, {each * batch} for {batch}"
    return Estimate(points=None, note=note, extra=each * batch)


def _stand_in(value: Any) -> Any:
    """A local image as the checks should see it: any http(s) URL (it becomes one when uploaded)."""
    from ._images import ImageFile

    if isinstance(value, list):
        return [_stand_in(v) for v in value]
    return LOCAL_IMAGE if isinstance(value, ImageFile) else value


def check_api(value: Any, what: str) -> str:
    """``value`` as an API name (``v1`` or ``runs``); :class:`InvalidRequestError` naming the rule otherwise."""
    from ..config import APIS

    text = str(value).strip().lower() if isinstance(value, str) else value
    if text not in APIS:
        raise InvalidRequestError(f"{what} must be one of {', '.join(APIS)}, got {value!r}.")
    return text
