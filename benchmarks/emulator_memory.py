"""The emulator's memory under uploads: what N uploads keep, what drawing from a big one takes.

Each scenario runs a fresh emulator in its own process (``python -m weshop_nb.emulator``)
and reads that process's resident size (VmRSS) and peak (VmHWM) from /proc, so the
figures are the emulator's alone. Linux only. Raw HTTP, not the client: the client
refuses a decompression bomb before sending it.

- ``uploads``: N uploads of a ~1.9 MB noise picture; resident size after each quarter.
- ``big_upload``: one allowed 35-megapixel PNG, then one result drawn from it; peak growth.
- ``bomb``: a 144-megapixel PNG (a few hundred KB compressed); its answer, and the peak
  growth of uploading it and drawing a result from it if it is accepted.

Run: ``.venv/bin/python benchmarks/emulator_memory.py [N]``.
"""

from __future__ import annotations

import io
import os
import re
import struct
import subprocess
import sys
import time
import zlib

import requests
from _common import KEY, emit
from PIL import Image


def _status(pid: int) -> dict[str, int]:
    """VmRSS and VmHWM of ``pid``, in MB."""
    with open(f"/proc/{pid}/status") as handle:
        text = handle.read()
    return {key: int(re.search(rf"{key}:\s+(\d+) kB", text).group(1)) // 1024 for key in ("VmRSS", "VmHWM")}


class _Emulator:
    def __init__(self) -> None:
        command = [sys.executable, "-m", "weshop_nb.emulator", "--port", "0", "--api-key", KEY, "--latency", "0"]
        self.process = subprocess.Popen(command, stdout=subprocess.PIPE, text=True)
        line = self.process.stdout.readline()
        self.base = re.search(r"http://\S+", line).group(0)
        self.api = f"{self.base}/openapi/v1"

    def upload(self, data: bytes) -> requests.Response:
        files = {"image": ("garment.png", data)}
        return requests.post(f"{self.api}/asset/upload/image", files=files, headers={"Authorization": KEY}, timeout=600)

    def draw_from(self, url: str) -> int:
        """Ask for one result picture made from the upload at ``url``; its HTTP status."""
        headers = {"Authorization": KEY}
        body = {"agentName": "aimodel", "agentVersion": "v1.0", "initParams": {"originalImage": url}}
        task = requests.post(f"{self.api}/agent/task/create", json=body, headers=headers, timeout=10).json()
        body = {"taskId": task["data"]["taskId"], "params": {"textDescription": "x", "batchCount": 1}}
        execution = requests.post(f"{self.api}/agent/task/execute", json=body, headers=headers, timeout=10).json()
        time.sleep(0.1)
        execution_id = execution["data"]["executionId"]
        return requests.get(f"{self.base}/files/results/{execution_id}-0.png", timeout=600).status_code

    def memory(self) -> dict[str, int]:
        return _status(self.process.pid)

    def stop(self) -> None:
        self.process.terminate()
        self.process.wait(timeout=10)


def _noise_png() -> bytes:
    buffer = io.BytesIO()
    Image.frombytes("RGB", (700, 900), os.urandom(700 * 900 * 3)).save(buffer, format="PNG", compress_level=1)
    return buffer.getvalue()


def _flat_png(width: int, height: int) -> bytes:
    """A real, fully decodable PNG of ``width`` x ``height`` black pixels, built row by row."""

    def chunk(kind: bytes, data: bytes) -> bytes:
        return struct.pack(">I", len(data)) + kind + data + struct.pack(">I", zlib.crc32(kind + data))

    packer = zlib.compressobj(9)
    row = b"\0" * (1 + 3 * width)  # filter byte, then RGB
    idat = b"".join(packer.compress(row) for _ in range(height)) + packer.flush()
    header = struct.pack(">IIBBBBB", width, height, 8, 2, 0, 0, 0)
    return b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", header) + chunk(b"IDAT", idat) + chunk(b"IEND", b"")


def _uploads(count: int) -> None:
    picture = _noise_png()
    emulator = _Emulator()
    resident = []
    try:
        before = emulator.memory()["VmRSS"]
        for n in range(1, count + 1):
            emulator.upload(picture).raise_for_status()
            if n % (count // 4 or 1) == 0:
                resident.append(emulator.memory()["VmRSS"])
    finally:
        emulator.stop()
    emit(
        "emulator_uploads_resident",
        uploads=count,
        upload_mb=round(len(picture) / 1e6, 2),
        resident_before_mb=before,
        uploaded_mb=round(count * len(picture) / 1e6),
        # What is left after the first quarter is the allocator keeping freed blocks, not uploads.
        resident_at_each_quarter_mb=resident,
    )


def _big(measure: str, data: bytes, **figures: object) -> None:
    emulator = _Emulator()
    try:
        before = emulator.memory()
        response = emulator.upload(data)
        drawn = emulator.draw_from(response.json()["data"]["image"]) if response.ok else None
        after = emulator.memory()
    finally:
        emulator.stop()
    emit(
        measure,
        **figures,
        compressed_kb=len(data) // 1024,
        upload_status=response.status_code,
        refusal=None if response.ok else response.json()["msg"],
        result_status=drawn,
        peak_growth_mb=after["VmHWM"] - before["VmRSS"],
    )


def main() -> None:
    count = int(sys.argv[1]) if len(sys.argv) > 1 else 200
    _uploads(count)
    _big("emulator_big_upload", _flat_png(7000, 5000), megapixels=35)
    _big("emulator_bomb", _flat_png(12000, 12000), megapixels=144)


if __name__ == "__main__":
    main()
