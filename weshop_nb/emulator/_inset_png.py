"""PNGs that share every row but an inset rectangle and a tail: the shared bytes encoded once.

A result picture is a scene with a model (the same for every garment) wearing a garment
(one per upload) over a caption band (one per picture). Encoding a whole photograph per
garment costs a compression of a megabyte of grain; here each part is compressed once
and a picture is their bytes put together:

- the scene's rows above the garment, and those below it: once per scene, model and shot;
- each row of the garment's band split in three, ``left | garment | right``: the left and
  right parts once per shot and garment rectangle, the garment's part once per garment
  (per garment and shot if it lets the scene show through);
- the caption band, per picture, which ends the zlib stream.

This works because a PNG's pixels are one zlib stream over any number of IDAT chunks:
every part is raw deflate ended with a full flush (byte-aligned, no reference to anything
before it), so parts are joined by putting their bytes together. A picture has three IDAT
chunks: the rows above the band (kept finished), the band's parts and the rows below it
(joined once per garment and shot, and kept, so that the pictures of a sweep share them),
the caption. Not a chunk per part: a client's PNG reader (Pillow's) spends Python per chunk.

The band's row parts are deflate blocks with fixed Huffman codes (``Z_FIXED``): a block
with its own (dynamic) codes makes the reader build its code tables first, which for
some 1,300 parts of a few hundred bytes cost a client about a quarter more CPU per
picture (Pillow, 13 ms not 10) than a photograph encoded whole; with fixed codes a
picture decodes as fast as one encoded whole, and weighs about a quarter more (0.9 MB,
not 0.7: grain compresses less under fixed codes). Encoding the band whole per garment
and shot instead would cost the emulator 11 ms a new garment and shot.
Rows use PNG's Sub filter (each byte less the one a pixel to its left), so a part's bytes
depend on the pixel left of it: the garment's first and last columns are a seam of one
fixed colour (:data:`SEAM`), which makes the garment's part the same on any scene and the
parts beside it the same under any garment. The Adler-32 of the rows is put together from
each part's sums (:class:`_Sums`), with no pass over the rows per picture.
"""

from __future__ import annotations

import itertools
import struct
import threading
import zlib
from collections import OrderedDict
from typing import NamedTuple

from PIL import Image

from ._spliced_png import _END, _SIGNATURE, PngParts, _chunk, _scanlines

#: The colour of a garment's first and last columns (a shadowed edge).
SEAM = (26, 22, 20)
_ADLER = 65521  # Adler-32's modulus
#: Garment rectangles kept per shot: a catalogue's garments come in a few shapes.
_RECTANGLES_KEPT = 4
#: Bytes of joined pictures kept (all but each one's caption), by shot, garment and column:
#: the pictures of one garment on one shot share one copy, in the emulator's picture cache
#: too, and are not joined again (a megabyte copied per picture). A sweep over a few
#: garments uses a few dozen; a catalogue's garments pass through.
_JOINED_KEPT_BYTES = 48 * 1024 * 1024
_joined: OrderedDict[tuple[int, int, int], tuple[bytes, int]] = OrderedDict()  # and their rows' Adler-32
_joined_bytes = 0
_joined_lock = threading.Lock()
_numbers = itertools.count()  # each inset's number


def _keep_joined(key: tuple[int, int, int], kept: tuple[bytes, int]) -> None:
    global _joined_bytes
    with _joined_lock:
        if key not in _joined:
            _joined[key] = kept
            _joined_bytes += len(kept[0])
        while _joined_bytes > _JOINED_KEPT_BYTES and len(_joined) > 1:
            _joined_bytes -= len(_joined.popitem(last=False)[1][0])


class _Sums(NamedTuple):
    """What Adler-32 needs of some bytes, modulo 65521: their count, sum and weighted sum.

    ``weighted`` counts each byte once per byte from it to the end (itself included), so
    ``adler32 = (n + weighted) << 16 | (1 + total)`` and joining is arithmetic (:meth:`then`).
    """

    n: int
    total: int
    weighted: int

    @classmethod
    def of(cls, data: bytes) -> _Sums:
        adler = zlib.adler32(data)
        return cls(len(data), ((adler & 0xFFFF) - 1) % _ADLER, ((adler >> 16) - len(data)) % _ADLER)

    def then(self, other: _Sums) -> _Sums:
        """The sums of these bytes followed by ``other``'s."""
        weighted = self.weighted + other.n * self.total + other.weighted
        return _Sums(self.n + other.n, (self.total + other.total) % _ADLER, weighted % _ADLER)

    def adler(self, start: int = 1) -> int:
        """Adler-32 of the bytes, continuing from ``start`` (the checksum of what came before)."""
        low, high = start & 0xFFFF, start >> 16
        total = (low + self.total) % _ADLER
        return (high + self.n * low + self.weighted) % _ADLER << 16 | total


class _Column(NamedTuple):
    """One part of each of a band's rows (the same columns in every row), encoded row by row.

    ``pieces`` holds each row's raw deflate (fixed Huffman codes, full flush). Placed at
    ``offset`` in rows of ``stride`` bytes, the part adds to the band's weighted sum
    ``weighted + (rows*stride - offset - width) * total - stride * by_row`` (``by_row``:
    each row's total times its index).
    """

    pieces: tuple[bytes, ...]
    width: int
    total: int
    weighted: int
    by_row: int

    @classmethod
    def encode(cls, rows: list[bytes], level: int) -> _Column:
        compressor = zlib.compressobj(level, zlib.DEFLATED, -15, 8, zlib.Z_FIXED)
        pieces, total, weighted, by_row = [], 0, 0, 0
        for index, row in enumerate(rows):
            pieces.append(compressor.compress(row) + compressor.flush(zlib.Z_FULL_FLUSH))
            sums = _Sums.of(row)
            total, weighted, by_row = total + sums.total, weighted + sums.weighted, by_row + index * sums.total
        return cls(tuple(pieces), len(rows[0]), total % _ADLER, weighted % _ADLER, by_row % _ADLER)

    def weighted_at(self, offset: int, stride: int) -> int:
        rows = len(self.pieces)
        return (self.weighted + (rows * stride - offset - self.width) * self.total - stride * self.by_row) % _ADLER


class Inset(NamedTuple):
    """A garment's part of each row it covers (see :meth:`InsetPng.inset`).

    ``anywhere``: the garment is opaque, so this part is the same on every picture.
    ``number``: this inset's own, which the joined pictures it is in are kept under.
    """

    middle: _Column
    size: tuple[int, int]
    anywhere: bool
    number: int


def _rows(image: Image.Image, start: int, stop: int) -> list[bytes]:
    """Bytes ``start:stop`` of each Sub-filtered row of ``image`` (offsets count the filter byte)."""
    filtered, stride = _scanlines(image), 1 + 3 * image.width
    return [filtered[at + start : at + stop] for at in range(0, len(filtered), stride)]


def _segment(rows: bytes, level: int) -> bytes:
    """Raw deflate of ``rows``, ended with a full flush (byte-aligned, nothing referred back to)."""
    compressor = zlib.compressobj(level, zlib.DEFLATED, -15)
    return compressor.compress(rows) + compressor.flush(zlib.Z_FULL_FLUSH)


class InsetPng:
    """A picture's shared rows encoded once, and :meth:`parts` to finish one with an inset and a tail.

    Parameters
    ----------
    picture : PIL.Image.Image
        The rows above the tail, RGB, without the inset.
    band : (top, bottom)
        The rows the inset may cover (it starts at ``top``).
    tail_height : int
        Rows each picture adds below ``picture``, same width.
    level : int
        zlib level; 1 (the fastest) since grain barely compresses anyway.
    """

    def __init__(self, picture: Image.Image, band: tuple[int, int], tail_height: int, *, level: int = 1) -> None:
        if picture.mode != "RGB":
            raise ValueError(f"picture must be RGB, not {picture.mode}")
        width, height = picture.size
        top, bottom = band
        self.size = (width, height + tail_height)
        self.tail_size = (width, tail_height)
        self.band = band
        self._level = level
        self._stride = 1 + 3 * width
        compressor = zlib.compressobj(level)  # the zlib stream's header comes first
        above = _scanlines(picture.crop((0, 0, width, top)))
        header = struct.pack(">IIBBBBB", *self.size, 8, 2, 0, 0, 0)  # 8-bit RGB, no interlace
        idat = compressor.compress(above) + compressor.flush(zlib.Z_FULL_FLUSH)
        self._start = _SIGNATURE + _chunk(b"IHDR", header) + _chunk(b"IDAT", idat)
        self._above = _Sums.of(above)
        below = _scanlines(picture.crop((0, bottom, width, height)))
        self._below, self._below_sums = _segment(below, level), _Sums.of(below)
        self._band = picture.crop((0, top, width, bottom))  # to cut the parts beside each inset from
        self._rectangles: OrderedDict[tuple[int, int, int, bool], tuple[_Column, _Column, bytes, _Sums]] = OrderedDict()
        self._number = next(_numbers)  # its part of the keys of the joined pictures kept
        self._lock = threading.Lock()

    @property
    def nbytes(self) -> int:
        """Bytes kept, about: the encoded rows, the band's pixels, the rectangles' parts."""
        kept = len(self._start) + len(self._below) + 3 * self._band.width * self._band.height
        for left, right, under, _ in self._rectangles.values():
            kept += sum(map(len, left.pieces)) + sum(map(len, right.pieces)) + len(under)
        return kept

    def inset(self, piece: Image.Image, x: int) -> Inset:
        """The garment ``piece`` (RGBA) pasted at column ``x`` of the band's top, encoded.

        An opaque piece's first and last columns become the seam: then the result is the
        same on any picture (``anywhere``), and callers may keep one for every shot. A
        piece the scene shows through loses those columns instead (the scene's pixels).
        """
        if piece.height > self._band.height or piece.width < 3:
            raise ValueError(f"a piece of {piece.size} does not fit the band {self.band}")
        piece = piece.copy()
        anywhere = piece.getchannel("A").getextrema() == (255, 255)
        for column in (0, piece.width - 1):
            edge = (column, 0, column + 1, piece.height)
            piece.paste((*SEAM, 255), edge) if anywhere else piece.paste((0, 0, 0, 0), edge)
        covered = self._band.crop((x, 0, x + piece.width, piece.height))
        covered.paste(piece, (0, 0), piece)
        middle = _Column.encode(_rows(covered, 4, 1 + 3 * piece.width), self._level)
        return Inset(middle, piece.size, anywhere, next(_numbers))

    def prepare(self, inset: Inset, x: int) -> None:
        """Encode the parts beside ``inset`` at ``x`` now, which :meth:`parts` would on first use."""
        self._rectangle(x, inset.size, inset.anywhere)

    def parts(self, inset: Inset, x: int, tail: Image.Image) -> PngParts:
        """The picture with ``inset`` at column ``x`` of the band's top, above ``tail`` (RGB, ``tail_size``).

        ``shared`` is every IDAT chunk but the tail's, joined from kept parts on first use
        (no compression) and then kept, the same object for every picture of this inset
        at ``x`` while kept (:data:`_JOINED_KEPT_BYTES`); ``own`` the tail's rows and the end.
        """
        if tail.mode != "RGB" or tail.size != self.tail_size:
            raise ValueError(f"tail must be RGB of {self.tail_size}, not {tail.mode} of {tail.size}")
        key = (self._number, inset.number, x)
        with _joined_lock:
            kept = _joined.get(key)
            if kept is not None:
                _joined.move_to_end(key)
        if kept is None:
            kept = self._joined(inset, x)
            _keep_joined(key, kept)
        shared, adler = kept
        rows_of_tail = _scanlines(tail)
        compressor = zlib.compressobj(self._level, zlib.DEFLATED, -15)  # raw deflate: it ends the stream
        stream = compressor.compress(rows_of_tail) + compressor.flush()
        stream += struct.pack(">I", zlib.adler32(rows_of_tail, adler))
        return PngParts(shared, _chunk(b"IDAT", stream) + _END)

    def _joined(self, inset: Inset, x: int) -> tuple[bytes, int]:
        """Every IDAT chunk of a picture with ``inset`` at ``x`` but the tail's, and the Adler-32 of their rows."""
        left, right, under, under_sums = self._rectangle(x, inset.size, inset.anywhere)
        middle, rows = inset.middle, len(inset.middle.pieces)
        stride, offset = self._stride, left.width
        weighted = left.weighted_at(0, stride) + middle.weighted_at(offset, stride)
        weighted += right.weighted_at(offset + middle.width, stride)
        band = _Sums(rows * stride, (left.total + middle.total + right.total) % _ADLER, weighted % _ADLER)
        sums = self._above.then(band).then(under_sums).then(self._below_sums)
        pieces = [piece for row in zip(left.pieces, middle.pieces, right.pieces, strict=True) for piece in row]
        data = b"".join([*pieces, under, self._below])
        return b"".join([self._start, _chunk(b"IDAT", data)]), sums.adler()

    def _rectangle(self, x: int, size: tuple[int, int], seamed: bool) -> tuple[_Column, _Column, bytes, _Sums]:
        """The parts beside an inset of ``size`` at ``x`` (left, right), and the band's rows under it."""
        key = (x, *size, seamed)
        with self._lock:
            kept = self._rectangles.get(key)
            if kept is not None:
                self._rectangles.move_to_end(key)
                return kept
        width, height = size
        beside = self._band.crop((0, 0, self._band.width, height))
        if seamed:
            for column in (x, x + width - 1):
                beside.paste(SEAM, (column, 0, column + 1, height))
        # Left: the filter byte and the pixels up to the inset's first column (seam or scene);
        # right: from the pixel after its last column. Neither depends on the garment.
        left = _Column.encode(_rows(beside, 0, 4 + 3 * x), self._level)
        right = _Column.encode(_rows(beside, 1 + 3 * (x + width), self._stride), self._level)
        under_rows = _scanlines(self._band.crop((0, height, self._band.width, self._band.height)))
        kept = (left, right, _segment(under_rows, self._level), _Sums.of(under_rows))
        with self._lock:
            self._rectangles[key] = kept
            while len(self._rectangles) > _RECTANGLES_KEPT:
                self._rectangles.popitem(last=False)
        return kept
