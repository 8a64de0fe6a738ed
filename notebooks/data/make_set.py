"""Draw the small garment set of notebooks/06-garment-sets.ipynb (run from the repository root).

Three flat garments on a light backdrop, 600 x 760 px (above the 512 px the upload rules
ask for), JPEG, each well under 40 KB. Drawn, not photographed, so the project owns them.
"""

from __future__ import annotations

from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter

FOLDER = Path(__file__).parent / "set"
SIZE = (600, 760)


def shirt(draw: ImageDraw.ImageDraw, color: str) -> None:
    draw.polygon([(170, 150), (250, 120), (350, 120), (430, 150), (520, 260), (460, 300), (420, 250),
                  (420, 640), (180, 640), (180, 250), (140, 300), (80, 260)], fill=color)  # fmt: skip
    draw.polygon([(270, 120), (300, 170), (330, 120)], fill="#f4f1ea")
    for y in range(200, 620, 60):
        draw.ellipse((294, y, 306, y + 12), fill="#ece6da")


def dress(draw: ImageDraw.ImageDraw, color: str) -> None:
    draw.polygon([(240, 110), (360, 110), (390, 300), (500, 660), (100, 660), (210, 300)], fill=color)
    draw.rectangle((210, 290, 390, 320), fill="#3b3b3b")
    draw.line([(240, 110), (230, 60)], fill=color, width=14)
    draw.line([(360, 110), (370, 60)], fill=color, width=14)


def trousers(draw: ImageDraw.ImageDraw, color: str) -> None:
    draw.polygon([(190, 110), (410, 110), (450, 680), (330, 680), (300, 300), (270, 680), (150, 680)], fill=color)
    draw.rectangle((190, 110, 410, 150), fill="#2f2f2f")


def main() -> None:
    FOLDER.mkdir(exist_ok=True)
    for name, draw_it, color in (
        ("linen-shirt", shirt, "#c9b79c"),
        ("summer-dress", dress, "#d9534f"),
        ("wide-trousers", trousers, "#3f5d7d"),
    ):
        image = Image.new("RGB", SIZE, "#f4f1ea")
        draw_it(ImageDraw.Draw(image), color)
        image = image.filter(ImageFilter.SMOOTH)
        image.save(FOLDER / f"{name}.jpg", quality=80, optimize=True)


if __name__ == "__main__":
    main()
