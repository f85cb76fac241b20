"""Syslog parsing (RFC 5424, RFC 3164 and loose forms) and the UDP receiver on loopback."""

from __future__ import annotations

import json
import queue
import signal
import socket
import subprocess
import sys
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.core.events import Event, ServerFailed, ServerStarted, ServerStopped, SyslogLine
from algodesk.core.masking import mask_secrets
from algodesk.core.syslog_parse import parse
from algodesk.services.errors import ServerStartError
from algodesk.services.syslog import SyslogReceiver


def test_rfc5424_with_structured_data() -> None:
    raw = (
        b"<165>1 2003-10-11T22:14:15.003Z mymachine.example.com evntslog 42 ID47 "
        b'[exampleSDID@32473 iut="3" eventSource="Application"] \xef\xbb\xbfAn application event'
    )
    message = parse(raw)
    assert message.protocol == "rfc5424"
    assert (message.facility, message.severity) == (20, 5)
    assert message.hostname == "mymachine.example.com"
    assert (message.app, message.procid, message.msgid) == ("evntslog", "42", "ID47")
    assert message.timestamp == "2003-10-11T22:14:15.003Z"
    assert message.structured_data.startswith("[exampleSDID@32473")
    assert message.message == "An application event"


def test_rfc5424_nil_values_and_no_message() -> None:
    message = parse(b"<34>1 - - - - - -")
    assert message.protocol == "rfc5424"
    assert (message.facility, message.severity) == (4, 2)
    assert (message.hostname, message.app, message.timestamp, message.message) == ("", "", "", "")


def test_rfc5424_escaped_bracket_in_structured_data() -> None:
    message = parse(b'<14>1 - host app - - [a@1 k="x\\]y"][b@1 z="1"] hello')
    assert message.structured_data == '[a@1 k="x\\]y"][b@1 z="1"]'
    assert message.message == "hello"


def test_rfc3164_with_hostname_and_tag() -> None:
    message = parse(b"<34>Oct 11 22:14:15 mymachine su[230]: 'su root' failed on /dev/pts/8")
    assert message.protocol == "rfc3164"
    assert (message.facility, message.severity, message.severity_name) == (4, 2, "crit")
    assert (message.hostname, message.app, message.procid) == ("mymachine", "su", "230")
    assert message.timestamp == "Oct 11 22:14:15"
    assert message.message == "'su root' failed on /dev/pts/8"


def test_busybox_style_without_hostname() -> None:
    message = parse(b"<30>Jan  1 00:00:12 provision: fetched algom0022EE010203.conf\n")
    assert message.hostname == ""
    assert message.app == "provision"
    assert message.message == "fetched algom0022EE010203.conf"


def test_no_priority_falls_back_to_user_notice() -> None:
    message = parse(b"just some text")
    assert (message.facility, message.severity) == (1, 5)
    assert message.message == "just some text"


def test_out_of_range_priority_is_text() -> None:
    message = parse(b"<999>hello")
    assert (message.facility, message.severity) == (1, 5)
    assert message.message == "<999>hello"


def test_control_characters_are_escaped() -> None:
    message = parse(b"<14>app: bell\x07 and \x1b[31mred")
    assert "\x07" not in message.message and "\x1b" not in message.message
    assert "\\x07" in message.message


@pytest.mark.parametrize(
    ("text", "masked"),
    [
        ("set admin.pwd = algo", "set admin.pwd = ****"),
        ("sip.u1.pwd=secret1 applied", "sip.u1.pwd=**** applied"),
        ("password: hunter2", "password: ****"),
        ("fetch ftp://user:topsecret@10.0.0.5/files", "fetch ftp://user:****@10.0.0.5/files"),
        ("Bad password for admin", "Bad password for admin"),
    ],
)
def test_secrets_are_masked(text: str, masked: str) -> None:
    assert mask_secrets(text) == masked
    assert parse(f"<14>app: {text}".encode()).message == masked


@given(st.binary(max_size=400))
def test_parse_never_fails(data: bytes) -> None:
    message = parse(data)
    assert 0 <= message.facility <= 23
    assert 0 <= message.severity <= 7
    assert not any(ord(c) < 0x20 and c != "\t" for c in message.message)


# -- the receiver ----------------------------------------------------------------------------


class Events:
    """A thread-safe sink that lets a test wait for the next event of a type."""

    def __init__(self) -> None:
        self.queue: queue.Queue[Event] = queue.Queue()

    def __call__(self, event: Event) -> None:
        self.queue.put(event)

    def next(self, kind: type[Event]) -> Event:
        while True:
            event = self.queue.get(timeout=5)
            if isinstance(event, kind):
                return event


@pytest.fixture
def receiver() -> Iterator[tuple[SyslogReceiver, Events]]:
    events = Events()
    server = SyslogReceiver("127.0.0.1", 0, events)
    server.start()
    try:
        yield server, events
    finally:
        server.stop()


def test_receiver_reports_lines_with_their_source(
    receiver: tuple[SyslogReceiver, Events],
) -> None:
    server, events = receiver
    assert isinstance(events.next(ServerStarted), ServerStarted)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.bind(("127.0.0.1", 0))
        client.sendto(
            b"<11>Jan  2 03:04:05 spk1 sipd[7]: registration failed", ("127.0.0.1", server.port)
        )
        line = events.next(SyslogLine)
        assert isinstance(line, SyslogLine)
        assert line.client == client.getsockname()
        assert (line.facility, line.severity, line.hostname) == (1, 3, "spk1")
        assert (line.app, line.message) == ("sipd", "registration failed")


def test_receiver_survives_garbage_and_bursts(receiver: tuple[SyslogReceiver, Events]) -> None:
    server, events = receiver
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as client:
        client.sendto(b"\xff\xfe\x00<", ("127.0.0.1", server.port))
        client.sendto(b"", ("127.0.0.1", server.port))
        for index in range(200):
            client.sendto(f"<14>app: line {index}".encode(), ("127.0.0.1", server.port))
        seen = [events.next(SyslogLine) for _ in range(202)]
    assert isinstance(seen[-1], SyslogLine) and seen[-1].message == "line 199"
    assert server.received == 202


def test_stop_is_quick_and_restart_works() -> None:
    events = Events()
    server = SyslogReceiver("127.0.0.1", 0, events)
    server.start()
    thread = next(t for t in threading.enumerate() if t.name == "algodesk-syslog")
    server.stop()
    assert not thread.is_alive()
    assert not server.running
    assert isinstance(events.next(ServerStopped), ServerStopped)
    server.start()
    try:
        assert server.running
    finally:
        server.stop()


def test_port_in_use_is_a_server_start_error() -> None:
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as holder:
        holder.bind(("127.0.0.1", 0))
        events: list[Event] = []
        server = SyslogReceiver("127.0.0.1", holder.getsockname()[1], events.append)
        with pytest.raises(ServerStartError) as caught:
            server.start()
    assert caught.value.code == "port-in-use"
    (failed,) = events
    assert isinstance(failed, ServerFailed)
    assert (failed.code, failed.remedies) == ("port-in-use", caught.value.remedies)
    assert any("rsyslog" in remedy for remedy in caught.value.remedies)
    assert not server.running


def test_serve_prints_syslog_lines(tmp_path: Path) -> None:
    """`algodesk serve --syslog 0` on loopback: the receiver's port, then a device's line."""
    serve = subprocess.Popen(
        [
            *(sys.executable, "-m", "algodesk", "serve", str(tmp_path), "--json"),
            *("--bind", "127.0.0.1", "--port", "0", "--syslog", "0"),
        ],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    try:
        assert serve.stdout is not None
        lines = (json.loads(line) for line in serve.stdout)
        started = next(
            e for e in lines if e["event"] == "server-started" and e["service"] == "syslog"
        )
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
            device.sendto(b"<12>sipd: admin.pwd = algo rejected", ("127.0.0.1", started["port"]))
        line = next(e for e in lines if e["event"] == "syslog")
        assert (line["severity"], line["app"]) == (4, "sipd")
        assert line["message"] == "admin.pwd = **** rejected"
    finally:
        serve.send_signal(signal.SIGTERM)
        serve.wait(timeout=10)
        for pipe in (serve.stdout, serve.stderr):
            if pipe is not None:
                pipe.close()
    assert serve.returncode == 0
