"""weshop_nb: the notebook home of the WeShop AI OpenAPI.

>>> from weshop_nb import WeShopClient
>>> from weshop_nb import emulator

Names are imported on first use, so ``import weshop_nb`` (and ``%load_ext weshop_nb``)
stays fast: requests, Pillow and werkzeug load only when something needs them.
"""

from __future__ import annotations

import importlib
from typing import Any

from . import events

__version__ = "0.1.0"

_LAZY = {
    "WeShopClient": "client",
    "Task": "models",
    "Execution": "models",
    "Result": "models",
    "AgentInfo": "models",
    "Location": "models",
    "FashionModel": "models",
    "Tag": "models",
    "WeShopError": "errors",
    "AuthenticationError": "errors",
    "InvalidRequestError": "errors",
    "ImageValidationError": "errors",
    "RateLimitError": "errors",
    "ServiceError": "errors",
    "ExecutionFailed": "errors",
    "WaitTimeout": "errors",
    "HistoryError": "errors",
    "History": "history",
    "Run": "runs",
}
_SUBMODULES = {"client", "models", "errors", "images", "emulator", "history", "runs"}

__all__ = [*_LAZY, "emulator", "load_ipython_extension", "__version__"]


def _record(kind: str, payload: Any, source: str) -> None:
    # What the client sees goes to the history store; imported on the first event only.
    from .history import record_event

    record_event(kind, payload, source)


events.subscribe(_record)


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        return getattr(importlib.import_module(f".{_LAZY[name]}", __name__), name)
    if name in _SUBMODULES:
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'weshop_nb' has no attribute {name!r}")


def __dir__() -> list[str]:
    return sorted(set(globals()) | set(__all__))


def load_ipython_extension(ipython: Any) -> None:
    """``%load_ext weshop_nb``: register the ``%weshop`` magic."""
    from .magics import load_ipython_extension as load

    load(ipython)


def unload_ipython_extension(ipython: Any) -> None:
    from .magics import unload_ipython_extension as unload

    unload(ipython)
