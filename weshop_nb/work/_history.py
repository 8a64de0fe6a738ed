"""Every task, execution and result image the package sees, kept in SQLite or on a PostgreSQL server.

The service remembers only the 20 most recent executions of a task, and a kernel
forgets everything when it restarts. This store keeps the whole record, written as it
is seen (one transaction per event), in ``~/.weshop_nb/history.sqlite3`` or under
``WESHOP_NB_HOME``. The schema is versioned (``PRAGMA user_version``) and migrates
forward; WAL mode lets two kernels write at once. Records say which base URL (service
or emulator) they came from. The API key is never stored: nothing here receives it.

A team shares one history on a PostgreSQL server: ``WESHOP_NB_HISTORY_URL`` (or
``History(url=...)``) keeps every table there, with the same merge rules, so several
kernels on several machines write at once (:mod:`._history_postgres`). Every read and
write below runs the same statements on either store; the few words that differ are
rewritten for PostgreSQL (:func:`._history_schema.postgres_sql`).

``WESHOP_NB_HISTORY=off`` turns recording off.
"""

from __future__ import annotations

import contextlib
import gc
import inspect
import itertools
import json
import numbers
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Collection, Iterable, Iterator, Sequence
from datetime import date, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from ..config import history_enabled, history_url, home_dir
from ..service._catalogue import AgentInfo
from ..service._errors import HistoryError
from ..service._models import Execution, Task
from ._filters import FilterError, where_clause
from ._history_errors import FULL, READ_ONLY, diagnose
from ._history_schema import (
    EXECUTION_NAMES,
    JOINED_VALUES,
    MIGRATIONS,
    SCHEMA_VERSION,
    TABLES,
    UPSERT_CATALOGUE,
    UPSERT_EXECUTION,
    UPSERT_RATING,
    UPSERT_TASK,
    UPSERT_UPLOAD,
    VERSION_TABLE,
    add_new_columns,
    postgres_sql,
    select_executions,
)
from ._records import COLUMNS, FRAME_COLUMNS, LIST_COLUMNS, execution_values
from ._save import DEFAULT_FOLDER

if TYPE_CHECKING:
    import pandas as pd

    from ._comparison import Comparison
    from ._judgement import Judging

__all__ = ["History", "default_history", "require_history", "record_event", "use_history_url"]

#: Rows read from SQLite at a time when a query is read column by column.
_CHUNK = 1000
#: The ratings' columns of :meth:`History.executions` come after this one: beside what came of it.
_RATINGS_AFTER = "n_images"
#: The columns of :meth:`History.executions`: the record's, with the ratings.
_AT = FRAME_COLUMNS.index(_RATINGS_AFTER) + 1
EXECUTIONS_COLUMNS = (*FRAME_COLUMNS[:_AT], "stars", "n_ratings", *FRAME_COLUMNS[_AT:])
#: The filters :meth:`History.executions` and :meth:`History.compare` take, as ``where_clause`` does.
_FILTERS = tuple(inspect.signature(where_clause).parameters)
#: What a comparison reads besides the columns it compares: its pictures, what orders and
#: rates them, and the task (a deleted task's pictures are drawn from kept copies).
_COMPARED = ("source", "execution_id", "task_id", "executed_at", "n_images", "images", "videos", "posters")
#: The record columns read from another table, and which.
_HOMES = {column.name: column.home for column in COLUMNS if column.name in JOINED_VALUES}


class History:
    """The history store: write with ``record_*``, read with :meth:`executions`, :meth:`images`, :meth:`compare`.

    Parameters
    ----------
    path : str or Path, optional
        The SQLite file; default ``home_dir() / "history.sqlite3"``. Opened on first use.
    timeout : float
        Seconds to wait for another kernel's write (or a server's answer) before giving up
        with :class:`HistoryError`.
    url : str, optional
        A history a team shares: ``postgresql://user@host:5432/db`` keeps every table on that
        server (the password is best left to ``PGPASSWORD`` or ``~/.pgpass``; one in the URL is
        never shown). ``sqlite:///path`` is a file. Without ``path`` or ``url``,
        ``WESHOP_NB_HISTORY_URL`` when set, else the file at home.
    """

    def __init__(
        self, path: str | os.PathLike[str] | None = None, *, timeout: float = 5.0, url: str | None = None
    ) -> None:
        from ._history_postgres import PostgresLink, is_postgres_url

        if path is None and url is None:
            url = history_url()
        self._server: PostgresLink | None = None
        if url is not None and is_postgres_url(url):
            self._server = PostgresLink(url, timeout)
        elif url is not None:
            scheme, _, rest = url.partition(":///")
            if scheme.lower() != "sqlite" or not rest:
                raise HistoryError(f"A history URL is postgresql://... or sqlite:///path; got a {scheme} URL.")
            path = rest
        self.path = (
            None
            if self._server is not None
            else (Path(path).expanduser() if path is not None else home_dir() / "history.sqlite3")
        )
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: Any = None
        #: Why the history is open for reading only (a full disk, a read-only folder), or None.
        self._read_only: HistoryError | None = None

    def __repr__(self) -> str:
        return f"History({self.where!r})"

    @property
    def where(self) -> str:
        """Where the history is kept: the SQLite file, or the server's URL with its password hidden."""
        return self._server.where if self._server is not None else str(self.path)

    @property
    def shared(self) -> bool:
        """True when the history is on a database server (several machines may write it)."""
        return self._server is not None

    # -- the connection ----------------------------------------------------------------

    def _db(self, *, write: bool = False) -> Any:
        if write and self._read_only is not None:
            self.close()  # space may have been freed, the folder remounted: try writing again
        if self._conn is None and self._server is not None:
            self._conn = self._server.connect()
        if self._conn is None:
            self._conn, self._read_only = self._open()
        if write and self._read_only is not None:
            raise self._read_only
        return self._conn

    def _open(self) -> tuple[sqlite3.Connection, HistoryError | None]:
        """A connection, and None; or, on a full disk or read-only folder, a read-only one and the reason."""
        try:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            conn = self._connect()
        except (sqlite3.DatabaseError, OSError) as exc:
            error = self._error(exc)
        else:
            return conn, None
        reader = self._reader() if error.reason in (FULL, READ_ONLY) else None
        if reader is None:
            raise error
        return reader, error

    def _connect(self) -> sqlite3.Connection:
        """A writable connection in WAL mode, its schema current.

        Two kernels opening a new history at once: one's switch to WAL can be refused
        ("database is locked") at once, without waiting for the busy timeout, so that
        is tried again, for up to ``timeout`` seconds.
        """
        deadline = time.monotonic() + self.timeout
        while True:
            conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
            try:
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._migrate(conn)
                return conn
            except sqlite3.OperationalError as exc:
                conn.close()
                if "locked" not in str(exc) or time.monotonic() > deadline:
                    raise
            time.sleep(0.05)

    def _reader(self) -> sqlite3.Connection | None:
        """The history opened read-only without its WAL index, when that reads everything it holds.

        A WAL database wants to create its ``-shm`` index even to be read, which a full
        disk or a read-only folder refuses. Opened "immutable" it needs none; that is
        exact only when no write waits in the ``-wal`` file and the schema is current.
        """
        wal = self.path.with_name(self.path.name + "-wal")
        if not self.path.is_file() or (wal.exists() and wal.stat().st_size > 0):
            return None
        try:
            conn = sqlite3.connect(
                self.path.resolve().as_uri() + "?mode=ro&immutable=1", uri=True, check_same_thread=False
            )
            if conn.execute("PRAGMA user_version").fetchone()[0] == SCHEMA_VERSION:
                return conn
            conn.close()
        except sqlite3.Error:
            pass
        return None

    def _error(self, exc: BaseException) -> HistoryError:
        if self._server is not None:
            if getattr(self._conn, "closed", False) or getattr(self._conn, "broken", False):
                self.close()  # the server went away: the next use connects again
            return self._server.error(exc)
        return diagnose(exc, self.path)

    def _errors(self) -> tuple[type[BaseException], ...]:
        """The errors this store's driver raises."""
        if self._server is not None:
            from ._history_postgres import driver_errors

            return driver_errors()
        return (sqlite3.Error,)

    def _sql(self, sql: str) -> str:
        """``sql`` (written for SQLite, with ``?`` values) as this store reads it."""
        return postgres_sql(sql) if self._server is not None else sql

    def _local_time(self, seconds: str) -> str:
        """SQL for the local time (as ``executed_at`` is stored) of the Unix time ``seconds``."""
        if self._server is None:
            return f"datetime({seconds}, 'unixepoch', 'localtime')"
        offset = time.localtime().tm_gmtoff  # the server's clock zone may differ from this machine's
        return f"to_char(to_timestamp({seconds} + {offset}) AT TIME ZONE 'UTC', 'YYYY-MM-DD HH24:MI:SS')"

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(
                f"The history at {self.path} was written by a newer weshop_nb (schema {version}).", reason="newer"
            )
        for number in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] == number:  # another kernel may have done it
                    for statement in filter(str.strip, MIGRATIONS[number].split(";")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise
        add_new_columns(conn)

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        if self._server is not None:
            self._write_server(list(statements))
            return
        with self._lock:
            conn = self._db(write=True)
            try:
                conn.execute("BEGIN IMMEDIATE")
                for sql, values in statements:
                    conn.execute(sql, values)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._error(exc) from None

    def _write_server(self, statements: list[tuple[str, Sequence[Any]]]) -> None:
        """One transaction on the server; a deadlock with another kernel's write is tried again.

        Runs of the same statement go as one batch (psycopg pipelines them): a task's
        executions, a copy's thousands of rows, without a round trip each.
        """
        from ._history_postgres import RETRY_STATES

        errors = self._errors()
        with self._lock:
            for attempt in itertools.count():
                try:
                    conn = self._db(write=True)
                    with conn.transaction(), conn.cursor() as cursor:
                        for sql, run in itertools.groupby(statements, key=lambda statement: statement[0]):
                            cursor.executemany(self._sql(sql), [values for _, values in run])
                    return
                except errors as exc:
                    if getattr(exc, "sqlstate", None) in RETRY_STATES and attempt < 5:
                        time.sleep(0.02 * (attempt + 1))
                        continue
                    raise self._error(exc) from None

    def _read(self, sql: str, values: Sequence[Any] = ()) -> list[Any]:
        with self._lock:
            try:
                conn = self._db()
                return conn.execute(self._sql(sql), values).fetchall()
            except self._errors() as exc:
                raise self._error(exc) from None

    def _read_columns(
        self, sql: str, values: Sequence[Any] = (), *, lists: Collection[int] = (), shared: Collection[int] = ()
    ) -> list[list[Any]]:
        """The rows of a query as one list per column.

        The columns at ``lists`` hold lists joined by newlines: they come split. In the
        columns at ``shared``, equal values are one object: SQLite gives a new string for
        every row, and a source, a status or a task name repeats over thousands of them.
        Read in chunks, so neither every row as a tuple nor every joined text exists at once
        beside the columns. At 100k executions each of these is some 20 MB less at the peak.
        """
        with self._lock:
            try:
                conn = self._db()
                cursor = conn.execute(self._sql(sql), values)
                columns: list[list[Any]] = [[] for _ in cursor.description]
                seen: list[dict[Any, Any]] = [{} for _ in cursor.description]
                while chunk := cursor.fetchmany(_CHUNK):
                    for number, part in enumerate(zip(*chunk, strict=True)):
                        if number in lists:
                            columns[number].extend([text.split("\n") if text else [] for text in part])
                        elif number in shared:
                            columns[number].extend(map(seen[number].setdefault, part, part))
                        else:
                            columns[number].extend(part)
                    del chunk
            except self._errors() as exc:
                raise self._error(exc) from None
        return columns

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None
            if self._server is not None:
                self._server.close()
            self._read_only = None

    def sql(self, statement: str, values: Sequence[Any] = ()) -> list[tuple[Any, ...]]:
        """Run one SQL statement on this history's own connection and return its rows.

        For looking beyond what the other methods show: counts, ``PRAGMA`` settings (some,
        such as ``max_page_count`` or ``query_only``, hold for this connection only). The
        tables are private and may change between versions; prefer :meth:`executions`.
        Values are ``?`` on either store. Errors are :class:`HistoryError`.
        """
        return [tuple(row) for row in self._read(statement, values)]

    @property
    def schema_version(self) -> int:
        if self._server is not None:
            return int(self._read(f"SELECT MAX(version) FROM {VERSION_TABLE}")[0][0])
        return int(self._read("PRAGMA user_version")[0][0])

    # -- writing -------------------------------------------------------------------------

    def record(self, kind: str, payload: Any, source: str) -> None:
        """Record one event of :mod:`weshop_nb.events`."""
        if kind == "task":
            self.record_task(payload, source)
        elif kind == "execution":
            self.record_executions([payload], source)
        elif kind == "agent_info":
            self.record_agent_info(payload, source)
        elif kind == "task_deleted":
            self._write([("UPDATE tasks SET deleted = 1 WHERE source = ? AND task_id = ?", (source, payload))])

    def record_task(self, task: Task, source: str) -> None:
        """A task and every execution it carries."""
        now = time.time()
        init = dict(task.init_params)
        row = (source, task.id, task.agent_name, task.agent_version, init.get("taskName"), init.get("originalImage"))
        statements = [(UPSERT_TASK, (*row, json.dumps(init, default=str), now, now))]
        statements += self._execution_statements(task.executions, source, now, task.id)
        self._write(statements)

    def record_executions(self, executions: Iterable[Execution], source: str) -> None:
        self._write(self._execution_statements(executions, source, time.time()))

    @staticmethod
    def _execution_statements(
        executions: Iterable[Execution], source: str, now: float, task_id: str | None = None
    ) -> list[tuple[str, Sequence[Any]]]:
        statements: list[tuple[str, Sequence[Any]]] = []
        for e in executions:
            values = execution_values(e, source, task_id)
            values.update(params=json.dumps(dict(e.params), default=str), first_seen=now, last_seen=now)
            values["finished_seen"] = now if e.done else None
            statements.append((UPSERT_EXECUTION.sql, [values[name] for name in UPSERT_EXECUTION.names]))
        return statements

    def record_agent_info(self, info: AgentInfo, source: str) -> None:
        """Names of locations and fashion models, so ids can be shown as names."""
        sql = UPSERT_CATALOGUE
        rows = [(sql, (source, "location", e.id, e.name, json.dumps(dict(e.raw)))) for e in info.locations]
        rows += [(sql, (source, "fashion_model", e.id, e.name, json.dumps(dict(e.raw)))) for e in info.fashion_models]
        self._write(rows)

    # -- reading -------------------------------------------------------------------------

    def executions(
        self,
        *,
        task: str | None = None,
        status: str | Sequence[str] | None = None,
        since: str | date | datetime | None = None,
        until: str | date | datetime | None = None,
        text: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """One row per execution, oldest first (the ``limit`` most recent when given).

        Columns are those of the record table (``weshop_nb.work._records.COLUMNS``), with real dtypes.
        ``text`` keeps executions whose prompt contains it (case-insensitive). ``since`` and
        ``until`` take dates, datetimes, text pandas reads, or spans such as ``"7d"`` and
        ``"yesterday"``, compared as times; a day alone means the whole day, so
        ``until="2026-11-25"`` includes the 25th. ``status`` is one or several of pending,
        running, success, failed. Anything else is a ``FilterError`` (a ``ValueError``)
        listing what is accepted.
        """
        frame = self._records(FRAME_COLUMNS, task, status, since, until, text, source, limit=limit)
        return self._with_stars(frame)

    def _records(self, names: Sequence[str], *filters: Any, limit: int | None = None) -> pd.DataFrame:
        """The record columns ``names`` (``executed_at`` among them) of the executions ``filters`` keep
        (``where_clause``'s), oldest first: what :meth:`executions` reads, or a part of it."""
        from ._frames import columns_frame

        if limit is not None and (isinstance(limit, bool) or not isinstance(limit, numbers.Integral) or limit < 0):
            raise FilterError(f"limit must be a whole number of executions, 0 or more; got {limit!r}.")
        where, values = where_clause(*filters)
        names = [name for name in FRAME_COLUMNS if name in names]
        select, homes = select_executions(names)
        sql = f"{select} {where}"
        if limit is not None:  # the most recent, by the order of _oldest_first, newest first
            order = f"COALESCE(e.executed_at, {self._local_time('e.first_seen')}) DESC, e.first_seen DESC"
            sql += f" ORDER BY {order} LIMIT {int(limit)}"
        # The list columns come split; the others' repeated values are shared (all but the ids and times).
        lists = {number for number, name in enumerate(names) if name in LIST_COLUMNS}
        shared = {n for n, name in enumerate(names) if n not in lists and name not in ("execution_id", "executed_at")}
        with _collector_paused():
            read = self._read_columns(sql, values, lists=lists, shared=shared)
            if limit is not None:
                for column in read:
                    column.reverse()
            first_seen = read.pop()
            row_ids = dict(zip(homes, read[len(names) :], strict=True))
            columns = dict(zip(names, read[: len(names)], strict=True))
            del read  # columns_frame lets each go once typed
            for name in names:
                if name in _HOMES:
                    named = dict(self._read(JOINED_VALUES[name]))
                    columns[name] = list(map(named.get, row_ids[_HOMES[name]]))
            frame = columns_frame(columns)
            return frame if limit is not None else _oldest_first(frame, first_seen)

    def _with_stars(self, frame: pd.DataFrame) -> pd.DataFrame:
        """``frame`` with ``stars`` (the mean over its pictures and raters) and ``n_ratings`` per execution."""
        import pandas as pd

        from ._judgement import stars_by_execution

        stars = stars_by_execution(self)
        place = frame.columns.get_loc(_RATINGS_AFTER) + 1  # ids stay last
        if stars.empty:  # the usual case: no copy of a large frame for two empty columns
            frame.insert(place, "stars", pd.Series(float("nan"), index=frame.index))
            frame.insert(place + 1, "n_ratings", 0)
            return frame
        merged = frame.merge(stars, on=["source", "execution_id"], how="left")
        merged["n_ratings"] = merged["n_ratings"].fillna(0).astype("int64")
        return merged[[*frame.columns[:place], "stars", "n_ratings", *frame.columns[place:]]]

    def images(self, **filters: Any) -> pd.DataFrame:
        """One row per result image that succeeded, with its execution's parameters."""
        from ._frames import images_frame

        return images_frame(self.executions(**filters))

    def save(
        self,
        folder: str | os.PathLike[str] = DEFAULT_FOLDER,
        pictures: pd.DataFrame | None = None,
        *,
        fetch: Callable[[str], bytes] | None = None,
        progress: bool | Callable[[int, int], None] | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Download pictures into ``folder`` under names a person can read; those already there are skipped.

        ``pictures`` are rows of :meth:`images` (say, filtered with pandas); without them,
        every picture and video that ``filters`` (those of :meth:`executions`) keep. Returns
        one row per file with ``path``, ``outcome`` and ``save_error`` first.
        """
        from ._frames import results_frame
        from ._save import public_fetch, with_progress

        chosen = results_frame(self.executions(**filters)) if pictures is None else pictures
        return with_progress(chosen, folder, fetch or public_fetch(), progress)

    def unfinished(self, source: str | None = None) -> pd.DataFrame:
        """Executions last seen pending or running: the ones to watch again after a restart."""
        return self.executions(status=["pending", "running"], source=source)

    def typical_latency(self, agent: str, source: str, *, recent: int = 50) -> float | None:
        """Seconds the ``recent`` latest finished executions of ``agent`` from ``source`` took, typically; or None.

        Each took at most ``finished_seen - first_seen``: it was seen finished at one poll and
        had finished a little before. The lower quartile stays close to the true latency while
        ignoring the few executions that happened to wait a long time for their poll.
        """
        sql = (
            "SELECT e.finished_seen - e.first_seen FROM executions e JOIN tasks t "
            "ON t.source = e.source AND t.task_id = e.task_id WHERE e.source = ? AND t.agent_name = ? "
            "AND e.status = 'success' AND e.finished_seen > e.first_seen ORDER BY e.finished_seen DESC LIMIT ?"
        )
        took = sorted(row[0] for row in self._read(sql, (source, agent, int(recent))))
        return took[len(took) // 4] if took else None

    def task_ids(self, source: str | None = None, include_deleted: bool = False) -> list[str]:
        sql = "SELECT task_id FROM tasks WHERE (? IS NULL OR source = ?)"
        if not include_deleted:
            sql += " AND deleted = 0"
        return [row[0] for row in self._read(sql + " ORDER BY first_seen", (source, source))]

    def idle_task_ids(self, source: str | None = None) -> list[str]:
        """Tasks (not deleted) with no execution recorded: a launch may have died before any reply."""
        sql = (
            "SELECT task_id FROM tasks t WHERE (? IS NULL OR source = ?) AND deleted = 0 AND NOT EXISTS "
            "(SELECT 1 FROM executions e WHERE e.source = t.source AND e.task_id = t.task_id) ORDER BY first_seen"
        )
        return [row[0] for row in self._read(sql, (source, source))]

    def sync(self, client: Any, task_id: str | None = None) -> int:
        """Fetch what the service holds for known tasks (or one) and merge it; returns executions seen."""
        from ..service._errors import InvalidRequestError

        seen = 0
        for known in [task_id] if task_id else self.task_ids(source=client.base_url):
            try:
                seen += len(client.get_task(known).executions)  # recorded through the client's events
            except InvalidRequestError:
                self.record("task_deleted", known, client.base_url)
        return seen

    def compare(
        self,
        by: str | Sequence[str] = ("prompt", "location_name"),
        *,
        fetch: Callable[[str], bytes] | None = None,
        **filters: Any,
    ) -> Comparison:
        """Pictures side by side: rows are the values of ``by[0]``, columns those of ``by[1]``.

        Only executions that succeeded have pictures; other statuses given in ``filters`` are ignored.
        """
        from ._comparison import Comparison

        keys = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
        unknown = [k for k in keys if k not in EXECUTIONS_COLUMNS]
        if not keys or len(keys) > 2 or unknown:
            raise ValueError(
                f"compare by one or two of: {', '.join(EXECUTIONS_COLUMNS)} (got {', '.join(keys) or 'none'})."
            )
        filters["status"] = "success"
        where = [filters.pop(name, None) for name in _FILTERS]
        limit = filters.pop("limit", None)
        if filters:  # as executions() would say it
            raise TypeError(f"compare() got unexpected filters: {', '.join(filters)}.")
        # Only the columns it shows are read (a third of the time of every column at 100k
        # executions); to_frame() reads the rest of the same executions when asked.
        frame = self._with_stars(self._records({*keys, *_COMPARED}, *where, limit=limit))
        from ._judgement import picture_stars

        def every_column() -> pd.DataFrame:
            return self._with_stars(self._records(FRAME_COLUMNS, *where, limit=limit))

        return Comparison(frame, keys, fetch=fetch, stars=picture_stars(self, frame), every_column=every_column)

    # -- moving in -------------------------------------------------------------------------

    def copy_to(self, url: str | History, *, batch: int = _CHUNK) -> dict[str, int]:
        """Copy everything this history holds into the one at ``url`` (say, the team's PostgreSQL server).

        Rows are merged by the history's own rules: an execution already there keeps its
        most advanced state, a rater's later rating wins, a judgement already there is not
        added again. Copying twice copies nothing twice. Returns the rows added to each
        table (all zeros the second time).
        """
        target = url if isinstance(url, History) else History(url=url, timeout=self.timeout)
        if target.where == self.where:
            raise HistoryError(f"The history at {self.where} cannot be copied into itself.", reason="same")
        before = target._counts()
        for sql, statements in self._copy_statements():
            rows = self._read(sql)
            for start in range(0, len(rows), batch):
                target._write(statement for row in rows[start : start + batch] for statement in statements(row))
            del rows
        after = target._counts()
        if not isinstance(url, History):
            target.close()
        return {table: after[table] - before[table] for table in TABLES}

    def _counts(self) -> dict[str, int]:
        return {table: int(self._read(f"SELECT COUNT(*) FROM {table}")[0][0]) for table in TABLES}

    @staticmethod
    def _copy_statements() -> list[tuple[str, Callable[[Sequence[Any]], list[tuple[str, Sequence[Any]]]]]]:
        """Per table (in ``TABLES`` order): what to read here, and the statements merging one of its rows elsewhere."""
        task_columns = "source, task_id, agent_name, agent_version, task_name, original_image, init_params, " \
            "first_seen, last_seen, deleted"  # fmt: skip
        deleted = "UPDATE tasks SET deleted = 1 WHERE source = ? AND task_id = ?"
        preference_columns = ("source", "by_columns", "left_execution", "left_picture", "right_execution",
                              "right_picture", "choice", "rater", "judged_at")  # fmt: skip
        # A judgement has no key of its own: one equal in every column is the same judgement, copied before.
        new_preference = (
            f"INSERT INTO preferences ({', '.join(preference_columns)}) SELECT {', '.join('?' * 9)} "
            "WHERE NOT EXISTS (SELECT 1 FROM preferences WHERE "
            + " AND ".join(f"{name} = ?" for name in preference_columns)
            + ")"
        )
        return [
            (f"SELECT {task_columns} FROM tasks",
             lambda r: [(UPSERT_TASK, r[:9])] + ([(deleted, r[:2])] if r[9] else [])),
            (f"SELECT {', '.join(EXECUTION_NAMES)} FROM executions",
             lambda r: [(UPSERT_EXECUTION.sql, r)]),
            ("SELECT source, kind, id, name, raw FROM catalogue", lambda r: [(UPSERT_CATALOGUE, r)]),
            ("SELECT source, execution_id, picture, rater, stars, rated_at FROM ratings",
             lambda r: [(UPSERT_RATING, r)]),
            (f"SELECT {', '.join(preference_columns)} FROM preferences",
             lambda r: [(new_preference, (*r, *r))]),
            ("SELECT source, sha256, url, uploaded_at FROM uploads", lambda r: [(UPSERT_UPLOAD, r)]),
        ]  # fmt: skip

    # -- uploads ---------------------------------------------------------------------------

    def known_upload(self, source: str, sha256: str) -> str | None:
        """The URL ``source`` gave the picture whose content hashes to ``sha256``, if it was uploaded before."""
        rows = self._read("SELECT url FROM uploads WHERE source = ? AND sha256 = ?", (source, sha256))
        return rows[0][0] if rows else None

    def remember_upload(self, source: str, sha256: str, url: str | None) -> None:
        """Keep where a picture was uploaded (``url=None`` forgets it: the service refused it)."""
        if url is None:
            self._write([("DELETE FROM uploads WHERE source = ? AND sha256 = ?", (source, sha256))])
        else:
            self._write([(UPSERT_UPLOAD, (source, sha256, url, time.time()))])

    # -- what people thought ---------------------------------------------------------------

    def rate(self, execution_id: str, stars: int | None, picture: int = 0, *, source: str | None = None) -> None:
        """Give one picture 1 to 5 stars (``None`` clears), as ``WESHOP_NB_RATER`` (else your user name).

        ``picture`` is the picture's place in its execution (0 is the first). A rater's latest
        rating of a picture is the one that counts. Stars out of range, an execution the
        history has not seen, or a picture it does not have: :class:`RatingError`, nothing stored.
        """
        from ._judgement import rate

        rate(self, execution_id, stars, picture, source=source)

    def ratings(self, *, rater: str | None = None, **filters: Any) -> pd.DataFrame:
        """One row per rating: ``rater``, ``stars``, ``rated_at``, ``picture``, ``image``, then the execution's columns.

        ``filters`` are those of :meth:`executions`; ``rater`` keeps one person's.
        """
        from ._judgement import ratings_frame

        return ratings_frame(self, rater, **filters)

    def rank(
        self,
        by: str | Sequence[str] = "prompt",
        *,
        method: str = "stars",
        rater: str | None = None,
        **filters: Any,
    ) -> pd.DataFrame:
        """Values of ``by`` ranked by what people preferred, best first.

        ``by`` is one column or several (a comma-separated string or a list); ``filters``
        are those of :meth:`executions`; ``rater`` ranks one person's judgements (all
        pooled by default). One row per value with ``n``, ``mean``, ``low`` and ``high``,
        where ``low``..``high`` is a 95 % interval: two values whose intervals overlap are
        not yet told apart.

        ``method="stars"`` ranks star ratings: ``n`` ratings, their plain ``mean``, and
        Student's t interval of the mean with the spread estimated as if one more rating
        lay half a star away (a conjugate prior), so that a few identical ratings do not claim
        certainty and one rating gives 1 to 5; clipped to 1..5.

        ``method="pairwise"`` ranks blind judgements (:meth:`judge`) with the Bradley-Terry
        model (a tie is half a win each): ``mean`` is the chance of beating a value of
        average strength, its interval from the model's standard errors; plus ``wins``,
        ``losses``, ``ties``.
        """
        from ._judgement import rank

        return rank(self, by, method=method, rater=rater, **filters)

    def judge(self, by: str | Sequence[str] = "prompt", *, seed: int | None = None, **filters: Any) -> Judging:
        """Blind pairs of pictures that differ only in ``by``: pick left, right or tie.

        Returns a :class:`Judging`, shown in a notebook as a panel with the two pictures
        and Left, Tie and Right buttons. From Python: ``judging.pair`` (the two pictures
        shown: execution id, picture place, URL), ``judging.choose("left")`` records and
        moves on, ``judging.done`` when no pair is left. Judgements are kept in the history
        (who, when) and ranked by ``rank(by, method="pairwise")``.
        """
        from ._judgement import Judging

        return Judging(self, by, seed=seed, **filters)


def _oldest_first(frame: pd.DataFrame, first_seen: list[float | None]) -> pd.DataFrame:
    """``frame`` by ``executed_at``, then by when we first saw each execution.

    An execution the service has not timed yet counts as run when we first saw it (to the
    second, local time). Sorted here rather than in SQL: SQLite would sort whole rows, for a
    fifth of the read, where this sorts two numbers per row, and rows are mostly stored in
    order already, so most reads move nothing.
    """
    import numpy as np

    when = frame["executed_at"].to_numpy(dtype="datetime64[us]", copy=True)
    seen = np.array(first_seen, dtype="float64")
    untimed = np.flatnonzero(np.isnat(when) & ~np.isnan(seen))
    if len(untimed):
        local = [datetime.fromtimestamp(int(seen[n])) for n in untimed]
        when[untimed] = np.array(local, dtype="datetime64[us]")
    order = np.lexsort((seen, when.view("int64")))  # NaT is the smallest int64: first, as NULL in SQL
    if (order[1:] > order[:-1]).all():
        return frame
    return frame.take(order).reset_index(drop=True)


@contextlib.contextmanager
def _collector_paused() -> Iterator[None]:
    """Python's cycle collector off for a while: none of the objects made meanwhile form cycles.

    Reading 100k executions makes some two million strings, tuples and lists; each full
    collection on the way would walk them all again, about a third of the time spent.
    """
    if not gc.isenabled():
        yield
        return
    gc.disable()
    try:
        yield
    finally:
        gc.enable()


_default: History | None = None
_default_key: str | Path | None = None
_default_lock = threading.Lock()
#: The history URL this process chose (``%config WeShopMagics.history_url``), before ``WESHOP_NB_HISTORY_URL``.
_chosen_url: str | None = None


def use_history_url(url: str | None) -> str:
    """Keep this process's history at ``url`` from now on (``None`` or ``""``: back to the setting, else the file).

    Returns ``url`` as it may be shown (its password hidden); given that shown form back, the
    URL chosen before is kept, password and all.
    """
    global _chosen_url
    url = (url or "").strip() or None
    if url is not None and _chosen_url is not None and url == _shown_url(_chosen_url):
        return url
    _chosen_url = url
    return _shown_url(url) if url is not None else ""


def _shown_url(url: str) -> str:
    from ._history_postgres import PostgresLink, is_postgres_url

    return PostgresLink(url, 0).where if is_postgres_url(url) else url


def default_history() -> History | None:
    """The history of this process, or None when ``WESHOP_NB_HISTORY=off``.

    On the server chosen by :func:`use_history_url` or ``WESHOP_NB_HISTORY_URL``, else at ``home_dir()``.
    """
    global _default, _default_key
    if not history_enabled():
        return None
    url = _chosen_url or history_url()
    key: str | Path = url if url is not None else home_dir() / "history.sqlite3"
    with _default_lock:
        if _default is None or _default_key != key:
            if _default is not None:
                _default.close()
            _default = History(url=url) if isinstance(key, str) else History(key)
            _default_key = key
        return _default


def require_history() -> History:
    """The default history, or :class:`HistoryError` saying it is off (no file is opened then)."""
    history = default_history()
    if history is None:
        raise HistoryError(
            "The history is off (WESHOP_NB_HISTORY=off): nothing is recorded or read. "
            "Unset WESHOP_NB_HISTORY and restart the kernel to keep one.",
            reason="off",
        )
    return history


def record_event(kind: str, payload: Any, source: str) -> None:
    """The listener wired to :mod:`weshop_nb.events` when weshop_nb is imported."""
    history = default_history()
    if history is not None:
        history.record(kind, payload, source)  # kinds it does not keep are ignored there
