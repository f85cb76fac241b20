"""The history store: runs, replayable events, transfer and device tables, crashes, schema."""

from __future__ import annotations

import os
import signal
import sqlite3
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from pathlib import Path

import pytest

from algodesk.core.event_codec import event_from_json
from algodesk.core.events import (
    Event,
    LeaseGranted,
    RefusalReason,
    RequestReceived,
    RequestRefused,
    ServerStarted,
    ServerStopped,
    ServiceNotice,
    Source,
    SyslogLine,
    TransferFailed,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.services.history import (
    BATCH_EVENTS,
    MIGRATIONS,
    HistoryError,
    HistoryStore,
    TransferOutcome,
)

DEVICE = ("10.0.0.5", 50001)
MAC = "0022EE010203"


@pytest.fixture
def db_path(tmp_path: Path) -> Path:
    return tmp_path / "history" / "history.sqlite3"


@pytest.fixture
def store(db_path: Path) -> Iterator[HistoryStore]:
    history = HistoryStore(db_path)
    try:
        yield history
    finally:
        history.close()


def _raw_count(path: Path, table: str) -> int:
    with sqlite3.connect(path) as db:
        (count,) = db.execute(f"SELECT count(*) FROM {table}").fetchone()
    return int(count)


def _wait_until(condition: Callable[[], bool]) -> bool:
    """Poll for something the writer does on its own; the long limit only ends a hang."""
    limit = time.monotonic() + 20.0
    while not condition():
        if time.monotonic() > limit:
            return False
        time.sleep(0.01)
    return True


def _boot(t: float = 100.0) -> list[Event]:
    """One device's first boot: own config missing, generic served, md5 served, a syslog line."""
    return [
        ServerStarted(time=t, service="tftp", address="127.0.0.1", port=6969, root="/bench"),
        LeaseGranted(time=t + 1, mac="00:22:ee:01:02:03", ip="10.0.0.4", lease_seconds=600),
        RequestReceived(time=t + 2, client=DEVICE, filename=f"algom{MAC}.conf"),
        RequestRefused(
            time=t + 2.1,
            client=DEVICE,
            filename=f"algom{MAC}.conf",
            reason=RefusalReason.NOT_FOUND,
        ),
        RequestReceived(
            time=t + 3, client=DEVICE, filename="algop8186.conf", options={"blksize": "1468"}
        ),
        TransferStarted(
            time=t + 3.1,
            transfer_id=1,
            client=DEVICE,
            requested="algop8186.conf",
            served="algop8186.conf",
            source=Source.DISK,
            size=9000,
            options={"blksize": "1468"},
            md5="0" * 32,
        ),
        TransferProgress(
            time=t + 3.2,
            transfer_id=1,
            client=DEVICE,
            served="algop8186.conf",
            bytes_sent=4000,
            size=9000,
        ),
        TransferFinished(
            time=t + 3.5,
            transfer_id=1,
            client=DEVICE,
            served="algop8186.conf",
            bytes_sent=9000,
            duration=0.4,
            retransmissions=2,
        ),
        RequestReceived(time=t + 4, client=DEVICE, filename="algop8186.md5"),
        TransferStarted(
            time=t + 4.1,
            transfer_id=2,
            client=DEVICE,
            requested="ALGOP8186.md5",
            served="algop8186.md5",
            source=Source.AUTO_MD5,
            size=33,
            case_fallback=True,
        ),
        TransferFailed(
            time=t + 9,
            transfer_id=2,
            client=DEVICE,
            served="algop8186.md5",
            reason="timeout",
            bytes_sent=0,
            duration=4.9,
            retransmissions=5,
        ),
        SyslogLine(
            time=t + 10,
            client=DEVICE,
            facility=16,
            severity=6,
            hostname="algo",
            app="prov",
            message="config applied",
        ),
        ServiceNotice(time=t + 11, service="tftp", level="info", code="c", message="m"),
        ServerStopped(time=t + 12, service="tftp", address="127.0.0.1", port=6969),
    ]


def _without_progress(events: list[Event]) -> list[Event]:
    return [e for e in events if not isinstance(e, TransferProgress)]


def test_events_replay_exactly_in_order_without_progress(store: HistoryStore) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    for event in _boot():
        store.record(event)
    assert store.events(run) == _without_progress(_boot())


def test_transfers_table_holds_each_finished_or_failed_transfer(store: HistoryStore) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    for event in _boot():
        store.record(event)
    store.record(
        TransferStarted(
            time=200.0,
            transfer_id=3,
            client=DEVICE,
            requested="tone.zip",
            served="tone.zip",
            source=Source.DISK,
            size=10,
        )
    )
    # A transfer whose start happened before the run began: only its end is known.
    store.record(
        TransferFinished(
            time=201.0,
            transfer_id=77,
            client=("::1", 7),
            served="x.sfw",
            bytes_sent=5,
            duration=1.0,
        )
    )
    finished, failed, orphan = store.transfers(run)  # the open transfer 3 is not listed
    assert (finished.transfer_id, finished.outcome) == (1, TransferOutcome.FINISHED)
    assert finished.client == DEVICE
    assert (finished.requested, finished.served, finished.source) == (
        "algop8186.conf",
        "algop8186.conf",
        Source.DISK,
    )
    assert (finished.size, finished.md5, finished.case_fallback) == (9000, "0" * 32, False)
    assert (finished.started, finished.ended) == (103.1, 103.5)
    assert (finished.bytes_sent, finished.duration, finished.retransmissions) == (9000, 0.4, 2)
    assert finished.reason == ""
    assert (failed.outcome, failed.reason, failed.retransmissions) == (
        TransferOutcome.FAILED,
        "timeout",
        5,
    )
    assert (failed.requested, failed.source, failed.case_fallback) == (
        "ALGOP8186.md5",
        Source.AUTO_MD5,
        True,
    )
    assert (orphan.transfer_id, orphan.served, orphan.client) == (77, "x.sfw", ("::1", 7))
    assert (orphan.source, orphan.size, orphan.started) == (None, None, None)
    store.record(
        TransferFinished(
            time=202.0,
            transfer_id=3,
            client=DEVICE,
            served="tone.zip",
            bytes_sent=10,
            duration=2.0,
        )
    )
    assert [t.transfer_id for t in store.transfers(run)] == [1, 2, 3, 77]


def test_devices_come_from_algom_requests_and_leases(store: HistoryStore) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    for event in _boot():
        store.record(event)
    for event in [
        RequestReceived(time=300.0, client=("10.0.0.6", 1), filename="algop8188.conf"),
        RequestReceived(time=301.0, client=("10.0.0.7", 1), filename="algo/algom0022EE0A0B0C.md5"),
        RequestRefused(
            time=302.0,
            client=("10.0.0.8", 1),
            filename="algom0022EE0A0B0D-i.conf",
            reason=RefusalReason.NOT_FOUND,
        ),
        LeaseGranted(time=303.0, mac="not a mac", ip="10.0.0.9", lease_seconds=60),
    ]:
        store.record(event)
    devices = {d.mac: d for d in store.devices(run)}
    assert set(devices) == {MAC, "0022EE0A0B0C", "0022EE0A0B0D"}
    first = devices[MAC]
    # leased 10.0.0.4 first, then requested its files from 10.0.0.5: one row, latest address
    assert (first.ip, first.first_seen, first.last_seen) == ("10.0.0.5", 101.0, 102.1)
    assert devices["0022EE0A0B0C"].ip == "10.0.0.7"


def test_runs_list_counts_and_end(store: HistoryStore) -> None:
    store.record(_boot()[2])  # no run open yet: dropped
    first = store.start_run("/bench", "127.0.0.1", 6969)
    for event in _boot():
        store.record(event)
    (info,) = store.runs()
    assert (info.run_id, info.root, info.address, info.port) == (first, "/bench", "127.0.0.1", 6969)
    assert info.ended is None and info.started > 0
    assert (info.transfers, info.devices) == (2, 1)
    store.end_run(first)
    store.record(_boot()[2])  # after the end: dropped
    store.end_run(first)  # already ended: no-op
    second = store.start_run("/other", "::1", 69)
    third = store.start_run("/third", "::1", 69)  # ends the second
    runs = store.runs()
    assert [r.run_id for r in runs] == [first, second, third]
    assert runs[0].ended is not None and runs[0].ended >= runs[0].started
    assert runs[1].ended is not None and runs[2].ended is None
    assert (runs[1].transfers, runs[1].devices) == (0, 0)
    assert len(store.events(first)) == len(_without_progress(_boot()))
    with pytest.raises(HistoryError, match="no run 999"):
        store.end_run(999)


def test_progress_events_are_not_stored(store: HistoryStore, db_path: Path) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    for sent in range(2000):
        store.record(
            TransferProgress(
                transfer_id=1, client=DEVICE, served="a.sfw", bytes_sent=sent, size=2000
            )
        )
    store.flush()
    assert store.events(run) == []
    assert _raw_count(db_path, "events") == 0


def test_batches_commit_without_flush(store: HistoryStore, db_path: Path) -> None:
    store.start_run("/bench", "127.0.0.1", 6969)
    store.record(_boot()[0])  # a lone event: committed when its batch time is up
    assert _wait_until(lambda: _raw_count(db_path, "events") == 1)
    for _ in range(BATCH_EVENTS):  # a full batch: committed at once
        store.record(_boot()[-1])
    assert _wait_until(lambda: _raw_count(db_path, "events") == 1 + BATCH_EVENTS)


def test_record_is_thread_safe_and_keeps_each_threads_order(store: HistoryStore) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    per_thread = 1500

    def produce(worker: int) -> None:
        for i in range(per_thread):
            store.record(ServiceNotice(service=f"w{worker}", level="info", code=str(i), message=""))

    threads = [
        threading.Thread(target=produce, args=(n,), name=f"algodesk-test-producer-{n}")
        for n in range(4)
    ]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    events = store.events(run)
    assert len(events) == 4 * per_thread
    for worker in range(4):
        codes = [
            e.code for e in events if isinstance(e, ServiceNotice) and e.service == f"w{worker}"
        ]
        assert codes == [str(i) for i in range(per_thread)]


def test_a_second_instance_reads_while_the_first_writes(db_path: Path) -> None:
    with HistoryStore(db_path) as writer:
        run = writer.start_run("/bench", "127.0.0.1", 6969)
        for event in _boot():
            writer.record(event)
        writer.flush()
        with HistoryStore(db_path) as reader:
            assert reader.events(run) == _without_progress(_boot())
            writer.record(_boot(500.0)[0])
            writer.flush()
            assert len(reader.events(run)) == len(_without_progress(_boot())) + 1
            assert reader.runs()[0].ended is None


def test_close_commits_what_is_queued_and_stops(db_path: Path) -> None:
    history = HistoryStore(db_path)
    run = history.start_run("/bench", "127.0.0.1", 6969)
    for event in _boot():
        history.record(event)
    history.close()
    history.close()  # idempotent
    history.record(_boot()[0])  # ignored, not an error: services may still be winding down
    history.flush()
    with pytest.raises(HistoryError, match="closed"):
        history.start_run("/bench", "127.0.0.1", 6969)
    with pytest.raises(HistoryError, match="closed"):
        history.events(run)
    with HistoryStore(db_path) as again:
        assert again.events(run) == _without_progress(_boot())


def test_secrets_in_urls_are_masked_on_disk(store: HistoryStore, db_path: Path) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    store.record(
        LeaseGranted(
            mac=MAC,
            ip="10.0.0.4",
            lease_seconds=60,
            options={"66": "ftp://bench:s3cret-pw@10.0.0.2/algo", "150": "10.0.0.2"},
        )
    )
    (lease,) = store.events(run)
    assert isinstance(lease, LeaseGranted)
    assert dict(lease.options) == {"66": "ftp://bench:****@10.0.0.2/algo", "150": "10.0.0.2"}
    store.close()
    on_disk = b"".join(p.read_bytes() for p in db_path.parent.iterdir())
    assert b"s3cret-pw" not in on_disk


def test_undecodable_file_names_survive(store: HistoryStore) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    name = "algop\udcff8186.conf"  # a non-UTF-8 byte decoded with surrogateescape
    events: list[Event] = [
        RequestReceived(client=DEVICE, filename=name),
        TransferStarted(
            transfer_id=1, client=DEVICE, requested=name, served=name, source=Source.DISK, size=1
        ),
        TransferFinished(transfer_id=1, client=DEVICE, served=name, bytes_sent=1, duration=0.1),
    ]
    for event in events:
        store.record(event)
    assert store.events(run) == events
    (transfer,) = store.transfers(run)
    assert transfer.served == "algop\\udcff8186.conf"


def test_a_failed_batch_is_reported_and_the_writer_carries_on(
    store: HistoryStore, monkeypatch: pytest.MonkeyPatch
) -> None:
    run = store.start_run("/bench", "127.0.0.1", 6969)
    writer = store._writer
    real_store = writer.store

    def disk_full(event: Event) -> None:
        raise sqlite3.OperationalError("database or disk is full")

    monkeypatch.setattr(writer, "store", disk_full)
    store.record(_boot()[0])
    with pytest.raises(HistoryError, match="disk is full"):
        store.flush()
    monkeypatch.setattr(writer, "store", real_store)
    store.record(_boot()[1])
    assert store.events(run) == [_boot()[1]]


def test_schema_is_versioned_and_migrations_run_once(db_path: Path) -> None:
    HistoryStore(db_path).close()
    calls: list[int] = []

    def add_notes(db: sqlite3.Connection) -> None:
        calls.append(1)
        db.execute("ALTER TABLE runs ADD COLUMN notes TEXT NOT NULL DEFAULT ''")

    newer = (*MIGRATIONS, add_notes)
    for _ in range(2):
        with HistoryStore(db_path, migrations=newer) as history:
            assert history.schema_version == len(MIGRATIONS) + 1
            history.start_run("/bench", "127.0.0.1", 6969)
    assert calls == [1]
    with sqlite3.connect(db_path) as db:
        versions = [v for (v,) in db.execute("SELECT version FROM schema_version ORDER BY 1")]
        assert versions == list(range(1, len(MIGRATIONS) + 2))
        assert db.execute("SELECT notes FROM runs").fetchall() == [("",), ("",)]
    with pytest.raises(HistoryError, match="reads up to"):
        HistoryStore(db_path)


def test_a_failing_migration_leaves_the_file_as_it_was(db_path: Path) -> None:
    HistoryStore(db_path).close()

    def broken(db: sqlite3.Connection) -> None:
        db.execute("ALTER TABLE runs ADD COLUMN half TEXT")
        raise sqlite3.OperationalError("boom")

    with pytest.raises(HistoryError, match="boom"):
        HistoryStore(db_path, migrations=(*MIGRATIONS, broken))
    with sqlite3.connect(db_path) as db:
        columns = [row[1] for row in db.execute("PRAGMA table_info(runs)")]
        assert "half" not in columns
    HistoryStore(db_path).close()


def test_not_a_database_is_a_clear_error(tmp_path: Path) -> None:
    path = tmp_path / "history.sqlite3"
    path.write_bytes(b"this is not sqlite" * 100)
    with pytest.raises(HistoryError, match="cannot open history"):
        HistoryStore(path)


_CHILD = r"""
import sys, time
from pathlib import Path
from algodesk.core.event_codec import event_to_json
from algodesk.core.events import (
    RequestReceived, TransferFinished, TransferProgress, TransferStarted, Source,
)
from algodesk.services.history import HistoryStore

def boot(i):
    mac = f"0022EE{i:06X}"
    client = (f"10.0.{i // 250}.{i % 250 + 1}", 40000 + i % 1000)
    name = f"algom{mac}.conf"
    return [
        RequestReceived(time=float(i), client=client, filename=name),
        TransferStarted(time=i + 0.1, transfer_id=i, client=client, requested=name,
                        served=name, source=Source.VIRTUAL, size=700),
        TransferProgress(time=i + 0.2, transfer_id=i, client=client, served=name,
                         bytes_sent=512, size=700),
        TransferFinished(time=i + 0.3, transfer_id=i, client=client, served=name,
                         bytes_sent=700, duration=0.2),
    ]

store = HistoryStore(Path(sys.argv[1]))
run = store.start_run("/bench", "127.0.0.1", 6969)
for i in range(int(sys.argv[2])):
    for event in boot(i):
        store.record(event)
        print(event_to_json(event))
store.flush()
print("FLUSHED", run, flush=True)
i = int(sys.argv[2])
while True:  # keep writing so the kill lands mid-batch
    for event in boot(i):
        store.record(event)
    i += 1
    if i % 50 == 0:
        time.sleep(0.001)
"""


@pytest.fixture
def killed_writer(db_path: Path) -> Iterator[tuple[subprocess.Popen[str], list[str]]]:
    """A child process that records and flushes 300 boots, then keeps writing until killed."""
    db_path.parent.mkdir(parents=True)
    child = subprocess.Popen(
        [sys.executable, "-c", _CHILD, str(db_path), "300"],
        stdout=subprocess.PIPE,
        text=True,
        cwd=Path(__file__).parent.parent,
    )
    try:
        assert child.stdout is not None
        lines = []
        for line in child.stdout:
            if line.startswith("FLUSHED"):
                break
            lines.append(line.strip())
        yield child, lines
    finally:
        if child.poll() is None:
            os.kill(child.pid, signal.SIGKILL)
        child.wait()
        if child.stdout is not None:
            child.stdout.close()


def test_a_killed_writer_loses_no_committed_event(
    killed_writer: tuple[subprocess.Popen[str], list[str]], db_path: Path
) -> None:
    child, lines = killed_writer
    expected = _without_progress([event_from_json(line) for line in lines])
    assert len(expected) == 900
    assert child.poll() is None
    # read while the child is still writing (WAL: readers never wait for the writer)
    with HistoryStore(db_path) as reader:
        (run,) = reader.runs()
        assert reader.events(run.run_id)[: len(expected)] == expected
    os.kill(child.pid, signal.SIGKILL)
    assert child.wait() == -signal.SIGKILL
    with sqlite3.connect(db_path) as db:
        assert db.execute("PRAGMA integrity_check").fetchone() == ("ok",)
    with HistoryStore(db_path) as after:
        (run,) = after.runs()
        assert run.ended is None  # it never ended: it was killed
        events = after.events(run.run_id)
        assert events[: len(expected)] == expected
        transfers = after.transfers(run.run_id)
        assert [t.transfer_id for t in transfers[:300]] == list(range(300))
        assert all(t.outcome is TransferOutcome.FINISHED for t in transfers)
        assert run.devices >= 300 and run.transfers == len(transfers)
        after.end_run(run.run_id)  # a crashed run can be closed later
        assert after.runs()[0].ended is not None
