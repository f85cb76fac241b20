"""Screenshots of the bench network companions: the Live view with DHCP leases and syslog lines,
the Syslog page, the check-sync dialog and the DHCP settings, under Xvfb.

Everything stays on 127.0.0.1: DHCP on a high port with replies sent back to the loopback
client (leased addresses are only packet contents), one device booting over TFTP and logging to
the syslog receiver, a SIP responder answering the check-sync, zeroconf on loopback.

    uv run python packaging/screenshots_network.py [--out docs/screenshots] [--display :97]
"""

from __future__ import annotations

import socket
import sys
import tempfile
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packaging"))

from screenshots import WINDOW_SIZE, pump, run  # noqa: E402  (the page screenshots' Xvfb helpers)

from tests.loopback_peers import (  # noqa: E402  (the tests' loopback stand-ins)
    LOOPBACK,
    algo_page,
    announce,
    loopback_zeroconf,
    sip_device,
)

CONFIG = b"prov.use = 1\nlog.server = 127.0.0.1\nsip.proxy = pbx.example.com\n"
DEVICE_MAC = "0022EE100001"
LEASED = ["0022EE2000A1", "0022EE2000A2", "0022EE2000A3", "0022EE2000A4"]
SYSLOG = [
    b"<134>Jan  2 09:14:01 algo-8186 provisioning: fetching algom0022EE100001.conf via tftp",
    b"<133>Jan  2 09:14:01 algo-8186 provisioning: algom0022EE100001.conf not found, "
    b"trying algop8186.conf",
    b"<134>Jan  2 09:14:02 algo-8186 provisioning: algop8186.conf md5 verified, applying",
    b"<134>Jan  2 09:14:02 algo-8186 provisioning: admin.pwd=algo replaced",
    b"<131>Jan  2 09:14:03 algo-8186 sip: registration to pbx.example.com failed (408)",
    b"<132>Jan  2 09:14:03 algo-8186 system: rebooting to apply the new configuration",
]


def loopback_factories(leases: Path) -> object:
    """The companions on loopback high ports (no pings: all of 127/8 answers them)."""
    from algodesk.services.checksync import check_sync
    from algodesk.services.dhcp import DhcpServer
    from algodesk.services.discovery import Discovery
    from algodesk.services.syslog import SyslogReceiver
    from algodesk.ui.network.companions_control import CompanionFactories

    return CompanionFactories(
        dhcp=lambda settings, sink: DhcpServer(
            replace(settings, ping_check=False, detect_other_servers=False),
            sink,
            leases_path=leases,
            bind_address=LOOPBACK,
            server_port=0,
            client_port=_client_port(),
            redirect_to=LOOPBACK,
        ),
        syslog=lambda _address, port, sink: SyslogReceiver(LOOPBACK, port, sink),
        discovery=lambda _address, sink, is_algo: Discovery(
            sink, interfaces=[LOOPBACK], is_algo_address=is_algo
        ),
        check_sync=lambda targets, sink: check_sync(targets, timeout=1.5, sink=sink),
    )


_CLIENT = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)


def _client_port() -> int:
    return int(_CLIENT.getsockname()[1])


def lease(server_port: int, mac: str) -> None:
    """DISCOVER, OFFER, REQUEST, ACK for ``mac`` from the loopback client."""
    from algodesk.core import dhcp_packet as dp
    from algodesk.core.dhcp_packet import MessageType, Option

    chaddr = bytes.fromhex(mac)
    discover = dp.request_packet(MessageType.DISCOVER, xid=1, chaddr=chaddr)
    _CLIENT.sendto(discover.encode(), (LOOPBACK, server_port))
    offer = dp.decode(_CLIENT.recv(2048))
    request = dp.request_packet(
        MessageType.REQUEST,
        xid=2,
        chaddr=chaddr,
        options=[
            (Option.REQUESTED_IP, dp.ip_value(offer.yiaddr)),
            (Option.SERVER_ID, dp.ip_value(LOOPBACK)),
        ],
    )
    _CLIENT.sendto(request.encode(), (LOOPBACK, server_port))
    _CLIENT.recv(2048)


@contextmanager
def announced_web_page() -> Iterator[None]:
    """An Algo-looking web page on loopback, announced over zeroconf as a device does."""
    from algodesk.services.discovery import HTTP_TYPE

    with algo_page() as port, loopback_zeroconf() as zc:
        announce(zc, HTTP_TYPE, "Algo 8186 Horn 0022EE100001", port)
        yield


def capture(out: Path, size: tuple[int, int] = WINDOW_SIZE) -> list[Path]:
    """Build the app, lease, boot and log, save the PNGs; returns the files written."""
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose
    from algodesk.core.md5 import md5_hex
    from algodesk.services.paths import beside
    from algodesk.services.settings import Settings, SettingsStore
    from algodesk.services.tftp_client import tftp_fetcher

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    _CLIENT.bind((LOOPBACK, 0))
    _CLIENT.settimeout(5)
    with (
        tempfile.TemporaryDirectory(prefix="algodesk-shots-") as home,
        sip_device("algodesk-shots-sip") as sip_port,
        announced_web_page(),
    ):
        paths = beside(Path(home), portable=False).ensure()
        (paths.bench_dir / "algop8186.conf").write_bytes(CONFIG)
        (paths.bench_dir / "algop8186.md5").write_text(md5_hex(CONFIG) + "\n")
        SettingsStore(paths.settings_file).save(
            Settings(
                folder=str(paths.bench_dir),
                interface="lo",
                address=LOOPBACK,
                port=0,
                syslog_port=0,
                zeroconf=True,
                checksync_extension="1001",
            )
        )
        parts = compose(paths, companion_factories=loopback_factories(paths.data_dir / "l.json"))
        window, network, companions = parts.window, parts.network, parts.companions
        assert network is not None and companions is not None
        window.resize(*size)
        window.show()

        def shot(name: str, grab: Callable[[], object]) -> None:
            pump(app, 0.8)
            path = out / f"{name}.png"
            grab().save(str(path))  # type: ignore[attr-defined]
            written.append(path)

        try:
            if not window.start_serving():
                raise SystemExit(window.banner.details.text())
            server = parts.control.server
            assert server is not None
            network.panel.dhcp_toggle.setChecked(True)
            network.panel.syslog_toggle.setChecked(True)
            dhcp, receiver = companions.dhcp, companions.syslog
            assert dhcp is not None and receiver is not None, window.banner.details.text()
            for mac in LEASED:
                lease(dhcp.port, mac)
            fetch = tftp_fetcher(LOOPBACK, server.port, timeout=2.0)
            fetch(f"algom{DEVICE_MAC}.conf")
            fetch("algop8186.conf")
            fetch("algop8186.md5")
            pump(app, 0.6)
            with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as device:
                device.bind((LOOPBACK, 0))
                for line in SYSLOG:
                    device.sendto(line, (LOOPBACK, receiver.port))
            found = network.panel.discovered_model
            for _ in range(100):
                if found.rowCount():
                    break
                pump(app, 0.1)
            network.panel.discovered.selectRow(0)
            network.panel.probe_selected()
            pump(app, 1.0)
            live = window.live
            model = live.device_model()
            row = next(r for r in range(model.rowCount()) if model.device(r).ip == LOOPBACK)
            live.select_row(row)
            live.lower_tabs.setCurrentWidget(live.device_syslog)
            window.pages.setCurrentWidget(live)
            shot("network-live", window.grab)
            window.pages.setCurrentWidget(network.syslog_page)
            shot("network-syslog", window.grab)
            window.pages.setCurrentWidget(live)
            live.select_row(row)
            dialog = network.wiring.open_checksync()
            dialog.port.setValue(sip_port)
            dialog.reboot.setChecked(True)
            dialog.send()
            while dialog.model.result(0) is None:
                pump(app, 0.1)
            shot("network-checksync", dialog.grab)
            dialog.close()
            settings_dialog = network.panel.edit_dhcp()
            settings_dialog.option160.setChecked(True)
            reservations = settings_dialog.reservations
            row = reservations.add_row()
            reservations.setData(reservations.index(row, 0), "0022EE100001")
            reservations.setData(reservations.index(row, 1), "127.0.0.50")
            shot("network-dhcp", settings_dialog.grab)
            settings_dialog.reject()
        finally:
            window.close()
            parts.close()
            _CLIENT.close()
    return written


def main() -> None:
    run(capture, __doc__.splitlines()[0], ":97")


if __name__ == "__main__":
    main()
