"""Upload rules checked before any byte leaves, and thumbnails.

The service refuses images that break its rules, but only after the upload; checking
here first saves the round trip and lets the message say exactly which rule broke and
by how much. Formats are judged by content (Pillow), never by file name.
"""

from __future__ import annotations

import hashlib
import io
import math
import os
import warnings
from dataclasses import dataclass
from functools import lru_cache
from typing import IO, Any, Union

from PIL import Image

# The numbers of the rules are the contract's; the emulator enforces the same ones.
from ..contract import MAX_ASPECT_RATIO, MAX_BYTES, MAX_PIXELS, MIN_SIDE, is_url
from ._errors import ImageValidationError

__all__ = [
    "ALLOWED_FORMATS",
    "MAX_BYTES",
    "MIN_SIDE",
    "MAX_ASPECT_RATIO",
    "MAX_PIXELS",
    "ImageFile",
    "ImageSource",
    "prepare_upload",
    "check_upload_rules",
    "thumbnail",
    "EMBED_QUALITY",
    "embed",
    "contact_sheet",
    "sheet_picture",
]

#: Pillow format name -> (the word users know, MIME type). MPO is how Pillow names
#: many camera JPEGs.
ALLOWED_FORMATS = {
    "PNG": ("png", "image/png"),
    "JPEG": ("jpeg", "image/jpeg"),
    "MPO": ("jpeg", "image/jpeg"),
    "WEBP": ("webp", "image/webp"),
}

ImageSource = Union[str, "os.PathLike[str]", bytes, bytearray, Image.Image, IO[bytes]]


@dataclass(frozen=True)
class ImageFile:
    """An image that passed every upload rule, ready to send."""

    data: bytes
    filename: str
    format: str
    width: int
    height: int
    sha256: str

    @property
    def mime_type(self) -> str:
        return next(mime for word, mime in ALLOWED_FORMATS.values() if word == self.format)

    def __repr__(self) -> str:
        return f"ImageFile({self.filename!r}, {self.format}, {self.width}x{self.height}, {len(self.data)} bytes)"


def _megabytes(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _encode_pil(image: Image.Image) -> bytes:
    # Lossless first; a photo too big as PNG is sent as high-quality JPEG instead.
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    if buffer.tell() <= MAX_BYTES:
        return buffer.getvalue()
    buffer = io.BytesIO()
    image.convert("RGB").save(buffer, format="JPEG", quality=92)
    return buffer.getvalue()


def _read_source(source: Any) -> tuple[bytes, str]:
    """Bytes and a file name from a path, bytes, a PIL image or a binary file object."""
    if isinstance(source, (bytes, bytearray, memoryview)):
        return bytes(source), "image"
    if isinstance(source, Image.Image):
        return _encode_pil(source), "image.png"
    if isinstance(source, (str, os.PathLike)):
        path = os.fspath(source)
        if is_url(path):
            raise ImageValidationError(
                f"{path!r} is already a URL: pass it as originalImage directly, no upload needed.",
                rule="source",
            )
        with open(path, "rb") as handle:
            return handle.read(), os.path.basename(path)
    if hasattr(source, "read"):
        data = source.read()
        if not isinstance(data, (bytes, bytearray)):
            raise ImageValidationError("The file object must be opened in binary mode ('rb').", rule="source")
        return bytes(data), os.path.basename(str(getattr(source, "name", "") or "image"))
    raise ImageValidationError(
        f"Cannot read an image from {type(source).__name__}: pass a path, bytes, a PIL image or a file object.",
        rule="source",
    )


def check_upload_rules(data: bytes, filename: str = "image") -> ImageFile:
    """Check ``data`` against every upload rule of the service.

    Rules, in the order checked: at most 10 MB; a png, jpeg or webp image by content;
    not a decompression bomb; width and height both above 512 px; aspect ratio
    (long side / short side) below 2; the whole image decodes (not truncated).

    Raises
    ------
    ImageValidationError
        Naming the broken rule, the measured values and the nearest fix, e.g.
        ``"a.png: 700x400 px; height 400 px, must be above 512 px: at least 513 px on
        each side; scale it up or crop less."``.
    """
    if len(data) > MAX_BYTES:
        raise ImageValidationError(
            f"{filename}: file size {_megabytes(len(data))}, must be at most 10 MB; save it as JPEG or scale it down.",
            rule="size",
            measured=len(data),
        )
    try:
        with warnings.catch_warnings():
            warnings.simplefilter("error", Image.DecompressionBombWarning)
            image = Image.open(io.BytesIO(data))
    except (Image.DecompressionBombError, Image.DecompressionBombWarning) as exc:
        raise ImageValidationError(
            f"{filename}: refused as a decompression bomb ({exc}).", rule="pixels", measured=None
        ) from None
    except Exception:
        raise ImageValidationError(
            f"{filename}: not an image Pillow can read; allowed formats are png, jpeg, jpg, webp.", rule="format"
        ) from None
    with image:
        if image.format not in ALLOWED_FORMATS:
            raise ImageValidationError(
                f"{filename}: format {image.format}, must be one of png, jpeg, jpg, webp.",
                rule="format",
                measured=image.format,
            )
        width, height = image.size
        if width * height > MAX_PIXELS:
            raise ImageValidationError(
                f"{filename}: {width}x{height} is {width * height / 1e6:.0f} megapixels, refused as a "
                f"decompression bomb (at most {MAX_PIXELS / 1e6:.0f}); scale it down.",
                rule="pixels",
                measured=width * height,
            )
        for side, value in (("width", width), ("height", height)):
            if value <= MIN_SIDE:
                raise ImageValidationError(
                    f"{filename}: {width}x{height} px; {side} {value} px, must be above {MIN_SIDE} px: "
                    f"at least {MIN_SIDE + 1} px on each side; scale it up or crop less.",
                    rule=side,
                    measured=value,
                )
        ratio = max(width, height) / min(width, height)
        if ratio >= MAX_ASPECT_RATIO:
            raise ImageValidationError(
                f"{filename}: aspect ratio {ratio:.2f} ({width}x{height}), must be below {MAX_ASPECT_RATIO:g}; "
                f"{_ratio_fix(width, height)}.",
                rule="aspect_ratio",
                measured=ratio,
            )
        try:
            image.load()
        except Exception as exc:
            raise ImageValidationError(
                f"{filename}: the image data is damaged or truncated ({exc}).", rule="integrity"
            ) from None
        word = ALLOWED_FORMATS[image.format][0]
    return ImageFile(
        data=data,
        filename=filename,
        format=word,
        width=width,
        height=height,
        sha256=hashlib.sha256(data).hexdigest(),
    )


def _ratio_fix(width: int, height: int) -> str:
    """The nearest sizes that keep the long side under MAX_ASPECT_RATIO times the short one."""
    short, long = min(width, height), max(width, height)
    cropped = math.ceil(MAX_ASPECT_RATIO * short) - 1  # the long side, cropped
    padded = math.floor(long / MAX_ASPECT_RATIO) + 1  # the short side, padded
    crop = f"{cropped}x{short}" if width >= height else f"{short}x{cropped}"
    pad = f"{long}x{padded}" if width >= height else f"{padded}x{long}"
    return f"crop it to {crop} px or less on the long side, or pad it to {pad} px"


def prepare_upload(source: ImageSource) -> ImageFile:
    """Read ``source`` (path, bytes, PIL image or binary file object) and check the rules."""
    data, filename = _read_source(source)
    return check_upload_rules(data, filename)


def thumbnail(data: bytes, max_side: int = 256, quality: int = 80) -> bytes:
    """A JPEG no larger than ``max_side`` on its long side (the studio's enlarged view)."""
    with Image.open(io.BytesIO(data)) as image:
        image.thumbnail((max_side, max_side))
        buffer = io.BytesIO()
        image.convert("RGB").save(buffer, format="JPEG", quality=quality)
    return buffer.getvalue()


#: The quality of embedded pictures, by format, chosen by measurement
#: (``benchmarks/picture_quality.py``, RESULTS item 6). Pictures are embedded at twice the
#: width they are shown; bytes grow steadily with quality (about +18 % per step of 10 for
#: WebP) with no knee in SSIM, so the budget decides: a finished picture should cost at
#: most 3 KB in a saved notebook, about 0.6 KB of which go to the HTML and widget state
#: around it and a third of the rest to base64, which leaves about 1.8 KB: WebP 40 (1.7 KB,
#: SSIM 0.93 on photograph-like pictures 188 px wide). JPEG, the fallback, needs 40 to
#: match that SSIM, at twice the bytes.
EMBED_QUALITY = {"webp": 40, "jpeg": 40}


@lru_cache(maxsize=1)
def _writes_webp() -> bool:
    # Importing WebP's plugin registers it for saving and opening; without it the first
    # WebP save or open runs Image.init(), which imports all of Pillow's forty plugins
    # (35-50 ms of a sweep's CPU).
    from PIL import WebPImagePlugin  # noqa: F401

    return "WEBP" in Image.SAVE


#: How much wider than asked an embedded picture may be when a whole-factor reduction makes it.
_SNAP = 1.05


def embed(data: bytes, width: int, *, format: str = "webp") -> bytes:
    """``data`` about ``width`` pixels wide (never enlarged; up to 5 % wider when a whole-factor
    reduction gets there), encoded small for a saved notebook.

    WebP when asked for and Pillow can write it, JPEG otherwise, each at its
    :data:`EMBED_QUALITY`. Transparency is kept in WebP and laid on white in JPEG.
    """
    if format not in EMBED_QUALITY:
        raise ValueError(f"picture format {format!r}: must be one of {', '.join(EMBED_QUALITY)}.")
    with Image.open(io.BytesIO(data)) as image:
        # The watcher threads shrink every picture of a sweep, and on two cores that CPU is
        # what a `--wait` sweep waits for after the last status is final. So: averaging
        # pixel blocks as far as whole factors go (reducing_gap 1), bicubic for the rest:
        # a 768 px picture to 384 px in 1 ms instead of 8 for the same SSIM within 0.1 %
        # (0.5 % at 188 px); and libwebp's effort 2 (below): about 6 % more bytes than its
        # default effort 4 and the same SSIM within 1 %, for 4 instead of 10.5 ms.
        #
        # A width just under a whole fraction of the picture's (768 px to 376 or 188) is
        # made by block averaging alone, a few pixels wider than asked (384, 192): the
        # browser scales those few pixels, and the bicubic pass that would take them off
        # costs as much as the averaging and the WebP encoding together (4 of 9 ms).
        factor = image.width // width
        if factor >= 2 and image.width / factor <= width * _SNAP and image.height // factor <= 2 * width:
            image = image.reduce(factor)
        else:
            image.thumbnail((width, 2 * width), reducing_gap=1.0)  # tall pictures stay in proportion
        transparent = image.mode in ("RGBA", "LA", "PA") or "transparency" in image.info
        picture = image.convert("RGBA" if transparent else "RGB")
    buffer = io.BytesIO()
    if format == "webp" and _writes_webp():
        picture.save(buffer, format="WEBP", quality=EMBED_QUALITY["webp"], method=2)
    else:
        if transparent:
            flat = Image.new("RGB", picture.size, "white")
            flat.paste(picture, mask=picture.getchannel("A"))
            picture = flat
        picture.save(buffer, format="JPEG", quality=EMBED_QUALITY["jpeg"], optimize=True)
    return buffer.getvalue()


def contact_sheet(pictures: list[bytes], max_side: int = 192, gap: int = 8) -> Image.Image:
    """Pictures side by side on one light strip, each no larger than ``max_side``.

    Returned as a PIL image, which Jupyter shows inline and saves as a JPEG (not also as
    a PNG, ten times larger for photographs), so the notebook renders on GitHub without
    the service.
    """
    tiles = []
    for data in pictures:
        with Image.open(io.BytesIO(data)) as image:
            tile = image.convert("RGB")
            tile.thumbnail((max_side, max_side))
            tiles.append(tile)
    width = sum(t.width for t in tiles) + gap * (len(tiles) + 1)
    height = max((t.height for t in tiles), default=0) + 2 * gap
    sheet = Image.new("RGB", (max(width, 1), max(height, 1)), (245, 245, 245))
    x = gap
    for tile in tiles:
        sheet.paste(tile, (x, gap))
        x += tile.width + gap
    sheet._repr_png_ = lambda: None  # type: ignore[method-assign]  # IPython then saves the JPEG only
    return sheet


def sheet_picture(pictures: list[bytes], *, columns: int, tile: int, format: str = "webp") -> bytes:
    """``pictures`` as one encoded picture: tiles ``tile`` pixels wide, ``columns`` to a row, on white.

    A large run's static picture is this one image rather than a card per execution, so
    a saved notebook stays the same size however many executions the run holds. Each
    tile keeps its picture's proportions (3:4 frames); an unreadable picture is a grey tile.
    """
    height = tile * 4 // 3
    rows = max(1, -(-len(pictures) // columns))
    sheet = Image.new("RGB", (columns * tile, rows * height), "white")
    for index, data in enumerate(pictures):
        x, y = (index % columns) * tile, (index // columns) * height
        try:
            with Image.open(io.BytesIO(data)) as image:
                image.thumbnail((tile - 2, height - 2), reducing_gap=1.0)
                piece = image.convert("RGB")
        except Exception:
            piece = Image.new("RGB", (tile - 2, height - 2), (238, 238, 238))
        sheet.paste(piece, (x + (tile - piece.width) // 2, y + (height - piece.height) // 2))
    buffer = io.BytesIO()
    if format == "webp" and _writes_webp():
        sheet.save(buffer, format="WEBP", quality=EMBED_QUALITY["webp"], method=2)
    else:
        sheet.save(buffer, format="JPEG", quality=EMBED_QUALITY["jpeg"], optimize=True)
    return buffer.getvalue()
