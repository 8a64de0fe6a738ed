"""Shared bits of the benchmarks: a garment picture, an emulator with tasks, JSON output."""

from __future__ import annotations

import io
import json
import platform
from typing import Any

from PIL import Image

KEY = "bench-key"


def garment() -> bytes:
    buffer = io.BytesIO()
    Image.new("RGB", (640, 800), "teal").save(buffer, format="PNG")
    return buffer.getvalue()


def emit(measure: str, **figures: Any) -> None:
    """One JSON line per measurement, with the parameters that produced it."""
    print(json.dumps({"measure": measure, **figures}), flush=True)


def machine() -> dict[str, Any]:
    import os

    return {"python": platform.python_version(), "cpus": os.cpu_count(), "platform": platform.platform()}
