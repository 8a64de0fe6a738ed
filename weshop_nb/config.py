"""Where weshop_nb keeps things and which environment variables it reads.

Imports nothing of weshop_nb, so every layer may use it.
"""

from __future__ import annotations

import os
import shutil
from pathlib import Path

__all__ = [
    "API_KEY_VAR",
    "BASE_URL_VAR",
    "ALLOW_INSECURE_VAR",
    "API_VAR",
    "APIS",
    "HOME_VAR",
    "HISTORY_VAR",
    "HISTORY_URL_VAR",
    "RATER_VAR",
    "home_dir",
    "history_enabled",
    "history_url",
    "insecure_allowed",
    "folder_problem",
]

API_KEY_VAR = "WESHOP_API_KEY"
BASE_URL_VAR = "WESHOP_BASE_URL"
ALLOW_INSECURE_VAR = "WESHOP_ALLOW_INSECURE"
#: Which of the service's APIs the client speaks: ``v1`` (tasks) or ``runs`` (agent runs).
API_VAR = "WESHOP_API"
APIS = ("v1", "runs")
HOME_VAR = "WESHOP_NB_HOME"
HISTORY_VAR = "WESHOP_NB_HISTORY"
#: A history a team shares: ``postgresql://user@host:5432/db`` keeps every table there (else SQLite at home).
HISTORY_URL_VAR = "WESHOP_NB_HISTORY_URL"
#: Who rates and judges pictures (else the operating system's user name).
RATER_VAR = "WESHOP_NB_RATER"
_OFF = ("off", "0", "false", "no")
_ON = ("on", "1", "true", "yes")
#: Less free space than this is a full disk: SQLite alone wants 32 KB to open a history.
LOW_SPACE = 1 << 20


def environ_value(name: str) -> str | None:
    """The environment variable ``name``, or None when it is unset or blank (a blank one means unset)."""
    return os.environ.get(name, "").strip() or None


def home_dir() -> Path:
    """``WESHOP_NB_HOME``, or ``~/.weshop_nb``: where history and caches live."""
    return Path(os.environ.get(HOME_VAR) or Path.home() / ".weshop_nb").expanduser()


def history_enabled() -> bool:
    """False when ``WESHOP_NB_HISTORY`` is ``off`` (or 0, false, no): nothing is recorded or opened."""
    return os.environ.get(HISTORY_VAR, "").strip().lower() not in _OFF


def history_url() -> str | None:
    """``WESHOP_NB_HISTORY_URL`` when set: the database that holds the history instead of the SQLite file."""
    return os.environ.get(HISTORY_URL_VAR, "").strip() or None


def insecure_allowed() -> bool:
    """True when ``WESHOP_ALLOW_INSECURE`` is ``1`` (or on, true, yes): plain http:// to another host is allowed."""
    return os.environ.get(ALLOW_INSECURE_VAR, "").strip().lower() in _ON


def folder_problem(folder: str | os.PathLike[str]) -> tuple[str, str] | None:
    """Why files cannot be written in ``folder``: ``(reason, words)``, or None when nothing visibly stops it.

    ``reason`` is ``"not_a_folder"`` (a file stands where it or a parent must be),
    ``"read_only"`` (a read-only file system, or no write permission) or ``"full"``. A
    folder not made yet is judged by its nearest existing parent.
    """
    existing = Path(folder)
    while not existing.exists() and existing.parent != existing:
        existing = existing.parent
    if not existing.is_dir():
        return "not_a_folder", f"{existing} is a file, not a folder"
    try:
        read_only = bool(os.statvfs(existing).f_flag & os.ST_RDONLY) if hasattr(os, "statvfs") else False
        free = shutil.disk_usage(existing).free
    except OSError:
        return None
    if read_only:
        return "read_only", f"{existing} is on a read-only file system"
    if not os.access(existing, os.W_OK | os.X_OK):
        return "read_only", f"{existing} is read-only for this user"
    if free < LOW_SPACE:
        return "full", f"the disk holding {existing} is full ({free // 1024} KB free)"
    return None
