"""The upload rules, checked locally with the measured value in the message."""

from __future__ import annotations

import io
import struct
import zlib

import pytest
from PIL import Image

from weshop_nb.contract import MAX_BYTES
from weshop_nb.service._errors import ImageValidationError
from weshop_nb.service._images import check_upload_rules, contact_sheet, embed, prepare_upload, thumbnail


@pytest.mark.parametrize("fmt", ["PNG", "JPEG", "WEBP"])
def test_allowed_formats_pass(make_image, fmt) -> None:
    checked = check_upload_rules(make_image(700, 900, fmt))
    assert (checked.width, checked.height) == (700, 900)
    assert checked.format == {"PNG": "png", "JPEG": "jpeg", "WEBP": "webp"}[fmt]


@pytest.mark.parametrize(
    ("size", "rule", "text"),
    [
        ((640, 400), "height", "height 400 px, must be above 512 px"),
        ((512, 700), "width", "width 512 px, must be above 512 px"),
        ((1100, 550), "aspect_ratio", "aspect ratio 2.00 (1100x550), must be below 2"),
        ((600, 1500), "aspect_ratio", "aspect ratio 2.50"),
    ],
)
def test_size_rules_name_rule_and_value(make_image, size, rule, text) -> None:
    with pytest.raises(ImageValidationError) as caught:
        check_upload_rules(make_image(*size))
    assert caught.value.rule == rule
    assert text in str(caught.value)


def test_format_is_judged_by_content_not_name(make_image, tmp_path) -> None:
    gif = tmp_path / "looks-like.png"
    gif.write_bytes(make_image(700, 700, "GIF"))
    with pytest.raises(ImageValidationError, match="format GIF") as caught:
        prepare_upload(gif)
    assert caught.value.rule == "format"
    renamed = tmp_path / "really-a-png.webp"
    renamed.write_bytes(make_image(700, 700, "PNG"))
    assert prepare_upload(renamed).format == "png"


def test_non_image_is_refused(tmp_path) -> None:
    fake = tmp_path / "notes.jpg"
    fake.write_text("not an image at all")
    with pytest.raises(ImageValidationError, match="not an image") as caught:
        prepare_upload(fake)
    assert caught.value.rule == "format"


def test_too_big_file_reports_megabytes() -> None:
    with pytest.raises(ImageValidationError, match=r"file size 10\.5 MB, must be at most 10 MB") as caught:
        check_upload_rules(b"\0" * (MAX_BYTES + 512 * 1024))
    assert caught.value.rule == "size"


def _png_header_only(width: int, height: int) -> bytes:
    """A tiny PNG that claims huge dimensions: the shape of a decompression bomb."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", zlib.compress(b"")) + chunk(b"IEND", b"")


@pytest.mark.parametrize("side", [9000, 40000])
def test_decompression_bomb_is_refused(side) -> None:
    with pytest.raises(ImageValidationError, match="decompression bomb") as caught:
        check_upload_rules(_png_header_only(side, side))
    assert caught.value.rule == "pixels"


def test_truncated_image_is_refused(make_image) -> None:
    whole = make_image(700, 900, "PNG", color="orange")
    noisy = Image.effect_noise((700, 900), 60).convert("RGB")
    buffer = io.BytesIO()
    noisy.save(buffer, format="JPEG")
    for data in (whole[: len(whole) // 2], buffer.getvalue()[: buffer.tell() // 2]):
        with pytest.raises(ImageValidationError, match="damaged or truncated") as caught:
            check_upload_rules(data)
        assert caught.value.rule == "integrity"


def test_every_source_kind_is_accepted(make_image, tmp_path) -> None:
    data = make_image(600, 700)
    path = tmp_path / "garment.png"
    path.write_bytes(data)
    from_path = prepare_upload(path)
    assert from_path.filename == "garment.png"
    assert prepare_upload(str(path)).sha256 == from_path.sha256
    assert prepare_upload(data).sha256 == from_path.sha256
    with open(path, "rb") as handle:
        assert prepare_upload(handle).filename == "garment.png"
    assert prepare_upload(io.BytesIO(data)).sha256 == from_path.sha256
    pil = prepare_upload(Image.new("RGB", (600, 700), "teal"))
    assert (pil.format, pil.width) == ("png", 600)


def test_unusable_sources_say_why(tmp_path) -> None:
    with pytest.raises(ImageValidationError, match="already a URL"):
        prepare_upload("https://cdn.test/garment.png")
    with pytest.raises(ImageValidationError, match="binary mode"):
        prepare_upload(io.StringIO("text"))
    with pytest.raises(ImageValidationError, match="Cannot read an image from int"):
        prepare_upload(42)
    with pytest.raises(FileNotFoundError):
        prepare_upload(tmp_path / "missing.png")


def test_thumbnail_is_small_jpeg(make_image) -> None:
    small = thumbnail(make_image(1200, 1600), max_side=256)
    with Image.open(io.BytesIO(small)) as image:
        assert image.format == "JPEG"
        assert max(image.size) == 256


def test_embed_shrinks_to_the_width_shown_in_webp_or_jpeg(make_image) -> None:
    photo = make_image(768, 1024)
    # By width: a card is so many pixels wide. 188 is just under a quarter of 768, so the
    # picture is a quarter (192): block averaging alone, 2 % wider than asked.
    with Image.open(io.BytesIO(embed(photo, 188))) as image:
        assert (image.format, image.size) == ("WEBP", (192, 256))
    with Image.open(io.BytesIO(embed(photo, 188, format="jpeg"))) as image:
        assert (image.format, image.size) == ("JPEG", (192, 256))
    with Image.open(io.BytesIO(embed(photo, 300))) as image:
        assert image.size == (300, 400)  # far from a whole fraction: exactly the width asked
    with Image.open(io.BytesIO(embed(make_image(600, 700), 2000))) as image:
        assert image.size == (600, 700)  # never enlarged
    with Image.open(io.BytesIO(embed(make_image(600, 1400), 188))) as image:
        assert image.size == (161, 376)  # a very tall one is bounded by twice the width
    with pytest.raises(ValueError, match="picture format 'gif': must be one of webp, jpeg"):
        embed(photo, 100, format="gif")


def test_embed_keeps_transparency_in_webp_and_lays_it_on_white_in_jpeg() -> None:
    buffer = io.BytesIO()
    Image.new("RGBA", (600, 600), (255, 0, 0, 0)).save(buffer, format="PNG")
    with Image.open(io.BytesIO(embed(buffer.getvalue(), 100))) as image:
        assert image.mode == "RGBA" and image.getpixel((50, 50))[3] == 0
    with Image.open(io.BytesIO(embed(buffer.getvalue(), 100, format="jpeg"))) as image:
        assert all(channel > 245 for channel in image.getpixel((50, 50)))  # white, not black


def test_contact_sheet_lays_pictures_side_by_side(make_image) -> None:
    sheet = contact_sheet([make_image(600, 800), make_image(800, 600, color="red")], max_side=100, gap=4)
    assert sheet.size == (4 + 75 + 4 + 100 + 4, 100 + 8)
    assert sheet.getpixel((4 + 75 + 4 + 50, 50)) == (255, 0, 0)
    assert contact_sheet([]).size == (8, 16)
    # Shown and saved in a notebook as a JPEG only (a photograph's PNG is ten times larger).
    assert sheet._repr_png_() is None and sheet._repr_jpeg_()[:2] == b"\xff\xd8"
