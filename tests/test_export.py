"""Exports: devices and what each received, as CSV rows and JSON."""

from __future__ import annotations

import csv
import io
import json
from datetime import datetime

from algodesk.core import export
from algodesk.core.events import LeaseGranted
from algodesk.core.md5 import md5_hex
from algodesk.core.tracker import Tracker
from tests.conftest_qt import EventScript


def tracked() -> Tracker:
    tracker = Tracker()
    tracker.apply_all(EventScript().boot("10.0.0.2", "0022EE000001").events)
    tracker.apply(LeaseGranted(mac="00:22:EE:00:00:02", ip="10.0.0.3", lease_seconds=60))
    return tracker


def test_csv_has_one_row_per_request_and_one_for_a_lease_only_device() -> None:
    devices = list(tracked().devices.values())
    rows = list(csv.DictReader(io.StringIO(export.to_csv(devices))))
    assert list(rows[0]) == list(export.CSV_FIELDS)
    assert [(r["mac"], r["requested"], r["outcome"]) for r in rows] == [
        ("00:22:EE:00:00:01", "algom0022EE000001.conf", "not found"),
        ("00:22:EE:00:00:01", "algop8186.conf", "served"),
        ("00:22:EE:00:00:01", "algop8186.md5", "served"),
        ("00:22:EE:00:00:02", "", ""),
    ]
    served = rows[1]
    assert served["md5"] == md5_hex(b"prov.use = 1\n")
    assert served["size"] == "13" and served["bytes_sent"] == "13"
    assert served["duration"] == "0.25" and served["source"] == "disk"
    assert served["product"] == "8186" and served["ip"] == "10.0.0.2"
    assert rows[0]["size"] == "" and rows[0]["duration"] == ""
    assert rows[3]["ip"] == "10.0.0.3" and rows[3]["boots"] == "0"
    assert datetime.fromisoformat(served["time"]).tzinfo is not None


def test_json_nests_files_under_devices() -> None:
    devices = list(tracked().devices.values())
    document = json.loads(export.to_json(devices))
    assert [d["mac"] for d in document] == ["00:22:EE:00:00:01", "00:22:EE:00:00:02"]
    assert [f["requested"] for f in document[0]["files"]] == [
        "algom0022EE000001.conf",
        "algop8186.conf",
        "algop8186.md5",
    ]
    assert document[0]["files"][0]["size"] is None
    assert document[0]["stage"] == "applying/rebooting"
    assert document[1]["files"] == [] and document[1]["stage"] == ""


def test_every_csv_row_has_a_cell_per_field() -> None:
    lines = list(csv.reader(io.StringIO(export.to_csv(tracked().devices.values()))))
    assert lines[0] == list(export.CSV_FIELDS)
    assert {len(line) for line in lines} == {len(export.CSV_FIELDS)}
