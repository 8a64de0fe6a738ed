"""The history's schema and statements, derived from the record table, for SQLite and PostgreSQL.

Tasks and the catalogue have small fixed tables. The executions table is the record
table of :mod:`weshop_nb.work._records` (each column whose home is ``executions``) plus
bookkeeping; a column added there is added to existing histories when they are opened
(:func:`add_new_columns`, :func:`postgres_schema`), and the insert and the select follow
by themselves.

SQLite gets its tables from the versioned ``MIGRATIONS``; PostgreSQL from SQLAlchemy
tables made of the same column definitions (:func:`postgres_tables`). Statements are
written once, in the SQL both understand (``?`` values, upserts with ``ON CONFLICT``,
columns of the updated row named with their table); :func:`postgres_sql` rewrites the
few words that differ (SQLite's two-argument ``MAX`` is PostgreSQL's ``GREATEST``).
"""

from __future__ import annotations

import re
import sqlite3
from collections.abc import Collection
from dataclasses import dataclass
from functools import lru_cache
from typing import TYPE_CHECKING, Any

from ._records import COLUMNS

if TYPE_CHECKING:
    from sqlalchemy import MetaData

__all__ = [
    "MIGRATIONS",
    "SCHEMA_VERSION",
    "UPSERT_TASK",
    "UPSERT_EXECUTION",
    "JOINED_VALUES",
    "select_executions",
    "add_new_columns",
    "UPSERT_CATALOGUE",
    "UPSERT_UPLOAD",
    "UPSERT_RATING",
    "VERSION_TABLE",
    "EXECUTION_NAMES",
    "TABLES",
    "postgres_tables",
    "postgres_schema",
    "postgres_sql",
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

#: Every table of a history, in the order a copy fills them (executions before what refers to them).
TABLES = ("tasks", "executions", "catalogue", "ratings", "preferences", "uploads")

UPSERT_TASK = """
INSERT INTO tasks (source, task_id, agent_name, agent_version, task_name, original_image, init_params, first_seen,
                   last_seen)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (source, task_id) DO UPDATE SET
    agent_name = COALESCE(excluded.agent_name, tasks.agent_name),
    agent_version = COALESCE(excluded.agent_version, tasks.agent_version),
    task_name = COALESCE(excluded.task_name, tasks.task_name),
    original_image = COALESCE(excluded.original_image, tasks.original_image),
    init_params = CASE WHEN excluded.init_params = '{}' THEN tasks.init_params ELSE excluded.init_params END,
    last_seen = excluded.last_seen
"""
# A catalogue entry or an upload seen again replaces what was known (the service renamed it, uploaded again).
UPSERT_CATALOGUE = """
INSERT INTO catalogue (source, kind, id, name, raw) VALUES (?, ?, ?, ?, ?)
ON CONFLICT (source, kind, id) DO UPDATE SET name = excluded.name, raw = excluded.raw
"""
# The latest rating wins, even when an older one arrives after it (two kernels at once).
UPSERT_RATING = """
INSERT INTO ratings (source, execution_id, picture, rater, stars, rated_at) VALUES (?, ?, ?, ?, ?, ?)
ON CONFLICT (source, execution_id, picture, rater) DO UPDATE SET stars = excluded.stars, rated_at = excluded.rated_at
WHERE excluded.rated_at >= ratings.rated_at
"""
UPSERT_UPLOAD = """
INSERT INTO uploads (source, sha256, url, uploaded_at) VALUES (?, ?, ?, ?)
ON CONFLICT (source, sha256) DO UPDATE SET url = excluded.url, uploaded_at = excluded.uploaded_at
"""


@dataclass(frozen=True)
class Statement:
    """An SQL statement and the names of its ``?`` values, in order."""

    sql: str
    names: tuple[str, ...]


def _qualified(merge: str, names: set[str]) -> str:
    """``merge`` with the stored row's columns named ``executions.x``: PostgreSQL finds a bare name ambiguous."""
    return re.sub(r"(?<![.\w'])([a-z_]+)\b(?!\s*\()", lambda m: f"executions.{m[1]}" if m[1] in names else m[1], merge)


def _upsert_execution() -> Statement:
    names = tuple(name for name, _, _ in _EXECUTION_COLUMNS)
    updates = ",\n    ".join(
        f"{name} = {_qualified(merge, set(names))}" for name, _, merge in _EXECUTION_COLUMNS if merge
    )
    sql = (
        f"INSERT INTO executions ({', '.join(names)}) VALUES ({', '.join('?' * len(names))})\n"
        f"ON CONFLICT ({', '.join(_KEY)}) DO UPDATE SET\n    {updates}"
    )
    return Statement(sql, names)


UPSERT_EXECUTION = _upsert_execution()
#: The executions table's own columns, in the order of ``UPSERT_EXECUTION``'s values.
EXECUTION_NAMES = UPSERT_EXECUTION.names

#: Record columns kept in other tables: the SQL that lists their values by row id, in a
#: table small beside the executions (a task's name, a location's), so each value is read
#: once rather than once per execution.
JOINED_VALUES = {
    c.name: f"SELECT rowid, {c.name} FROM tasks" if c.home == "tasks" else "SELECT rowid, name FROM catalogue"
    for c in COLUMNS
    if c.home != "executions"
}
#: Each table a record column may come from: the row id read of it, and how it is joined.
_JOINS = {
    "tasks": ("t.rowid", "LEFT JOIN tasks t ON t.source = e.source AND t.task_id = e.task_id"),
    "location": (
        "l.rowid",
        "LEFT JOIN catalogue l ON l.source = e.source AND l.kind = 'location' AND l.id = e.location_id",
    ),
    "fashion_model": (
        "m.rowid",
        "LEFT JOIN catalogue m ON m.source = e.source AND m.kind = 'fashion_model' AND m.id = e.fashion_model_id",
    ),
}


def select_executions(names: Collection[str]) -> tuple[str, tuple[str, ...]]:
    """The query of the record columns ``names`` and the homes it joins (each a key of ``_JOINS``).

    It reads those columns in ``COLUMNS`` order (NULL for those of :data:`JOINED_VALUES`),
    then the row ids of their joined rows (in the order of the homes returned), then
    ``first_seen`` (which orders executions not yet timed). Only the tables those
    columns need are joined: a read of a few columns of 100k executions (a comparison)
    spares a third of its time that way.
    """
    wanted = [c for c in COLUMNS if c.name in names]
    homes = tuple(dict.fromkeys(c.home for c in wanted if c.home != "executions"))
    read = [f"e.{c.name}" if c.home == "executions" else f"NULL AS {c.name}" for c in wanted]
    read += [_JOINS[home][0] for home in homes]
    joins = "".join(f"{_JOINS[home][1]}\n" for home in homes)
    return f"SELECT {', '.join(read)}, e.first_seen AS first_seen\nFROM executions e\n{joins}", homes


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


# -- PostgreSQL ------------------------------------------------------------------------------

#: The version of the tables a PostgreSQL history holds is kept in a table of its own (SQLite
#: has ``PRAGMA user_version``); its one row says which ``SCHEMA_VERSION`` made them.
VERSION_TABLE = "weshop_schema"
#: Two kernels opening a new PostgreSQL history at once: the one that holds this lock makes
#: the tables, the other waits and finds them made.
SCHEMA_LOCK = 0x5745_5348_4F50  # "WESHOP"


def _rowid() -> Any:
    """SQLite's implicit ``rowid``, made explicit: ``executions()`` reads the names of tasks and
    catalogue entries by it (:data:`JOINED_VALUES`), once per row of those small tables."""
    from sqlalchemy import BigInteger, Column, Identity

    return Column("rowid", BigInteger, Identity(), nullable=False, unique=True)


def postgres_tables(metadata: MetaData) -> None:
    """Every table of a history, as SQLAlchemy tables on ``metadata``: the same columns and keys as SQLite's."""
    from sqlalchemy import BigInteger, Column, Double, Index, Integer, Table, Text

    types = {"TEXT": Text, "INTEGER": BigInteger, "REAL": Double}  # SQLite's integers are 64-bit, its reals double

    def columns(spec: str, keys: tuple[str, ...]) -> list[Any]:
        made = []
        for part in spec.split(","):
            name, sql_type, *rest = part.split()
            made.append(Column(name, types[sql_type], primary_key=name in keys, nullable=name in keys or not rest))
        return made

    Table(
        "tasks",
        metadata,
        *columns(
            "source TEXT !, task_id TEXT !, agent_name TEXT, agent_version TEXT, task_name TEXT, original_image TEXT, "
            "init_params TEXT, first_seen REAL, last_seen REAL",
            ("source", "task_id"),
        ),
        Column("deleted", Integer, nullable=False, server_default="0"),
        _rowid(),
    )
    executions = Table(
        "executions",
        metadata,
        *(Column(name, types[t], primary_key=name in _KEY) for name, t, _ in _EXECUTION_COLUMNS),
    )
    Index("executions_by_task", executions.c.source, executions.c.task_id)
    Index("executions_by_time", executions.c.executed_at)
    Table("catalogue", metadata, *columns("source TEXT !, kind TEXT !, id INTEGER !, name TEXT, raw TEXT",
                                          ("source", "kind", "id")), _rowid())  # fmt: skip
    Table(
        "ratings",
        metadata,
        *columns(
            "source TEXT !, execution_id TEXT !, picture INTEGER !, rater TEXT !, stars INTEGER !, rated_at REAL !",
            ("source", "execution_id", "picture", "rater"),
        ),
    )
    preferences = Table(
        "preferences",
        metadata,
        Column("id", BigInteger, primary_key=True, autoincrement=True),  # SQLite's rowid
        *columns(
            "source TEXT !, by_columns TEXT !, left_execution TEXT !, left_picture INTEGER !, right_execution TEXT !, "
            "right_picture INTEGER !, choice TEXT !, rater TEXT !, judged_at REAL !",
            (),
        ),
    )
    Index("preferences_by_columns", preferences.c.by_columns)
    Table("uploads", metadata, *columns("source TEXT !, sha256 TEXT !, url TEXT !, uploaded_at REAL !",
                                        ("source", "sha256")))  # fmt: skip
    Table(VERSION_TABLE, metadata, Column("version", Integer, nullable=False))


def postgres_schema(connection: Any, describe: str) -> None:
    """Make or bring up to date the tables of the PostgreSQL history on ``connection`` (a SQLAlchemy connection).

    One transaction under an advisory lock: a kernel either finds the tables made and
    current, or makes them while the others wait. Columns the record table gained since
    (``ALTER TABLE ... ADD COLUMN``) reach an existing history as they reach an old file.
    """
    from sqlalchemy import MetaData, inspect, text

    from ..service._errors import HistoryError

    metadata = MetaData()
    postgres_tables(metadata)
    with connection.begin():
        connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": SCHEMA_LOCK})
        metadata.create_all(connection, checkfirst=True)
        version = connection.execute(text(f"SELECT MAX(version) FROM {VERSION_TABLE}")).scalar()
        if version is None:
            connection.execute(text(f"INSERT INTO {VERSION_TABLE} (version) VALUES (:v)"), {"v": SCHEMA_VERSION})
        elif version > SCHEMA_VERSION:
            raise HistoryError(
                f"The history at {describe} was written by a newer weshop_nb (schema {version}).", reason="newer"
            )
        elif version < SCHEMA_VERSION:
            connection.execute(text(f"UPDATE {VERSION_TABLE} SET version = :v"), {"v": SCHEMA_VERSION})
        present = {column["name"] for column in inspect(connection).get_columns("executions")}
        for name, sql_type, _ in _EXECUTION_COLUMNS:
            if name not in present:
                pg_type = {"TEXT": "TEXT", "INTEGER": "BIGINT", "REAL": "DOUBLE PRECISION"}[sql_type]
                connection.execute(text(f"ALTER TABLE executions ADD COLUMN IF NOT EXISTS {name} {pg_type}"))


@lru_cache(maxsize=256)
def postgres_sql(sql: str) -> str:
    """``sql`` as PostgreSQL (psycopg) reads it: ``%s`` for ``?``, ``GREATEST`` for the two-argument ``MAX``.

    The statements here never hold ``?`` or ``%`` inside a quoted text (values are passed
    apart), so the rewrite needs no SQL parser.
    """
    sql = sql.replace("%", "%%").replace("?", "%s")
    return re.sub(r"\bMAX\((?=[^()]*(?:\([^()]*\)[^()]*)*,)", "GREATEST(", sql)
