"""How embedded pictures are encoded: bytes against fidelity, by format and quality (RESULTS item 6).

Result pictures of the emulator (photograph-like, on the tutorials' garment) are shrunk
to the width a multi-picture card shows them at 2x density (188 px), then encoded as
WebP and JPEG at several qualities. Fidelity is the mean SSIM (7x7 windows, luma) against
the unencoded shrunk picture. ``EMBED_QUALITY`` in ``weshop_nb/service/_images.py`` is
chosen from this table.
Run: ``.venv/bin/python benchmarks/picture_quality.py [N]`` (N pictures, default 16).
"""

from __future__ import annotations

import io
import sys
from pathlib import Path

import numpy as np
from _common import KEY, emit
from numpy.lib.stride_tricks import sliding_window_view
from PIL import Image

from weshop_nb import WeShopClient, emulator
from weshop_nb.service._images import EMBED_QUALITY
from weshop_nb.work._html import pixels, thumb_width

GARMENT = Path(__file__).resolve().parent.parent / "notebooks" / "data" / "garment.jpg"
QUALITIES = (30, 40, 50, 60, 70, 80, 90)


def ssim(a: Image.Image, b: Image.Image, window: int = 7) -> float:
    """Mean structural similarity of two same-sized pictures, on luma."""
    x = sliding_window_view(np.asarray(a.convert("L"), dtype=np.float64), (window, window))
    y = sliding_window_view(np.asarray(b.convert("L"), dtype=np.float64), (window, window))
    mx, my = x.mean(axis=(-1, -2)), y.mean(axis=(-1, -2))
    vx, vy = x.var(axis=(-1, -2)), y.var(axis=(-1, -2))
    cov = ((x - mx[..., None, None]) * (y - my[..., None, None])).mean(axis=(-1, -2))
    c1, c2 = (0.01 * 255) ** 2, (0.03 * 255) ** 2
    return float((((2 * mx * my + c1) * (2 * cov + c2)) / ((mx**2 + my**2 + c1) * (vx + vy + c2))).mean())


def _pictures(count: int) -> list[bytes]:
    with emulator.serve(api_key=KEY, latency=0) as emu:
        client = WeShopClient(api_key=KEY, base_url=emu.base_url)
        task = client.create_task(originalImage=client.upload_image(GARMENT.read_bytes()))
        info = client.agent_info("aimodel", "v1.0")
        urls: list[str] = []
        for n, location in enumerate(info.locations):
            if len(urls) >= count:
                break
            params = {"textDescription": f"look {n}", "locationId": location.id, "batchCount": 4}
            urls += client.wait(client.execute(task.id, params).id, poll_interval=0.1).images
        return [client.fetch_image(url) for url in urls[:count]]


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 16
    width = pixels(thumb_width(4, 192))
    references = []
    for data in _pictures(count):
        with Image.open(io.BytesIO(data)) as image:
            image.thumbnail((width, 2 * width))  # as embed() shrinks them
            references.append(image.convert("RGB"))
    for kind, options in (("webp", {"method": 4}), ("jpeg", {"optimize": True})):
        for quality in QUALITIES:
            sizes, scores = [], []
            for reference in references:
                buffer = io.BytesIO()
                reference.save(buffer, format=kind.upper(), quality=quality, **options)
                sizes.append(buffer.tell())
                scores.append(ssim(reference, Image.open(io.BytesIO(buffer.getvalue())).convert("RGB")))
            emit(
                "picture_quality",
                format=kind,
                quality=quality,
                width=width,
                pictures=len(references),
                mean_bytes=round(sum(sizes) / len(sizes)),
                mean_ssim=round(sum(scores) / len(scores), 4),
                chosen=EMBED_QUALITY[kind] == quality,
            )


if __name__ == "__main__":
    main()
