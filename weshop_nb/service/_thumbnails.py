"""Thumbnails of result pictures, fetched once and kept in memory and on disk."""

from __future__ import annotations

import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable

from ._images import thumbnail

__all__ = ["ThumbnailCache"]


class ThumbnailCache:
    """Remembers the JPEG thumbnail of each image URL, so a picture is fetched once.

    ``fetch`` downloads a URL (``WeShopClient.fetch_image``). With a ``directory`` the
    thumbnails are also kept on disk, so they outlive the kernel and the URL (an
    emulator's pictures vanish with it). Thread-safe; the oldest entries in memory are
    dropped past ``max_entries``.
    """

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        *,
        max_side: int = 192,
        max_entries: int = 4096,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        self.fetch = fetch
        self.max_side = max_side
        self.max_entries = max_entries
        self.directory = directory
        self.downloads = 0
        self._entries: OrderedDict[str, bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _file(self, url: str) -> str | None:
        if self.directory is None:
            return None
        name = hashlib.sha256(url.encode()).hexdigest()[:40]
        return os.path.join(self.directory, f"{name}-{self.max_side}.jpg")

    def get(self, url: str) -> bytes:
        """The thumbnail of ``url``: from memory, from disk, or fetched and shrunk now."""
        with self._lock:
            if url in self._entries:
                self._entries.move_to_end(url)
                return self._entries[url]
        path = self._file(url)
        if path and os.path.exists(path):
            with open(path, "rb") as handle:
                small = handle.read()
        else:
            small = thumbnail(self.fetch(url), self.max_side)
            with self._lock:
                self.downloads += 1
            if path:
                os.makedirs(os.path.dirname(path), exist_ok=True)
                with open(path + ".part", "wb") as handle:
                    handle.write(small)
                os.replace(path + ".part", path)  # readers never see half a file
        with self._lock:
            self._entries[url] = small
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return small

    def get_or_empty(self, url: str) -> bytes:
        """Like :meth:`get`, but ``b""`` (drawn as "image unavailable") when it cannot be had."""
        try:
            return self.get(url)
        except Exception:
            return b""
