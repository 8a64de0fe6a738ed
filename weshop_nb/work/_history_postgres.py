"""The connection to a history kept on a PostgreSQL server (``WESHOP_NB_HISTORY_URL``).

SQLAlchemy reads the URL (and hides its password when it is shown), makes the tables from
the record table (:func:`._history_schema.postgres_schema`) and hands over one psycopg
connection, which the history then uses as it uses its SQLite one: the same statements,
rewritten for PostgreSQL by :func:`._history_schema.postgres_sql`, read column by column.

The connection is in autocommit mode, so a read holds no transaction open on the server
between calls; a write is one transaction. Its cursors bind values on the client: the
history's statements compare values that may be None (``? IS NULL``), whose type the
server cannot guess when they are sent apart.

A password left out of the URL is found by libpq as usual: ``PGPASSWORD``, then
``~/.pgpass`` (or ``PGPASSFILE``).
"""

from __future__ import annotations

import contextlib
from typing import Any

from ..service._errors import HistoryError
from ._history_errors import diagnose_postgres
from ._history_schema import postgres_schema

__all__ = ["RETRY_STATES", "PostgresLink", "driver_errors", "is_postgres_url"]

#: Written as ``postgresql://`` (as libpq and most tools take it); SQLAlchemy is told to use psycopg 3.
_SCHEMES = ("postgresql", "postgres", "postgresql+psycopg")
#: A write that met another kernel's write this way is tried again (deadlock, serialization failure).
RETRY_STATES = ("40P01", "40001")


def is_postgres_url(url: str) -> bool:
    """True for a ``postgresql://`` (or ``postgres://``, ``postgresql+psycopg://``) URL."""
    return url.split("://", 1)[0].lower() in _SCHEMES


def driver_errors() -> tuple[type[BaseException], ...]:
    """The errors psycopg and SQLAlchemy raise (imported only once a PostgreSQL history is used)."""
    import psycopg
    import sqlalchemy.exc

    return (psycopg.Error, sqlalchemy.exc.SQLAlchemyError)


class PostgresLink:
    """What a :class:`History` needs of a PostgreSQL server: its name, safe to show, and connections.

    Parameters
    ----------
    url : str
        ``postgresql://user[:password]@host[:port]/database[?options]``.
    timeout : float
        Seconds to wait for the server to answer a connection, and for another kernel's lock.
    """

    def __init__(self, url: str, timeout: float) -> None:
        try:
            import psycopg  # noqa: F401
            from sqlalchemy.engine import make_url
            from sqlalchemy.exc import ArgumentError
        except ImportError as exc:
            raise HistoryError(
                f"A history on PostgreSQL needs SQLAlchemy and psycopg, not installed here ({exc.name} is missing): "
                "pip install 'weshop_nb[postgres]', then restart the kernel; or unset WESHOP_NB_HISTORY_URL.",
                reason="not_installed",
            ) from None

        try:
            parsed = make_url(url)
        except ArgumentError:
            raise HistoryError(
                "The history URL cannot be read: write it as postgresql://user@host:5432/database.", reason="url"
            ) from None
        if parsed.get_backend_name() not in ("postgresql", "postgres"):
            raise HistoryError(f"A shared history is kept on PostgreSQL; got a {parsed.get_backend_name()} URL.")
        self._url = parsed.set(drivername="postgresql+psycopg")
        self._secret = parsed.password or None
        self.timeout = timeout
        self._engine: Any = None

    @property
    def where(self) -> str:
        """The server and database, its password hidden: ``postgresql://user:***@host:5432/db``."""
        return self._url.set(drivername="postgresql").render_as_string(hide_password=True)

    def error(self, exc: BaseException) -> HistoryError:
        """``exc`` from the driver as a :class:`HistoryError` with its cause and advice, the password blanked."""
        return diagnose_postgres(exc, self.where, self._secret)

    def connect(self) -> Any:
        """A psycopg connection in autocommit mode to a history whose tables are current."""
        import psycopg
        from sqlalchemy import create_engine
        from sqlalchemy.pool import NullPool

        if self._engine is None:
            self._engine = create_engine(
                self._url,
                poolclass=NullPool,  # one connection per history, kept by the history
                connect_args={
                    "cursor_factory": psycopg.ClientCursor,
                    "connect_timeout": max(1, round(self.timeout)),
                    "application_name": "weshop_nb",
                },
            )
        # Waiting for another kernel's lock (a schema change, a row being written) is bounded, as SQLite's
        # busy timeout is; past it, a HistoryError that says the history is busy.
        bounded = f"SET lock_timeout = {int(self.timeout * 1000)}"
        try:
            with self._engine.connect() as connection:
                connection.exec_driver_sql(bounded)
                connection.commit()
                postgres_schema(connection, self.where)
            raw = self._engine.raw_connection()
            conn = raw.driver_connection
            conn.autocommit = True
            conn.execute(bounded)
        except HistoryError:
            raise
        except driver_errors() as exc:
            raise self.error(exc) from None
        return _Kept(raw, conn)

    def close(self) -> None:
        if self._engine is not None:
            self._engine.dispose()
            self._engine = None


class _Kept:
    """A psycopg connection, and SQLAlchemy's handle on it, closed together."""

    def __init__(self, handle: Any, conn: Any) -> None:
        self._handle = handle
        self.conn = conn

    def __getattr__(self, name: str) -> Any:
        return getattr(self.conn, name)

    def close(self) -> None:
        with contextlib.suppress(Exception):  # a connection the server already dropped
            self._handle.close()
