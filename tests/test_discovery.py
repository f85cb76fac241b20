"""zeroconf bound to loopback: this bench's announcement, rival servers, Algo devices, models."""

from __future__ import annotations

import queue
import socket
import threading

import pytest
from zeroconf import Zeroconf

from algodesk.core.events import Event, ServiceNotice
from algodesk.services.discovery import (
    HTTP_TYPE,
    TFTP_TYPE,
    Discovery,
    FoundService,
    fetch_title,
    read_model,
)
from tests.loopback_peers import LOOPBACK, announce


class Notices:
    def __init__(self) -> None:
        self.queue: queue.Queue[ServiceNotice] = queue.Queue()

    def __call__(self, event: Event) -> None:
        if isinstance(event, ServiceNotice):
            self.queue.put(event)

    def wait(self, code: str, text: str) -> ServiceNotice:
        while True:
            notice = self.queue.get(timeout=10)
            if notice.code == code and text in notice.message:
                return notice


def test_two_benches_see_each_other_but_not_themselves() -> None:
    notices_a, notices_b = Notices(), Notices()
    with (
        Discovery(notices_a, interfaces=[LOOPBACK]) as a,
        Discovery(notices_b, interfaces=[LOOPBACK]) as b,
    ):
        name = a.advertise(LOOPBACK, 6969, roles=("tftp", "dhcp"), name="bench A")
        assert name == f"bench A.{TFTP_TYPE}"
        warning = notices_b.wait("zeroconf-other-server", "another algodesk bench")
        assert f"{LOOPBACK}:6969" in warning.message
        assert warning.level == "warning"
        (seen,) = b.other_servers()
        assert seen.properties["app"] == "algodesk"
        assert seen.properties["roles"] == "tftp,dhcp"
        assert seen.properties["version"]
        assert a.other_servers() == []
        assert notices_a.queue.empty()


def test_a_foreign_tftp_server_is_reported(rival_zeroconf: Zeroconf) -> None:
    notices = Notices()
    with Discovery(notices, interfaces=[LOOPBACK]):
        announce(rival_zeroconf, TFTP_TYPE, "tftpd64 at desk 3", 69)
        warning = notices.wait("zeroconf-other-server", "another provisioning server")
        assert warning.message.startswith(f"another provisioning server is active at {LOOPBACK}:69")
        assert warning.client == (LOOPBACK, 69)


def test_algo_devices_are_listed_and_their_model_probed(
    rival_zeroconf: Zeroconf, device_page: int
) -> None:
    notices = Notices()
    with Discovery(notices, interfaces=[LOOPBACK]) as discovery:
        announce(rival_zeroconf, HTTP_TYPE, "Printer on desk 3", 8080)
        announce(rival_zeroconf, HTTP_TYPE, "Algo 8186 Horn 0022EE010203", device_page)
        notices.wait("zeroconf-algo-device", "Algo 8186 Horn")
        (device,) = discovery.devices()
        assert device.addresses == (LOOPBACK,)
        assert device.model == ""
        assert discovery.probe_model(device) == "8186"
        assert discovery.devices()[0].model == "8186"
        assert "is an Algo 8186" in notices.wait("zeroconf-model", "").message


def test_devices_recognised_by_address(rival_zeroconf: Zeroconf) -> None:
    notices = Notices()
    with Discovery(
        notices, interfaces=[LOOPBACK], is_algo_address=lambda address: address == LOOPBACK
    ) as discovery:
        announce(rival_zeroconf, HTTP_TYPE, "web-ui", 80)
        notices.wait("zeroconf-algo-device", "web-ui")
        assert [d.label for d in discovery.devices()] == ["web-ui"]


def test_stop_ends_the_thread_and_can_restart() -> None:
    discovery = Discovery(interfaces=[LOOPBACK])
    discovery.start()
    thread = next(t for t in threading.enumerate() if t.name == "algodesk-discovery")
    discovery.stop()
    assert not thread.is_alive()
    assert not discovery.running
    discovery.start()
    discovery.stop()


@pytest.mark.parametrize(
    ("title", "model"),
    [("Algo 8186", "8186"), ("ALGO 8190s SIP Speaker Clock", "8190S"), ("Algo", ""), ("", "")],
)
def test_read_model(title: str, model: str) -> None:
    assert read_model(title) == model


def test_fetch_title_on_a_closed_port_is_empty() -> None:
    with socket.socket() as unused:
        unused.bind((LOOPBACK, 0))
        port = unused.getsockname()[1]
    assert fetch_title(LOOPBACK, port, timeout=1) == ""


def test_found_service_label_and_where() -> None:
    found = FoundService("x._http._tcp.local.", HTTP_TYPE, (), 80, host="algo.local.")
    assert (found.label, found.where) == ("x", "algo.local:80")
