"""The bench history: runs, events, transfers and devices in one SQLite file (WAL)."""

from algodesk.services.history.recording import RunRecorder, RunRecording
from algodesk.services.history.records import (
    DeviceRecord,
    HistoryError,
    RunInfo,
    TransferOutcome,
    TransferRecord,
)
from algodesk.services.history.schema import MIGRATIONS, Migration
from algodesk.services.history.store import BATCH_EVENTS, BATCH_SECONDS, HistoryStore

__all__ = [
    "BATCH_EVENTS",
    "BATCH_SECONDS",
    "MIGRATIONS",
    "DeviceRecord",
    "HistoryError",
    "HistoryStore",
    "Migration",
    "RunInfo",
    "RunRecorder",
    "RunRecording",
    "TransferOutcome",
    "TransferRecord",
]
