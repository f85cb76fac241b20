"""What the writer thread does inside a transaction: runs opened and ended, events folded in.

Each event is kept as its JSON line (to replay through the tracker) and, where it says something
about a transfer or a device, folded into the ``transfers`` and ``devices`` tables so listings
and exports need no replay.
"""

from __future__ import annotations

import logging
import sqlite3
from pathlib import Path

from algodesk.core.device import bare_name
from algodesk.core.event_codec import event_to_json
from algodesk.core.events import (
    Event,
    LeaseGranted,
    RequestReceived,
    RequestRefused,
    TransferFailed,
    TransferFinished,
    TransferStarted,
)
from algodesk.core.masking import mask_secrets
from algodesk.core.names import MacError, classify, normalize_mac
from algodesk.services.history.records import HistoryError, TransferOutcome

log = logging.getLogger(__name__)

_State = tuple[int | None, dict[int, int]]


class RunWriter:
    """Writes runs and events through one connection; only the writer thread calls it."""

    def __init__(self, db: sqlite3.Connection, path: Path) -> None:
        """Write through ``db`` (the file at ``path``, named in errors)."""
        self._db = db
        self._path = path
        self._run: int | None = None
        self._open_transfers: dict[int, int] = {}  # transfer_id -> row id, in the open run

    def snapshot(self) -> _State:
        """The in-memory state, to put back if the transaction rolls back."""
        return self._run, dict(self._open_transfers)

    def restore(self, state: _State) -> None:
        """Undo in-memory changes of a rolled-back transaction."""
        self._run, self._open_transfers = state[0], dict(state[1])

    def start_run(self, root: str, address: str, port: int, started: float) -> int:
        """Insert a run (ending the open one) and make it the run events go to."""
        if self._run is not None:
            self.end_run(self._run, started)
        cursor = self._db.execute(
            "INSERT INTO runs (started, root, address, port) VALUES (?, ?, ?, ?)",
            (started, _text(root), _text(address), port),
        )
        assert cursor.lastrowid is not None
        self._run = cursor.lastrowid
        return self._run

    def end_run(self, run_id: int, ended: float) -> None:
        """Mark ``run_id`` ended unless it already is.

        Raises:
            HistoryError: there is no such run.
        """
        if self._db.execute("SELECT 1 FROM runs WHERE run_id = ?", (run_id,)).fetchone() is None:
            raise HistoryError(f"no run {run_id} in {self._path}")
        self._db.execute(
            "UPDATE runs SET ended = ? WHERE run_id = ? AND ended IS NULL", (ended, run_id)
        )
        if self._run == run_id:
            self._run = None
            self._open_transfers.clear()

    def store(self, event: Event) -> None:
        """Keep ``event`` in the open run (dropped when none is open)."""
        run = self._run
        if run is None:
            return
        try:
            text = event_to_json(event)  # secrets masked
        except (TypeError, ValueError) as error:
            log.warning("history: cannot store a %s event: %s", event.kind, error)
            return
        self._db.execute(
            "INSERT INTO events (run_id, time, kind, json) VALUES (?, ?, ?, ?)",
            (run, event.time, event.kind, text),
        )
        if isinstance(event, RequestReceived | RequestRefused):
            self._saw_file_request(run, event.filename, event.client[0], event.time)
        elif isinstance(event, TransferStarted):
            self._saw_file_request(run, event.requested, event.client[0], event.time)
            self._open_transfers[event.transfer_id] = self._start_transfer(run, event)
        elif isinstance(event, TransferFinished | TransferFailed):
            self._end_transfer(run, event)
        elif isinstance(event, LeaseGranted):
            try:
                self._saw_device(run, normalize_mac(event.mac), event.ip, event.time)
            except MacError:
                log.warning("history: lease for an unreadable MAC address")

    def _start_transfer(self, run: int, event: TransferStarted) -> int:
        cursor = self._db.execute(
            """INSERT INTO transfers (run_id, transfer_id, client_host, client_port, requested,
                served, source, size, md5, case_fallback, started)
            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""",
            (
                run,
                event.transfer_id,
                _text(event.client[0]),
                event.client[1],
                _text(event.requested),
                _text(event.served),
                event.source.value,
                event.size,
                _text(event.md5),
                event.case_fallback,
                event.time,
            ),
        )
        assert cursor.lastrowid is not None
        return cursor.lastrowid

    def _end_transfer(self, run: int, event: TransferFinished | TransferFailed) -> None:
        if isinstance(event, TransferFinished):
            outcome, reason = TransferOutcome.FINISHED, ""
        else:
            outcome, reason = TransferOutcome.FAILED, event.reason
        row = self._open_transfers.pop(event.transfer_id, None)
        if row is None:
            # Its start was never recorded (the run began mid-transfer): keep what the end says.
            row = self._db.execute(
                """INSERT INTO transfers (run_id, transfer_id, client_host, client_port,
                    requested, served) VALUES (?, ?, ?, ?, ?, ?)""",
                (
                    run,
                    event.transfer_id,
                    _text(event.client[0]),
                    event.client[1],
                    _text(event.served),
                    _text(event.served),
                ),
            ).lastrowid
        self._db.execute(
            """UPDATE transfers SET ended = ?, outcome = ?, bytes_sent = ?, duration = ?,
                retransmissions = ?, reason = ? WHERE id = ?""",
            (
                event.time,
                outcome.value,
                event.bytes_sent,
                event.duration,
                event.retransmissions,
                _text(reason),
                row,
            ),
        )

    def _saw_file_request(self, run: int, filename: str, host: str, when: float) -> None:
        name = classify(bare_name(filename))
        mac = name.mac or (name.target.mac if name.target is not None else "")
        if mac:
            self._saw_device(run, mac, host, when)

    def _saw_device(self, run: int, mac: str, ip: str, when: float) -> None:
        self._db.execute(
            """INSERT INTO devices (run_id, mac, ip, first_seen, last_seen)
            VALUES (?, ?, ?, ?, ?)
            ON CONFLICT (run_id, mac) DO UPDATE SET ip = excluded.ip,
                last_seen = max(last_seen, excluded.last_seen)""",
            (run, mac, _text(ip), when, when),
        )


def _text(value: str) -> str:
    """``value`` as valid UTF-8 (lone surrogates of undecodable file names become escapes),
    secrets masked as in the events' JSON (a name or a reason may hold a URL's password)."""
    text = value if value.isascii() else value.encode("utf-8", "backslashreplace").decode()
    return mask_secrets(text)
