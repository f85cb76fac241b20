"""zeroconf on the bench interface: announce this bench, spot rival servers and Algo devices.

- Advertises the running bench as ``_tftp._udp`` (TXT: app, version, roles, id) on the chosen
  interface only.
- Browses ``_tftp._udp``: any server but ours is a warning ("another provisioning server is
  active at ..."), an algodesk bench is named as such.
- Browses ``_http._tcp`` and keeps the services whose name or host marks them as Algo devices (or
  whose address ``is_algo_address`` recognises, e.g. from DHCP leases).
- ``probe_model`` fetches a device's web landing page on request and reads its model from the
  ``<title>Algo 8186</title>``.

zeroconf calls back on its own thread and forbids blocking there, so names are resolved on a
thread of ours (``algodesk-discovery``).
"""

from __future__ import annotations

import queue
import re
import secrets
import socket
import threading
import urllib.error
import urllib.request
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field, replace
from types import MappingProxyType

from zeroconf import IPVersion, ServiceBrowser, ServiceInfo, ServiceStateChange, Zeroconf

from algodesk import __version__
from algodesk.core.events import ServiceNotice, Sink, null_sink
from algodesk.core.syslog_parse import clean

SERVICE = "discovery"
TFTP_TYPE = "_tftp._udp.local."
HTTP_TYPE = "_http._tcp.local."
APP = "algodesk"
_RESOLVE_MS = 3000
_PAGE_LIMIT = 65536
_ALGO_NAME = re.compile(r"(?i)\balgo\b|algo[\s\-_]?\d{4}|0022ee")
_TITLE = re.compile(rb"(?is)<title[^>]*>\s*(.*?)\s*</title>")
_MODEL = re.compile(r"(?i)\balgo\s*(\d{4}S?)\b")


@dataclass(frozen=True, slots=True)
class FoundService:
    """A service seen on the network."""

    name: str
    type: str
    addresses: tuple[str, ...]
    port: int
    host: str = ""
    properties: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    model: str = ""

    @property
    def where(self) -> str:
        """``10.0.0.5:69`` (the first address), or the host name."""
        host = self.addresses[0] if self.addresses else self.host.rstrip(".")
        return f"{host}:{self.port}"

    @property
    def label(self) -> str:
        """The instance name without the service type."""
        suffix = f".{self.type}"
        return self.name[: -len(suffix)] if self.name.endswith(suffix) else self.name


class Discovery:
    """Announces this bench and watches for rival servers and Algo devices on one interface.

    ``interfaces`` are the addresses zeroconf may use (the bench interface's address; loopback in
    tests). ``start()`` begins browsing; ``advertise()`` announces; ``stop()`` ends all of it.
    """

    def __init__(
        self,
        sink: Sink = null_sink,
        *,
        interfaces: Sequence[str],
        is_algo_address: Callable[[str], bool] | None = None,
    ) -> None:
        if not interfaces:
            raise ValueError("zeroconf needs the bench interface's address")
        self._sink = sink
        self._interfaces = list(interfaces)
        self._is_algo_address = is_algo_address or (lambda address: False)
        self._zeroconf: Zeroconf | None = None
        self._browsers: list[ServiceBrowser] = []
        self._advertised: ServiceInfo | None = None
        # Our announcement can come back through the browser before register_service returns;
        # this TXT token recognises it whatever name zeroconf settled on.
        self._token = secrets.token_hex(6)
        self._changes: queue.Queue[tuple[str, str, ServiceStateChange] | None] = queue.Queue()
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._servers: dict[str, FoundService] = {}
        self._devices: dict[str, FoundService] = {}

    @property
    def running(self) -> bool:
        """Whether browsing is on."""
        return self._zeroconf is not None

    @property
    def advertised_name(self) -> str:
        """The full service name this bench is announced under ('' when not announced)."""
        return self._advertised.name if self._advertised else ""

    def other_servers(self) -> list[FoundService]:
        """TFTP servers seen that are not this bench."""
        with self._lock:
            return sorted(self._servers.values(), key=lambda found: found.name)

    def devices(self) -> list[FoundService]:
        """HTTP services that look like Algo devices."""
        with self._lock:
            return sorted(self._devices.values(), key=lambda found: found.name)

    def start(self) -> None:
        """Join mDNS on the chosen interface and browse for servers and devices."""
        if self._zeroconf is not None:
            raise RuntimeError("discovery already running")
        self._zeroconf = Zeroconf(interfaces=self._interfaces, ip_version=IPVersion.V4Only)
        self._thread = threading.Thread(
            target=self._resolve_loop, name="algodesk-discovery", daemon=True
        )
        self._thread.start()
        self._browsers = [
            ServiceBrowser(self._zeroconf, kind, handlers=[self._on_change])
            for kind in (TFTP_TYPE, HTTP_TYPE)
        ]

    def advertise(
        self, address: str, port: int = 69, roles: Sequence[str] = ("tftp",), name: str = ""
    ) -> str:
        """Announce this bench as ``_tftp._udp`` at ``address:port``; returns the name used."""
        if self._zeroconf is None:
            raise RuntimeError("start discovery before advertising")
        self.withdraw()
        instance = name or f"algodesk on {socket.gethostname()}"
        host = re.sub(r"[^A-Za-z0-9\-]", "-", socket.gethostname())[:60] or "algodesk"
        info = ServiceInfo(
            TFTP_TYPE,
            f"{instance}.{TFTP_TYPE}",
            addresses=[socket.inet_aton(address)],
            port=port,
            properties={
                "app": APP,
                "version": __version__,
                "roles": ",".join(roles),
                "id": self._token,
            },
            server=f"{host}.local.",
        )
        self._zeroconf.register_service(info, allow_name_change=True)
        self._advertised = info
        return info.name

    def withdraw(self) -> None:
        """Stop announcing this bench."""
        if self._zeroconf is not None and self._advertised is not None:
            self._zeroconf.unregister_service(self._advertised)
        self._advertised = None

    def stop(self) -> None:
        """Withdraw the announcement, stop browsing and leave mDNS."""
        zeroconf = self._zeroconf
        if zeroconf is None:
            return
        self.withdraw()
        for browser in self._browsers:
            browser.cancel()
        self._browsers = []
        self._changes.put(None)
        # Closing first ends a lookup the thread may be waiting on, so the join is short.
        zeroconf.close()
        if self._thread is not None:
            self._thread.join(timeout=5.0)
            self._thread = None
        self._zeroconf = None

    def __enter__(self) -> Discovery:
        self.start()
        return self

    def __exit__(self, *exc_info: object) -> None:
        self.stop()

    def probe_model(self, device: FoundService, timeout: float = 3.0) -> str:
        """Fetch the device's landing page and read its model ('' when it says none).

        User-initiated only: one HTTP GET to the device, never through a proxy.
        """
        address = device.addresses[0] if device.addresses else device.host.rstrip(".")
        model = read_model(fetch_title(address, device.port, timeout))
        if model:
            with self._lock:
                if device.name in self._devices:
                    self._devices[device.name] = replace(self._devices[device.name], model=model)
            self._notice(
                "info", "zeroconf-model", f"{device.label} at {device.where} is an Algo {model}"
            )
        return model

    # -- zeroconf's thread: hand over, never block ------------------------------------------

    def _on_change(
        self,
        zeroconf: Zeroconf,
        service_type: str,
        name: str,
        state_change: ServiceStateChange,
    ) -> None:
        self._changes.put((service_type, name, state_change))

    # -- our thread -------------------------------------------------------------------------

    def _resolve_loop(self) -> None:
        while (change := self._changes.get()) is not None:
            service_type, name, state = change
            if state is ServiceStateChange.Removed:
                with self._lock:
                    self._servers.pop(name, None)
                    self._devices.pop(name, None)
                continue
            found = self._resolve(service_type, name)
            if found is not None:
                self._classify(found, updated=state is ServiceStateChange.Updated)

    def _resolve(self, service_type: str, name: str) -> FoundService | None:
        zeroconf = self._zeroconf
        if zeroconf is None:
            return None
        try:
            info = zeroconf.get_service_info(service_type, name, timeout=_RESOLVE_MS)
        except Exception:  # zeroconf closed under the lookup (stop() during a resolve)
            return None
        if info is None:
            return None
        properties = {
            key.decode("utf-8", "replace"): (value or b"").decode("utf-8", "replace")
            for key, value in info.properties.items()
        }
        return FoundService(
            name=name,
            type=service_type,
            addresses=tuple(info.parsed_addresses(IPVersion.V4Only)),
            port=info.port or 0,
            host=info.server or "",
            properties=MappingProxyType(properties),
        )

    def _classify(self, found: FoundService, *, updated: bool) -> None:
        if found.type == TFTP_TYPE:
            if found.properties.get("id") == self._token:
                return
            with self._lock:
                known = found.name in self._servers
                self._servers[found.name] = found
            if known and updated:
                return
            what = (
                "another algodesk bench"
                if found.properties.get("app") == APP
                else "another provisioning server"
            )
            self._notice(
                "warning",
                "zeroconf-other-server",
                f"{what} is active at {found.where} ({clean(found.label)}): devices may be "
                "provisioned by it instead",
                found,
            )
        elif found.type == HTTP_TYPE and self._looks_like_algo(found):
            with self._lock:
                known = found.name in self._devices
                if known:
                    found = replace(found, model=self._devices[found.name].model)
                self._devices[found.name] = found
            if not known:
                self._notice(
                    "info",
                    "zeroconf-algo-device",
                    f"Algo device announced: {clean(found.label)} at {found.where}",
                    found,
                )

    def _looks_like_algo(self, found: FoundService) -> bool:
        if _ALGO_NAME.search(found.label) or _ALGO_NAME.search(found.host):
            return True
        return any(self._is_algo_address(address) for address in found.addresses)

    def _notice(
        self, level: str, code: str, message: str, found: FoundService | None = None
    ) -> None:
        client = (found.addresses[0], found.port) if found and found.addresses else None
        self._sink(
            ServiceNotice(service=SERVICE, level=level, code=code, message=message, client=client)
        )


def fetch_title(host: str, port: int = 80, timeout: float = 3.0) -> str:
    """The ``<title>`` of ``http://host:port/`` ('' when unreachable or untitled)."""
    url_host = f"[{host}]" if ":" in host else host
    opener = urllib.request.build_opener(urllib.request.ProxyHandler({}))
    try:
        with opener.open(f"http://{url_host}:{port}/", timeout=timeout) as response:
            page = response.read(_PAGE_LIMIT)
    except (OSError, urllib.error.URLError, ValueError):
        return ""
    match = _TITLE.search(page)
    return clean(match.group(1).decode("utf-8", "replace")) if match else ""


def read_model(title: str) -> str:
    """``Algo 8186`` (or ``Algo 8186 SIP Horn``) -> ``8186``; '' for any other title."""
    match = _MODEL.search(title)
    return match.group(1).upper() if match else ""
