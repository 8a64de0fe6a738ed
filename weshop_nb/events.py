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

__all__ = ["subscribe", "unsubscribe", "emit"]

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
            message = f"{getattr(listener, '__qualname__', listener)}: {exc}"
            if message not in _warned:  # say it once, then stay quiet
                _warned.add(message)
                warnings.warn(f"weshop_nb could not record what it saw ({message})", RuntimeWarning, stacklevel=2)
