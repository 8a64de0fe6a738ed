"""The emulator's picture drawing: time per result picture and its bytes.

Draws N result pictures (distinct slots, so none is a repeat) of the benchmark garment
in each of the first three catalogue scenes, and N without a source (the drawn shirt),
in this process. Prints the median and 90th percentile wall time per picture, the median
CPU time (the machine may be shared) and the median bytes. A sweep of 300 executions x 4
pictures draws 1,200 of them.
Run: ``.venv/bin/python benchmarks/emulator_pictures.py [N]``.
"""

from __future__ import annotations

import statistics
import sys
import time

from _common import emit, garment

from weshop_nb.emulator import catalogue, pictures


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 20
    source = garment()
    cases = [(source, entry) for entry in catalogue.LOCATIONS[:3]] + [(None, catalogue.LOCATIONS[3])]
    pictures.render_result(source=source, colors=None, scene="", model="", prompt="warm-up", slot=0)
    for given, scene in cases:
        seconds, cpu, sizes = [], [], []
        for slot in range(count):
            started, cpu_started = time.perf_counter(), time.process_time()
            data = pictures.render_result(
                source=given,
                colors=scene["colors"],
                scene=scene["name"],
                model="Amara",
                prompt="linen shirt, late afternoon light, relaxed pose",
                slot=slot,
            )
            seconds.append(time.perf_counter() - started)
            cpu.append(time.process_time() - cpu_started)
            sizes.append(len(data))
        emit(
            "emulator_picture",
            scene=scene["name"],
            source="upload" if given else "drawn shirt",
            size="x".join(map(str, pictures.RESULT_SIZE)),
            pictures=count,
            median_ms=round(statistics.median(seconds) * 1000, 1),
            p90_ms=round(statistics.quantiles(seconds, n=10)[-1] * 1000, 1),
            median_cpu_ms=round(statistics.median(cpu) * 1000, 1),
            median_kb=round(statistics.median(sizes) / 1024),
        )


if __name__ == "__main__":
    main()
