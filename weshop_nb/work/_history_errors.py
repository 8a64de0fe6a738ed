"""Why the history cannot be used, told apart by cause, with the advice that fits each.

A full disk, a read-only folder, another program's lock, a damaged file and a folder in
the file's place all reach us as terse sqlite3 or OS errors ("disk I/O error", "unable
to open database file"). Only a damaged file is worth moving aside; the others leave an
intact history that must be kept, so the cause is found before any advice is given.
"""

from __future__ import annotations

import errno
from pathlib import Path

from ..config import folder_problem
from ..service._errors import HistoryError

__all__ = ["FULL", "READ_ONLY", "LOCKED", "CORRUPT", "NOT_A_FILE", "NOT_A_FOLDER", "diagnose"]

FULL, READ_ONLY, LOCKED, CORRUPT = "full", "read_only", "locked", "corrupt"
NOT_A_FILE, NOT_A_FOLDER = "not_a_file", "not_a_folder"

# SQLite's primary result codes (the low byte of an extended code).
_BUSY, _LOCKED, _READONLY, _CORRUPT, _FULL, _NOTADB = 5, 6, 8, 11, 13, 26
# Before Python 3.11 the codes are not on the exception; these texts are SQLite's own.
_TEXTS = {
    "database is locked": _BUSY,
    "database table is locked": _LOCKED,
    "attempt to write a readonly database": _READONLY,
    "database disk image is malformed": _CORRUPT,
    "database or disk is full": _FULL,
    "file is not a database": _NOTADB,
}
_KEEP = "The history itself is intact and is kept as it is."


def _primary_code(exc: BaseException) -> int | None:
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int):
        return code & 0xFF
    return next((value for text, value in _TEXTS.items() if text in str(exc)), None)


def diagnose(exc: BaseException, path: Path) -> HistoryError:
    """The :class:`HistoryError` for ``exc`` (sqlite3 or OS error) met while using the history at ``path``.

    Its ``reason`` is one of FULL, READ_ONLY, LOCKED, CORRUPT, NOT_A_FILE, NOT_A_FOLDER,
    or None when the cause is not known (then nothing is advised that would lose data).
    """
    text = str(exc)
    code = _primary_code(exc)
    os_errno = getattr(exc, "errno", None)
    if path.exists() and not path.is_file():
        return HistoryError(
            f"{path} is a folder, not a history file. Move it away, or set WESHOP_NB_HOME to another folder.",
            reason=NOT_A_FILE,
        )
    if code in (_BUSY, _LOCKED):
        return HistoryError(f"The history at {path} is locked by another program ({text}); try again.", reason=LOCKED)
    if code in (_CORRUPT, _NOTADB):
        return HistoryError(
            f"The history at {path} is damaged and cannot be used ({text}). Move the file aside to start a new "
            "history; the service still holds your recent executions.",
            reason=CORRUPT,
        )
    problem = folder_problem(path.parent)
    if code == _FULL or os_errno == errno.ENOSPC or (problem and problem[0] == FULL):
        words = problem[1] if problem and problem[0] == FULL else f"the disk holding {path.parent} is full"
        return HistoryError(
            f"The history at {path} cannot be written: {words}. Free some space and try again. {_KEEP}", reason=FULL
        )
    if problem and problem[0] == NOT_A_FOLDER:
        return HistoryError(
            f"The history cannot be kept at {path}: {problem[1]}. Move that file away, or set WESHOP_NB_HOME "
            "to a folder.",
            reason=NOT_A_FOLDER,
        )
    if problem or code == _READONLY or os_errno in (errno.EROFS, errno.EACCES, errno.EPERM):
        words = problem[1] if problem else f"{path} is read-only"
        return HistoryError(
            f"The history at {path} cannot be written: {words}. Set WESHOP_NB_HOME to a writable folder, or "
            f"WESHOP_NB_HISTORY=off to record nothing. {_KEEP}",
            reason=READ_ONLY,
        )
    return HistoryError(f"The history at {path} cannot be used ({text}). It was left as it is.")
