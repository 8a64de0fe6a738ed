"""Small copies of result pictures, fetched once and kept in memory and on disk."""

from __future__ import annotations

import contextlib
import hashlib
import os
import socket
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from urllib.parse import urlsplit

import requests

from ..config import folder_problem
from ._errors import ServiceError, WeShopError
from ._events import warn_once
from ._images import embed

__all__ = ["ThumbnailCache"]

_EXTENSIONS = {"webp": "webp", "jpeg": "jpg"}
#: Seconds a host that refused a connection (or did not answer in time) is not asked again.
UNREACHABLE_FOR = 5.0
#: Seconds before the folder of kept copies is read again when it changed (by another kernel).
_READ_AGAIN_AFTER = 2.0
#: Pictures shrunk at once in this process: one per core. Downloads wait on the network
#: and many may be under way (a run's ``max_concurrent``); shrinking waits on the cores,
#: and more of it at once than there are cores only adds switching between threads.
_SHRINKING = threading.BoundedSemaphore(os.cpu_count() or 2)


class ThumbnailCache:
    """Remembers small copies of each image URL, one per pixel width, so a picture is fetched once.

    ``fetch`` downloads a URL (``WeShopClient.fetch_image``). Copies are made by
    :func:`~weshop_nb.service._images.embed` in ``format`` (``"webp"`` or ``"jpeg"``),
    ``width`` pixels wide unless :meth:`get` asks for another width. With a ``directory``
    they are also kept on disk, so they outlive the kernel and the URL (an emulator's
    pictures vanish with it). When the folder cannot be written (read-only, full, a file
    in its place) they are kept in memory only, with one warning naming the folder.

    A width never kept is made from a wider copy of the same URL, in memory or on disk,
    without fetching; when the URL cannot be fetched and only narrower copies are kept, the
    widest of them stands in. A host that refuses a connection or does not answer in time
    is not asked again for ``unreachable_for`` seconds: its other pictures fail at once
    instead of each waiting for the transport's retries.
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
        unreachable_for: float = UNREACHABLE_FOR,
    ) -> None:
        if format not in _EXTENSIONS:
            raise ValueError(f"picture format {format!r}: must be one of {', '.join(_EXTENSIONS)}.")
        self.fetch = fetch
        self.width = width
        self.format = format
        self.max_entries = max_entries
        self.directory = directory
        self.unreachable_for = unreachable_for
        self.downloads = 0
        self._on_disk = directory is not None
        self._entries: OrderedDict[tuple[str, int], bytes] = OrderedDict()
        self._widths: dict[str, set[int]] = {}  # the widths of each URL in _entries
        #: The copies on disk, by the URL's file name and width; read from the folder when first needed.
        self._kept: dict[str, dict[int, str]] | None = None
        self._kept_stamp: int | None = None  # the folder's mtime when it was read
        self._kept_read_at = 0.0  # and when, on the monotonic clock
        self._down: dict[str, float] = {}  # host -> monotonic time until which it is not asked
        self._lock = threading.Lock()

    # -- where copies are --------------------------------------------------------------

    @staticmethod
    def _name(url: str) -> str:
        return hashlib.sha256(url.encode()).hexdigest()[:40]

    def _file(self, url: str, width: int) -> str | None:
        if self.directory is None or not self._on_disk:
            return None
        return os.path.join(self.directory, f"{self._name(url)}-{width}.{_EXTENSIONS[self.format]}")

    def _disk_copies(self, url: str, *, fresh: bool = False) -> dict[int, str]:
        """The widths of ``url`` kept on disk, in any format, and their files.

        The folder is read once, then kept up to date with this cache's own writes;
        ``fresh`` reads it again if it changed since (another kernel may have added copies)
        and was last read more than a few seconds ago.
        """
        if self.directory is None:
            return {}
        with self._lock:
            if self._kept is not None and not fresh:
                return dict(self._kept.get(self._name(url), {}))
        stamp = self._stamp()
        with self._lock:
            # Read again at most every few seconds: while a host is gone, each of its pictures asks.
            recent = time.monotonic() - self._kept_read_at < _READ_AGAIN_AFTER
            if self._kept is not None and (stamp == self._kept_stamp or recent):
                return dict(self._kept.get(self._name(url), {}))
        kept: dict[str, dict[int, str]] = {}
        with contextlib.suppress(OSError):  # no folder yet: nothing kept
            for entry in os.scandir(self.directory):
                stem, dot, extension = entry.name.rpartition(".")
                name, dash, width = stem.rpartition("-")
                if dot and dash and extension in _EXTENSIONS.values() and width.isdigit():
                    kept.setdefault(name, {})[int(width)] = entry.path
        with self._lock:
            self._kept, self._kept_stamp, self._kept_read_at = kept, stamp, time.monotonic()
            return dict(kept.get(self._name(url), {}))

    def _stamp(self) -> int | None:
        try:
            return os.stat(self.directory).st_mtime_ns  # type: ignore[arg-type]
        except OSError:
            return None

    # -- the copies --------------------------------------------------------------------

    def get(self, url: str, width: int | None = None) -> bytes:
        """The copy of ``url`` at most ``width`` pixels wide: kept, made from a wider kept copy, or fetched now.

        Raises what ``fetch`` raises (a :class:`ServiceError` at once while the host is
        marked unreachable) when the picture cannot be fetched and no copy stands in.
        """
        width = width or self.width
        with self._lock:
            if (url, width) in self._entries:
                self._entries.move_to_end((url, width))
                return self._entries[(url, width)]
        path = self._file(url, width)
        small = self._read(path) if path else None
        if small is None:
            small = self._from_wider(url, width)
            if small is None:
                try:
                    small = self._fetched(url, width)
                except Exception:
                    stand_in = self._narrower(url, width)
                    if stand_in is None:
                        raise
                    return stand_in  # not kept as this width: fetched when the host is back
            if path:
                self._keep(path, small, url, width)
        self._remember(url, width, small)
        return small

    def _remember(self, url: str, width: int, small: bytes) -> None:
        with self._lock:
            self._entries[(url, width)] = small
            self._widths.setdefault(url, set()).add(width)
            while len(self._entries) > self.max_entries:
                (old, old_width), _ = self._entries.popitem(last=False)
                widths = self._widths.get(old, set())
                widths.discard(old_width)
                if not widths:
                    self._widths.pop(old, None)

    def _from_wider(self, url: str, width: int) -> bytes | None:
        """``url`` at ``width`` made from the narrowest kept copy at least as wide, or None."""
        with self._lock:
            in_memory = {w: self._entries[(url, w)] for w in self._widths.get(url, ()) if w >= width}
        on_disk = {w: path for w, path in self._disk_copies(url).items() if w >= width}
        for wider in sorted({*in_memory, *on_disk}):
            copy = in_memory.get(wider) or self._read(on_disk[wider])
            if copy:
                if wider == width:
                    return copy
                with _SHRINKING:
                    return embed(copy, width, format=self.format)
        return None

    def _narrower(self, url: str, width: int) -> bytes | None:
        """The widest kept copy of ``url`` narrower than ``width`` (the disk read again if it changed), or None."""
        with self._lock:
            in_memory = {w: self._entries[(url, w)] for w in self._widths.get(url, ()) if w < width}
        on_disk = {w: path for w, path in self._disk_copies(url, fresh=True).items() if w < width}
        for narrower in sorted({*in_memory, *on_disk}, reverse=True):
            copy = in_memory.get(narrower) or self._read(on_disk[narrower])
            if copy:
                return copy
        # Another kernel may have kept a wider copy meanwhile: the fresh read shows it.
        return self._from_wider(url, width)

    def _fetched(self, url: str, width: int) -> bytes:
        """``url`` fetched and shrunk, unless its host is marked unreachable; a host found so is marked."""
        host = urlsplit(url).netloc.lower()
        with self._lock:
            if self._down.get(host, 0.0) > time.monotonic():
                raise ServiceError(f"{host} could not be reached a moment ago; {url} is not fetched now.")
        try:
            data = self.fetch(url)
        except Exception as exc:
            if _unreachable(exc, url):
                with self._lock:
                    self._down[host] = time.monotonic() + self.unreachable_for
            raise
        with _SHRINKING:
            small = embed(data, width, format=self.format)
        with self._lock:
            self.downloads += 1
        return small

    @staticmethod
    def _read(path: str) -> bytes | None:
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:  # not kept yet, or unreadable: fetched again
            return None

    def _keep(self, path: str, small: bytes, url: str, width: int) -> None:
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
            return
        with self._lock:
            if self._kept is not None:
                self._kept.setdefault(self._name(url), {})[width] = path

    def get_or_empty(self, url: str, width: int | None = None) -> bytes:
        """Like :meth:`get`, but ``b""`` (drawn as "image unavailable") when it cannot be had."""
        try:
            return self.get(url, width)
        except Exception:
            return b""


def _unreachable(error: BaseException, url: str) -> bool:
    """True when ``error`` says the host of ``url`` cannot be reached now (not that it refused this one URL).

    A reply with a status (404, 500...) comes from a host that is up. A timeout or a
    connection lost on the way says it is not. The client says "could not reach" and
    "too large to download" alike without a reply, so then the host is asked directly
    whether it takes a connection.
    """
    if isinstance(error, (ConnectionError, TimeoutError, requests.ConnectionError, requests.Timeout)):
        return True
    if not isinstance(error, WeShopError) or getattr(error, "response", None) is not None:
        return False
    if getattr(error, "fate_unknown", False):
        return True
    return not _takes_connections(url)


def _takes_connections(url: str, timeout: float = 1.0) -> bool:
    parts = urlsplit(url)
    try:
        port = parts.port or (443 if parts.scheme == "https" else 80)
        with socket.create_connection((parts.hostname or "", port), timeout=timeout):
            return True
    except (OSError, ValueError):
        return False
