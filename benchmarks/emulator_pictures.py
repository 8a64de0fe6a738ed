"""The emulator's result pictures: CPU per picture over a sweep's 400, and their bytes.

Draws the pictures of the 100-execution sweep of ``sweep_speed.py`` (25 prompts x 2
scenes x 2 models x a batch of 4) from the benchmark garment, in this process, as the
emulator draws them (photographs drawn once per source, scene, model and pose, then only
each caption). Prints the median and mean CPU time per picture (this thread's: robust on
a shared machine), the most one picture took (a photograph drawn), the median wall time,
how many of the pictures are distinct bytes, and their smallest and median size; then
the same for one photograph drawn whole (what every picture cost before). For the
pictures' client: ``decode_ms``, the median CPU Pillow takes to decode one (a sample of
every tenth, three rounds; the user's kernel decodes each picture it shows), and
``idat_chunks``, how many IDAT chunks one picture has (Pillow's reader runs Python per
chunk: ~1,250 of them cost a client 45 % more CPU a picture).

Then a catalogue of distinct garments (``emulator_catalogue_picture``): GARMENTS
generated garment pictures (distinct colours and stripes, 720x960 to 800x1000) x 2
scenes x 1 model x a batch of 4, each garment new to the emulator, as a catalogue run
through ``--image`` meets them; CPU per picture and decode the same way.
Run: ``.venv/bin/python benchmarks/emulator_pictures.py [PROMPTS [GARMENTS]]``.
"""

from __future__ import annotations

import io
import statistics
import struct
import sys
import time

from _common import emit, garment
from PIL import Image, ImageDraw

from weshop_nb.emulator import catalogue, pictures

MODELS = ("Eve", "Kenji")
SAMPLE = 10  # every tenth picture drawn is decoded


def decode_ms(sample: list[bytes], rounds: int = 3) -> float:
    """The median CPU (ms, this thread's) Pillow takes to decode one of ``sample``, as a client does."""
    cpu = []
    for _ in range(rounds):
        for data in sample:
            started = time.thread_time()
            with Image.open(io.BytesIO(data)) as image:
                image.load()
            cpu.append(time.thread_time() - started)
    return round(statistics.median(cpu) * 1000, 2)


def idat_chunks(data: bytes) -> int:
    """How many IDAT chunks the PNG ``data`` has."""
    count, at = 0, 8
    while at < len(data):
        length, kind = struct.unpack(">I4s", data[at : at + 8])
        count, at = count + (kind == b"IDAT"), at + 12 + length
    return count


def main() -> None:
    prompts = int(sys.argv[1]) if len(sys.argv) > 1 else 25
    source = garment()
    scenes = catalogue.LOCATIONS[:2]
    cpu, wall, sizes, seen, sample = [], [], [], set(), []
    for n in range(prompts):
        for scene in scenes:
            for model in MODELS:
                for slot in range(4):
                    started, cpu_started = time.perf_counter(), time.thread_time()
                    data = pictures.render_result(
                        source=source,
                        colors=scene["colors"],
                        scene=scene["name"],
                        model=model,
                        prompt=f"prompt {n}: linen shirt, late afternoon light, relaxed pose",
                        slot=slot,
                        agent="aimodel",
                    )
                    cpu.append(time.thread_time() - cpu_started)
                    wall.append(time.perf_counter() - started)
                    sizes.append(len(data))
                    seen.add(data)
                    if len(cpu) % SAMPLE == 1:
                        sample.append(data)
    emit(
        "emulator_picture",
        size="x".join(map(str, pictures.RESULT_SIZE)),
        pictures=len(cpu),
        distinct=len(seen),
        median_cpu_ms=round(statistics.median(cpu) * 1000, 2),
        mean_cpu_ms=round(statistics.fmean(cpu) * 1000, 2),
        max_cpu_ms=round(max(cpu) * 1000, 1),
        median_wall_ms=round(statistics.median(wall) * 1000, 2),
        min_kb=round(min(sizes) / 1024),
        median_kb=round(statistics.median(sizes) / 1024),
        decode_ms=decode_ms(sample),
        idat_chunks=idat_chunks(sample[0]),
    )
    # One photograph drawn whole (a new pose: nothing kept helps), for comparison.
    started = time.thread_time()
    pictures.render_result(source=source, colors=None, scene="Elsewhere", model="Amara", prompt="x", slot=0)
    emit("emulator_photograph_drawn", cpu_ms=round((time.thread_time() - started) * 1000, 1))


def catalogue_garment(number: int) -> bytes:
    """A distinct garment picture: its own colours, stripe pitch and size (deterministic)."""
    ground = ((number * 67) % 256, (number * 139 + 40) % 256, (number * 29 + 90) % 256)
    stripe = tuple(255 - v for v in ground)
    size = (720 + (number * 16) % 96, 960 + (number * 8) % 48)
    image = Image.new("RGB", size, ground)
    draw = ImageDraw.Draw(image)
    pitch = 12 + number % 20
    for x in range(0, size[0], 2 * pitch):
        draw.rectangle((x, 0, x + pitch - 1, size[1]), fill=stripe)
    buffer = io.BytesIO()
    image.save(buffer, format="PNG")
    return buffer.getvalue()


def distinct_garments(garments: int) -> None:
    sources = [catalogue_garment(n) for n in range(garments)]
    scenes = catalogue.LOCATIONS[2:4]  # not those of the sweep: nothing kept from it helps
    cpu, sizes, sample = [], [], []
    for n, source in enumerate(sources):
        for scene in scenes:
            for slot in range(4):
                started = time.thread_time()
                data = pictures.render_result(
                    source=source,
                    colors=scene["colors"],
                    scene=scene["name"],
                    model="Amara",
                    prompt=f"catalogue garment {n}",
                    slot=slot,
                    agent="aimodel",
                )
                cpu.append(time.thread_time() - started)
                sizes.append(len(data))
                if len(cpu) % SAMPLE == 1:
                    sample.append(data)
    emit(
        "emulator_catalogue_picture",
        garments=garments,
        pictures=len(cpu),
        median_cpu_ms=round(statistics.median(cpu) * 1000, 2),
        mean_cpu_ms=round(statistics.fmean(cpu) * 1000, 2),
        max_cpu_ms=round(max(cpu) * 1000, 1),
        min_kb=round(min(sizes) / 1024),
        median_kb=round(statistics.median(sizes) / 1024),
        decode_ms=decode_ms(sample),
        idat_chunks=idat_chunks(sample[0]),
    )


if __name__ == "__main__":
    main()
    distinct_garments(int(sys.argv[2]) if len(sys.argv) > 2 else 50)
