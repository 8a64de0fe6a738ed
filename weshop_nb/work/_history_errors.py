"""Why the history cannot be used, told apart by cause, with the advice that fits each.

A full disk, a read-only folder, another program's lock, a damaged file and a folder in
the file's place all reach us as terse sqlite3 or OS errors ("disk I/O error", "unable
to open database file"). Only a damaged file is worth moving aside; the others leave an
intact history that must be kept, so the cause is found before any advice is given.

A history on a PostgreSQL server fails in other ways: the server cannot be reached,
refuses the login, has no such database, or the user may not write there. Each is told
apart (:func:`diagnose_postgres`) without the driver's traceback, and its text never holds
the password: the server is named by its URL with the password hidden.
"""

from __future__ import annotations

import errno
from pathlib import Path

from ..config import folder_problem
from ..service._errors import HistoryError

__all__ = [
    "FULL",
    "READ_ONLY",
    "LOCKED",
    "CORRUPT",
    "NOT_A_FILE",
    "NOT_A_FOLDER",
    "UNREACHABLE",
    "LOGIN",
    "NO_DATABASE",
    "diagnose",
    "diagnose_postgres",
]

FULL, READ_ONLY, LOCKED, CORRUPT = "full", "read_only", "locked", "corrupt"
NOT_A_FILE, NOT_A_FOLDER = "not_a_file", "not_a_folder"
UNREACHABLE, LOGIN, NO_DATABASE = "unreachable", "login", "no_database"

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


# What libpq and the server say, by cause (the server's SQLSTATE where it sends one).
_LOGIN_TEXTS = ("password authentication failed", "no password supplied", "authentication failed",
                "role \"", "no pg_hba.conf entry")  # fmt: skip
_UNREACHABLE_TEXTS = ("connection refused", "could not translate host name", "timeout expired", "could not connect",
                      "server closed the connection", "connection is closed", "network is unreachable",
                      "no route to host", "consuming input failed", "the connection is lost", "is the server running",
                      "connection timed out", "name or service not known")  # fmt: skip
_LOGIN_STATES = ("28000", "28P01")
_PERMISSION_STATES = ("42501",)
_NO_DATABASE_STATES = ("3D000",)
_BUSY_STATES = ("40P01", "40001", "55P03", "57014", "53300")


def _reason_text(exc: BaseException, secret: str | None) -> str:
    """The first line of the driver's message (its own, not a traceback), without ``secret``."""
    exc = getattr(exc, "orig", None) or exc  # SQLAlchemy wraps the driver's error
    # The first lines: a query's error goes on with the statement, which is not the reason.
    lines = [line for line in str(exc).splitlines() if line.strip() and not line.startswith(("LINE ", " "))]
    text = " ".join(" ".join(lines[:2]).split()) or type(exc).__name__
    text = text.removeprefix("connection failed: ")
    return text.replace(secret, "***") if secret else text


def diagnose_postgres(exc: BaseException, where: str, secret: str | None = None) -> HistoryError:
    """The :class:`HistoryError` for ``exc`` (a psycopg or SQLAlchemy error) met using the PostgreSQL history ``where``.

    ``where`` names the server with the password hidden; ``secret`` (the password, if the
    URL held one) is blanked out of the driver's words. Its ``reason`` is UNREACHABLE,
    LOGIN, NO_DATABASE, READ_ONLY (no permission to write), LOCKED, or None.
    """
    driver = getattr(exc, "orig", None) or exc
    state = getattr(driver, "sqlstate", None)
    text = _reason_text(exc, secret)
    lowered = text.lower()
    if state in _LOGIN_STATES or any(words in lowered for words in _LOGIN_TEXTS):
        return HistoryError(
            f"The history server {where} refused the login ({text}). Check the user name, and give the password "
            "in PGPASSWORD or ~/.pgpass (better kept there than in the URL); the server's administrator can say "
            "whether this user may connect.",
            reason=LOGIN,
        )
    if state in _NO_DATABASE_STATES or ('database "' in lowered and "does not exist" in lowered):
        return HistoryError(
            f"The history server {where} has no such database ({text}). Create it (createdb, or CREATE DATABASE) "
            "or name another in the URL.",
            reason=NO_DATABASE,
        )
    if state in _PERMISSION_STATES:
        return HistoryError(
            f"The history at {where} cannot be written: this user lacks the permission ({text}). Ask the "
            "server's administrator to grant it, or set WESHOP_NB_HISTORY_URL to a database you may write.",
            reason=READ_ONLY,
        )
    if state in _BUSY_STATES:
        return HistoryError(f"The history at {where} is busy ({text}); try again.", reason=LOCKED)
    if state is None and any(words in lowered for words in _UNREACHABLE_TEXTS):
        return HistoryError(
            f"The history server {where} cannot be reached ({text}). Check that it runs and that the host and port "
            "are right, or unset WESHOP_NB_HISTORY_URL to use the history on this machine. Nothing was lost: "
            "what was recorded stays on the server.",
            reason=UNREACHABLE,
        )
    return HistoryError(f"The history at {where} cannot be used ({text}). It was left as it is.")
