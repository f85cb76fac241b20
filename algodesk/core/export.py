"""Devices and what each received, as CSV rows or JSON, for the bench's paperwork.

One CSV row per request a device made (served, not found, failed), so a spreadsheet can filter
by device or by file; a device known only from a DHCP lease gets one row without a file. The JSON
form nests the requests under each device.
"""

from __future__ import annotations

import csv
import io
import json
import operator
from collections.abc import Iterable
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
    return datetime.fromtimestamp(when).astimezone().isoformat(timespec="seconds")


def _mac(device: TrackedDevice) -> str:
    try:
        return format_mac(device.mac) if device.mac else ""
    except MacError:
        return device.mac


def device_record(device: TrackedDevice) -> dict[str, Value]:
    """The device columns of an export."""
    return {
        "mac": _mac(device),
        "product": device.product,
        "ip": device.ip,
        "boots": device.boots,
        "stage": device.stage.value if device.stage is not None else "",
        "status": device.status[1],
        "first_seen": iso(device.first_seen),
        "last_seen": iso(device.last_seen),
    }


def file_record(entry: TimelineEntry) -> dict[str, Value]:
    """The file columns of an export: one request and what became of it."""
    return {
        "time": iso(entry.time),
        "requested": entry.requested,
        "served": entry.served,
        "source": entry.source,
        "size": entry.size,
        "md5": entry.md5,
        "outcome": entry.outcome.value,
        "reason": entry.reason,
        "bytes_sent": entry.bytes_sent,
        "duration": round(entry.duration, 3) if entry.duration is not None else None,
    }


def rows(devices: Iterable[TrackedDevice]) -> list[dict[str, Value]]:
    """One flat row per request of every device (a lease-only device: one row, no file)."""
    out: list[dict[str, Value]] = []
    empty: dict[str, Value] = dict.fromkeys(FILE_FIELDS)
    for device in devices:
        head = device_record(device)
        entries = list(device.timeline)
        out.extend({**head, **file_record(e)} for e in entries)
        if not entries:
            out.append({**head, **empty})
    return out


def to_csv(devices: Iterable[TrackedDevice]) -> str:
    """CSV text with a header row (:data:`CSV_FIELDS`); empty cells for unknown values."""
    buffer = io.StringIO()
    writer = csv.writer(buffer)  # writes None as an empty cell
    writer.writerow(CSV_FIELDS)
    # A plain writer fed each row's cells in column order: a DictWriter checks every row's keys
    # against the header again (a bench day's export is 300,000 rows).
    writer.writerows(map(operator.itemgetter(*CSV_FIELDS), rows(devices)))
    return buffer.getvalue()


def to_json(devices: Iterable[TrackedDevice]) -> str:
    """JSON: a list of devices, each with its ``files`` (requests, oldest first)."""
    document: list[dict[str, Any]] = [
        {**device_record(d), "files": [file_record(e) for e in d.timeline]} for d in devices
    ]
    return json.dumps(document, indent=2) + "\n"
