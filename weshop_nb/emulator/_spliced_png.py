"""PNGs that share every row but their last few: the shared rows encoded once.

A result picture is a photograph (heavy, slow to compress: grain barely compresses) with
a caption band at its foot (light: text on a flat colour). The service draws on its own
GPUs; the emulator runs on the user's cores, so it encodes the photograph once and, per
picture, only the band: a few thousand bytes of compression instead of a megabyte.

This works because a PNG's pixels are one zlib stream split over any number of IDAT
chunks. The shared rows are compressed and ended with a full flush (byte-aligned, no
reference to anything before), kept as a finished chunk; each picture adds a chunk of
its own rows, compressed as a fresh raw deflate stream that ends the zlib stream, and the
Adler-32 of all the rows, carried on from the shared rows' checksum. Both parts are
encoded with PNG's Sub filter (each byte less the one a pixel to its left), computed by
Pillow in C.
"""

from __future__ import annotations

import struct
import zlib
from typing import NamedTuple

from PIL import Image, ImageChops

_SIGNATURE = b"\x89PNG\r\n\x1a\n"
_SUB = b"\x01"  # PNG filter type 1: the byte to the left is subtracted


def _chunk(kind: bytes, data: bytes) -> bytes:
    crc = zlib.crc32(data, zlib.crc32(kind))
    return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", crc)


_END = _chunk(b"IEND", b"")


def _scanlines(image: Image.Image) -> bytes:
    """The rows of an RGB image as PNG stores them under the Sub filter."""
    left = ImageChops.offset(image, 1, 0)
    left.paste((0, 0, 0), (0, 0, 1, image.height))  # the first pixel of a row has no left neighbour
    filtered = ImageChops.subtract_modulo(image, left).tobytes()
    stride = image.width * 3
    return b"".join(_SUB + filtered[start : start + stride] for start in range(0, len(filtered), stride))


class PngParts(NamedTuple):
    """A PNG in two pieces: ``shared`` by every picture of its head, then its ``own`` bytes."""

    shared: bytes
    own: bytes


class SplicedPng:
    """A PNG head (the rows every picture shares) and :meth:`png` to finish one picture.

    Parameters
    ----------
    head : PIL.Image.Image
        The shared top rows, RGB.
    tail_height : int
        Rows each picture adds below them, same width.
    level : int
        zlib level of both parts; 1 (the fastest) since grain barely compresses anyway.
    """

    def __init__(self, head: Image.Image, tail_height: int, *, level: int = 1) -> None:
        if head.mode != "RGB":
            raise ValueError(f"head must be RGB, not {head.mode}")
        width, height = head.size
        self.size = (width, height + tail_height)
        self.tail_size = (width, tail_height)
        self._level = level
        rows = _scanlines(head)
        compressor = zlib.compressobj(level)
        stream = compressor.compress(rows) + compressor.flush(zlib.Z_FULL_FLUSH)
        header = struct.pack(">IIBBBBB", *self.size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
        self._start = _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", stream)
        self._adler = zlib.adler32(rows)

    @property
    def nbytes(self) -> int:
        """Bytes kept: the encoded head."""
        return len(self._start)

    def png(self, tail: Image.Image) -> bytes:
        """The whole picture's PNG: the head, then ``tail`` (an RGB image of ``tail_size``)."""
        return b"".join(self.parts(tail))

    def parts(self, tail: Image.Image) -> PngParts:
        """The PNG of :meth:`png` in two pieces: the head's bytes (the same object every
        time) and the tail's own; served one after the other, no copy of the head is made."""
        if tail.mode != "RGB" or tail.size != self.tail_size:
            raise ValueError(f"tail must be RGB of {self.tail_size}, not {tail.mode} of {tail.size}")
        rows = _scanlines(tail)
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15)  # raw deflate: it ends the stream
        stream = compressor.compress(rows) + compressor.flush() + struct.pack(">I", zlib.adler32(rows, self._adler))
        return PngParts(self._start, _chunk(b"IDAT", stream) + _END)
