"""The history's filters, read the way a person means them.

``since`` and ``until`` take a date, a datetime, text pandas can read, or a relative
span (``"7d"``, ``"3 hours ago"``, ``"today"``, ``"yesterday"``, ``"now"``). They are
compared as times, not text: a day given alone means the whole day, so
``until="2026-11-25"`` keeps the evening of the 25th. Times are the service's local
clock (it sends no zone); a zoned time is turned into this machine's local time first.
A value that cannot be read, or a status that does not exist, is a :class:`FilterError`
that lists what is accepted.
"""

from __future__ import annotations

import difflib
import re
from collections.abc import Sequence
from datetime import date, datetime, timedelta
from typing import Any

from ..contract import STATUSES

__all__ = ["FilterError", "time_bound", "statuses", "TIME_FORMS"]

#: The stored form of ``executed_at``: fixed width, so comparing the text compares the times.
STORED = "%Y-%m-%d %H:%M:%S"
TIME_FORMS = (
    'a date or datetime, text such as "2026-11-25" or "2026-11-25 14:30", '
    'a span back from now such as "7d", "12h", "30min", "2w" or "3 days ago", '
    'or "today", "yesterday", "now"'
)
_UNITS = {
    "s": 1, "sec": 1, "secs": 1, "second": 1, "seconds": 1,
    "m": 60, "min": 60, "mins": 60, "minute": 60, "minutes": 60,
    "h": 3600, "hr": 3600, "hrs": 3600, "hour": 3600, "hours": 3600,
    "d": 86400, "day": 86400, "days": 86400,
    "w": 604800, "wk": 604800, "week": 604800, "weeks": 604800,
}  # fmt: skip
_SPAN = re.compile(r"(\d+(?:\.\d+)?)\s*([a-z]+)(?:\s+ago)?")


class FilterError(ValueError):
    """A history filter that cannot be understood; the message lists what is accepted."""


def _whole_day(day: date, *, end: bool) -> tuple[str, datetime]:
    start = datetime(day.year, day.month, day.day)
    return ("<", start + timedelta(days=1)) if end else (">=", start)


def _local(moment: Any) -> datetime:
    """A naive local datetime of a datetime or pandas Timestamp, zoned or not."""
    if hasattr(moment, "to_pydatetime"):
        moment = moment.to_pydatetime()
    if moment.tzinfo is not None:
        moment = moment.astimezone().replace(tzinfo=None)
    return moment


def _parse_text(text: str, *, end: bool, now: datetime, name: str) -> tuple[str, datetime]:
    word = text.strip().lower()
    if word == "now":
        return ("<=" if end else ">="), now
    if word in ("today", "yesterday"):
        return _whole_day(now.date() - timedelta(days=word == "yesterday"), end=end)
    span = _SPAN.fullmatch(word)
    if span and span.group(2) in _UNITS:
        return ("<=" if end else ">="), now - timedelta(seconds=float(span.group(1)) * _UNITS[span.group(2)])
    import pandas as pd

    try:
        moment = pd.Timestamp(text.strip())
    except (ValueError, TypeError, OverflowError):
        moment = None
    if moment is None or moment is pd.NaT:
        unit = f" (spans use s, min, h, d or w, not {span.group(2)!r})" if span else ""
        raise FilterError(f"{name}={text!r} is not a time this understands{unit}. Accepted: {TIME_FORMS}.")
    local = _local(moment)
    if ":" not in text and local == datetime(local.year, local.month, local.day):
        return _whole_day(local.date(), end=end)  # a day named alone is the whole day
    return ("<=" if end else ">="), local


def time_bound(value: Any, *, end: bool, now: datetime | None = None) -> tuple[str, str] | None:
    """The SQL comparison and stored-form value for ``since`` (``end=False``) or ``until`` (``end=True``).

    Returns None for no bound. A date (or a day given as text) is the whole day: ``since``
    from its first second, ``until`` up to the next day's first.
    """
    if value is None:
        return None
    name = "until" if end else "since"
    now = now or datetime.now()
    if isinstance(value, datetime) or type(value).__name__ == "Timestamp":
        op, moment = ("<=" if end else ">="), _local(value)
    elif isinstance(value, date):
        op, moment = _whole_day(value, end=end)
    elif isinstance(value, str):
        op, moment = _parse_text(value, end=end, now=now, name=name)
    else:
        raise FilterError(
            f"{name} must be a date, a datetime or text, not {type(value).__name__} ({value!r}). "
            f"Accepted: {TIME_FORMS}."
        )
    return op, moment.strftime(STORED)


def statuses(status: str | Sequence[str] | None) -> list[str]:
    """The statuses asked for, lowercased; an unknown one is a :class:`FilterError` naming the right ones."""
    if not status:
        return []
    asked = [status] if isinstance(status, str) else list(status)
    known = []
    for value in asked:
        words = [w.strip().lower() for w in str(value).split(",") if w.strip()]
        for word in words:
            if word not in STATUSES:
                close = difflib.get_close_matches(word, STATUSES, n=1)
                hint = f" Did you mean {close[0]!r}?" if close else ""
                raise FilterError(f"Unknown status {value!r}.{hint} Accepted: {', '.join(STATUSES)}.")
            known.append(word)
    return known


def where_clause(task: Any, status: Any, since: Any, until: Any, text: Any, source: Any) -> tuple[str, list[Any]]:
    """The SQL ``WHERE`` of the history's executions query for these filters, and its values."""
    clauses, values = [], []
    if task:
        clauses.append("e.task_id = ?")
        values.append(str(task))
    wanted = statuses(status)
    if wanted:
        clauses.append(f"e.status IN ({', '.join('?' * len(wanted))})")
        values += wanted
    for bound in (time_bound(since, end=False), time_bound(until, end=True)):
        if bound is not None:
            clauses.append(f"e.executed_at {bound[0]} ?")
            values.append(bound[1])
    if text:
        clauses.append("LOWER(e.prompt) LIKE ?")
        values.append(f"%{text.lower()}%")
    if source:
        clauses.append("e.source = ?")
        values.append(source)
    return ("WHERE " + " AND ".join(clauses)) if clauses else "", values
