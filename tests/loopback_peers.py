"""Loopback stand-ins for what a bench talks to: zeroconf announcers, an Algo web page, and a SIP
device answering check-sync. Used by the tests and by packaging/screenshots_network.py."""

from __future__ import annotations

import contextlib
import http.server
import socket
import threading
from collections.abc import Iterator

from zeroconf import IPVersion, ServiceInfo, Zeroconf

LOOPBACK = "127.0.0.1"


@contextlib.contextmanager
def loopback_zeroconf() -> Iterator[Zeroconf]:
    """A second zeroconf on loopback, to announce rivals and devices from."""
    zc = Zeroconf(interfaces=[LOOPBACK], ip_version=IPVersion.V4Only)
    try:
        yield zc
    finally:
        zc.close()


@contextlib.contextmanager
def algo_page() -> Iterator[int]:
    """A loopback web server that looks like an Algo 8186's landing page; yields its port."""

    class Page(http.server.BaseHTTPRequestHandler):
        def do_GET(self) -> None:
            body = b"<html><head><title>Algo 8186</title></head><body>login</body></html>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

        def log_message(self, format: str, *args: object) -> None:
            pass

    with serving(http.server.HTTPServer((LOOPBACK, 0), Page), "algodesk-test-http") as port:
        yield port


@contextlib.contextmanager
def serving(server: http.server.HTTPServer, name: str) -> Iterator[int]:
    """``server`` answering on a thread named ``name`` until the block ends; yields its port."""
    thread = threading.Thread(target=server.serve_forever, name=name, daemon=True)
    thread.start()
    try:
        yield server.server_address[1]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def announce(zc: Zeroconf, kind: str, instance: str, port: int, **properties: str) -> None:
    """Announce ``instance`` of service ``kind`` at loopback ``port``."""
    zc.register_service(
        ServiceInfo(
            kind,
            f"{instance}.{kind}",
            addresses=[socket.inet_aton(LOOPBACK)],
            port=port,
            properties=properties,
            server=f"{instance.replace(' ', '-').lower()}.local.",
        )
    )


@contextlib.contextmanager
def sip_device(name: str = "algodesk-test-sip") -> Iterator[int]:
    """A loopback SIP endpoint answering 200 OK (echoing the dialog headers) to every request;
    yields its port."""
    sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    sock.bind((LOOPBACK, 0))
    sock.settimeout(0.05)
    stopping = threading.Event()

    def run() -> None:
        while not stopping.is_set():
            try:
                data, peer = sock.recvfrom(65535)
            except TimeoutError:
                continue
            keep = [
                line
                for line in data.decode().split("\r\n")
                if line.split(":")[0] in ("Via", "From", "To", "Call-ID", "CSeq")
            ]
            sock.sendto(("\r\n".join(["SIP/2.0 200 OK", *keep]) + "\r\n\r\n").encode(), peer)

    thread = threading.Thread(target=run, name=name, daemon=True)
    thread.start()
    try:
        yield int(sock.getsockname()[1])
    finally:
        stopping.set()
        thread.join(timeout=2)
        sock.close()
