"""The end of a run, told once to whoever asked: :meth:`Run.on_finish`.

A run ends when every execution is finished or when watching stops. Whichever thread
sees it first (a watcher, or the kernel's on ``stop()``) calls the callbacks, outside the
run's lock; a callback given after the end is called at once. The notebook layer uses it
to replace a live display by the run's static picture.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Any

from ..service._events import warn_once

__all__ = ["Ending", "call_safely"]


def call_safely(callback: Callable[..., None], *args: Any) -> None:
    """``callback(*args)``; an exception is warned about once, never raised into a watcher."""
    try:
        callback(*args)
    except Exception as exc:  # a broken view must not stop the watcher
        warn_once(f"could not show a run update ({getattr(callback, '__qualname__', callback)})", exc)


class Ending:
    """The callbacks waiting for a run's end, and whether it came.

    ``seen`` is True from the moment the end is seen, ``told`` once every callback has
    returned (what ``Run.wait()`` waits for).
    """

    def __init__(self, lock: threading.RLock) -> None:
        self._lock = lock
        self._callbacks: list[Callable[[Any], None]] = []
        self.seen = False
        self.told = False

    def add(self, callback: Callable[[Any], None], run: Any) -> None:
        with self._lock:
            if not self.seen:
                self._callbacks.append(callback)
                return
        call_safely(callback, run)

    def remove(self, callback: Callable[[Any], None]) -> None:
        with self._lock:
            if callback in self._callbacks:
                self._callbacks.remove(callback)

    def settle(self, run: Any, ended: Callable[[], bool]) -> bool:
        """Tell everyone, once, if ``ended()`` (checked under the lock); True when this call told them."""
        with self._lock:
            if self.seen or not ended():
                return False
            self.seen = True
            callbacks, self._callbacks = self._callbacks, []
        for callback in callbacks:
            call_safely(callback, run)
        self.told = True
        return True

    def reset(self) -> None:
        """The run is watched again: it can end again (called under the run's lock)."""
        self.seen = self.told = False
