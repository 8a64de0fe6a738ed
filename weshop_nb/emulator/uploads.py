"""Uploaded images: the decompression-bomb rule, storage on disk, and a bounded working copy.

Uploads live in a temporary folder the emulator owns (made at the first upload, removed
by :meth:`Uploads.close` or when the emulator is collected, and by the next emulator when
its process was killed), so memory does not grow with them. Results are drawn from a
working copy at most :data:`WORKING_SIDE` pixels on its longest side (the original
itself when it is no larger), never from an original that may hold 64 megapixels.
"""

from __future__ import annotations

import io
import os
import re
import shutil
import tempfile
import threading
import weakref

from PIL import Image

from ..contract import MAX_PIXELS
from .params import Refusal

#: Larger than any result picture, and than a typical garment photo, so the agents that
#: keep the source's pixels (expandimage, removeBG) show it at its own size. At most 16 MB
#: decoded (RGBA).
WORKING_SIDE = 2048
_WORKING_SUFFIX = ".work.png"
_PREFIX = "weshop-emulator-"
_FOLDER = re.compile(rf"{_PREFIX}(\d+)-")


def _sweep_dead() -> None:
    """Remove the folders of emulator processes that ended without cleaning up (killed)."""
    if os.name != "posix":  # os.kill(pid, 0) probes a process only on POSIX
        return
    top = tempfile.gettempdir()
    for entry in os.listdir(top):
        found = _FOLDER.match(entry)
        if not found or int(found.group(1)) == os.getpid():
            continue
        try:
            os.kill(int(found.group(1)), 0)
        except ProcessLookupError:
            shutil.rmtree(os.path.join(top, entry), ignore_errors=True)
        except OSError:
            pass  # alive, as another user


def check_pixels(data: bytes) -> None:
    """Refuse an image of more than :data:`~weshop_nb.contract.MAX_PIXELS` pixels (the client's rule).

    Only the header is read. Data that is not an image passes: the format rule names that.
    """
    limit = f"at most {MAX_PIXELS / 1e6:.0f} megapixels are accepted, as a guard against decompression bombs"
    try:
        with Image.open(io.BytesIO(data)) as image:
            width, height = image.size
    except Image.DecompressionBombError as exc:  # Pillow's own, far larger, limit
        raise Refusal(f"The image is refused as a decompression bomb ({exc}); {limit}.", code=40015) from None
    except Exception:
        return
    if width * height > MAX_PIXELS:
        raise Refusal(f"Image is {width}x{height} pixels ({width * height / 1e6:.1f} megapixels); {limit}.", code=40015)


class Uploads:
    """The uploads of one emulator, on disk; thread-safe.

    Parameters
    ----------
    working_side : int
        The longest side of the working copy results are drawn from.
    """

    def __init__(self, working_side: int = WORKING_SIDE) -> None:
        self.working_side = working_side
        self.folder: str | None = None
        self.count = 0
        # name -> suffix of its working copy: "" (the original is small enough) or
        # _WORKING_SUFFIX; None when it could not be shrunk (nothing to draw from).
        self._names: dict[str, str | None] = {}
        self._lock = threading.Lock()
        # A full-size decode may take a few hundred MB (64 MP); one at a time bounds the total.
        self._decoding = threading.Lock()
        self._cleanup: weakref.finalize | None = None

    def _ensure_folder(self) -> str:
        with self._lock:
            if self.folder is None:
                _sweep_dead()
                # The process id in the name lets a later emulator sweep it if this one is killed.
                self.folder = tempfile.mkdtemp(prefix=f"{_PREFIX}{os.getpid()}-")
                self._cleanup = weakref.finalize(self, shutil.rmtree, self.folder, ignore_errors=True)
            return self.folder

    def _fits(self, data: bytes) -> bool:
        try:
            with Image.open(io.BytesIO(data)) as image:
                return max(image.size) <= self.working_side
        except Exception:
            return False

    def _shrunk(self, data: bytes) -> bytes | None:
        """A PNG of ``data`` at most ``working_side`` on its longest side, or ``None`` if unreadable."""
        side = self.working_side
        try:
            with self._decoding, Image.open(io.BytesIO(data)) as image:
                image.thumbnail((side, side))  # JPEGs decode straight at a reduced scale
                small = image if image.mode in ("RGB", "RGBA") else image.convert("RGBA")
        except Exception:
            return None  # e.g. truncated: results show a drawn garment instead
        buffer = io.BytesIO()
        small.save(buffer, format="PNG", compress_level=1)
        return buffer.getvalue()

    def add(self, name: str, data: bytes) -> None:
        """Keep ``data`` (an image that passed the upload rules) under ``name``."""
        folder = self._ensure_folder()
        with open(os.path.join(folder, name), "wb") as handle:
            handle.write(data)
        suffix: str | None = ""
        if not self._fits(data):
            working = self._shrunk(data)
            suffix = None if working is None else _WORKING_SUFFIX
            if working is not None:
                with open(os.path.join(folder, name + _WORKING_SUFFIX), "wb") as handle:
                    handle.write(working)
        with self._lock:
            self._names[name] = suffix
            self.count += 1

    def _read(self, name: str, working: bool = False) -> bytes | None:
        with self._lock:
            # Only names this store made are opened: a name from a URL never walks the disk.
            suffix = self._names.get(name) if working else ""
            if name not in self._names or suffix is None or self.folder is None:
                return None
            path = os.path.join(self.folder, name + suffix)
        try:
            with open(path, "rb") as handle:
                return handle.read()
        except OSError:
            return None

    def original(self, name: str) -> bytes | None:
        """The uploaded bytes, or ``None`` for a name never uploaded here."""
        return self._read(name)

    def working_copy(self, name: str) -> bytes | None:
        """The upload at most ``working_side`` on its longest side (the original when it fits).

        ``None`` for a name never uploaded here, or an upload too damaged to shrink.
        """
        return self._read(name, working=True)

    def close(self) -> None:
        """Remove the folder and everything in it."""
        with self._lock:
            if self._cleanup is not None:
                self._cleanup()
            self.folder, self._cleanup = None, None
            self._names.clear()
