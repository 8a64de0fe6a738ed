"""Small copies of result pictures, fetched once and kept in memory and on disk."""

from __future__ import annotations

import contextlib
import hashlib
import os
import threading
from collections import OrderedDict
from collections.abc import Callable

from ..config import folder_problem
from ._events import warn_once
from ._images import embed

__all__ = ["ThumbnailCache"]

_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}


class ThumbnailCache:
    """Remembers small copies of each image URL, one per pixel width, so a picture is fetched once.

    ``fetch`` downloads a URL (``WeShopClient.fetch_image``). Copies are made by
    :func:`~weshop_nb.service._images.embed` in ``format`` (``"webp"`` or ``"jpeg"``),
    ``width`` pixels wide unless :meth:`get` asks for another width. With a ``directory``
    they are also kept on disk, so they outlive the kernel and the URL (an emulator's
    pictures vanish with it). When the folder cannot be written (read-only, full, a file
    in its place) they are kept in memory only, with one warning naming the folder.
    Thread-safe; the oldest entries in memory are dropped past ``max_entries``.
    """

    def __init__(
        self,
        fetch: Callable[[str], bytes],
        *,
        width: int = 192,
        format: str = "webp",
        max_entries: int = 4096,
        directory: str | os.PathLike[str] | None = None,
    ) -> None:
        if format not in _EXTENSIONS:
            raise ValueError(f"picture format {format!r}: must be one of {', '.join(_EXTENSIONS)}.")
        self.fetch = fetch
        self.width = width
        self.format = format
        self.max_entries = max_entries
        self.directory = directory
        self.downloads = 0
        self._on_disk = directory is not None
        self._entries: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._lock = threading.Lock()

    def _file(self, url: str, width: int) -> str | None:
        if self.directory is None or not self._on_disk:
            return None
        name = hashlib.sha256(url.encode()).hexdigest()[:40]
        return os.path.join(self.directory, f"{name}-{width}.{_EXTENSIONS[self.format]}")

    def get(self, url: str, width: int | None = None) -> bytes:
        """The copy of ``url`` at most ``width`` pixels wide: from memory, from disk, or fetched and shrunk now."""
        key = (url, width or self.width)
        with self._lock:
            if key in self._entries:
                self._entries.move_to_end(key)
                return self._entries[key]
        path = self._file(*key)
        small = self._read(path) if path else None
        if small is None:
            small = embed(self.fetch(url), key[1], format=self.format)
            with self._lock:
                self.downloads += 1
            if path:
                self._keep(path, small)
        with self._lock:
            self._entries[key] = small
            while len(self._entries) > self.max_entries:
                self._entries.popitem(last=False)
        return small

    @staticmethod
    def _read(path: str) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:  # not kept yet, or unreadable: fetched again
            return None

    def _keep(self, path: str, small: bytes) -> None:
        """Write a thumbnail to disk; when that fails, stop using the disk and say so once."""
        try:
            os.makedirs(os.path.dirname(path), exist_ok=True)
            with open(path + ".part", "wb") as handle:
                handle.write(small)
            os.replace(path + ".part", path)  # readers never see half a file
        except OSError as exc:
            with contextlib.suppress(OSError):
                os.remove(path + ".part")
            self._on_disk = False
            problem = folder_problem(os.path.dirname(path))
            why = problem[1] if problem else (exc.strerror or str(exc))
            warn_once(
                f"cannot keep thumbnails in {os.path.dirname(path)} ({why}); they are kept in memory for this "
                "session only. Free some space, or set WESHOP_NB_HOME to a writable folder and restart the kernel."
            )

    def get_or_empty(self, url: str, width: int | None = None) -> bytes:
        """Like :meth:`get`, but ``b""`` (drawn as "image unavailable") when it cannot be had."""
        try:
            return self.get(url, width)
        except Exception:
            return b""
