"""Pillow work of the emulator: the upload check, the pictures it serves, their cache.

Result pictures are drawn like photographs (see :mod:`.photo`): a 768x1024 PNG weighs
close to a megabyte, as the service's do, so byte counts measured against the emulator
mean something. The photographs are drawn once per source, scene, model and shot and
kept encoded; each result adds only its caption band (see :mod:`._spliced_png`), so a
picture costs the emulator about a millisecond of CPU, not the user's cores a drawing.
They are deterministic: the same arguments give the same bytes, so tutorials and tests
can compare them run after run.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
import threading
import zlib
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Sequence
from functools import lru_cache

from PIL import Image, ImageDraw

from . import photo
from ._spliced_png import PngParts, SplicedPng
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
    agent: str = "",
) -> bytes:
    """One result picture as PNG bytes: :func:`result_parts` joined (the same parameters)."""
    parts = result_parts(
        source=source, colors=colors, scene=scene, model=model, prompt=prompt, slot=slot, size=size, agent=agent
    )
    return b"".join(parts)


def result_parts(
    *,
    source: bytes | None,
    colors: Sequence[str] | None,
    scene: str,
    model: str,
    prompt: str,
    slot: int,
    size: tuple[int, int] = RESULT_SIZE,
    agent: str = "",
) -> PngParts:
    """One result picture in two pieces: the scene, a model wearing the source garment, a caption.

    The photograph is one of a few shots drawn once per source, scene and model (see
    :func:`_shot`); per picture only the caption is drawn and encoded, about a
    millisecond. The caption (slot, scene, model, agent, prompt) makes the pictures of a
    sweep distinct bytes; the same arguments give the same bytes.

    Parameters
    ----------
    source : bytes or None
        The task's uploaded garment; None or unreadable draws a striped shirt.
    colors : (top, bottom) as "#rrggbb", optional
        The scene's palette (the catalogue's); default derived from the scene's name.
    scene, model, prompt : str
        Shown in the caption (the prompt's start); the model's name also sets skin, hair
        and trousers.
    slot : int
        The picture's place in its batch: each of a batch of four is a different shot.
    size : (width, height)
        Of the picture.
    agent : str
        Also shown in the caption: the agent that made it.

    Returns
    -------
    PngParts
        A PNG in two pieces (``shared``, the photograph, is the same object for every
        result of its shot; ``own`` is the caption's rows): joined, the same arguments
        always give the same bytes.
    """
    key = _photograph_key(source, colors, scene, model, size)
    head, band_color = _shot(key, source, slot % (2 * _POSES))
    title = f"#{slot + 1}  {scene or 'free scene'}  ·  {model or 'free model'}"
    lines = [title, *([agent] if agent else []), *textwrap.wrap(prompt or "(no prompt)", 52)]
    return _captioned(head, band_color, lines)


def _captioned(head: SplicedPng, band_color: photo.Color, lines: Sequence[str]) -> PngParts:
    """``head`` finished with a caption band of ``lines`` (the first a little larger)."""
    band = Image.new("RGB", head.tail_size, band_color)
    step = band.height / (_CAPTION_ROWS + 0.7)  # the layout of photo.caption, on a band of its own
    for row, line in enumerate(lines[:_CAPTION_ROWS]):
        text = _line(line, round(step * (0.74 if row else 0.78)))
        band.paste((255, 255, 255), (round(band.width * 0.028), round(step * (0.35 + row))), text)
    return head.parts(band)


#: Draws one pose (0 or 1) of a photograph: the picture, and the colour of its caption band.
Drawing = Callable[[int], tuple[Image.Image, photo.Color]]


def drawn_once(key: Hashable, draw: Drawing, slot: int, lines: Sequence[str]) -> PngParts:
    """A result picture whose photograph is drawn once per ``key`` and shot, captioned per call.

    The pattern of :func:`result_parts` for any drawing: ``draw(pose)`` is called at most
    once per ``key`` and pose while the photograph is kept; a batch's third and fourth
    pictures are the first two mirrored. ``key`` must hold everything the drawing reads.
    """
    head, band_color = _kept(("drawn", key), draw, slot % (2 * _POSES))
    return _captioned(head, band_color, lines)


def prepare_drawing(key: Hashable, draw: Drawing, slots: Iterable[int]) -> None:
    """Draw the photographs :func:`drawn_once` will use for these ``slots``, if not kept yet."""
    for shot in sorted({slot % (2 * _POSES) for slot in slots}):
        _kept(("drawn", key), draw, shot)


def prepare_result(
    *,
    source: bytes | None,
    colors: Sequence[str] | None,
    scene: str,
    model: str,
    slots: Iterable[int],
    size: tuple[int, int] = RESULT_SIZE,
    agent: str = "",
) -> None:
    """Draw the photographs :func:`result_parts` will use for these ``slots``, if not kept yet.

    Same parameters as :func:`result_parts` (the prompt and slot set only the caption).
    """
    key = _photograph_key(source, colors, scene, model, size)
    for shot in sorted({slot % (2 * _POSES) for slot in slots}):
        _shot(key, source, shot)


def _photograph_key(
    source: bytes | None, colors: Sequence[str] | None, scene: str, model: str, size: tuple[int, int]
) -> tuple:
    # A checksum of the source, not a digest: it is read again for every picture, and
    # cheaply (a collision would only show another upload's photograph).
    return (zlib.crc32(source or b""), len(source or b""), tuple(colors or ()), scene, model, size)


#: Poses drawn per source, scene and model; each is also served mirrored, so a batch of
#: four shows four shots for the price of two drawings.
_POSES = 2
_CAPTION_ROWS = 5
_CAPTION_SHARE = 0.195  # of the picture's height
#: Heads kept (about 0.85 MB each, so at most some 80 MB): a sweep of 2 scenes x 2 models uses
#: 16 (2 poses, each mirrored), 4 scenes x 5 models 80. With fewer kept than a sweep uses, its
#: executions (prompt by prompt, each through every scene and model) evicted each other's
#: photographs: the 1,000-execution sweep of catalogue_scale.py redrew them for 40 s of CPU.
_SHOTS_KEPT = 96


@lru_cache(maxsize=512)
def _line(text: str, size: int) -> Image.Image:
    """One caption line as a mask (white where the text is): a sweep repeats its titles and
    prompts on many pictures, and drawing text is most of what a picture costs."""
    font = photo.font(size)
    *_, right, bottom = font.getbbox(text)
    mask = Image.new("L", (max(right, 1), max(bottom, 1)))
    ImageDraw.Draw(mask).text((0, 0), text, fill=255, font=font)
    return mask


_shots: OrderedDict[Hashable, tuple[SplicedPng, photo.Color]] = OrderedDict()
_drawing: dict[Hashable, threading.Lock] = {}
_shots_lock = threading.Lock()


def _shot(key: tuple, source: bytes | None, shot: int) -> tuple[SplicedPng, photo.Color]:
    """The encoded photograph of ``shot`` for ``key`` and its band's colour (see :func:`_kept`)."""
    return _kept(key, lambda pose: _draw_pose(source, *key[2:], pose=pose), shot)


def _kept(key: Hashable, draw: Drawing, shot: int) -> tuple[SplicedPng, photo.Color]:
    """The encoded photograph of ``shot`` for ``key`` and its band's colour, drawn (with its mirror) on first use.

    Shots ``0`` and ``1`` are ``draw(0)`` and ``draw(1)``; ``2`` and ``3`` the same mirrored.
    Several requests of one batch arrive at once: one draws, the others wait for it.
    """
    pose_key = (key, shot % _POSES)
    with _shots_lock:
        lock = _drawing.setdefault(pose_key, threading.Lock())
    with lock:
        with _shots_lock:
            kept = _shots.get((pose_key, shot))
            if kept is not None:
                _shots.move_to_end((pose_key, shot))
                return kept
        picture, band_color = draw(shot % _POSES)
        tail = round(picture.height * _CAPTION_SHARE)
        top = picture.crop((0, 0, picture.width, picture.height - tail))
        heads = {}
        for mirrored in (False, True):
            head = SplicedPng(top.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else top, tail)
            heads[shot % _POSES + _POSES * mirrored] = (head, band_color)
        with _shots_lock:
            for number, kept in heads.items():
                _shots[(pose_key, number)] = kept
            while len(_shots) > _SHOTS_KEPT:
                _shots.popitem(last=False)
            _drawing.pop(pose_key, None)
        return heads[shot]


def _draw_pose(
    source: bytes | None, colors: tuple[str, ...], scene: str, model: str, size: tuple[int, int], *, pose: int
) -> tuple[Image.Image, photo.Color]:
    """The photograph of one pose, without caption; and the colour its caption band takes."""
    source_digest = hashlib.sha256(source or b"").hexdigest()
    rng = random.Random(f"{source_digest}|{scene}|{model}|{pose}")
    width, height = size
    centre = width * (0.5 + rng.uniform(-0.04, 0.04))
    body = (round(centre - 0.28 * width), round(0.05 * height), round(centre + 0.28 * width), round(0.79 * height))
    feet = (body[0], round(0.765 * height), body[2], round(0.805 * height))
    top, bottom = _palette(colors, scene or "free scene")
    picture = photo.backdrop(size, top, bottom, rng, shadow=feet)
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
    return photo.finish(picture, rng, soften=body), photo.mix(bottom, (0, 0, 0), 0.8)


class PictureCache:
    """Drawn pictures kept by key (their URL's parts), most recently used first.

    Grids fetch each picture more than once (thumbnail, full size), and some agents'
    pictures and clips take tens of milliseconds to draw, so each is drawn once while it
    stays in the cache. Bounded by bytes, not count: a picture weighs about a megabyte,
    in :class:`PngParts` too, though most of it is shared with other pictures: so the
    photographs the kept pictures hold on to stay within the bound as well. Thread-safe;
    two threads asking for the same new picture may both draw it (same bytes either way).

    Parameters
    ----------
    max_bytes : int
        Oldest pictures are dropped beyond this total (the newest one is always kept).
    """

    def __init__(self, max_bytes: int = 96 * 1024 * 1024) -> None:
        self.max_bytes = max_bytes
        self._items: OrderedDict[Hashable, bytes | PngParts] = OrderedDict()
        self._bytes = 0
        self._lock = threading.Lock()

    def __len__(self) -> int:
        return len(self._items)

    def get_or_draw(self, key: Hashable, draw: Callable[[], bytes | PngParts]) -> bytes | PngParts:
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
                self._bytes += _weight(data)
            while self._bytes > self.max_bytes and len(self._items) > 1:
                self._bytes -= _weight(self._items.popitem(last=False)[1])
        return data


def _weight(data: bytes | PngParts) -> int:
    return len(data.shared) + len(data.own) if isinstance(data, PngParts) else len(data)


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
