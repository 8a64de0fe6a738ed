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

__all__ = [*_LAZY, "emulator", "launch", "load_ipython_extension", "__version__"]


_own_session: Any = None


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


def _session() -> Any:
    """The session ``%weshop`` uses in this kernel (after ``%weshop demo`` or ``login``, or from
    ``WESHOP_API_KEY``); outside IPython, or before the magic has one, a session of our own
    whose client reads the environment."""
    global _own_session
    try:
        from IPython import get_ipython

        shell = get_ipython()
    except ImportError:  # pragma: no cover - IPython is a dependency
        shell = None
    magics = shell.magics_manager.registry.get("WeShopMagics") if shell is not None else None
    if magics is not None:
        from IPython.core.error import UsageError

        try:
            return magics._session()  # what `%%weshop run` would use: demo, login, or WESHOP_API_KEY
        except UsageError:
            pass  # no key at all: the client made below says so in its own words
    if _own_session is None:
        from .service._client import WeShopClient
        from .work._session import Session

        _own_session = Session(WeShopClient())
    return _own_session


def launch(
    images: Any = None,
    prompts: Any = (),
    locations: Any = (),
    models: Any = (),
    agent: str = "aimodel",
    version: str | None = None,
    params: dict[str, Any] | None = None,
    wait: bool = False,
    skip_done: bool = False,
    budget: int | None = None,
    repeat: int = 1,
    **options: Any,
) -> Any:
    """Launch a sweep over a set of pictures: pictures x prompts x locations x models x swept params.

    The same launch as ``%%weshop run`` (the same plan, checks and sentences): one task per
    picture, each distinct picture uploaded once (the history's upload cache, shared by
    every kernel), tasks of at most 20 executions started at once.

    Parameters
    ----------
    images : str, path, list or pandas.Series
        What ``--image`` takes: local files, image URLs, globs (``"shoot/*.jpg"``) or folders
        (every png, jpg, jpeg, webp directly inside, by name); or a list or Series of them.
    prompts, locations, models : str or list
        The prompts; locations and fashion models by name (any case) or id.
    agent, version : str
        The agent of the registry (``%weshop agents``) and its version (its registered one by default).
    params : dict, optional
        Any parameter of the agent: a value, or a list of values to sweep.
    wait : bool
        Block until every execution is finished.
    skip_done : bool
        Launch only the combinations (the picture's content and every parameter) that have
        not succeeded at this service before; unfinished ones are watched again. The run
        still holds every combination.
    budget : int, optional
        Refuse the launch, before anything starts, if its estimate is above this many points
        (the agent-runs API only: v1 has no estimate).
    repeat : int
        Executions of each combination (repeats in the sweep are otherwise collapsed).
    **options
        ``mask``, ``custom_mask``, ``mode``, ``pose``, ``generate_version``, ``batch``,
        ``negative`` (as ``--mask``...), ``inputs`` (the agent's other images by name),
        ``name`` (the tasks' name), ``callback_url``.

    Returns
    -------
    Run
        Watched live. Ctrl-C while it starts returns the run of what started (one line says
        how many; ``run.retry()`` starts the rest).

    Notes
    -----
    The client is the one ``%weshop`` uses in this kernel when there is one (after
    ``%weshop demo``, ``%weshop login``, or a ``%weshop`` command that read
    ``WESHOP_API_KEY``); otherwise a :class:`WeShopClient` made from the environment
    (``WESHOP_API_KEY``, ``WESHOP_BASE_URL``, ``WESHOP_API``).
    """
    from .work._session import launch_pictures

    return launch_pictures(
        _session(),
        images,
        prompts=prompts,
        locations=locations,
        models=models,
        agent=agent,
        version=version,
        params=params,
        wait=wait,
        skip_done=skip_done,
        budget=budget,
        repeat=repeat,
        **options,
    )


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
