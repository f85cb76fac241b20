"""A server's history run fed from its sink: early events kept, late ones dropped."""

from __future__ import annotations

from algodesk.core.events import Event, RequestReceived
from algodesk.services.history import RunRecording


class _Recorder:
    def __init__(self) -> None:
        self.calls: list[tuple[str, object]] = []

    def start_run(self, root: str, address: str, port: int) -> int:
        self.calls.append(("start", (root, address, port)))
        return 7

    def end_run(self, run_id: int) -> None:
        self.calls.append(("end", run_id))

    def record(self, event: Event) -> None:
        self.calls.append(("record", event.filename))  # type: ignore[attr-defined]


def _request(name: str) -> RequestReceived:
    return RequestReceived(time=1.0, client=("10.0.0.5", 5000), filename=name)


def test_events_before_the_run_opens_are_recorded_first_and_in_order() -> None:
    recorder = _Recorder()
    recording = RunRecording(recorder)
    recording.record(_request("early-1"))
    recording.record(_request("early-2"))
    assert recording.open("/bench", "127.0.0.1", 6969) == 7
    recording.record(_request("late"))
    recording.close()
    recording.record(_request("after close"))
    assert recorder.calls == [
        ("start", ("/bench", "127.0.0.1", 6969)),
        ("record", "early-1"),
        ("record", "early-2"),
        ("record", "late"),
        ("end", 7),
    ]
    assert recording.run_id is None


def test_a_server_that_never_started_records_nothing() -> None:
    recorder = _Recorder()
    recording = RunRecording(recorder)
    recording.record(_request("early"))
    recording.discard()
    recording.close()
    assert recorder.calls == []
