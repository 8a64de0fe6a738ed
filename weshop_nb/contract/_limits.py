"""The upload rules' numbers and the statuses, shared by the client and the emulator."""

from __future__ import annotations

#: Upload rules: at most 10 MB, both sides at least 512 px, long side at most twice the
#: short one. Above MAX_PIXELS an image is treated as a decompression bomb (a small file
#: that would take gigabytes to decode); 64 MP still admits any camera photo.
MAX_BYTES = 10 * 1024 * 1024
MIN_SIDE = 512
MAX_ASPECT_RATIO = 2.0
MAX_PIXELS = 64_000_000

#: A task query returns at most this many executions: the task's most recent ones.
QUERY_WINDOW = 20

#: Statuses as the client names them (the service capitalises them), and the final ones.
PENDING, RUNNING, SUCCESS, FAILED = "pending", "running", "success", "failed"
STATUSES = (PENDING, RUNNING, SUCCESS, FAILED)
TERMINAL = frozenset({SUCCESS, FAILED})
