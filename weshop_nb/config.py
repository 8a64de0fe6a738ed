"""Where weshop_nb keeps things and which environment variables it reads.

Imports nothing of weshop_nb, so every layer may use it.
"""

from __future__ import annotations

import os
from pathlib import Path

__all__ = [
    "API_KEY_VAR",
    "BASE_URL_VAR",
    "ALLOW_INSECURE_VAR",
    "API_VAR",
    "APIS",
    "HOME_VAR",
    "HISTORY_VAR",
    "home_dir",
    "history_enabled",
    "insecure_allowed",
]

API_KEY_VAR = "WESHOP_API_KEY"
BASE_URL_VAR = "WESHOP_BASE_URL"
ALLOW_INSECURE_VAR = "WESHOP_ALLOW_INSECURE"
#: Which of the service's APIs the client speaks: ``v1`` (tasks) or ``runs`` (agent runs).
API_VAR = "WESHOP_API"
APIS = ("v1", "runs")
HOME_VAR = "WESHOP_NB_HOME"
HISTORY_VAR = "WESHOP_NB_HISTORY"
_OFF = ("off", "0", "false", "no")
_ON = ("on", "1", "true", "yes")


def home_dir() -> Path:
    """``WESHOP_NB_HOME``, or ``~/.weshop_nb``: where history and caches live."""
    return Path(os.environ.get(HOME_VAR) or Path.home() / ".weshop_nb").expanduser()


def history_enabled() -> bool:
    """False when ``WESHOP_NB_HISTORY`` is ``off`` (or 0, false, no): nothing is recorded or opened."""
    return os.environ.get(HISTORY_VAR, "").strip().lower() not in _OFF


def insecure_allowed() -> bool:
    """True when ``WESHOP_ALLOW_INSECURE`` is ``1`` (or on, true, yes): plain http:// to another host is allowed."""
    return os.environ.get(ALLOW_INSECURE_VAR, "").strip().lower() in _ON
