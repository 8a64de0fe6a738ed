"""What the client saw, told to whoever listens (the history store, by default).

The service layer cannot import the layers above it, so it announces instead:
``emit("task", task, source=base_url)``. A listener that fails is reported once as a
warning and never breaks the call that emitted.
"""

from __future__ import annotations

import threading
import warnings
from collections.abc import Callable
from typing import Any

__all__ = ["subscribe", "unsubscribe", "emit", "warn_once"]

Listener = Callable[[str, Any, str], None]

_listeners: list[Listener] = []
_warned: set[str] = set()
_lock = threading.Lock()


def subscribe(listener: Listener) -> None:
    """Call ``listener(kind, payload, source)`` for every event; kinds: task, execution, agent_info."""
    with _lock:
        if listener not in _listeners:
            _listeners.append(listener)


def unsubscribe(listener: Listener) -> None:
    with _lock:
        if listener in _listeners:
            _listeners.remove(listener)


def emit(kind: str, payload: Any, *, source: str) -> None:
    with _lock:
        listeners = list(_listeners)
    for listener in listeners:
        try:
            listener(kind, payload, source)
        except Exception as exc:
            warn_once(f"could not record what it saw ({getattr(listener, '__qualname__', listener)})", exc)


def warn_once(what: str, exc: BaseException | None = None) -> None:
    """Warn that ``what`` failed with ``exc`` (or just ``what``), once per distinct message; never raises.

    The one policy for hooks that fail (event listeners, run subscribers, views) and for
    things that degrade (thumbnails kept in memory only): say it once, then stay quiet,
    and never break the call or the thread that called them.
    """
    message = what if exc is None else f"{what}: {type(exc).__name__}: {exc}"
    with _lock:
        if message in _warned:
            return
        _warned.add(message)
    warnings.warn(f"weshop_nb {message}", RuntimeWarning, stacklevel=3)
