"""Reading one field of a service record without ever raising.

Each reader takes the raw value and a list to say what went wrong in: a value of the
wrong kind comes back empty (None, ``{}``, ``[]``, ``""``) and one sentence naming the
field and the value goes to the list, which the model keeps as its ``warnings``. The
models (:mod:`weshop_nb.service._models`) are built from these, so a malformed reply
costs a field, never a watcher thread.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any

__all__ = ["parse_time", "mapping", "records", "identifier", "url", "text", "integer"]

_TIME_FORMATS = ("%Y-%m-%d %H:%M:%S", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S.%f")


def _shown(value: Any) -> str:
    """A short repr of a bad value for a warning (escaped later, like every service string)."""
    shown = repr(value)
    return shown if len(shown) <= 40 else shown[:39] + "…"


def parse_time(value: Any, warnings: list[str] | None = None) -> datetime | None:
    """The service's ``executionTime`` (its local clock, no zone) as a naive datetime; None if it is not one."""
    if value in (None, ""):
        return None
    if isinstance(value, (int, float)) and not isinstance(value, bool):
        # Epoch seconds or milliseconds; the reference uses text, but be forgiving.
        try:
            return datetime.fromtimestamp(value / 1000 if value > 1e11 else value)
        except (OverflowError, OSError, ValueError):
            pass
    elif isinstance(value, str):
        for fmt in _TIME_FORMATS:
            try:
                return datetime.strptime(value.strip(), fmt)
            except ValueError:
                continue
    if warnings is not None:
        warnings.append(f"executionTime {_shown(value)} is not a time; left empty")
    return None


def mapping(raw: Mapping[str, Any], key: str, warnings: list[str]) -> dict[str, Any]:
    """``raw[key]`` as a dict: empty, with a warning, when the service sent something else."""
    value = raw.get(key)
    if value is None:
        return {}
    if isinstance(value, Mapping):
        return dict(value)
    warnings.append(f"{key} {_shown(value)} is not an object; left empty")
    return {}


def records(raw: Mapping[str, Any], key: str, warnings: list[str]) -> list[Mapping[str, Any]]:
    """The objects of the list ``raw[key]``; anything else is skipped, with a warning."""
    value = raw.get(key)
    if value is None or value == "":
        return []
    if not isinstance(value, (list, tuple)):
        warnings.append(f"{key} {_shown(value)} is not a list; left empty")
        return []
    kept = [entry for entry in value if isinstance(entry, Mapping)]
    if len(kept) < len(value):
        warnings.append(f"{len(value) - len(kept)} entry(ies) of {key} are not objects; skipped")
    return kept


def identifier(raw: Mapping[str, Any], key: str, warnings: list[str]) -> str:
    """An id sent as text or a number, as text; empty, with a warning, when it is neither."""
    value = raw.get(key)
    if value is None:
        return ""
    if isinstance(value, (str, int)) and not isinstance(value, bool):
        return str(value)
    warnings.append(f"{key} {_shown(value)} is not an id; left empty")
    return ""


def url(value: Any, warnings: list[str]) -> str | None:
    """An image URL, or None (with a warning when the service sent something that is not text)."""
    if value in (None, ""):
        return None
    if isinstance(value, str):
        return value
    warnings.append(f"image URL {_shown(value)} is not text; left empty")
    return None


def text(value: Any) -> str | None:
    """``value`` when it is text, else None (names the service may leave out)."""
    return value if isinstance(value, str) else None


def integer(value: Any) -> int | None:
    """``value`` as a whole number, or None when it is not one.

    The one lenient reading of a number the service (or a stored record) may send as text:
    ``80``, ``"80"`` and ``80.0`` are 80; None, ``""``, a boolean and anything ``int()``
    refuses are None.

    >>> integer("80"), integer(""), integer(True), integer("many")
    (80, None, None, None)
    """
    if value is None or value == "" or isinstance(value, bool):
        return None
    try:
        return int(value)
    except (TypeError, ValueError, OverflowError):
        return None
