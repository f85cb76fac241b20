"""The history store: a queue any thread may feed, one writer thread, and the queries.

Services call ``record(event)`` at any rate; the ``algodesk-history`` thread commits the queue in
batches (every ``BATCH_SECONDS`` or ``BATCH_EVENTS``), so a crash or kill loses at most the
batch not yet committed and never leaves the file unreadable (SQLite WAL). File contents are
never stored: events carry names and addresses only.
"""

from __future__ import annotations

import logging
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator, Sequence
from pathlib import Path
from typing import Any

from algodesk.core.event_codec import EventDecodeError, event_from_json
from algodesk.core.events import Event, Source, TransferProgress
from algodesk.services.history.records import (
    DeviceRecord,
    HistoryError,
    RunInfo,
    TransferOutcome,
    TransferRecord,
)
from algodesk.services.history.schema import (
    MIGRATIONS,
    Migration,
    connect,
    migrate,
)
from algodesk.services.history.writer import RunWriter

log = logging.getLogger(__name__)

BATCH_EVENTS = 500
"""Commit as soon as this many events are queued..."""
BATCH_SECONDS = 0.2
"""...or this long after the first of a batch arrived, whichever comes first."""
_STREAM_CHUNK = 5_000
"""Event rows decoded per read when a run is streamed."""


class _Command:
    """Work for the writer thread, ordered with the events around it; the caller waits."""

    def __init__(self, action: Callable[[RunWriter], Any]) -> None:
        self.action = action
        self.done = threading.Event()
        self.result: Any = None
        self.error: Exception | None = None


class HistoryStore:
    """Runs, events, transfers and devices of bench sessions in one SQLite file.

    Events recorded while no run is open are not history and are dropped; so are
    TransferProgress events (the finish or failure says all that is worth keeping). Queries see
    everything recorded before they were called; another instance, in this process or another,
    reads what is committed while this one writes.
    """

    def __init__(self, path: Path, *, migrations: Sequence[Migration] = MIGRATIONS) -> None:
        """Open or create ``path`` (and its folder) and start the writer thread.

        Raises:
            HistoryError: not a SQLite file, written by a newer algodesk, or not writable.
        """
        self.path = Path(path)
        self.path.parent.mkdir(parents=True, exist_ok=True)
        self._db = connect(self.path)
        try:
            self.schema_version = migrate(self._db, migrations, self.path)
            self._reader: sqlite3.Connection | None = connect(self.path)
        except BaseException:
            self._db.close()
            raise
        self._writer = RunWriter(self._db, self.path)
        self._read_lock = threading.Lock()
        self._cond = threading.Condition()
        self._pending: list[Event | _Command] = []
        self._urgent = False
        self._closed = False
        self._thread = threading.Thread(
            target=self._write_loop, name="algodesk-history", daemon=True
        )
        self._thread.start()

    def __enter__(self) -> HistoryStore:
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.close()

    def start_run(self, root: str, address: str, port: int) -> int:
        """Open a new run (ending any run still open) and return its id."""
        started = time.time()
        run_id: int = self._call(lambda w: w.start_run(root, address, port, started))
        return run_id

    def end_run(self, run_id: int) -> None:
        """Mark a run ended now (no-op if it already ended); later events are dropped.

        Raises:
            HistoryError: there is no such run.
        """
        ended = time.time()
        self._call(lambda w: w.end_run(run_id, ended))

    def record(self, event: Event) -> None:
        """Queue ``event`` for the open run; cheap and safe from any thread, never blocks."""
        if isinstance(event, TransferProgress):
            return
        with self._cond:
            if self._closed:
                return
            self._pending.append(event)
            queued = len(self._pending)
            if queued == 1 or queued >= BATCH_EVENTS:
                self._cond.notify()

    def flush(self) -> None:
        """Return once everything recorded so far is committed (at once if closed).

        Raises:
            HistoryError: the batch could not be written.
        """
        try:
            self._call(lambda w: None)
        except HistoryError:
            if not self._closed:
                raise

    def runs(self) -> list[RunInfo]:
        """Every run in the file, oldest first, with its transfer and device counts."""
        rows = self._query(
            """SELECT run_id, started, ended, root, address, port,
                (SELECT count(*) FROM transfers t
                    WHERE t.run_id = r.run_id AND t.outcome IS NOT NULL),
                (SELECT count(*) FROM devices d WHERE d.run_id = r.run_id)
            FROM runs r ORDER BY run_id"""
        )
        return [RunInfo(*row) for row in rows]

    def events(self, run_id: int) -> list[Event]:
        """The run's events in the order they were recorded (progress excluded)."""
        return list(self.stream_events(run_id))

    def stream_events(self, run_id: int) -> Iterator[Event]:
        """The run's events in order, decoded a chunk at a time (progress excluded).

        For replaying a long run: a bench day is ~850,000 events, which held all at once take
        ~700 MB. The stream reads through a connection of its own (a snapshot of what was
        committed when it started), so the store stays usable while it is consumed.

        Raises:
            HistoryError: the file cannot be read.
        """
        self.flush()  # so the stream sees everything recorded before it was asked
        if self._closed:
            raise HistoryError("the history store is closed")
        db = connect(self.path, reader=True)
        try:
            db.execute("BEGIN")  # one snapshot across the chunks
            cursor = db.execute(
                "SELECT id, json FROM events WHERE run_id = ? ORDER BY id", (run_id,)
            )
            while rows := cursor.fetchmany(_STREAM_CHUNK):
                for row_id, text in rows:
                    try:
                        yield event_from_json(text)
                    except EventDecodeError as error:
                        # One unreadable row must not make a whole run impossible to reopen.
                        log.warning("history: skipped event row %d: %s", row_id, error)
        except sqlite3.Error as error:
            raise HistoryError(f"cannot read {self.path}: {error}") from error
        finally:
            db.close()

    def transfers(self, run_id: int) -> list[TransferRecord]:
        """The run's finished and failed transfers, in the order they started."""
        rows = self._query(
            """SELECT run_id, transfer_id, client_host, client_port, requested, served, source,
                size, md5, case_fallback, started, ended, outcome, bytes_sent, duration,
                retransmissions, reason
            FROM transfers WHERE run_id = ? AND outcome IS NOT NULL ORDER BY id""",
            (run_id,),
        )
        return [
            TransferRecord(
                run_id=row[0],
                transfer_id=row[1],
                client=(row[2], row[3]),
                requested=row[4],
                served=row[5],
                source=None if row[6] is None else Source(row[6]),
                size=row[7],
                md5=row[8],
                case_fallback=bool(row[9]),
                started=row[10],
                ended=row[11],
                outcome=TransferOutcome(row[12]),
                bytes_sent=row[13],
                duration=row[14],
                retransmissions=row[15],
                reason=row[16],
            )
            for row in rows
        ]

    def devices(self, run_id: int) -> list[DeviceRecord]:
        """The MACs seen in the run, in the order they first appeared."""
        rows = self._query(
            """SELECT run_id, mac, ip, first_seen, last_seen FROM devices
            WHERE run_id = ? ORDER BY first_seen, mac""",
            (run_id,),
        )
        return [DeviceRecord(*row) for row in rows]

    def close(self) -> None:
        """Commit what is queued, stop the writer thread and close the file; idempotent."""
        with self._cond:
            if self._closed:
                return
            self._closed = True
            self._cond.notify()
        self._thread.join()
        self._db.close()
        with self._read_lock:
            if self._reader is not None:
                self._reader.close()
                self._reader = None

    def _call(self, action: Callable[[RunWriter], Any]) -> Any:
        command = _Command(action)
        with self._cond:
            if self._closed:
                raise HistoryError("the history store is closed")
            self._pending.append(command)
            self._urgent = True
            self._cond.notify()
        command.done.wait()
        if command.error is not None:
            raise command.error
        return command.result

    def _query(self, sql: str, params: tuple[Any, ...] = ()) -> list[Any]:
        self.flush()  # so a query sees everything recorded before it was asked
        with self._read_lock:
            if self._reader is None:
                raise HistoryError("the history store is closed")
            try:
                return self._reader.execute(sql, params).fetchall()
            except sqlite3.Error as error:
                raise HistoryError(f"cannot read {self.path}: {error}") from error

    def _write_loop(self) -> None:
        while True:
            with self._cond:
                while not self._pending and not self._closed:
                    self._cond.wait()
                deadline = time.monotonic() + BATCH_SECONDS
                while not self._closed and not self._urgent and len(self._pending) < BATCH_EVENTS:
                    remaining = deadline - time.monotonic()
                    if remaining <= 0:
                        break
                    self._cond.wait(remaining)
                batch, self._pending = self._pending, []
                self._urgent = False
                stopping = self._closed
            if batch:
                self._write(batch)
            if stopping:  # nothing is queued once closed, so this batch was the last
                return

    def _write(self, batch: list[Event | _Command]) -> None:
        commands = [item for item in batch if isinstance(item, _Command)]
        state = self._writer.snapshot()
        try:
            self._db.execute("BEGIN")
            for item in batch:
                if isinstance(item, _Command):
                    try:
                        item.result = item.action(self._writer)
                    except HistoryError as error:
                        item.error = error
                else:
                    self._writer.store(item)
            self._db.execute("COMMIT")
        except Exception as error:
            # Keep the thread alive: the next batch may well succeed (disk space freed).
            log.error("history: lost a batch of %d items: %s", len(batch), error)
            if self._db.in_transaction:
                self._db.execute("ROLLBACK")
            self._writer.restore(state)
            for command in commands:
                command.error = HistoryError(f"cannot write {self.path}: {error}")
        finally:
            for command in commands:
                command.done.set()
