"""One rate budget per client: a 429 seen by any call slows every caller of that client.

The service answers 429 with ``Retry-After`` when a key sends too much. Obeying it in
the one thread that got the reply is not enough: a sweep has a watcher thread per task
and a pool of launch threads, and they would go on sending, each earning its own 429.
So a client holds one :class:`RateBudget`. The transport tells it of every 429 (also
those it then retries by itself), every request of the client waits until the budget
allows sending again, and the watchers read :attr:`RateBudget.strikes` to lengthen
their pause after a 429 anywhere, not only in their own thread.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable

__all__ = ["RateBudget", "DEFAULT_HOLD"]

#: Seconds to hold every caller after a 429 that named no ``Retry-After``.
DEFAULT_HOLD = 1.0


class RateBudget:
    """When the callers of one client may send again, and how often they were told to slow down.

    Parameters
    ----------
    limit : float
        The longest hold accepted from one reply (a notebook should not hang for an hour).
    clock : callable
        Monotonic seconds; tests pass a fake one.
    """

    def __init__(self, *, limit: float = 30.0, clock: Callable[[], float] = time.monotonic) -> None:
        self.limit = limit
        self._clock = clock
        self._until = 0.0
        self._strikes = 0
        self._lock = threading.Lock()

    def __repr__(self) -> str:
        return f"<RateBudget strikes={self._strikes} hold={self.remaining():.1f}s>"

    @property
    def strikes(self) -> int:
        """How many 429s this client has seen; a watcher that sees it grow backs off."""
        with self._lock:
            return self._strikes

    def hold(self, seconds: float | None) -> None:
        """A 429 arrived: nobody sends for ``seconds`` (the reply's ``Retry-After``, or :data:`DEFAULT_HOLD`)."""
        pause = DEFAULT_HOLD if seconds is None or seconds <= 0 else min(float(seconds), self.limit)
        with self._lock:
            self._strikes += 1
            self._until = max(self._until, self._clock() + pause)

    def remaining(self) -> float:
        """Seconds until sending is allowed again (0 when it is)."""
        with self._lock:
            return max(0.0, self._until - self._clock())

    def wait(self, stop: threading.Event | None = None) -> bool:
        """Block until sending is allowed; False when ``stop`` was set first (the pause is cut short)."""
        while True:
            remaining = self.remaining()
            if remaining <= 0:
                return True
            if stop is not None:
                if stop.wait(remaining):
                    return False
            else:
                time.sleep(remaining)
