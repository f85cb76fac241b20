"""Devices and what each received, as CSV rows or JSON, for the bench's paperwork.

One CSV row per request a device made (served, not found, failed), so a spreadsheet can filter
by device or by file; a device known only from a DHCP lease gets one row without a file. The JSON
form nests the requests under each device.
"""

from __future__ import annotations

import csv
import functools
import io
import json
import math
from collections.abc import Iterable, Iterator
from datetime import datetime
from typing import Any

from algodesk.core.names import MacError, format_mac
from algodesk.core.tracker import TimelineEntry, TrackedDevice

DEVICE_FIELDS = ("mac", "product", "ip", "boots", "stage", "status", "first_seen", "last_seen")
FILE_FIELDS = (
    "time",
    "requested",
    "served",
    "source",
    "size",
    "md5",
    "outcome",
    "reason",
    "bytes_sent",
    "duration",
)
CSV_FIELDS = DEVICE_FIELDS + FILE_FIELDS

Value = str | int | float | None


def iso(when: float) -> str:
    """``2026-05-09T14:03:27+02:00``: local time with its offset, to the second."""
    return _iso_second(math.floor(when))


@functools.lru_cache(maxsize=4096)
def _iso_second(second: int) -> str:
    # A bench day's export stamps 400,000 times; requests of one boot share their seconds.
    return datetime.fromtimestamp(second).astimezone().isoformat(timespec="seconds")


def _mac(device: TrackedDevice) -> str:
    try:
        return format_mac(device.mac) if device.mac else ""
    except MacError:
        return device.mac


def _device_cells(device: TrackedDevice) -> tuple[Value, ...]:
    """The device columns of an export, in :data:`DEVICE_FIELDS` order."""
    return (
        _mac(device),
        device.product,
        device.ip,
        device.boots,
        device.stage.value if device.stage is not None else "",
        device.status[1],
        iso(device.first_seen),
        iso(device.last_seen),
    )


def _file_cells(entry: TimelineEntry) -> tuple[Value, ...]:
    """The file columns of an export, in :data:`FILE_FIELDS` order: one request and its end."""
    return (
        iso(entry.time),
        entry.requested,
        entry.served,
        entry.source,
        entry.size,
        entry.md5,
        entry.outcome.value,
        entry.reason,
        entry.bytes_sent,
        round(entry.duration, 3) if entry.duration is not None else None,
    )


_NO_FILE: tuple[Value, ...] = (None,) * len(FILE_FIELDS)


def device_record(device: TrackedDevice) -> dict[str, Value]:
    """The device columns of an export."""
    return dict(zip(DEVICE_FIELDS, _device_cells(device), strict=True))


def file_record(entry: TimelineEntry) -> dict[str, Value]:
    """The file columns of an export: one request and what became of it."""
    return dict(zip(FILE_FIELDS, _file_cells(entry), strict=True))


def _cells(devices: Iterable[TrackedDevice]) -> Iterator[tuple[Value, ...]]:
    """Each row's cells in :data:`CSV_FIELDS` order (a lease-only device: one row, no file).

    Tuples, not dicts: a bench day's export is 300,000 rows, and a dict per row and per part of
    a row cost seconds.
    """
    for device in devices:
        head = _device_cells(device)
        if not device.timeline:
            yield head + _NO_FILE
        for entry in device.timeline:
            yield head + _file_cells(entry)


def to_csv(devices: Iterable[TrackedDevice]) -> str:
    """CSV text with a header row (:data:`CSV_FIELDS`); empty cells for unknown values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # writes None as an empty cell
    writer.writerow(CSV_FIELDS)
    writer.writerows(_cells(devices))
    return buffer.getvalue()


def to_json(devices: Iterable[TrackedDevice]) -> str:
    """JSON: a list of devices, each with its ``files`` (requests, oldest first)."""
    document: list[dict[str, Any]] = [
        {**device_record(d), "files": [file_record(e) for e in d.timeline]} for d in devices
    ]
    return json.dumps(document, indent=2) + "\n"
