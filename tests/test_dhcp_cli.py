"""`algodesk serve` DHCP flags: what they build, what they refuse, how events print.

Nothing here binds port 67: the server objects are built and inspected, never started (the
virtual bench test runs them for real inside network namespaces).
"""

from __future__ import annotations

from pathlib import Path

import pytest

from algodesk.cli import build_parser, main
from algodesk.commands import serve
from algodesk.core import event_text
from algodesk.core import events as ev
from algodesk.services.dhcp import DhcpServer
from algodesk.services.syslog import SyslogReceiver


def companions(tmp_path: Path, *flags: str) -> list[DhcpServer | SyslogReceiver]:
    args = build_parser().parse_args(["serve", str(tmp_path), *flags])
    return serve._companions(args, ev.null_sink)


def test_dhcp_flags_build_the_settings(tmp_path: Path) -> None:
    (dhcp,) = companions(
        tmp_path,
        *("--bind", "10.99.0.1", "--dhcp", "10.99.0.10-30"),
        *("--option66", "tftp://10.99.0.1/algo", "--option150", "--option160", "prov.example"),
        "--dhcp-any-vendor",
    )
    assert isinstance(dhcp, DhcpServer)
    settings = dhcp.settings
    assert (settings.server_address, settings.pool_start, settings.pool_size) == (
        "10.99.0.1",
        "10.99.0.10",
        21,
    )
    assert (settings.option66, settings.option66_value) == (True, "tftp://10.99.0.1/algo")
    assert (settings.option150, settings.option150_addresses) == (True, ())
    assert (settings.option160, settings.option160_value) == (True, "prov.example")
    assert not settings.algo_only


def test_defaults_option66_names_the_bench_and_algo_only(tmp_path: Path) -> None:
    (dhcp,) = companions(tmp_path, "--bind", "10.99.0.1", "--dhcp", "10.99.0.10-30")
    assert isinstance(dhcp, DhcpServer)
    settings = dhcp.settings
    assert (settings.option66, settings.option66_value) == (True, "")
    assert not settings.option150 and not settings.option160
    assert settings.algo_only
    assert dict(settings.provisioning_options()) == {66: b"10.99.0.1"}


def test_option66_off_and_option150_list(tmp_path: Path) -> None:
    (dhcp,) = companions(
        tmp_path,
        *("--bind", "10.99.0.1", "--dhcp", "10.99.0.10-30"),
        *("--option66", "off", "--option150", "10.99.0.1,10.99.0.2"),
    )
    assert isinstance(dhcp, DhcpServer)
    assert not dhcp.settings.option66
    assert dhcp.settings.option150_addresses == ("10.99.0.1", "10.99.0.2")


def test_leases_go_to_the_data_folder(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ALGODESK_HOME", str(tmp_path / "home"))
    (dhcp,) = companions(tmp_path, "--bind", "10.99.0.1", "--dhcp", "10.99.0.10-30")
    assert isinstance(dhcp, DhcpServer)
    assert dhcp._leases_path == tmp_path / "home" / "data" / "dhcp-leases.json"


@pytest.mark.parametrize(
    ("flags", "message"),
    [
        (["--bind", "10.99.0.1", "--dhcp", "10.99.0.10"], "FIRST-LAST"),
        (["--bind", "10.99.0.1", "--dhcp", "10.99.0.30-10"], "comes before"),
        (["--bind", "10.99.0.1", "--dhcp", "10.98.0.10-20"], "does not fit"),
        (["--bind", "10.99.0.1", "--dhcp", "10.99.0.10-20", "--option150", "x"], "IPv4"),
        (["--bind", "127.0.0.1", "--syslog", "70000"], "0..65535"),
    ],
)
def test_bad_flags_exit_2_before_anything_starts(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], flags: list[str], message: str
) -> None:
    assert main(["serve", str(tmp_path), "--port", "0", *flags]) == 2
    assert message in capsys.readouterr().err


def test_wildcard_bind_needs_an_interface_on_the_pool_subnet(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, capsys: pytest.CaptureFixture[str]
) -> None:
    monkeypatch.setattr(serve, "find_bench_address", lambda first: "")
    assert main(["serve", str(tmp_path), "--port", "0", "--dhcp", "10.99.0.10-20"]) == 2
    assert "give --bind" in capsys.readouterr().err


def test_events_print_as_lines() -> None:
    lease = ev.LeaseGranted(
        mac="00:22:EE:01:02:03", ip="10.99.0.10", lease_seconds=3600, options={"66": "10.99.0.1"}
    )
    assert (
        event_text.line(lease) == "lease 10.99.0.10 to 00:22:EE:01:02:03 for 3600 s (66=10.99.0.1)"
    )
    notice = ev.ServiceNotice(service="dhcp", level="warning", code="x", message="two servers")
    assert event_text.line(notice) == "dhcp warning: two servers"
    started = ev.ServerStarted(service="dhcp", address="10.99.0.1", port=67)
    assert event_text.line(started) == "dhcp serving on 10.99.0.1:67"
    stopped = ev.ServerStopped(service="syslog", address="0.0.0.0", port=514)
    assert event_text.line(stopped) == "syslog stopped on 0.0.0.0:514"
    line = ev.SyslogLine(
        client=("10.99.0.10", 514), facility=1, severity=3, hostname="spk", app="sipd", message="m"
    )
    assert event_text.line(line) == "10.99.0.10:514 syslog err spk sipd: m"
