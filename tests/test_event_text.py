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
