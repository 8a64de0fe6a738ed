"""weshop_nb: the notebook home of the WeShop AI OpenAPI.

>>> from weshop_nb import WeShopClient
>>> from weshop_nb import emulator

Names are imported on first use, so ``import weshop_nb`` (and ``%load_ext weshop_nb``)
stays fast: requests, Pillow and werkzeug load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from .service import _events as events
from .work import _hooks

__version__ = "0.1.0"

_LAZY = {
    "WeShopClient": "service._client",
    "Task": "service._models",
    "Execution": "service._models",
    "Result": "service._models",
    "AgentInfo": "service._catalogue",
    "Location": "service._catalogue",
    "FashionModel": "service._catalogue",
    "Tag": "service._catalogue",
    "Background": "service._catalogue",
    "Estimate": "service._catalogue",
    "WeShopError": "service._errors",
    "AuthenticationError": "service._errors",
    "InvalidRequestError": "service._errors",
    "ParameterError": "service._errors",
    "UncheckedAgentWarning": "service._agents",
    "ImageValidationError": "service._errors",
    "RateLimitError": "service._errors",
    "ServiceError": "service._errors",
    "ExecutionFailed": "service._errors",
    "WaitTimeout": "service._errors",
    "HistoryError": "service._errors",
    "contact_sheet": "service._images",
    "History": "work._history",
    "Comparison": "work._comparison",
    "Run": "work._run",
}
_SUBMODULES = {"emulator"}

__all__ = [*_LAZY, "emulator", "load_ipython_extension", "__version__"]


def _record(kind: str, payload: Any, source: str) -> None:
    # What the client sees goes to the history store; imported on the first event only.
    from .work._history import record_event

    record_event(kind, payload, source)


def _notebook_views() -> Any:
    # Runs draw themselves live through the notebook layer, imported when first needed.
    from .notebook._display import VIEWS

    return VIEWS


events.subscribe(_record)
_hooks.set_views_loader(_notebook_views)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
        if isinstance(value, type):
            value.__module__ = __name__  # the public name, not the private module that defines it
        globals()[name] = value
        return value
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'weshop_nb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext weshop_nb``: register the ``%weshop`` magic."""
    from .notebook._magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .notebook._magics import unload_ipython_extension as unload

    unload(ipython)
