"""Every task, execution and result image the package sees, kept in SQLite.

The service remembers only the 20 most recent executions of a task, and a kernel
forgets everything when it restarts. This store keeps the whole record, written as it
is seen (one transaction per event), in ``~/.weshop_nb/history.sqlite3`` or under
``WESHOP_NB_HOME``. The schema is versioned (``PRAGMA user_version``) and migrates
forward; WAL mode lets two kernels write at once. Records say which base URL (service
or emulator) they came from. The API key is never stored: nothing here receives it.

``WESHOP_NB_HISTORY=off`` turns recording off.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Iterable, Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from .errors import HistoryError
from .models import AgentInfo, Execution, Task
from .records import FRAME_COLUMNS

if TYPE_CHECKING:
    import pandas as pd

    from .comparison import Comparison

__all__ = ["History", "default_history", "home_dir", "record_event"]

SCHEMA_VERSION = 2
_MIGRATIONS = (
    # v1: tasks, executions (with the parameters people filter on as columns), images.
    """
    CREATE TABLE tasks (
        source TEXT NOT NULL, task_id TEXT NOT NULL, agent_name TEXT, agent_version TEXT, task_name TEXT,
        original_image TEXT, init_params TEXT, first_seen REAL, last_seen REAL, deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (source, task_id));
    CREATE TABLE executions (
        source TEXT NOT NULL, execution_id TEXT NOT NULL, task_id TEXT, status TEXT, executed_at TEXT,
        params TEXT, prompt TEXT, negative_prompt TEXT, mask_type TEXT, generated_content TEXT, pose TEXT,
        location_id INTEGER, fashion_model_id INTEGER, batch_count INTEGER, n_images INTEGER, images TEXT,
        error TEXT, first_seen REAL, last_seen REAL,
        PRIMARY KEY (source, execution_id));
    CREATE TABLE images (
        source TEXT NOT NULL, execution_id TEXT NOT NULL, slot INTEGER NOT NULL, status TEXT, url TEXT,
        PRIMARY KEY (source, execution_id, slot));
    """,
    # v2: names of locations and fashion models, so ids read as names; indexes for filters.
    """
    CREATE TABLE catalogue (
        source TEXT NOT NULL, kind TEXT NOT NULL, id INTEGER NOT NULL, name TEXT, raw TEXT,
        PRIMARY KEY (source, kind, id));
    CREATE INDEX executions_by_task ON executions (source, task_id);
    CREATE INDEX executions_by_time ON executions (executed_at);
    """,
)

_UPSERT_TASK = """
INSERT INTO tasks (source, task_id, agent_name, agent_version, task_name, original_image, init_params, first_seen,
                   last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, task_id) DO UPDATE SET
    agent_name = COALESCE(excluded.agent_name, agent_name),
    agent_version = COALESCE(excluded.agent_version, agent_version),
    task_name = COALESCE(excluded.task_name, task_name),
    original_image = COALESCE(excluded.original_image, original_image),
    init_params = CASE WHEN excluded.init_params = '{}' THEN init_params ELSE excluded.init_params END,
    last_seen = excluded.last_seen
"""
# A terminal status is final: an older reply arriving late never turns success back into running.
_UPSERT_EXECUTION = """
INSERT INTO executions (source, execution_id, task_id, status, executed_at, params, prompt, negative_prompt,
                        mask_type, generated_content, pose, location_id, fashion_model_id, batch_count, n_images,
                        images, error, first_seen, last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, execution_id) DO UPDATE SET
    task_id = COALESCE(excluded.task_id, task_id),
    status = CASE WHEN status IN ('success', 'failed') THEN status ELSE excluded.status END,
    executed_at = COALESCE(excluded.executed_at, executed_at),
    n_images = MAX(COALESCE(n_images, 0), excluded.n_images),
    images = CASE WHEN excluded.n_images >= COALESCE(n_images, 0) THEN excluded.images ELSE images END,
    error = COALESCE(excluded.error, error),
    last_seen = excluded.last_seen
"""
_UPSERT_IMAGE = """
INSERT INTO images (source, execution_id, slot, status, url) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source, execution_id, slot) DO UPDATE SET
    status = excluded.status, url = COALESCE(NULLIF(excluded.url, ''), url)
"""
_SELECT_EXECUTIONS = """
SELECT e.task_id, e.execution_id, t.agent_name, t.agent_version, t.task_name, t.original_image, e.status,
       e.executed_at, e.prompt, e.negative_prompt, e.mask_type, e.generated_content, e.pose, e.location_id,
       l.name AS location_name, e.fashion_model_id, m.name AS fashion_model_name, e.batch_count, e.n_images,
       e.images, e.source
FROM executions e
LEFT JOIN tasks t ON t.source = e.source AND t.task_id = e.task_id
LEFT JOIN catalogue l ON l.source = e.source AND l.kind = 'location' AND l.id = e.location_id
LEFT JOIN catalogue m ON m.source = e.source AND m.kind = 'fashion_model' AND m.id = e.fashion_model_id
"""


def home_dir() -> Path:
    """``WESHOP_NB_HOME``, or ``~/.weshop_nb``: where history and caches live."""
    return Path(os.environ.get("WESHOP_NB_HOME") or Path.home() / ".weshop_nb").expanduser()


def _int_or_none(value: Any) -> int | None:
    try:
        return int(value)
    except (TypeError, ValueError):
        return None


class History:
    """The history store: write with ``record_*``, read with :meth:`executions`, :meth:`images`, :meth:`compare`.

    Parameters
    ----------
    path : str or Path, optional
        The SQLite file; default ``home_dir() / "history.sqlite3"``. Opened on first use.
    timeout : float
        Seconds to wait for another kernel's write before giving up with :class:`HistoryError`.
    """

    def __init__(self, path: str | os.PathLike[str] | None = None, *, timeout: float = 5.0) -> None:
        self.path = Path(path) if path is not None else home_dir() / "history.sqlite3"
        self.timeout = timeout
        self._lock = threading.RLock()
        self._conn: sqlite3.Connection | None = None

    def __repr__(self) -> str:
        return f"History({str(self.path)!r})"

    # -- the connection ----------------------------------------------------------------

    def _db(self) -> sqlite3.Connection:
        if self._conn is None:
            try:
                self.path.parent.mkdir(parents=True, exist_ok=True)
                conn = sqlite3.connect(self.path, timeout=self.timeout, isolation_level=None, check_same_thread=False)
                conn.execute("PRAGMA journal_mode=WAL")
                conn.execute("PRAGMA synchronous=NORMAL")
                self._migrate(conn)
            except sqlite3.DatabaseError as exc:
                raise self._error(exc) from None
            except OSError as exc:
                raise HistoryError(f"Cannot open the history at {self.path}: {exc}") from None
            self._conn = conn
        return self._conn

    def _error(self, exc: sqlite3.Error) -> HistoryError:
        text = str(exc)
        if "locked" in text or "busy" in text:
            return HistoryError(f"The history at {self.path} is locked by another program ({text}); try again.")
        return HistoryError(
            f"The history at {self.path} cannot be used ({text}). Move the file aside to start a new history; "
            "the service still holds your recent executions."
        )

    def _migrate(self, conn: sqlite3.Connection) -> None:
        version = conn.execute("PRAGMA user_version").fetchone()[0]
        if version > SCHEMA_VERSION:
            raise HistoryError(f"The history at {self.path} was written by a newer weshop_nb (schema {version}).")
        for number in range(version, SCHEMA_VERSION):
            conn.execute("BEGIN IMMEDIATE")
            try:
                if conn.execute("PRAGMA user_version").fetchone()[0] == number:  # another kernel may have done it
                    for statement in filter(str.strip, _MIGRATIONS[number].split(";")):
                        conn.execute(statement)
                    conn.execute(f"PRAGMA user_version = {number + 1}")
                conn.execute("COMMIT")
            except BaseException:
                conn.execute("ROLLBACK")
                raise

    def _write(self, statements: Iterable[tuple[str, Sequence[Any]]]) -> None:
        with self._lock:
            conn = self._db()
            try:
                conn.execute("BEGIN IMMEDIATE")
                for sql, values in statements:
                    conn.execute(sql, values)
                conn.execute("COMMIT")
            except sqlite3.Error as exc:
                if conn.in_transaction:
                    conn.execute("ROLLBACK")
                raise self._error(exc) from None

    def _read(self, sql: str, values: Sequence[Any] = ()) -> list[sqlite3.Row]:
        with self._lock:
            conn = self._db()
            try:
                return conn.execute(sql, values).fetchall()
            except sqlite3.Error as exc:
                raise self._error(exc) from None

    def close(self) -> None:
        with self._lock:
            if self._conn is not None:
                self._conn.close()
                self._conn = None

    @property
    def schema_version(self) -> int:
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
        statements = [(_UPSERT_TASK, (*row, json.dumps(init, default=str), now, now))]
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
            p = e.params
            when = e.executed_at.strftime("%Y-%m-%d %H:%M:%S") if e.executed_at else None
            images = e.images
            values = (
                source, e.id, e.task_id or task_id, e.status, when, json.dumps(dict(p), default=str),
                p.get("textDescription"), p.get("negTextDescription"), p.get("maskType"),
                p.get("generatedContent"), p.get("pose"), _int_or_none(p.get("locationId")),
                _int_or_none(p.get("fashionModelId")), _int_or_none(p.get("batchCount")), len(images),
                "\n".join(images), e.error, now, now,
            )  # fmt: skip
            statements.append((_UPSERT_EXECUTION, values))
            for slot, result in enumerate(e.results):
                statements.append((_UPSERT_IMAGE, (source, e.id, slot, result.status, result.image)))
        return statements

    def record_agent_info(self, info: AgentInfo, source: str) -> None:
        """Names of locations and fashion models, so ids can be shown as names."""
        sql = "INSERT OR REPLACE INTO catalogue (source, kind, id, name, raw) VALUES (?, ?, ?, ?, ?)"
        rows = [(sql, (source, "location", e.id, e.name, json.dumps(dict(e.raw)))) for e in info.locations]
        rows += [(sql, (source, "fashion_model", e.id, e.name, json.dumps(dict(e.raw)))) for e in info.fashion_models]
        self._write(rows)

    # -- reading -------------------------------------------------------------------------

    def executions(
        self,
        *,
        task: str | None = None,
        status: str | Sequence[str] | None = None,
        since: str | datetime | None = None,
        until: str | datetime | None = None,
        text: str | None = None,
        source: str | None = None,
        limit: int | None = None,
    ) -> pd.DataFrame:
        """One row per execution, oldest first (the ``limit`` most recent when given).

        Columns are those of :data:`weshop_nb.records.FRAME_COLUMNS`, with real dtypes.
        ``text`` keeps executions whose prompt contains it (case-insensitive).
        """
        from .frames import executions_frame

        where, values = self._filters(task, status, since, until, text, source)
        # Executions not yet timed by the service sort by when we first saw them.
        order = "COALESCE(e.executed_at, datetime(e.first_seen, 'unixepoch', 'localtime')) DESC, e.first_seen DESC"
        sql = f"{_SELECT_EXECUTIONS} {where} ORDER BY {order}"
        if limit is not None:
            sql += f" LIMIT {int(limit)}"
        rows = [dict(zip(FRAME_COLUMNS, row, strict=True)) for row in reversed(self._read(sql, values))]
        for row in rows:
            row["images"] = row["images"].split("\n") if row["images"] else []
        return executions_frame(rows)

    @staticmethod
    def _filters(task: Any, status: Any, since: Any, until: Any, text: Any, source: Any) -> tuple[str, list[Any]]:
        clauses, values = [], []
        if task:
            clauses.append("e.task_id = ?")
            values.append(str(task))
        if status:
            statuses = [status] if isinstance(status, str) else list(status)
            clauses.append(f"e.status IN ({', '.join('?' * len(statuses))})")
            values += [s.lower() for s in statuses]
        for bound, op in ((since, ">="), (until, "<=")):
            if bound is not None:
                clauses.append(f"e.executed_at {op} ?")
                values.append(str(bound)[:19].replace("T", " "))
        if text:
            clauses.append("LOWER(e.prompt) LIKE ?")
            values.append(f"%{text.lower()}%")
        if source:
            clauses.append("e.source = ?")
            values.append(source)
        return ("WHERE " + " AND ".join(clauses)) if clauses else "", values

    def images(self, **filters: Any) -> pd.DataFrame:
        """One row per result image that succeeded, with its execution's parameters."""
        frame = self.executions(**filters)
        frame = frame[frame["n_images"] > 0].explode("images").rename(columns={"images": "image"})
        frame["slot"] = frame.groupby("execution_id").cumcount().astype("Int64")
        frame["image"] = frame["image"].astype("string")
        return frame.drop(columns=["n_images"]).reset_index(drop=True)

    def unfinished(self, source: str | None = None) -> pd.DataFrame:
        """Executions last seen pending or running: the ones to watch again after a restart."""
        return self.executions(status=["pending", "running"], source=source)

    def task_ids(self, source: str | None = None, include_deleted: bool = False) -> list[str]:
        sql = "SELECT task_id FROM tasks WHERE (? IS NULL OR source = ?)"
        if not include_deleted:
            sql += " AND deleted = 0"
        return [row[0] for row in self._read(sql + " ORDER BY first_seen", (source, source))]

    def sync(self, client: Any, task_id: str | None = None) -> int:
        """Fetch what the service holds for known tasks (or one) and merge it; returns executions seen."""
        from .errors import InvalidRequestError

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
        from .comparison import Comparison

        """Pictures side by side: rows are the values of ``by[0]``, columns those of ``by[1]``.

        Only executions that succeeded have pictures; other statuses given in ``filters`` are ignored.
        """
        keys = [b.strip() for b in (by.split(",") if isinstance(by, str) else by) if b.strip()]
        filters["status"] = "success"
        frame = self.executions(**filters)
        unknown = [k for k in keys if k not in frame.columns]
        if not keys or len(keys) > 2 or unknown:
            raise ValueError(f"compare by one or two of: {', '.join(frame.columns)} (got {', '.join(keys) or 'none'}).")
        return Comparison(frame, keys, fetch=fetch)


_default: History | None = None
_default_lock = threading.Lock()


def default_history() -> History | None:
    """The history of this process at ``home_dir()``, or None when ``WESHOP_NB_HISTORY=off``."""
    global _default
    if os.environ.get("WESHOP_NB_HISTORY", "").lower() in ("off", "0", "false", "no"):
        return None
    path = home_dir() / "history.sqlite3"
    with _default_lock:
        if _default is None or _default.path != path:
            if _default is not None:
                _default.close()
            _default = History(path)
        return _default


def record_event(kind: str, payload: Any, source: str) -> None:
    """The listener wired to :mod:`weshop_nb.events` when weshop_nb is imported."""
    history = default_history()
    if history is not None:
        history.record(kind, payload, source)  # kinds it does not keep are ignored there
