"""Pillow work of the emulator: the upload check, the pictures it serves, their cache.

Result pictures are drawn like photographs (see :mod:`.photo`): a 768x1024 PNG weighs
close to a megabyte, as the service's do, so byte counts measured against the emulator
mean something. The scene and model are drawn once per scene, model and shot and kept
encoded; a garment is finished and encoded once, the same on every scene (see
:mod:`._inset_png`); each result adds only its caption band. So a picture costs the
emulator a few milliseconds of CPU, not the user's cores a drawing, even in a catalogue
of many garments.
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
from typing import Any

from PIL import Image, ImageDraw

from . import photo
from ._inset_png import Inset, InsetPng
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

    The scene with its model is one of a few shots drawn once per scene and model (see
    :func:`_kept`), the garment finished and encoded once per source (see :func:`_inset`);
    per picture the kept parts are joined and the caption is drawn and encoded, a couple
    of milliseconds. The caption (slot, scene, model, agent, prompt) makes the pictures of a
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
    head, band_color, inset, x = _dressed(source, colors, scene, model, size, slot % (2 * _POSES))
    title = f"#{slot + 1}  {scene or 'free scene'}  ·  {model or 'free model'}"
    lines = [title, *([agent] if agent else []), *textwrap.wrap(prompt or "(no prompt)", 52)]
    return head.parts(inset, x, _caption_band(head.tail_size, band_color, lines))


def _caption_band(size: tuple[int, int], band_color: photo.Color, lines: Sequence[str]) -> Image.Image:
    """A caption band of ``lines`` (the first a little larger), to go below a photograph."""
    band = Image.new("RGB", size, band_color)
    step = band.height / (_CAPTION_ROWS + 0.7)  # the layout of photo.caption, on a band of its own
    for row, line in enumerate(lines[:_CAPTION_ROWS]):
        text = _line(line, round(step * (0.74 if row else 0.78)))
        band.paste((255, 255, 255), (round(band.width * 0.028), round(step * (0.35 + row))), text)
    return band


#: Draws one pose (0 or 1) of a photograph: the picture, and the colour of its caption band.
Drawing = Callable[[int], tuple[Image.Image, photo.Color]]


def drawn_once(key: Hashable, draw: Drawing, slot: int, lines: Sequence[str]) -> PngParts:
    """A result picture whose photograph is drawn once per ``key`` and shot, captioned per call.

    The pattern of :func:`result_parts` for any drawing: ``draw(pose)`` is called at most
    once per ``key`` and pose while the photograph is kept; a batch's third and fourth
    pictures are the first two mirrored. ``key`` must hold everything the drawing reads.
    """
    head, band_color = _kept(("drawn", key), draw, slot % (2 * _POSES))
    return head.parts(_caption_band(head.tail_size, band_color, lines))


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
    """Draw and encode what :func:`result_parts` will use for these ``slots``, if not kept yet.

    Same parameters as :func:`result_parts` (the prompt and slot set only the caption):
    the shots of the scene, the garment, and the parts beside it on each shot.
    """
    for shot in sorted({slot % (2 * _POSES) for slot in slots}):
        head, _, inset, x = _dressed(source, colors, scene, model, size, shot)
        head.prepare(inset, x)


def _dressed(
    source: bytes | None, colors: Sequence[str] | None, scene: str, model: str, size: tuple[int, int], shot: int
) -> tuple[InsetPng, photo.Color, Inset, int]:
    """The kept parts of a result: its shot of the scene, band colour, garment, and the garment's column."""
    setting = (tuple(colors or ()), scene, model, size)
    top, bottom = _band_rows(size)
    head, band_color = _kept(
        ("scene", setting),
        lambda pose: _draw_scene(*setting, pose=pose),
        shot,
        encode=lambda picture, tail: InsetPng(picture, (top, bottom), tail),
    )
    body = _body(size, random.Random(_scene_seed(scene, model, shot % _POSES)))
    garment = _source_key(source)
    piece = _worn(source, garment, (body[2] - body[0], bottom - top))
    x = body[0] + (body[2] - body[0] - piece.width) // 2
    if shot >= _POSES:  # the mirrored shots: the scene is mirrored, the garment is not
        x = size[0] - x - piece.width
    return head, band_color, _inset(garment, piece, head, x, (setting, shot)), x


def _source_key(source: bytes | None) -> tuple[int, int]:
    # A checksum of the source, not a digest: it is read again for every picture, and
    # cheaply (a collision would only show another upload's garment).
    return zlib.crc32(source or b""), len(source or b"")


#: Poses drawn per source, scene and model; each is also served mirrored, so a batch of
#: four shows four shots for the price of two drawings.
_POSES = 2
_CAPTION_ROWS = 5
_CAPTION_SHARE = 0.195  # of the picture's height
#: Bytes of heads kept: a result's shot (an InsetPng) weighs about 1.6 MB (its encoded rows,
#: the garment band's pixels, the parts beside one garment shape), 2.8 MB at most (four
#: shapes), an agent's photograph 0.85 MB. A sweep of 2 scenes x 2 models uses 16 shots (2
#: poses, each mirrored), 4 scenes x 5 models 80: about 130 MB, so the bound leaves room for a
#: few shapes more. With fewer kept than a sweep uses, its executions (prompt by prompt, each
#: through every scene and model) evicted each other's photographs: the 1,000-execution
#: sweep of catalogue_scale.py redrew them for 40 s of CPU.
_KEPT_BYTES = 160 * 1024 * 1024


@lru_cache(maxsize=512)
def _line(text: str, size: int) -> Image.Image:
    """One caption line as a mask (white where the text is): a sweep repeats its titles and
    prompts on many pictures, and drawing text is most of what a picture costs."""
    font = photo.font(size)
    *_, right, bottom = font.getbbox(text)
    mask = Image.new("L", (max(right, 1), max(bottom, 1)))
    ImageDraw.Draw(mask).text((0, 0), text, fill=255, font=font)
    return mask


_shots: OrderedDict[Hashable, tuple[Any, photo.Color]] = OrderedDict()
_drawing: dict[Hashable, threading.Lock] = {}
_shots_lock = threading.Lock()


def _kept(
    key: Hashable, draw: Drawing, shot: int, encode: Callable[[Image.Image, int], Any] = SplicedPng
) -> tuple[Any, photo.Color]:
    """The encoded photograph of ``shot`` for ``key`` and its band's colour, drawn (with its mirror) on first use.

    Shots ``0`` and ``1`` are ``draw(0)`` and ``draw(1)``; ``2`` and ``3`` the same mirrored.
    ``encode(rows above the caption, caption height)`` keeps them (a :class:`SplicedPng`,
    or an :class:`InsetPng`). Several requests of one batch arrive at once: one draws,
    the others wait for it. Kept within :data:`_KEPT_BYTES`.
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
            head = encode(top.transpose(Image.Transpose.FLIP_LEFT_RIGHT) if mirrored else top, tail)
            heads[shot % _POSES + _POSES * mirrored] = (head, band_color)
        with _shots_lock:
            for number, kept in heads.items():
                _shots[(pose_key, number)] = kept
            # Counted when kept (an InsetPng grows a little with each garment shape it meets).
            while sum(head.nbytes for head, _ in _shots.values()) > _KEPT_BYTES and len(_shots) > 2:
                _shots.popitem(last=False)
            _drawing.pop(pose_key, None)
        return heads[shot]


def _scene_seed(scene: str, model: str, pose: int) -> str:
    return f"{scene}|{model}|{pose}"


def _body(size: tuple[int, int], rng: random.Random) -> photo.Box:
    """Where the model stands, head to feet: the first thing a pose's ``rng`` decides."""
    width, height = size
    left = round(width * (0.5 + rng.uniform(-0.04, 0.04) - 0.28))
    # The width is the same in every pose, and so is the garment's fitted size.
    return (left, round(0.05 * height), left + round(0.56 * width), round(0.79 * height))


def _band_rows(size: tuple[int, int]) -> tuple[int, int]:
    """The rows the garment may cover: the torso's, the same in every pose (only the columns move)."""
    _, top, _, bottom = photo.torso(_body(size, random.Random(0)))
    return top, bottom


def _draw_scene(
    colors: tuple[str, ...], scene: str, model: str, size: tuple[int, int], *, pose: int
) -> tuple[Image.Image, photo.Color]:
    """The photograph of one pose without garment nor caption; and the colour its caption band takes."""
    rng = random.Random(_scene_seed(scene, model, pose))
    body = _body(size, rng)
    feet = (body[0], round(0.765 * size[1]), body[2], round(0.805 * size[1]))
    top, bottom = _palette(colors, scene or "free scene")
    picture = photo.backdrop(size, top, bottom, rng, shadow=feet)
    skin = _hue(model or "model")
    hair, legs = _hue(f"hair {model}"), _hue(f"legs {model}")
    photo.figure(
        picture,
        body,
        skin=(200 + skin[0] % 50, 160 + skin[1] % 60, 130 + skin[2] % 60),
        hair=photo.mix(hair, (20, 14, 10), 0.75),
        legs=photo.mix(legs, (25, 25, 35), 0.65),
    )
    return photo.finish(picture, rng, soften=body), photo.mix(bottom, (0, 0, 0), 0.8)


_garments: OrderedDict[Hashable, Any] = OrderedDict()
_garments_lock = threading.Lock()
_making: dict[Hashable, threading.Lock] = {}  # a lock per garment being made
#: Finished garments and their encoded parts kept (about 0.6 MB and 0.25 MB each): a
#: task's pictures wear one upload, a catalogue's go through its garments in turn.
_GARMENTS_KEPT = 16
_SHAPE_STEP = 32  # pixels: a worn garment's width and height are multiples of it


def _garment_kept(key: Hashable, make: Callable[[], Any]) -> Any:
    """``make()``, kept under ``key`` among the last :data:`_GARMENTS_KEPT`.

    A batch's pictures are asked for at once: one thread makes it, the others wait for it
    (each making its own, a catalogue's every garment was encoded three or four times).
    """
    with _garments_lock:
        if key in _garments:
            _garments.move_to_end(key)
            return _garments[key]
        lock = _making.setdefault(key, threading.Lock())
    with lock:
        try:
            with _garments_lock:
                if key in _garments:
                    _garments.move_to_end(key)
                    return _garments[key]
            made = make()
            with _garments_lock:
                _garments[key] = made
                while len(_garments) > _GARMENTS_KEPT:
                    _garments.popitem(last=False)
        finally:
            with _garments_lock:
                if _making.get(key) is lock:  # the waiters hold it; the next maker makes its own
                    del _making[key]
    return made


def _worn(source: bytes | None, garment: tuple[int, int], box: tuple[int, int]) -> Image.Image:
    """The source garment (``garment``: its :func:`_source_key`) as worn and photographed (RGBA, fitted
    into ``box``), the same in every shot."""

    def make() -> Image.Image:
        rng = random.Random(f"garment|{garment}")
        fitted = _fitted_source(source, box)
        if fitted is not None:
            # A few garment shapes, not one per upload: each new shape on a shot costs the
            # encoding of the scene beside it (InsetPng's rectangles). At most 31 pixels less.
            shape = tuple(max(_SHAPE_STEP, side - side % _SHAPE_STEP) for side in fitted.size)
            fitted = fitted.resize(shape, Image.Resampling.BILINEAR)
        return photo.finish_cutout(photo.garment(fitted, box, rng), rng)

    return _garment_kept(("worn", garment, box), make)


def _inset(garment: tuple[int, int], piece: Image.Image, head: InsetPng, x: int, shot: Hashable) -> Inset:
    """``piece`` (of ``garment``) encoded as an inset of ``head`` at ``x``: once for every shot if it is opaque."""
    key = ("inset", garment, piece.size)
    inset = _garment_kept(key, lambda: head.inset(piece, x))
    if inset.anywhere:
        return inset
    return _garment_kept((*key, shot), lambda: head.inset(piece, x))  # the scene shows through it


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
