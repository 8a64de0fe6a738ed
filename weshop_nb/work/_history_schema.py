"""The history's SQLite schema and statements, derived from the record table.

Tasks and the catalogue have small fixed tables. The executions table is the record
table of :mod:`weshop_nb.work._records` (each column whose home is ``executions``) plus
bookkeeping; a column added there is added to existing files when they are opened
(:func:`add_new_columns`), and the insert and the select follow by themselves.
"""

from __future__ import annotations

import sqlite3
from dataclasses import dataclass

from ._records import COLUMNS

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "UPSERT_TASK",
    "UPSERT_EXECUTION",
    "SELECT_EXECUTIONS",
    "JOINED_VALUES",
    "JOINED_HOMES",
    "add_new_columns",
]

_SQL_TYPES = {"text": "TEXT", "status": "TEXT", "time": "TEXT", "list": "TEXT", "integer": "INTEGER"}
#: Kept beside the record columns: every parameter as JSON, when we first and last saw it, and
#: when we first saw it finished (so ``finished_seen - first_seen`` is about how long it took).
_BOOKKEEPING = (("params", "TEXT", None), ("first_seen", "REAL", None), ("last_seen", "REAL", "excluded.last_seen"),
                ("finished_seen", "REAL", "COALESCE(finished_seen, excluded.finished_seen)"))  # fmt: skip
_STORED = [c for c in COLUMNS if c.home == "executions"]
_EXECUTION_COLUMNS = [(c.name, _SQL_TYPES[c.kind], c.merge) for c in _STORED] + list(_BOOKKEEPING)
_KEY = ("source", "execution_id")

SCHEMA_VERSION = 3
MIGRATIONS = (
    # v1: tasks and executions (images were once kept in a table of their own; no longer written).
    """
    CREATE TABLE tasks (
        source TEXT NOT NULL, task_id TEXT NOT NULL, agent_name TEXT, agent_version TEXT, task_name TEXT,
        original_image TEXT, init_params TEXT, first_seen REAL, last_seen REAL, deleted INTEGER NOT NULL DEFAULT 0,
        PRIMARY KEY (source, task_id));
    CREATE TABLE executions (
        """
    + ", ".join(f"{name} {sql_type}{' NOT NULL' if name in _KEY else ''}" for name, sql_type, _ in _EXECUTION_COLUMNS)
    + """,
        PRIMARY KEY (source, execution_id));
    """,
    # v2: names of locations and fashion models, so ids read as names; indexes for filters.
    """
    CREATE TABLE catalogue (
        source TEXT NOT NULL, kind TEXT NOT NULL, id INTEGER NOT NULL, name TEXT, raw TEXT,
        PRIMARY KEY (source, kind, id));
    CREATE INDEX executions_by_task ON executions (source, task_id);
    CREATE INDEX executions_by_time ON executions (executed_at);
    """,
    # v3: what people thought (weshop_nb.work._judgement): star ratings, a rater's latest per picture;
    # blind pairwise judgements. And where each picture was uploaded, by content, so a garment set
    # launched again (another kernel, another day) uploads nothing.
    """
    CREATE TABLE ratings (
        source TEXT NOT NULL, execution_id TEXT NOT NULL, picture INTEGER NOT NULL, rater TEXT NOT NULL,
        stars INTEGER NOT NULL, rated_at REAL NOT NULL,
        PRIMARY KEY (source, execution_id, picture, rater));
    CREATE TABLE preferences (
        source TEXT NOT NULL, by_columns TEXT NOT NULL, left_execution TEXT NOT NULL, left_picture INTEGER NOT NULL,
        right_execution TEXT NOT NULL, right_picture INTEGER NOT NULL, choice TEXT NOT NULL, rater TEXT NOT NULL,
        judged_at REAL NOT NULL);
    CREATE INDEX preferences_by_columns ON preferences (by_columns);
    CREATE TABLE uploads (
        source TEXT NOT NULL, sha256 TEXT NOT NULL, url TEXT NOT NULL, uploaded_at REAL NOT NULL,
        PRIMARY KEY (source, sha256));
    """,
)

UPSERT_TASK = """
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


@dataclass(frozen=True)
class Statement:
    """An SQL statement and the names of its ``?`` values, in order."""

    sql: str
    names: tuple[str, ...]


def _upsert_execution() -> Statement:
    names = tuple(name for name, _, _ in _EXECUTION_COLUMNS)
    updates = ",\n    ".join(f"{name} = {merge}" for name, _, merge in _EXECUTION_COLUMNS if merge)
    sql = (
        f"INSERT INTO executions ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})\n"
        f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET\n    {updates}"
    )
    return Statement(sql, names)


UPSERT_EXECUTION = _upsert_execution()

#: Record columns kept in other tables: the SQL that lists their values by row id, in a
#: table small beside the executions (a task's name, a location's), so each value is read
#: once rather than once per execution.
JOINED_VALUES = {
    c.name: f"SELECT rowid, {c.name} FROM tasks" if c.home == "tasks" else "SELECT rowid, name FROM catalogue"
    for c in COLUMNS
    if c.home != "executions"
}
#: Each table a record column may come from, and the row id that ``SELECT_EXECUTIONS`` reads of it.
_ROW_IDS = {"tasks": "t.rowid", "location": "l.rowid", "fashion_model": "m.rowid"}
#: The record columns in ``FRAME_COLUMNS`` order (NULL for those of ``JOINED_VALUES``), then the row
#: ids of the joined rows (``JOINED_HOMES`` order), then ``first_seen`` (which orders executions not yet timed).
SELECT_EXECUTIONS = (
    "SELECT "
    + ", ".join(f"e.{c.name}" if c.home == "executions" else f"NULL AS {c.name}" for c in COLUMNS)
    + ", "
    + ", ".join(_ROW_IDS.values())
    + """, e.first_seen AS first_seen
FROM executions e
LEFT JOIN tasks t ON t.source = e.source AND t.task_id = e.task_id
LEFT JOIN catalogue l ON l.source = e.source AND l.kind = 'location' AND l.id = e.location_id
LEFT JOIN catalogue m ON m.source = e.source AND m.kind = 'fashion_model' AND m.id = e.fashion_model_id
"""
)
JOINED_HOMES = tuple(_ROW_IDS)


def add_new_columns(conn: sqlite3.Connection) -> None:
    """Give an existing executions table every column the record table has gained since it was made."""
    present = {row[1] for row in conn.execute("PRAGMA table_info(executions)")}
    for name, sql_type, _ in _EXECUTION_COLUMNS:
        if name not in present:
            try:
                conn.execute(f"ALTER TABLE executions ADD COLUMN {name} {sql_type}")
            except sqlite3.OperationalError as exc:  # another kernel added it a moment ago
                if "duplicate column" not in str(exc):
                    raise
