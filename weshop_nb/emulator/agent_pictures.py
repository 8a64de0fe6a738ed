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
  frame as a PNG still.
- every other agent (aimodel, aipose, aiproduct): :func:`pictures.render_result`.

Deterministic: the same source, parameters and slot give the same bytes.
"""

from __future__ import annotations

import io
from typing import TYPE_CHECKING, Any

from PIL import Image, ImageChops, ImageFilter

from . import catalogue, photo, pictures

if TYPE_CHECKING:
    from .app import Emulator
    from .state import ExecutionRecord

#: The agents whose results are drawn here; :func:`render` gives ``None`` for the others.
AGENTS = frozenset({"expandimage", "removeBG", "virtualtryon", "kling"})
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


def render(emulator: Emulator, record: ExecutionRecord, slot: int) -> bytes | None:
    """The PNG of result ``slot`` for the agents drawn here, ``None`` for the others."""
    task = emulator.store.tasks.get(record.task_id)
    agent = task.agent_name if task else ""
    params = record.params
    if agent == "expandimage":
        return expand(source_of(emulator, record), params)
    if agent == "removeBG":
        return remove_background(source_of(emulator, record), params)
    if agent == "virtualtryon":
        return try_on(source_of(emulator, record), params, slot)
    if agent == "kling":
        return _png(_frames(emulator, record, slot)[0])
    return None


def _frames(emulator: Emulator, record: ExecutionRecord, slot: int) -> list[Image.Image]:
    still = Image.open(io.BytesIO(_generic(source_of(emulator, record), record.params, slot))).convert("RGB")
    w, h = still.size
    frames = []
    for index in range(VIDEO_FRAMES):
        crop = 0.12 * index / (VIDEO_FRAMES - 1)  # a slow zoom towards the centre
        box = (w * crop / 2, h * crop / 2, w * (1 - crop / 2), h * (1 - crop / 2))
        frames.append(still.resize((w // 2, h // 2), Image.Resampling.BILINEAR, box=box))
    return frames


def render_video(emulator: Emulator, record: ExecutionRecord, slot: int) -> bytes:
    """The clip of result ``slot``: an animated WebP (see the module's note on encoders)."""
    frames = _frames(emulator, record, slot)
    buffer = io.BytesIO()
    frames[0].save(
        buffer, format="WEBP", save_all=True, append_images=frames[1:], duration=VIDEO_FRAME_MS, loop=0, quality=70
    )
    return buffer.getvalue()
