"""Pillow work of the emulator: the upload check, the pictures it serves, their cache.

Result pictures are drawn like photographs (see :mod:`.photo`): a 768x1024 PNG weighs
close to a megabyte, as the service's do, so byte counts measured against the emulator
mean something. They are deterministic: the same source image, scene, model, prompt and
slot give the same bytes, so tutorials and tests can compare them run after run.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
import threading
from collections import OrderedDict
from collections.abc import Callable, Hashable, Sequence
from functools import lru_cache

from PIL import Image

from . import photo
from .params import Refusal

UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024
_UPLOAD_FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp"}
RESULT_SIZE = (768, 1024)
THUMB_SIZE = (240, 320)


def accept_upload(data: bytes) -> str:
    """Apply the service's upload rules; returns the file extension to store under."""
    if not data:
        raise Refusal("The image file is empty.", code=40010)
    if len(data) > UPLOAD_LIMIT_BYTES:
        raise Refusal(f"Image size {len(data)} bytes exceeds the 10MB limit.", status=413, code=40011)
    try:
        image = Image.open(io.BytesIO(data))
        width, height = image.size
        kind = image.format
    except Exception:
        raise Refusal("The file is not a readable image; formats allowed: png, jpeg, jpg, webp.", code=40012) from None
    if kind not in _UPLOAD_FORMATS:
        raise Refusal(f"Image format {kind} is not supported; formats allowed: png, jpeg, jpg, webp.", code=40012)
    if width <= 512 or height <= 512:
        raise Refusal(
            f"Image is {width}x{height} pixels; width and height must both be greater than 512 pixels.", code=40013
        )
    if max(width, height) >= 2 * min(width, height):
        raise Refusal(f"Image is {width}x{height} pixels; its aspect ratio must be less than 2.", code=40014)
    return _UPLOAD_FORMATS[kind]


def _hue(seed: str) -> tuple[int, int, int]:
    digest = hashlib.sha256(seed.encode()).digest()
    return digest[0], digest[1], digest[2]


def _rgb(color: str | tuple[int, int, int]) -> tuple[int, int, int]:
    if isinstance(color, tuple):
        return color
    color = color.lstrip("#")
    return int(color[0:2], 16), int(color[2:4], 16), int(color[4:6], 16)


def _palette(colors: Sequence[str] | None, seed: str) -> tuple[photo.Color, photo.Color]:
    """The scene's (top, bottom) colours: the catalogue's, or two derived from ``seed``."""
    if colors:
        return _rgb(colors[0]), _rgb(colors[1])
    return _hue(seed), _hue(seed[::-1])


@lru_cache(maxsize=8)
def _fitted_source(source: bytes | None, box: tuple[int, int]) -> Image.Image | None:
    """The uploaded garment shrunk into ``box``, or None when there is none to read.

    Cached: every picture of a task wears the same upload. Callers must not change it.
    """
    if not source:
        return None
    try:
        with Image.open(io.BytesIO(source)) as image:
            # thumbnail() lets a JPEG decode at a fraction of its size: phone photos are big.
            image.thumbnail(box)
            return image.convert("RGBA")
    except Exception:
        return None  # an unreadable source still yields a picture (with the drawn shirt)


def render_result(
    *,
    source: bytes | None,
    colors: Sequence[str] | None,
    scene: str,
    model: str,
    prompt: str,
    slot: int,
    size: tuple[int, int] = RESULT_SIZE,
) -> bytes:
    """One result picture: the scene, a model wearing the source garment, a caption.

    Parameters
    ----------
    source : bytes or None
        The task's uploaded garment; None or unreadable draws a striped shirt.
    colors : (top, bottom) as "#rrggbb", optional
        The scene's palette (the catalogue's); default derived from the prompt.
    scene, model, prompt : str
        Shown in the caption; the model's name also sets skin, hair and trousers.
    slot : int
        The picture's place in its batch: each is a different shot (lights, stance).
    size : (width, height)
        Of the picture.

    Returns
    -------
    bytes
        A PNG; the same arguments always give the same bytes.
    """
    source_digest = hashlib.sha256(source or b"").hexdigest()
    rng = random.Random(f"{source_digest}|{scene}|{model}|{prompt}|{slot}")
    width, height = size
    centre = width * (0.5 + rng.uniform(-0.04, 0.04))
    body = (round(centre - 0.28 * width), round(0.05 * height), round(centre + 0.28 * width), round(0.79 * height))
    feet = (body[0], round(0.765 * height), body[2], round(0.805 * height))
    picture = photo.backdrop(size, *_palette(colors, prompt + scene), rng, shadow=feet)
    skin = _hue(model or "model")
    hair, legs = _hue(f"hair {model}"), _hue(f"legs {model}")
    torso = photo.figure(
        picture,
        body,
        skin=(200 + skin[0] % 50, 160 + skin[1] % 60, 130 + skin[2] % 60),
        hair=photo.mix(hair, (20, 14, 10), 0.75),
        legs=photo.mix(legs, (25, 25, 35), 0.65),
    )
    box = (torso[2] - torso[0], torso[3] - torso[1])
    piece = photo.garment(_fitted_source(source, box), box, rng)
    picture.paste(piece, (torso[0] + (box[0] - piece.width) // 2, torso[1]), piece)
    picture = photo.finish(picture, rng, soften=body)
    lines = [f"#{slot + 1}  {scene or 'free scene'}  ·  {model or 'free model'}"]
    photo.caption(picture, lines + textwrap.wrap(prompt or "(no prompt)", 52))
    return photo.encode_png(picture)


class PictureCache:
    """Drawn pictures kept by key (their URL's parts), most recently used first.

    Drawing a result takes tens of milliseconds and grids fetch each picture more than
    once (thumbnail, full size), so each is drawn once while it stays in the cache.
    Bounded by bytes, not count: a picture weighs about a megabyte. Thread-safe; two
    threads asking for the same new picture may both draw it (same bytes either way).

    Parameters
    ----------
    max_bytes : int
        Oldest pictures are dropped beyond this total (the newest one is always kept).
    """

    def __init__(self, max_bytes: int = 96 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get_or_draw(self, key: Hashable, draw: Callable[[], bytes]) -> bytes:
        """The picture under ``key``, calling ``draw()`` only when it is not kept."""
        with self._lock:
            data = self._items.get(key)
            if data is not None:
                self._items.move_to_end(key)
                return data
        data = draw()  # outside the lock: other pictures are served meanwhile
        with self._lock:
            if key not in self._items:
                self._items[key] = data
                self._bytes += len(data)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                self._bytes -= len(self._items.popitem(last=False)[1])
        return data


def render_thumbnail(name: str, colors: Sequence[str] | None, *, plain: bool = False) -> bytes:
    """A catalogue thumbnail (PNG): the entry's scene, or ``plain`` colour, with its name.

    Drawn once per name and palette: the catalogue is small and asked for often.
    """
    return _thumbnail(name, tuple(colors) if colors else None, plain)


@lru_cache(maxsize=256)
def _thumbnail(name: str, colors: tuple[str, ...] | None, plain: bool) -> bytes:
    rng = random.Random(f"thumbnail|{name}")
    top, bottom = _palette(colors, name)
    scene = Image.new("RGB", THUMB_SIZE, top) if plain else photo.backdrop(THUMB_SIZE, top, bottom, rng)
    picture = photo.finish(scene, rng, grain=3)
    photo.caption(picture, textwrap.wrap(name, 22), band=0.19, rows=2)
    return photo.encode_png(picture)
