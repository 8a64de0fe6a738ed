"""Pillow work of the emulator: the server-side upload check and the synthetic pictures.

Pictures are deterministic: the same source image, scene, model, prompt and slot give
the same bytes, so tutorials and tests can compare them run after run.
"""

from __future__ import annotations

import hashlib
import io
import textwrap
from functools import lru_cache

from PIL import Image, ImageDraw, ImageFont

from .params import Refusal

UPLOAD_LIMIT_BYTES = 10 * 1024 * 1024
_UPLOAD_FORMATS = {"PNG": "png", "JPEG": "jpg", "MPO": "jpg", "WEBP": "webp"}
RESULT_SIZE = (576, 768)
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


def _backdrop(size: tuple[int, int], top: tuple[int, int, int], bottom: tuple[int, int, int]) -> Image.Image:
    # A vertical gradient built from a 1-pixel-wide strip: fast at any size.
    height = size[1]
    strip = Image.new("RGB", (1, height))
    for y in range(height):
        t = y / max(height - 1, 1)
        strip.putpixel((0, y), tuple(round(a + (b - a) * t) for a, b in zip(top, bottom, strict=True)))
    return strip.resize(size)


@lru_cache(maxsize=8)
def _font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    return ImageFont.load_default(size=size)


def _garment(source: bytes | None, box: tuple[int, int]) -> Image.Image:
    """The source image fitted into ``box``, or a drawn shirt when there is none."""
    if source:
        try:
            with Image.open(io.BytesIO(source)) as image:
                image = image.convert("RGBA")
                image.thumbnail(box)
                return image
        except Exception:
            pass  # an unreadable source still yields a picture
    shirt = Image.new("RGBA", box, (0, 0, 0, 0))
    w, h = box
    outline = [(0.3, 0.05), (0.7, 0.05), (0.95, 0.25), (0.82, 0.38), (0.75, 0.3), (0.75, 0.95), (0.25, 0.95)]
    outline += [(0.25, 0.3), (0.18, 0.38), (0.05, 0.25)]
    ImageDraw.Draw(shirt).polygon([(x * w, y * h) for x, y in outline], fill=(70, 110, 170, 255))
    return shirt


def render_result(
    *,
    source: bytes | None,
    colors: tuple[str, str] | None,
    scene: str,
    model: str,
    prompt: str,
    slot: int,
) -> bytes:
    """One result image: the scene's backdrop, a figure wearing the source, and a caption."""
    top, bottom = (_rgb(c) for c in colors) if colors else (_hue(prompt + scene), _hue(scene + prompt))
    picture = _backdrop(RESULT_SIZE, top, bottom)
    draw = ImageDraw.Draw(picture)
    width, height = RESULT_SIZE
    skin = _hue(model or "model")
    head = (width // 2 - 45, 70, width // 2 + 45, 180)
    draw.ellipse(head, fill=(200 + skin[0] % 50, 160 + skin[1] % 60, 130 + skin[2] % 60))
    garment = _garment(source, (300, 360))
    picture.paste(garment, ((width - garment.width) // 2, 190), garment)
    draw.rectangle((0, height - 150, width, height), fill=(0, 0, 0))
    lines = [f"#{slot + 1}  {scene or 'free scene'}  ·  {model or 'free model'}"]
    lines += textwrap.wrap(prompt or "(no prompt)", 52)[:4]
    for row, line in enumerate(lines):
        draw.text((16, height - 140 + row * 26), line, fill=(255, 255, 255), font=_font(18 if row else 20))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=3)
    return buffer.getvalue()


def render_thumbnail(name: str, colors: tuple[str, str] | None) -> bytes:
    """A catalogue thumbnail: the backdrop colours with the entry's name."""
    top, bottom = (_rgb(c) for c in colors) if colors else (_hue(name), _hue(name[::-1]))
    picture = _backdrop(THUMB_SIZE, top, bottom)
    draw = ImageDraw.Draw(picture)
    draw.rectangle((0, THUMB_SIZE[1] - 60, THUMB_SIZE[0], THUMB_SIZE[1]), fill=(0, 0, 0))
    for row, line in enumerate(textwrap.wrap(name, 22)[:2]):
        draw.text((10, THUMB_SIZE[1] - 54 + row * 24), line, fill=(255, 255, 255), font=_font(18))
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG")
    return buffer.getvalue()
