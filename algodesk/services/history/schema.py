"""The history file's schema, its versions, and opening a connection the way the store needs."""

from __future__ import annotations

import sqlite3
import time
from collections.abc import Callable, Sequence
from pathlib import Path

from algodesk.services.history.records import HistoryError

Migration = Callable[[sqlite3.Connection], None]
"""Upgrades the schema by one version inside the caller's transaction."""


def _schema_v1(db: sqlite3.Connection) -> None:
    for statement in (
        """CREATE TABLE runs (run_id INTEGER PRIMARY KEY, started REAL NOT NULL, ended REAL,
            root TEXT NOT NULL, address TEXT NOT NULL, port INTEGER NOT NULL)""",
        """CREATE TABLE events (id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(run_id), time REAL NOT NULL,
            kind TEXT NOT NULL, json TEXT NOT NULL)""",
        "CREATE INDEX events_by_run ON events(run_id, id)",
        """CREATE TABLE transfers (id INTEGER PRIMARY KEY,
            run_id INTEGER NOT NULL REFERENCES runs(run_id), transfer_id INTEGER NOT NULL,
            client_host TEXT NOT NULL, client_port INTEGER NOT NULL, requested TEXT NOT NULL,
            served TEXT NOT NULL, source TEXT, size INTEGER, md5 TEXT NOT NULL DEFAULT '',
            case_fallback INTEGER NOT NULL DEFAULT 0, started REAL, ended REAL, outcome TEXT,
            bytes_sent INTEGER NOT NULL DEFAULT 0, duration REAL NOT NULL DEFAULT 0,
            retransmissions INTEGER NOT NULL DEFAULT 0, reason TEXT NOT NULL DEFAULT '')""",
        "CREATE INDEX transfers_by_run ON transfers(run_id, id)",
        """CREATE TABLE devices (run_id INTEGER NOT NULL REFERENCES runs(run_id),
            mac TEXT NOT NULL, ip TEXT NOT NULL, first_seen REAL NOT NULL,
            last_seen REAL NOT NULL, PRIMARY KEY (run_id, mac)) WITHOUT ROWID""",
    ):
        db.execute(statement)


MIGRATIONS: tuple[Migration, ...] = (_schema_v1,)
"""Migration N (0-based) takes the schema from version N to N + 1; append, never edit."""


def connect(path: Path, *, reader: bool = False) -> sqlite3.Connection:
    """A connection in WAL mode with full sync, usable from one thread at a time; a ``reader``
    only reads (no journal switch, no writes: a query of its own while the writer writes).

    Raises:
        HistoryError: the file is not a SQLite database or cannot be opened.
    """
    try:
        db = sqlite3.connect(path, timeout=5.0, isolation_level=None, check_same_thread=False)
        try:
            if reader:
                db.execute("PRAGMA query_only=ON")
            else:
                _prepare_writer(db, path)
        except BaseException:
            db.close()
            raise
    except sqlite3.Error as error:
        raise HistoryError(f"cannot open history {path}: {error}") from error
    return db


def _prepare_writer(db: sqlite3.Connection, path: Path) -> None:
    (mode,) = db.execute("PRAGMA journal_mode=WAL").fetchone()
    if mode != "wal":
        raise HistoryError(f"{path}: SQLite refused WAL mode (got {mode!r})")
    # FULL: a commit survives power loss too, not just a killed process; batching keeps the
    # fsyncs to a few per second.
    db.execute("PRAGMA synchronous=FULL")
    db.execute("PRAGMA foreign_keys=ON")


def migrate(db: sqlite3.Connection, migrations: Sequence[Migration], path: Path) -> int:
    """Bring the file up to ``len(migrations)``; returns the version it is at.

    An up-to-date file is only read, so opening it never waits for another instance's writer.

    Raises:
        HistoryError: the file was written by a newer schema, or a migration failed.
    """
    try:
        current = _version(db)
        if current < len(migrations):
            db.execute("BEGIN IMMEDIATE")  # two instances opening a new file: one migrates
            try:
                current = _version(db)  # the other may have migrated while we waited
                if current == 0:
                    db.execute(
                        """CREATE TABLE schema_version
                        (version INTEGER PRIMARY KEY, applied REAL NOT NULL)"""
                    )
                for version in range(current + 1, len(migrations) + 1):
                    migrations[version - 1](db)
                    db.execute("INSERT INTO schema_version VALUES (?, ?)", (version, time.time()))
                db.execute("COMMIT")
            except BaseException:
                db.execute("ROLLBACK")
                raise
            current = max(current, len(migrations))
    except sqlite3.Error as error:
        raise HistoryError(f"cannot prepare history {path}: {error}") from error
    if current > len(migrations):
        raise HistoryError(
            f"{path} has history schema {current}; this algodesk reads up to {len(migrations)}"
        )
    return current


def _version(db: sqlite3.Connection) -> int:
    """The schema version of the file; 0 for a new file."""
    if (
        db.execute(
            "SELECT 1 FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'"
        ).fetchone()
        is None
    ):
        return 0
    row = db.execute("SELECT coalesce(max(version), 0) FROM schema_version").fetchone()
    return int(row[0])
