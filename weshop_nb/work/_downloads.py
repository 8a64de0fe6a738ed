"""A run's download threads: made on the first fetch of several, let go when watching ends."""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence
from concurrent.futures import ThreadPoolExecutor
from typing import Any

__all__ = ["DownloadPool"]


class DownloadPool:
    """Up to ``max_concurrent`` fetches at once, in threads of its own."""

    def __init__(self, max_concurrent: int) -> None:
        self.max_concurrent = max_concurrent
        self._pool: ThreadPoolExecutor | None = None
        self._lock = threading.Lock()

    def map(self, fetch: Callable[[Any], Any], keys: Sequence[Any]) -> list[Any]:
        """``[fetch(key) for key in keys]``, several at once when there are several."""
        if len(keys) <= 1 or self.max_concurrent == 1:
            return [fetch(key) for key in keys]
        with self._lock:
            if self._pool is None:
                self._pool = ThreadPoolExecutor(max_workers=self.max_concurrent, thread_name_prefix="weshop-fetch")
            pool = self._pool
        try:
            return list(pool.map(fetch, keys))
        except RuntimeError:  # closed meanwhile (the run was stopped): finish the tick here
            return [fetch(key) for key in keys]

    def close(self) -> None:
        """Let the threads go (a later fetch makes new ones)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is not None:
            pool.shutdown(wait=False)
