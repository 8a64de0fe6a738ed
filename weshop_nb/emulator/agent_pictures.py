"""Results that show what each agent did, drawn with Pillow from the source image.

- ``expandimage``: a ``targetWidth`` x ``targetHeight`` canvas with the source at
  ``fillLeft``/``fillTop`` (centred by default), the new area filled with a blurred
  extension of the source.
- ``removeBG``: the subject (pixels unlike the corners' colour) on the flat colour of
  ``backgroundHex`` or preset ``backgroundId``, or on a transparent PNG background.
- ``virtualtryon``: the figure wearing the garment, in the ``aspectRatio`` asked for.
- ``kling``: a short clip. The machine has no video encoder (no ffmpeg, and none is
  added for an emulator), so the "video" is an **animated WebP** (a slow zoom over the
  poster, 12 frames) served as ``result[*].video``, and ``videoPoster`` is its first
  frame as a PNG still. With a last frame (``images[1]``) the clip dissolves into that
  picture, and ``result[*].lastFrame`` is a still of it.
- the catalogue agents, each from its ``images`` in order, in the ``aspectRatio`` asked
  for (``auto``: the first picture's shape), a caption naming the agent and settings:
  ``ai-ghost-mannequin-generator``: the garment alone, hollow at the neck, on white,
  no one wearing it; ``flat-lay``: the garment laid flat with its sleeves out, seen from
  above on a table top, its shadow beneath; ``ai-clothes-changer``: picture 1 (the
  person) kept, wearing the garment of picture 2; ``outfit-generator``: picture 1 kept,
  in a new outfit (top and trousers) whose colours follow the prompt; ``ai-photoshoot``:
  the person of picture 1, cut out as a standing figure, in the scene of picture 2.
  Their photographs are drawn once per pictures and settings, their captions per result
  (:func:`pictures.drawn_once`).
- every other agent (aimodel, aipose, aiproduct): :func:`pictures.render_result`.

Deterministic: the same source, parameters and slot give the same bytes.
"""

from __future__ import annotations

import hashlib
import io
import random
import textwrap
import zlib
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops, ImageDraw, ImageFilter

from .. import contract
from . import catalogue, photo, pictures
from ._spliced_png import PngParts

if TYPE_CHECKING:
    from .app import Emulator
    from .state import ExecutionRecord

#: The catalogue agents: photographs drawn once, captions per result (and drawn ahead).
CATALOGUE = frozenset(
    {"ai-ghost-mannequin-generator", "flat-lay", "ai-clothes-changer", "outfit-generator", "ai-photoshoot"}
)
#: The agents whose results are drawn here; :func:`render` gives ``None`` for the others.
AGENTS = frozenset({"expandimage", "removeBG", "virtualtryon", "kling"}) | CATALOGUE
VIDEO_FRAMES = 12
VIDEO_FRAME_MS = 120
_TRYON_LONG_SIDE = 768
_FALLBACK_SIZE = (640, 800)


def source_of(emulator: Emulator, record: ExecutionRecord) -> bytes | None:
    """The run's source image when it was uploaded to this emulator: its bounded working copy."""
    task = emulator.store.tasks.get(record.task_id)
    init = task.init_params if task else {}
    url = init.get("originalImage") or next(iter(init.get("images") or []), None)
    url = url or record.params.get("originalImage") or next(iter(record.params.get("images") or []), None)
    return _working_copy(emulator, url)


def sources_of(emulator: Emulator, record: ExecutionRecord) -> list[bytes | None]:
    """The run's ``images`` in order (the input's, else the params' copy), each its working copy or None."""
    task = emulator.store.tasks.get(record.task_id)
    urls = (task.init_params.get("images") if task else None) or record.params.get("images") or []
    if not urls and task is not None:
        urls = [task.init_params.get("originalImage")]
    return [_working_copy(emulator, url) for url in urls]


def _working_copy(emulator: Emulator, url: Any) -> bytes | None:
    if isinstance(url, str) and "/files/uploads/" in url:
        return emulator.uploads.working_copy(url.rsplit("/files/uploads/", 1)[-1])
    return None


def _open(source: bytes | None) -> Image.Image:
    if source:
        try:
            with Image.open(io.BytesIO(source)) as image:
                return image.convert("RGB")
        except Exception:
            pass  # an unreadable source still yields a picture
    return Image.open(io.BytesIO(_generic(None, {}, 0))).convert("RGB")


def _png(image: Image.Image) -> bytes:
    return photo.encode_png(image)  # the fast level: pictures drawn from results carry grain


def _generic(source: bytes | None, params: dict[str, Any], slot: int, colors: Any = None, scene: str = "") -> bytes:
    return pictures.render_result(
        source=source, colors=colors, scene=scene, model="", prompt=str(params.get("textDescription", "")), slot=slot
    )


def _blurred_cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    # Blur a tiny copy, then enlarge: a soft extension at any canvas size, in milliseconds.
    small = image.resize((32, 32)).filter(ImageFilter.GaussianBlur(4))
    return small.resize(size, Image.Resampling.BILINEAR)


def expand(source: bytes | None, params: dict[str, Any]) -> bytes:
    """The source on a ``targetWidth`` x ``targetHeight`` canvas at ``fillLeft``/``fillTop``."""
    image = _open(source)
    width, height = int(params["targetWidth"]), int(params["targetHeight"])
    if image.width > width or image.height > height:  # a canvas smaller than the source: fit it
        image.thumbnail((width, height))
    left = params.get("fillLeft")
    top = params.get("fillTop")
    left = (width - image.width) // 2 if left is None else int(left)
    top = (height - image.height) // 2 if top is None else int(top)
    canvas = _blurred_cover(image, (width, height))
    canvas.paste(image, (left, top))
    return _png(canvas)


def _subject_mask(image: Image.Image) -> Image.Image:
    """White where a pixel differs from the mean corner colour: a crude segmentation."""
    w, h = image.size
    corners = [image.getpixel((x, y)) for x in (0, w - 1) for y in (0, h - 1)]
    mean = tuple(sum(c[i] for c in corners) // 4 for i in range(3))
    difference = Image.new("RGB", image.size, mean)
    delta = ImageChops.difference(image, difference).convert("L")
    return delta.point(lambda v: 255 if v > 40 else 0).filter(ImageFilter.MedianFilter(5))


def remove_background(source: bytes | None, params: dict[str, Any]) -> bytes:
    """The subject on ``backgroundHex`` / preset ``backgroundId``, else on transparency."""
    image = _open(source)
    colour = params.get("backgroundHex")
    preset = next((b for b in catalogue.BACKGROUNDS if b["id"] == params.get("backgroundId")), None)
    if preset is not None:
        colour = preset["colors"][0]
    mask = _subject_mask(image)
    if colour:
        canvas = Image.new("RGB", image.size, pictures._rgb(colour))
        canvas.paste(image, (0, 0), mask)
        return _png(canvas)
    cut = image.convert("RGBA")
    cut.putalpha(mask)
    return _png(cut)


def _ratio_size(ratio: str | None) -> tuple[int, int]:
    across, down = (int(n) for n in (ratio or "3:4").split(":"))
    if across >= down:
        return _TRYON_LONG_SIDE, round(_TRYON_LONG_SIDE * down / across)
    return round(_TRYON_LONG_SIDE * across / down), _TRYON_LONG_SIDE


def try_on(source: bytes | None, params: dict[str, Any], slot: int) -> bytes:
    """The figure wearing the garment, on a canvas of the asked ``aspectRatio`` (3:4 default)."""
    figure = Image.open(io.BytesIO(_generic(source, params, slot))).convert("RGB")
    size = _ratio_size(params.get("aspectRatio"))
    canvas = _blurred_cover(figure, size)
    figure.thumbnail(size)
    canvas.paste(figure, ((size[0] - figure.width) // 2, (size[1] - figure.height) // 2))
    return _png(canvas)


def render(emulator: Emulator, record: ExecutionRecord, slot: int) -> bytes | PngParts | None:
    """The PNG of result ``slot`` for the agents drawn here, ``None`` for the others."""
    task = emulator.store.tasks.get(record.task_id)
    agent = task.agent_name if task else ""
    params = record.params
    if agent in CATALOGUE:
        key, draw = _catalogue_drawing(agent, sources_of(emulator, record), params)
        return pictures.drawn_once(key, draw, slot, _caption(agent, params, slot))
    if agent == "expandimage":
        return expand(source_of(emulator, record), params)
    if agent == "removeBG":
        return remove_background(source_of(emulator, record), params)
    if agent == "virtualtryon":
        return try_on(source_of(emulator, record), params, slot)
    if agent == "kling":
        return _png(_frames(emulator, record, slot)[0])
    return None


def prepare(emulator: Emulator, record: ExecutionRecord) -> bool:
    """Draw ahead the photographs of a catalogue agent's results; False for an agent drawn otherwise."""
    task = emulator.store.tasks.get(record.task_id)
    if task is None or task.agent_name not in CATALOGUE:
        return False
    key, draw = _catalogue_drawing(task.agent_name, sources_of(emulator, record), record.params)
    pictures.prepare_drawing(key, draw, range(record.batch))
    return True


def _frames(emulator: Emulator, record: ExecutionRecord, slot: int) -> list[Image.Image]:
    still = Image.open(io.BytesIO(_generic(source_of(emulator, record), record.params, slot))).convert("RGB")
    w, h = still.size
    last = _last_frame(emulator, record, (w // 2, h // 2))
    frames = []
    for index in range(VIDEO_FRAMES):
        share = index / (VIDEO_FRAMES - 1)
        crop = 0.12 * share  # a slow zoom towards the centre
        box = (w * crop / 2, h * crop / 2, w * (1 - crop / 2), h * (1 - crop / 2))
        frame = still.resize((w // 2, h // 2), Image.Resampling.BILINEAR, box=box)
        if last is not None:  # the clip dissolves into the last frame it was given, ending on it
            frame = Image.blend(frame, last, share)
        frames.append(frame)
    return frames


def has_last_frame(images: Any) -> bool:
    """Whether a video run's ``images`` hold a last frame (a second picture)."""
    return isinstance(images, list) and len(images) > 1


def _last_frame(emulator: Emulator, record: ExecutionRecord, size: tuple[int, int]) -> Image.Image | None:
    """The run's last frame (``images[1]``) as the clip ends on it, or None when it has none."""
    sources = sources_of(emulator, record)
    if len(sources) < 2:
        return None
    picture = photo.cover(_open(sources[1]), size)
    photo.caption(picture, ["last frame", "images[1]"], band=0.12, rows=2)
    return picture


def render_last_frame(emulator: Emulator, record: ExecutionRecord, slot: int) -> bytes | None:
    """The still of result ``slot``'s last frame (``result[*].lastFrame``), None without one."""
    return _png(_frames(emulator, record, slot)[-1]) if len(sources_of(emulator, record)) > 1 else None


# -- the catalogue agents ----------------------------------------------------------------

_LONG_SIDE = 1024  # as the generic results: byte counts measured against the emulator stay true
_WHITE, _PAPER = (250, 250, 249), (226, 226, 224)


def _canvas(ratio: str | None, first: Image.Image | None) -> tuple[int, int]:
    """The result's size for ``aspectRatio``; ``auto`` (or none) follows the first picture, else 3:4."""
    if ratio and ratio != "auto":
        across, down = (int(n) for n in ratio.split(":"))
    elif first is not None:
        across, down = first.size
    else:
        across, down = 3, 4
    if across >= down:
        return _LONG_SIDE, round(_LONG_SIDE * down / across)
    return round(_LONG_SIDE * across / down), _LONG_SIDE


def _picture(source: bytes | None) -> Image.Image | None:
    """An uploaded picture, decoded small (cached: every result of a run reads the same ones)."""
    fitted = pictures._fitted_source(source, (_LONG_SIDE, _LONG_SIDE))
    return None if fitted is None else fitted.convert("RGB")


def _fabric(picture: Image.Image | None, box: tuple[int, int], rng: random.Random, shape: Image.Image) -> Image.Image:
    """Cloth cut from ``picture`` (or the drawn stripes) to ``shape``, woven and lit: RGBA of ``box``.

    Only the middle of the picture is used: a garment is photographed in the middle, its
    backdrop around it would show at the sleeves.
    """
    if picture is None:
        cloth = photo.stripes(box, (70, 110, 170), (225, 230, 238))
    else:
        w, h = picture.size
        cloth = photo.cover(picture.crop((w * 0.3, h * 0.3, w * 0.7, h * 0.7)), box)
    piece = photo.garment(cloth.convert("RGBA"), box, rng)
    piece.putalpha(ImageChops.multiply(piece.getchannel("A"), shape))
    return piece


def _ghost(sources: Sequence[bytes | None], params: dict[str, Any], pose: int) -> tuple[Image.Image, photo.Color]:
    """The garment alone on white paper: no figure, the inside of its back showing at the neck."""
    rng = random.Random(f"ghost|{_digest(sources)}|{pose}")
    size = _canvas(params.get("aspectRatio") or "1:1", _picture(sources[0]))
    picture = photo.seamless(size, _WHITE, _PAPER)
    side = min(size[0] * 0.7, size[1] * 0.62 * 0.9)
    box = (round(side * (0.92 + 0.06 * pose)), round(side / 0.9))
    at = ((size[0] - box[0]) // 2, round(size[1] * 0.09))
    shape = photo.shirt_shape(box)
    piece = _fabric(_picture(sources[0]), box, rng, shape)
    photo.drop_shadow(picture, shape, at, (0, round(box[1] * 0.03)))
    picture.paste(piece, at, piece)
    # The hollow: the back of the neckline seen from the front, in the cloth's own shade.
    neck = (at[0] + box[0] * 0.37, at[1] + box[1] * 0.05, at[0] + box[0] * 0.63, at[1] + box[1] * 0.15)
    inside = photo.mix(piece.convert("RGB").getpixel((box[0] // 2, box[1] // 2)), (0, 0, 0), 0.55)
    ImageDraw.Draw(picture).ellipse(neck, fill=inside)
    return photo.finish(picture, rng, grain=2, soften=(at[0], at[1], at[0] + box[0], at[1] + box[1])), (60, 60, 60)


def _flat_lay(sources: Sequence[bytes | None], params: dict[str, Any], pose: int) -> tuple[Image.Image, photo.Color]:
    """The garment laid flat, sleeves out, seen from above on a table top, its shadow beside it."""
    rng = random.Random(f"flat|{_digest(sources)}|{params.get('textDescription')}|{pose}")
    size = _canvas(params.get("aspectRatio") or "1:1", None)
    tone = pictures._hue(f"table {params.get('textDescription')}")
    picture = photo.surface(size, photo.mix(tone, (236, 228, 214), 0.75), rng)
    side = min(size[0] * 0.78, size[1] * 0.72)
    box = (round(side), round(side * 0.92))
    shape = photo.shirt_shape(box, flat=True)
    piece = _fabric(_picture(sources[0]), box, rng, shape)
    angle = rng.uniform(-7, 7) + (4 if pose else 0)
    piece = piece.rotate(angle, Image.Resampling.BILINEAR, expand=True)
    at = ((size[0] - piece.width) // 2, (size[1] - piece.height) // 2 - round(size[1] * 0.04))
    photo.drop_shadow(picture, piece.getchannel("A"), at, (round(side * 0.02), round(side * 0.025)))
    picture.paste(piece, at, piece)
    return photo.finish(picture, rng, grain=3), photo.mix(tone, (0, 0, 0), 0.75)


def _torso(size: tuple[int, int]) -> tuple[int, int, int, int]:
    """Where a person photographed head to knees wears a top: the middle of the picture."""
    w, h = size
    return round(w * 0.24), round(h * 0.24), round(w * 0.76), round(h * 0.66)


def _person(source: bytes | None, size: tuple[int, int], rng: random.Random) -> tuple[Image.Image, tuple]:
    """Picture 1 as the photograph to keep, and the box of its torso (a drawn model when none)."""
    picture = _picture(source)
    if picture is not None:
        return photo.cover(picture, size), _torso(size)
    scene = photo.backdrop(size, (190, 196, 204), (120, 112, 104), rng)
    body = (round(size[0] * 0.22), round(size[1] * 0.05), round(size[0] * 0.78), round(size[1] * 0.79))
    torso = photo.figure(scene, body, skin=(222, 184, 160), hair=(40, 30, 24), legs=(60, 64, 80))
    return scene, torso


def _wear(picture: Image.Image, cloth: Image.Image | None, torso: tuple, rng: random.Random) -> None:
    """``cloth`` cut as a top and worn on ``torso``, with the shadow it casts; in place."""
    box = (torso[2] - torso[0], torso[3] - torso[1])
    piece = _fabric(cloth, box, rng, photo.shirt_shape(box))
    photo.drop_shadow(picture, piece.getchannel("A"), torso[:2], (round(box[0] * 0.02), round(box[1] * 0.02)))
    picture.paste(piece, torso[:2], piece)


def _clothes_changer(sources: Sequence[bytes | None], params: dict[str, Any], pose: int) -> tuple:
    """Picture 1 (the person) kept, wearing the garment of picture 2 on the torso."""
    rng = random.Random(f"changer|{_digest(sources)}|{pose}")
    first = _picture(sources[0])
    picture, torso = _person(sources[0], _canvas(None, first), rng)
    _wear(picture, _picture(sources[1] if len(sources) > 1 else None), torso, rng)
    return photo.finish(picture, rng, soften=torso), (34, 34, 40)


def _outfit(sources: Sequence[bytes | None], params: dict[str, Any], pose: int) -> tuple:
    """Picture 1 kept, in a new outfit: a patterned top and trousers in colours the prompt sets."""
    style = str(params.get("textDescription") or "")
    rng = random.Random(f"outfit|{_digest(sources)}|{style}|{pose}")
    first = _picture(sources[0])
    size = _canvas(None, first)
    picture, torso = _person(sources[0], size, rng)
    ground, stripe = pictures._hue(f"outfit {style} {pose}"), pictures._hue(f"stripe {style} {pose}")
    legs_box = (torso[0] + (torso[2] - torso[0]) // 5, torso[3] - 4, torso[2] - (torso[2] - torso[0]) // 5, size[1])
    ImageDraw.Draw(picture).rectangle(legs_box, fill=photo.mix(stripe, (20, 20, 30), 0.6))
    box = (torso[2] - torso[0], torso[3] - torso[1])
    top = photo.stripes(box, ground, photo.mix(stripe, (255, 255, 255), 0.4), pitch=max(4, box[0] // (8 + 6 * pose)))
    _wear(picture, top, torso, rng)
    return photo.finish(picture, rng, soften=(torso[0], torso[1], torso[2], size[1])), (30, 30, 36)


def _photoshoot(sources: Sequence[bytes | None], params: dict[str, Any], pose: int) -> tuple:
    """The person of picture 1, cut out as a standing figure, in the scene of picture 2."""
    rng = random.Random(f"photoshoot|{_digest(sources)}|{pose}")
    first, scene = _picture(sources[0]), _picture(sources[1] if len(sources) > 1 else None)
    size = _canvas(params.get("aspectRatio") or "auto", first)
    if scene is None:
        picture = photo.backdrop(size, (150, 180, 210), (110, 100, 90), rng)
    else:  # the scene a little soft, as behind a subject in focus
        picture = photo.cover(scene, size).filter(ImageFilter.GaussianBlur(size[0] / 400))
    height = round(size[1] * 0.8)
    width = min(round(height * 0.5), size[0] - 2)
    left = round((size[0] - width) * (0.5 + (0.18 if pose and size[0] > size[1] else 0)))
    body = (left, size[1] - height - round(size[1] * 0.04), left + width, size[1] - round(size[1] * 0.04))
    mask = photo.silhouette(size, body)
    if first is not None:
        person = photo.cover(first, (width, height))
    else:
        person = photo.stripes((width, height), (200, 120, 90), (240, 200, 170))
    figure = Image.new("RGB", size)
    figure.paste(person, body[:2])
    feet = (body[0], body[3] - round(height * 0.03), body[2], body[3] + round(height * 0.02))
    shadow = Image.new("L", size)
    ImageDraw.Draw(shadow).ellipse(feet, fill=110)
    picture.paste((0, 0, 0), (0, 0), shadow.filter(ImageFilter.GaussianBlur(width / 20)))
    picture.paste(figure, (0, 0), mask)
    return photo.finish(picture, rng, soften=body), (30, 32, 38)


_DRAWINGS: dict[str, Callable[[Sequence[bytes | None], dict[str, Any], int], tuple]] = {
    "ai-ghost-mannequin-generator": _ghost,
    "flat-lay": _flat_lay,
    "ai-clothes-changer": _clothes_changer,
    "outfit-generator": _outfit,
    "ai-photoshoot": _photoshoot,
}
# What each drawing reads of the parameters (the rest is only in the caption).
_READS = {
    "ai-ghost-mannequin-generator": ("aspectRatio",),
    "flat-lay": ("aspectRatio", "textDescription"),
    "outfit-generator": ("textDescription",),
    "ai-photoshoot": ("aspectRatio",),
}


def _digest(sources: Sequence[bytes | None]) -> str:
    return hashlib.sha256(b"|".join(s or b"" for s in sources)).hexdigest()[:16]


def _catalogue_drawing(agent: str, sources: list[bytes | None], params: dict[str, Any]) -> tuple[tuple, Any]:
    """The key of a catalogue agent's photograph and the drawing of its poses."""
    sources = sources or [None]
    read = tuple((k, str(params.get(k))) for k in _READS.get(agent, ()))
    # A checksum per picture, not a digest: read again for every result (see pictures._source_key).
    key = (agent, tuple((zlib.crc32(s or b""), len(s or b"")) for s in sources), read)
    return key, lambda pose: _DRAWINGS[agent](sources, params, pose)


def _caption(agent: str, params: dict[str, Any], slot: int) -> list[str]:
    spec = contract.spec(agent)
    used = {**(spec.defaults() if spec else {}), **params}  # what the service would use, defaults named
    settings = [str(used[k]) for k in ("modelName", "aspectRatio", "imageSize") if used.get(k)]
    title = f"#{slot + 1}  {agent}"
    return [title, " · ".join(settings) or "defaults", *textwrap.wrap(str(params.get("textDescription") or ""), 52)]


def render_video(emulator: Emulator, record: ExecutionRecord, slot: int) -> bytes:
    """The clip of result ``slot``: an animated WebP (see the module's note on encoders)."""
    frames = _frames(emulator, record, slot)
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=VIDEO_FRAME_MS, loop=0, quality=70
    )
    return buffer.getvalue()
