"""Check-sync: NOTIFY building, response parsing, and the sender against a loopback responder."""

from __future__ import annotations

import re
import socket
import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field

import pytest

from algodesk.cli import main
from algodesk.commands.notify import parse_address
from algodesk.core.events import Event, ServiceNotice
from algodesk.core.sip_notify import Notify, SipError, SipResponse, parse_response
from algodesk.services.checksync import NotifyTarget, check_sync

# -- building --------------------------------------------------------------------------------


def _headers(raw: bytes) -> tuple[str, dict[str, str]]:
    text = raw.decode()
    assert text.endswith("\r\n\r\n")
    start, *lines = text[:-4].split("\r\n")
    return start, dict(line.split(": ", 1) for line in lines)


def test_notify_has_every_header_of_domain_section_9() -> None:
    notify = Notify("10.0.0.7", 5060, "1001", False, "10.0.0.1", 40000)
    start, headers = _headers(notify.encode())
    assert start == "NOTIFY sip:1001@10.0.0.7:5060 SIP/2.0"
    assert re.fullmatch(r"SIP/2\.0/UDP 10\.0\.0\.1:40000;branch=z9hG4bK\w+;rport", headers["Via"])
    assert re.fullmatch(r"<sip:algodesk@10\.0\.0\.1>;tag=\w+", headers["From"])
    assert headers["To"] == "<sip:1001@10.0.0.7:5060>"
    assert headers["Call-ID"] == notify.call_id
    assert headers["CSeq"] == "1 NOTIFY"
    assert headers["Max-Forwards"] == "70"
    assert headers["Event"] == "check-sync"
    assert headers["Content-Length"] == "0"


def test_reboot_flag_and_uri_without_extension_and_ipv6() -> None:
    notify = Notify("fe80::1", 5062, "", True, "fe80::2", 5000)
    start, headers = _headers(notify.encode())
    assert start == "NOTIFY sip:[fe80::1]:5062 SIP/2.0"
    assert headers["Event"] == "check-sync;reboot=true"
    assert headers["Via"].startswith("SIP/2.0/UDP [fe80::2]:5000;")


def test_each_notify_is_unique() -> None:
    a = Notify("10.0.0.7", 5060, "", False, "10.0.0.1", 1)
    b = Notify("10.0.0.7", 5060, "", False, "10.0.0.1", 1)
    assert (a.call_id, a.branch, a.tag) != (b.call_id, b.branch, b.tag)


@pytest.mark.parametrize("extension", ["10 01", "a\r\nX-Injected: 1", "<1001>"])
def test_bad_extensions_are_refused(extension: str) -> None:
    with pytest.raises(SipError):
        Notify("10.0.0.7", 5060, extension, False, "10.0.0.1", 1)


# -- parsing ---------------------------------------------------------------------------------


def test_parse_response_with_compact_and_folded_headers() -> None:
    raw = (
        b"SIP/2.0 200 OK\r\n"
        b"v: SIP/2.0/UDP 10.0.0.1:40000;branch=z9hG4bKabc;rport=40000\r\n"
        b"Via: SIP/2.0/UDP 10.0.0.9;branch=z9hG4bKother\r\n"
        b"i: deadbeef\r\n"
        b"CSeq: 1\r\n   NOTIFY\r\n"
        b"Content-Length: 0\r\n\r\n"
    )
    response = parse_response(raw)
    assert (response.status, response.reason, response.final) == (200, "OK", True)
    assert response.branch == "z9hG4bKabc"
    assert response.call_id == "deadbeef"
    assert response.cseq == (1, "NOTIFY")


def test_parse_response_lf_only_and_no_reason() -> None:
    response = parse_response(b"SIP/2.0 100\nCall-ID: x\n\n")
    assert (response.status, response.reason, response.final) == (100, "", False)


@pytest.mark.parametrize(
    "raw",
    [
        b"",
        b"NOTIFY sip:1@2 SIP/2.0\r\n\r\n",
        b"SIP/2.0 20 OK\r\n\r\n",
        b"SIP/2.0 999 Nope\r\n\r\n",
        b"SIP/2.0 200 OK\r\nno colon here\r\n\r\n",
    ],
)
def test_parse_response_refuses_malformed(raw: bytes) -> None:
    with pytest.raises(SipError):
        parse_response(raw)


def test_matching_needs_branch_call_id_and_cseq() -> None:
    notify = Notify("10.0.0.7", 5060, "", False, "10.0.0.1", 1)

    def response(branch: str, call_id: str, cseq: str) -> SipResponse:
        return parse_response(
            f"SIP/2.0 200 OK\r\nVia: SIP/2.0/UDP x;branch={branch}\r\nCall-ID: {call_id}\r\n"
            f"CSeq: {cseq}\r\n\r\n".encode()
        )

    assert notify.matches(response(notify.branch, notify.call_id, "1 NOTIFY"))
    assert not notify.matches(response("z9hG4bKx", notify.call_id, "1 NOTIFY"))
    assert not notify.matches(response(notify.branch, "other", "1 NOTIFY"))
    assert not notify.matches(response(notify.branch, notify.call_id, "1 OPTIONS"))


# -- the sender against a loopback SIP responder ---------------------------------------------


@dataclass
class Responder:
    """A fake device: answers each NOTIFY with what ``behaviour`` returns (None: stay silent)."""

    behaviour: Callable[[bytes, int], list[bytes]]
    sock: socket.socket = field(init=False)
    received: list[bytes] = field(default_factory=list)
    stopping: threading.Event = field(default_factory=threading.Event)

    def __post_init__(self) -> None:
        self.sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
        self.sock.bind(("127.0.0.1", 0))
        self.sock.settimeout(0.05)
        self.thread = threading.Thread(target=self._run, name="algodesk-test-sip", daemon=True)

    @property
    def port(self) -> int:
        return int(self.sock.getsockname()[1])

    def count(self, expected: int) -> int:
        """How many requests arrived, once this thread has read ``expected`` (or 5 s passed)."""
        deadline = time.monotonic() + 5
        while len(self.received) < expected and time.monotonic() < deadline:
            time.sleep(0.01)
        return len(self.received)

    def _run(self) -> None:
        while not self.stopping.is_set():
            try:
                data, peer = self.sock.recvfrom(65535)
            except TimeoutError:
                continue
            self.received.append(data)
            for answer in self.behaviour(data, len(self.received)):
                self.sock.sendto(answer, peer)


def answer(request: bytes, status: str) -> bytes:
    """Echo Via, From, To, Call-ID and CSeq as a device does."""
    lines = request.decode().split("\r\n")
    keep = [
        line for line in lines if line.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")
    ]
    return ("\r\n".join([f"SIP/2.0 {status}", *keep, "Content-Length: 0"]) + "\r\n\r\n").encode()


@pytest.fixture
def responder_factory() -> Iterator[Callable[[Callable[[bytes, int], list[bytes]]], Responder]]:
    made: list[Responder] = []

    def make(behaviour: Callable[[bytes, int], list[bytes]]) -> Responder:
        responder = Responder(behaviour)
        made.append(responder)
        responder.thread.start()
        return responder

    try:
        yield make
    finally:
        for responder in made:
            responder.stopping.set()
            responder.thread.join(timeout=2)
            responder.sock.close()


def test_many_devices_answered_in_parallel(responder_factory: Callable[..., Responder]) -> None:
    ok = responder_factory(lambda data, n: [answer(data, "100 Trying"), answer(data, "200 OK")])
    busy = responder_factory(lambda data, n: [answer(data, "486 Busy Here")])
    silent = responder_factory(lambda data, n: [])
    events: list[Event] = []
    results = check_sync(
        [
            NotifyTarget("127.0.0.1", ok.port, "1001", reboot=True),
            NotifyTarget("127.0.0.1", busy.port),
            NotifyTarget("127.0.0.1", silent.port),
        ],
        timeout=2.0,
        sink=events.append,
    )
    assert [r.status for r in results] == [200, 486, None]
    assert [r.ok for r in results] == [True, False, False]
    assert results[1].reason == "Busy Here"
    assert results[2].reason == "timeout"
    # Timer E retransmits a request nobody answers; each send is counted.
    sends = results[2].retransmissions + 1
    assert sends >= 2
    assert silent.count(sends) == sends
    start, headers = _headers(ok.received[0])
    assert start == f"NOTIFY sip:1001@127.0.0.1:{ok.port} SIP/2.0"
    assert headers["Event"] == "check-sync;reboot=true"
    assert [e.code for e in events if isinstance(e, ServiceNotice)] == [
        "notify-ok",
        "notify-refused",
        "notify-no-answer",
    ]


def test_retransmission_gets_answered_and_strays_are_ignored(
    responder_factory: Callable[..., Responder],
) -> None:
    def second_time_lucky(data: bytes, count: int) -> list[bytes]:
        stray = b"SIP/2.0 200 OK\r\nCall-ID: someone-else\r\nCSeq: 1 NOTIFY\r\n\r\n"
        return [stray, b"garbage"] if count == 1 else [answer(data, "200 OK")]

    device = responder_factory(second_time_lucky)
    (result,) = check_sync([NotifyTarget("127.0.0.1", device.port)], timeout=3)
    assert result.status == 200
    assert result.retransmissions == 1
    assert len({_headers(r)[1]["Call-ID"] for r in device.received}) == 1


def test_unresolvable_host_is_a_result_not_an_error(monkeypatch: pytest.MonkeyPatch) -> None:
    def no_dns(*args: object, **kwargs: object) -> None:
        raise socket.gaierror(socket.EAI_NONAME, "Name or service not known")

    # No real resolver: tests stay on loopback.
    monkeypatch.setattr(socket, "getaddrinfo", no_dns)
    (result,) = check_sync([NotifyTarget("device.example")], timeout=0.2)
    assert result.status is None
    assert result.reason.startswith("cannot resolve")


# -- the command line ------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("10.0.0.7", ("10.0.0.7", 5060)),
        ("10.0.0.7:5062", ("10.0.0.7", 5062)),
        ("[::1]:5070", ("::1", 5070)),
        ("::1", ("::1", 5060)),
        ("[::1]", ("::1", 5060)),
    ],
)
def test_parse_address(text: str, expected: tuple[str, int]) -> None:
    assert parse_address(text, 5060) == expected


def test_cli_notify(
    responder_factory: Callable[..., Responder], capsys: pytest.CaptureFixture[str]
) -> None:
    ok = responder_factory(lambda data, n: [answer(data, "200 OK")])
    silent = responder_factory(lambda data, n: [])
    assert main(["notify", f"127.0.0.1:{ok.port}", "--ext", "1001", "--timeout", "0.3"]) == 0
    assert f"127.0.0.1:{ok.port} 200 OK" in capsys.readouterr().out
    code = main(["notify", "127.0.0.1", "--port", str(silent.port), "--timeout", "0.3"])
    assert code == 1
    assert "no answer (timeout)" in capsys.readouterr().out


@pytest.mark.parametrize(
    "argv",
    [
        ["notify", "127.0.0.1:99999"],
        ["notify", "127.0.0.1", "--ext", "a b"],
        ["notify", "127.0.0.1", "--timeout", "0"],
    ],
)
def test_cli_notify_refuses_bad_input(argv: list[str], capsys: pytest.CaptureFixture[str]) -> None:
    assert main(argv) == 2
    assert "error" in capsys.readouterr().err


def test_notify_help_says_check_sync_needs_provisioning_on(
    capsys: pytest.CaptureFixture[str],
) -> None:
    with pytest.raises(SystemExit):
        main(["notify", "--help"])
    assert "only while provisioning is enabled" in " ".join(capsys.readouterr().out.split())
