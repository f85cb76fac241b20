"""One wording for events: the ``serve`` lines and the GUI's Log page say the same thing."""

from __future__ import annotations

import io

import pytest

from algodesk.commands.serve import EventPrinter
from algodesk.core import event_text
from algodesk.core import events as ev
from algodesk.core.diagnosis import Level

pytestmark = pytest.mark.usefixtures("qapp")

PROGRESS = ev.TransferProgress(
    transfer_id=7, client=("10.0.0.9", 2048), served="a.bin", bytes_sent=1500, size=3000
)


def test_the_serve_line_and_the_log_row_share_one_description() -> None:
    from algodesk.ui.live.log_model import event_cells

    out = io.StringIO()
    EventPrinter(out, io.StringIO(), as_json=False, progress=True)(PROGRESS)
    assert (
        out.getvalue().split(" ", 1)[1]
        == "10.0.0.9:2048 #7 a.bin: 1500 bytes of 3000 bytes (50%)\n"
    )
    cells, _search = event_cells(PROGRESS)
    assert [c[0] for c in cells[2:]] == ["10.0.0.9:2048", "#7 a.bin: 1.5 KB of 3.0 KB (50%)"]


def test_origin_and_level_of_events_without_a_client() -> None:
    lease = ev.LeaseGranted(mac="0022ee010203", ip="10.0.0.7", lease_seconds=60)
    assert event_text.origin(lease) == "10.0.0.7"
    assert event_text.line(lease) == "lease 10.0.0.7 to 00:22:EE:01:02:03 for 60 s"
    notice = ev.ServiceNotice(service="dhcp", level="warning", code="rival", message="two")
    assert (event_text.origin(notice), event_text.level(notice)) == ("dhcp", Level.WARNING)
    missing = ev.RequestRefused(
        client=("10.0.0.7", 1), filename="x", reason=ev.RefusalReason.NOT_FOUND
    )
    assert event_text.level(missing) is Level.WARNING


def test_no_speed_for_a_transfer_too_short_to_measure() -> None:
    tiny = ev.TransferFinished(
        transfer_id=3,
        client=("10.0.0.9", 2048),
        served="algop8186.md5",
        bytes_sent=33,
        duration=0.001,
    )
    assert event_text.describe(tiny) == "#3 done algop8186.md5: 33 bytes in 0.00 s"
    big = ev.TransferFinished(
        transfer_id=4,
        client=("10.0.0.9", 2048),
        served="algo-8186-5.4f.sfw",
        bytes_sent=3_000_000,
        duration=1.5,
    )
    assert event_text.describe(big).endswith("3000000 bytes in 1.50 s (2.0 MB/s)")


def test_the_transfers_speed_column_uses_the_same_rule() -> None:
    from algodesk.core.wording import measured_rate

    assert measured_rate(33, 0.004) is None and measured_rate(33, None) is None
    assert measured_rate(1_000_000, 0.5) == 2_000_000
