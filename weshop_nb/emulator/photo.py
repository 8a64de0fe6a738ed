"""Drawing steps that make the emulator's pictures look like photographs.

The service returns photographs: grain, soft light and detail everywhere, so they weigh
hundreds of kilobytes. Flat synthetic pictures would make every byte count the package
measures (saved notebooks against full-size pictures) meaningless, so the emulator draws
with the same texture. Each step is small and reusable: a :func:`backdrop` (the scene),
a :func:`figure` (the fashion model), a :func:`garment`, a :func:`finish` (lens, light
and grain) and a :func:`caption` on top; a picture is those steps in that order, then
:func:`encode_png`.

Everything random comes from a :class:`random.Random` the caller seeds, so the same
inputs give the same pixels. Pillow only, and cheap: smooth layers are drawn at a
quarter of the size and scaled up; full-size work is a few C-level passes.
"""

from __future__ import annotations

import io
import random
from functools import lru_cache

from PIL import Image, ImageChops, ImageDraw, ImageFilter, ImageFont

Color = tuple[int, int, int]
Box = tuple[int, int, int, int]

# Smooth layers (gradients, light, bokeh, shadows) are drawn up to this many times
# smaller and scaled up: blurring is nearly free at a quarter of the size.
_SMOOTH = 4


def mix(a: Color, b: Color, t: float) -> Color:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    return tuple(round(x + (y - x) * t) for x, y in zip(a, b, strict=True))  # type: ignore[return-value]


def _reduction(size: tuple[int, int]) -> int:
    # Thumbnails are small already: a quarter of one would turn its discs into polygons.
    return max(1, min(_SMOOTH, size[1] // 256))


def _vertical(size: tuple[int, int], top: Color, bottom: Color) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BILINEAR)
    return Image.composite(Image.new("RGB", size, bottom), Image.new("RGB", size, top), mask)


@lru_cache(maxsize=8)
def _noise_field(size: tuple[int, int]) -> Image.Image:
    # One fixed field per size, shifted per picture: fresh random bytes every time
    # would cost more than the rest of the picture.
    return Image.frombytes("L", size, random.Random(f"noise {size}").randbytes(size[0] * size[1]))


def noise(size: tuple[int, int], rng: random.Random, amount: int) -> Image.Image:
    """Fine noise: an L image centred on 128, at most ``amount`` levels either way."""
    field = ImageChops.offset(_noise_field(size), rng.randrange(size[0]), rng.randrange(size[1]))
    return field.point([128 + (v - 128) * amount // 128 for v in range(256)])


def backdrop(
    size: tuple[int, int],
    top: Color,
    bottom: Color,
    rng: random.Random,
    *,
    horizon: float = 0.62,
    shadow: Box | None = None,
) -> Image.Image:
    """A scene: a lit wall over a floor, out-of-focus lights, mottled surfaces.

    Parameters
    ----------
    size : (width, height)
        Of the picture, in pixels.
    top, bottom : RGB
        The scene's palette: the wall fades from ``top``, the floor is ``bottom``.
    rng : random.Random
        Places the lights and the mottling.
    horizon : float
        The floor line, as a share of the height.
    shadow : (left, top, right, bottom), optional
        An ellipse, in pixels, darkened softly where something stands.

    Returns
    -------
    PIL.Image.Image
        A new RGB image.
    """
    k = _reduction(size)
    small = (max(size[0] // k, 1), max(size[1] // k, 1))
    line = round(small[1] * horizon)
    scene = Image.new("RGB", small)
    scene.paste(_vertical((small[0], line), top, mix(top, bottom, 0.55)), (0, 0))
    floor = _vertical((small[0], small[1] - line), mix(bottom, (0, 0, 0), 0.12), mix(bottom, (0, 0, 0), 0.35))
    scene.paste(floor, (0, line))
    # Bokeh: discs of light, brighter than the wall, mostly above the horizon.
    lights = Image.new("RGB", small)
    draw = ImageDraw.Draw(lights)
    glow = mix(top, (255, 244, 220), 0.7)
    for _ in range(rng.randint(9, 16)):
        r = rng.uniform(0.02, 0.07) * small[0]
        x, y = rng.uniform(0, small[0]), rng.uniform(0, line * 1.05)
        tint = mix(glow, (rng.randrange(256), rng.randrange(256), rng.randrange(256)), 0.3)
        draw.ellipse((x - r, y - r, x + r, y + r), fill=mix((0, 0, 0), tint, rng.uniform(0.25, 0.6)))
    scene = ImageChops.screen(scene, lights.filter(ImageFilter.GaussianBlur(small[0] / 90)))
    if shadow:
        mask = Image.new("L", small)
        ImageDraw.Draw(mask).ellipse([v / k for v in shadow], fill=120)
        scene.paste((0, 0, 0), (0, 0), mask.filter(ImageFilter.GaussianBlur((shadow[2] - shadow[0]) / k / 10)))
    # Plaster, sand, tarmac: blotches a few pixels wide, softened by the scale-up.
    mottle = noise(small, rng, 24).filter(ImageFilter.GaussianBlur(1.0)).convert("RGB")
    return ImageChops.add(scene, mottle, 1, -128).resize(size, Image.Resampling.BILINEAR)


def figure(picture: Image.Image, box: Box, skin: Color, hair: Color, legs: Color) -> Box:
    """A standing fashion model drawn on ``picture``: hair, head, neck, legs and shoes.

    Parameters
    ----------
    picture : PIL.Image.Image
        Drawn on in place.
    box : (left, top, right, bottom)
        Where the model stands, head to feet, in pixels.
    skin, hair, legs : RGB
        Colours of the face and neck, the hair, and the trousers.

    Returns
    -------
    (left, top, right, bottom)
        The torso, from the neck to the hips: where the caller puts the garment.
    """
    x0, y0, x1, y1 = box
    w, h = x1 - x0, y1 - y0
    cx = x0 + w / 2
    draw = ImageDraw.Draw(picture)
    # Legs and shoes first: the garment's hem overlaps them.
    hip, knee, foot = y0 + 0.55 * h, y0 + 0.78 * h, y0 + 0.97 * h
    for side in (-1, 1):
        leg = cx + side * 0.09 * w
        outline = [(leg - 0.07 * w, hip), (leg + 0.07 * w, hip), (leg + 0.05 * w, foot), (leg - 0.045 * w, foot)]
        draw.polygon(outline, fill=legs)
        draw.ellipse((leg - 0.06 * w, foot - 0.025 * h, leg + 0.07 * w, y1), fill=mix(legs, (15, 15, 15), 0.7))
    draw.line((cx, knee, cx, hip), fill=mix(legs, (0, 0, 0), 0.3), width=max(1, round(w / 200)))
    # Neck, then the head with hair behind it and across the top.
    head_w, head_h = 0.30 * w, 0.19 * h
    head = (cx - head_w / 2, y0 + 0.01 * h, cx + head_w / 2, y0 + 0.01 * h + head_h)
    neck = (cx - 0.07 * w, head[3] - 0.03 * h, cx + 0.07 * w, head[3] + 0.05 * h)
    draw.rectangle(neck, fill=mix(skin, (60, 30, 20), 0.25))
    draw.ellipse((head[0] - 0.03 * w, y0 - 0.01 * h, head[2] + 0.03 * w, head[1] + 0.75 * head_h), fill=hair)
    draw.ellipse(head, fill=skin)
    draw.chord((head[0] - 0.01 * w, y0 - 0.015 * h, head[2] + 0.01 * w, head[1] + 0.55 * head_h), 180, 360, fill=hair)
    return torso(box)


def torso(box: Box) -> Box:
    """Where :func:`figure` in ``box`` puts the garment: from below the neck to the hips."""
    x0, y0, x1, y1 = box
    h = y1 - y0
    return (round(x0), round(y0 + 0.22 * h), round(x1), round(y0 + 0.8 * h))


def _weave(size: tuple[int, int], rng: random.Random) -> Image.Image:
    # Threads both ways every few pixels plus fibre noise: an L image centred on 128.
    width, height = size
    weave = Image.new("L", size, 128)
    draw = ImageDraw.Draw(weave)
    pitch = rng.choice((3, 4))
    for y in range(0, height, pitch):
        draw.line((0, y, width, y), fill=114)
    for x in range(1, width, pitch):
        draw.line((x, 0, x, height), fill=140)
    return ImageChops.add(weave, noise(size, rng, 12), 1, -128)


def _drape(size: tuple[int, int], rng: random.Random) -> Image.Image:
    # Light from the left falling off to 75% on the right, and a few soft vertical folds.
    small = (max(size[0] // _SMOOTH, 1), max(size[1] // _SMOOTH, 1))
    light = Image.linear_gradient("L").rotate(90).resize(small).point(lambda v: 255 - (255 - v) * 64 // 255)
    draw = ImageDraw.Draw(light)
    for _ in range(rng.randint(3, 6)):
        x = rng.uniform(0.1, 0.9) * small[0]
        draw.line((x, small[1] * rng.uniform(0, 0.4), x + rng.uniform(-3, 3), small[1]), fill=170, width=2)
    return light.filter(ImageFilter.GaussianBlur(small[0] / 60)).resize(size, Image.Resampling.BICUBIC)


def garment(source: Image.Image | None, box: tuple[int, int], rng: random.Random) -> Image.Image:
    """The garment as it is worn: woven texture, light from the left, soft folds.

    Parameters
    ----------
    source : PIL.Image.Image or None
        The uploaded garment (left unchanged); None draws a striped shirt.
    box : (width, height)
        The garment is shrunk to fit, keeping its proportions.
    rng : random.Random
        Places the weave and the folds.

    Returns
    -------
    PIL.Image.Image
        A new RGBA image (the source's transparency kept), to paste with itself as mask.
    """
    if source is None:
        piece = _striped_shirt(box)
    else:
        piece = source.convert("RGBA")
        piece.thumbnail(box)
    cloth = ImageChops.add(piece.convert("RGB"), _weave(piece.size, rng).convert("RGB"), 1, -128)
    cloth = ImageChops.multiply(cloth, _drape(piece.size, rng).convert("RGB"))
    cloth.putalpha(piece.getchannel("A"))
    return cloth


# A T-shirt's outline as shares of its box: as worn (sleeves down) and laid flat (sleeves out).
_WORN = [(0.3, 0.05), (0.7, 0.05), (0.95, 0.25), (0.82, 0.38), (0.75, 0.3), (0.75, 0.95), (0.25, 0.95)]
_WORN += [(0.25, 0.3), (0.18, 0.38), (0.05, 0.25)]
_FLAT = [(0.33, 0.04), (0.67, 0.04), (0.99, 0.16), (0.93, 0.36), (0.74, 0.3), (0.76, 0.97), (0.24, 0.97)]
_FLAT += [(0.26, 0.3), (0.07, 0.36), (0.01, 0.16)]


def shirt_shape(box: tuple[int, int], *, flat: bool = False) -> Image.Image:
    """A T-shirt's outline filling ``box``: an L mask, white inside.

    ``flat`` spreads the sleeves out, as a shirt lies on a table; otherwise they hang as worn.
    """
    w, h = box
    shape = Image.new("L", box)
    ImageDraw.Draw(shape).polygon([(x * w, y * h) for x, y in (_FLAT if flat else _WORN)], fill=255)
    return shape


def stripes(box: tuple[int, int], ground: Color, stripe: Color, *, pitch: int | None = None) -> Image.Image:
    """Vertical stripes of ``stripe`` on ``ground``, RGB: a fabric to cut garments from."""
    w, h = box
    cloth = Image.new("RGB", box, ground)
    draw = ImageDraw.Draw(cloth)
    pitch = pitch or max(4, w // 24)
    for x in range(0, w, pitch * 2):
        draw.rectangle((x, 0, x + pitch - 1, h), fill=stripe)
    return cloth


def _striped_shirt(box: tuple[int, int]) -> Image.Image:
    shirt = stripes(box, (70, 110, 170), (225, 230, 238))
    shirt.putalpha(shirt_shape(box))
    return shirt


def cover(image: Image.Image, size: tuple[int, int]) -> Image.Image:
    """``image`` scaled to cover ``size`` and cut to it, centred (a new RGB image)."""
    scale = max(size[0] / image.width, size[1] / image.height)
    width, height = max(size[0], round(image.width * scale)), max(size[1], round(image.height * scale))
    left, top = (width - size[0]) // 2, (height - size[1]) // 2
    scaled = image.convert("RGB").resize((width, height), Image.Resampling.BILINEAR)
    return scaled.crop((left, top, left + size[0], top + size[1]))


def seamless(size: tuple[int, int], top: Color, bottom: Color) -> Image.Image:
    """A studio's seamless paper: one smooth fall of light from ``top`` to ``bottom``, no horizon."""
    k = _reduction(size)
    small = (max(size[0] // k, 1), max(size[1] // k, 1))
    return _vertical(small, top, bottom).resize(size, Image.Resampling.BILINEAR)


def surface(size: tuple[int, int], color: Color, rng: random.Random) -> Image.Image:
    """A table top seen from above: ``color``, mottled like linen or wood, lit from one corner."""
    k = _reduction(size)
    small = (max(size[0] // k, 1), max(size[1] // k, 1))
    down = Image.linear_gradient("L").resize(small)
    light = ImageChops.add(down, down.transpose(Image.Transpose.ROTATE_90).resize(small), scale=2)
    lit = Image.composite(Image.new("RGB", small, color), Image.new("RGB", small, mix(color, (0, 0, 0), 0.18)), light)
    mottle = noise(small, rng, 20).filter(ImageFilter.GaussianBlur(1.5)).convert("RGB")
    return ImageChops.add(lit, mottle, 1, -128).resize(size, Image.Resampling.BILINEAR)


def drop_shadow(picture: Image.Image, mask: Image.Image, at: tuple[int, int], offset: tuple[int, int]) -> None:
    """Darken ``picture`` softly where ``mask`` (pasted at ``at``) casts a shadow ``offset`` away; in place."""
    k = _SMOOTH
    small = mask.resize((max(mask.width // k, 1), max(mask.height // k, 1))).point(lambda v: v * 90 // 255)
    soft = small.filter(ImageFilter.GaussianBlur(max(mask.width / k / 40, 1))).resize(mask.size)
    picture.paste((0, 0, 0), (at[0] + offset[0], at[1] + offset[1]), soft)


def silhouette(size: tuple[int, int], box: Box) -> Image.Image:
    """A standing person's outline in ``box`` on a ``size`` mask (L, white inside): :func:`figure`'s shape."""
    canvas = Image.new("RGB", size)
    white = (255, 255, 255)
    torso = figure(canvas, box, skin=white, hair=white, legs=white)
    mask = canvas.convert("L").point(lambda v: 255 if v else 0)
    body = shirt_shape((torso[2] - torso[0], torso[3] - torso[1]))
    mask.paste(255, torso[:2], body)
    return mask


@lru_cache(maxsize=4)
def _vignette(size: tuple[int, int]) -> Image.Image:
    # The radial gradient is 0 at its centre and 255 at the corners of its square:
    # nothing darkened in the middle, about a third in the corners.
    ring = Image.radial_gradient("L").point(lambda v: max(0, v - 100) * 90 // 155)
    return ring.resize(size, Image.Resampling.BICUBIC)


def finish(picture: Image.Image, rng: random.Random, *, grain: int = 3, soften: Box | None = None) -> Image.Image:
    """The photographic finish: lens softness, a vignette and film grain.

    Parameters
    ----------
    picture : PIL.Image.Image
        An RGB picture; left unchanged.
    rng : random.Random
        Shifts the grain, so no two pictures share it.
    grain : int
        Levels of grain either way (of 255); 3 is fine film grain.
    soften : (left, top, right, bottom), optional
        Where sharp shapes were drawn, the only part that needs softening (what was
        scaled up from smaller layers is soft already); default the whole picture.

    Returns
    -------
    PIL.Image.Image
        A new RGB image.
    """
    # A one-pixel tent blur: drawn edges lose their staircase, as through a lens.
    box = soften or (0, 0, *picture.size)
    picture = picture.copy()
    picture.paste(picture.crop(box).filter(ImageFilter.BoxBlur(0.5)), box[:2])
    picture.paste((0, 0, 0), (0, 0), _vignette(picture.size))
    return ImageChops.add(picture, noise(picture.size, rng, grain).convert("RGB"), 1, -128)


def finish_cutout(piece: Image.Image, rng: random.Random, *, grain: int = 3) -> Image.Image:
    """:func:`finish` for a piece pasted on a finished picture: softness and grain, no vignette.

    The garment is put on a scene finished without it, so that the scene is drawn once
    for every garment; it sits in the middle, where the vignette darkens nothing.
    ``piece`` is RGBA and left unchanged; returns a new RGBA image.
    """
    soft = piece.filter(ImageFilter.BoxBlur(0.5))  # its outline too, as the lens softened it
    finished = ImageChops.add(soft.convert("RGB"), noise(piece.size, rng, grain).convert("RGB"), 1, -128)
    finished.putalpha(soft.getchannel("A"))
    return finished


@lru_cache(maxsize=8)
def font(size: int) -> ImageFont.ImageFont | ImageFont.FreeTypeFont:
    """Pillow's built-in font at ``size`` pixels (cached)."""
    return ImageFont.load_default(size=size)


def caption(picture: Image.Image, lines: list[str], *, band: float = 0.195, rows: int = 5) -> None:
    """White text on a darkened band at the foot of ``picture``, drawn in place.

    Parameters
    ----------
    picture : PIL.Image.Image
        An RGB picture.
    lines : list of str
        The first is the title, a little larger; lines beyond ``rows`` are left out.
    band : float
        The band's share of the height.
    rows : int
        The lines the band is made for; the font size follows from it.
    """
    width, height = picture.size
    top = round(height * (1 - band))
    picture.paste((0, 0, 0), (0, top, width, height), Image.new("L", (width, height - top), 200))
    draw = ImageDraw.Draw(picture)
    step = (height - top) / (rows + 0.7)
    for row, line in enumerate(lines[:rows]):
        position = (round(width * 0.028), round(top + step * (0.35 + row)))
        draw.text(position, line, fill=(255, 255, 255), font=font(round(step * (0.74 if row else 0.78))))


def encode_png(picture: Image.Image) -> bytes:
    """PNG bytes at zlib's fastest level: grain barely compresses whatever the level."""
    buffer = io.BytesIO()
    picture.save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()
