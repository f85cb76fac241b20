"""Stage-2 servers on loopback for preflight tests: HTTP(S) with basic auth, FTP, a site folder.

Each server is started by a context manager and stopped on exit, whatever the test did.
"""

from __future__ import annotations

import base64
import contextlib
import datetime as dt
import functools
import hashlib
import http.server
import socket
import ssl
import threading
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import trustme

from tests.loopback_peers import serving

USER = "algo"
PASSWORD = "Stage2-Pass-7c1"
DEVICE_MAC = "0022EE010203"
HOST_NAME = "prov.acme.example"


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode() + b"\n"


def write_site(root: Path, *, server: str, method: str, port: int) -> Path:
    """The permanent server's folder: ``algo/`` for configs, ``algo/fw/`` for the rest.

    - ``algom0022EE010203.conf`` (8186, md5 right): firmware 5.4f (present), tones.zip (present);
    - ``algop8186.conf`` with a stale ``algop8186.md5``;
    - ``algop8188.conf`` naming firmware 9.9z, which is missing;
    - nothing at all for the 8301.
    Configs keep the static server, so devices stay on it.
    """
    configs = root / "algo"
    firmware = configs / "fw"
    firmware.mkdir(parents=True)
    keep = (
        f"prov.server.method = static\nprov.server.static = {server}\n"
        f"prov.download.method = {method}\nprov.download.cfgpath = algo\n"
        "prov.download.fwpath = algo/fw\nprov.download.cert = 1\n"
        f"prov.auth.user = {USER}\nprov.auth.pwd = {PASSWORD}\nprov.use = 1\n"
    )
    device = (keep + "prov.version.firmware = 5.4f\nprov.data.tone = tones.zip\n").encode()
    (configs / f"algom{DEVICE_MAC}.conf").write_bytes(device)
    (configs / f"algom{DEVICE_MAC}.md5").write_bytes(md5(device))
    generic = (keep + "sip.proxy = pbx.acme.example\n").encode()
    (configs / "algop8186.conf").write_bytes(generic)
    (configs / "algop8186.md5").write_bytes(md5(b"an older algop8186.conf"))
    missing_fw = (keep + "prov.version.firmware = 9.9z\n").encode()
    (configs / "algop8188.conf").write_bytes(missing_fw)
    (configs / "algop8188.md5").write_bytes(md5(missing_fw))
    (firmware / "algo-8186-5.4f.sfw").write_bytes(b"\x7fSFW" + bytes(200_000))
    tones = b"PK\x05\x06" + bytes(18)
    (firmware / "tones.zip").write_bytes(tones)
    (firmware / "tones.md5").write_bytes(md5(tones))
    return root


@dataclass(frozen=True)
class Certificates:
    """A test CA (its PEM file for the profile) and the server certificates made with it."""

    ca_file: Path
    good: trustme.LeafCert
    expired: trustme.LeafCert
    ca: trustme.CA


def make_certificates(folder: Path) -> Certificates:
    ca = trustme.CA()
    ca_file = folder / "test-ca.pem"
    ca.cert_pem.write_to_path(str(ca_file))
    good = ca.issue_cert("127.0.0.1", HOST_NAME)
    expired = ca.issue_cert(
        "127.0.0.1",
        not_before=dt.datetime(2020, 1, 1, tzinfo=dt.UTC),
        not_after=dt.datetime(2021, 1, 1, tzinfo=dt.UTC),
    )
    return Certificates(ca_file, good, expired, ca)


class _Handler(http.server.SimpleHTTPRequestHandler):
    """Files from the site folder behind basic auth; ``mode`` makes it misbehave on purpose."""

    mode = "files"
    password = PASSWORD

    def log_message(self, format: str, *args: object) -> None:
        pass

    def _allowed(self) -> bool:
        wanted = "Basic " + base64.b64encode(f"{USER}:{self.password}".encode()).decode()
        if self.headers.get("Authorization") == wanted:
            return True
        self.send_response(401)
        self.send_header("WWW-Authenticate", 'Basic realm="algo"')
        self.send_header("Content-Length", "0")
        self.end_headers()
        return False

    def _misbehave(self) -> bool:
        if self.mode == "login":
            page = b"<html><head><title>Sign in - Acme portal</title></head><body>login</body>"
            self.send_response(200)
            self.send_header("Content-Type", "text/html; charset=utf-8")
            self.send_header("Content-Length", str(len(page)))
            self.end_headers()
            if self.command == "GET":
                self.wfile.write(page)
            return True
        if self.mode == "redirect":
            self.send_response(302)
            self.send_header(
                "Location", "https://portal:Redirect-Secret@sso.acme.example/login?token=abc"
            )
            self.send_header("Content-Length", "0")
            self.end_headers()
            return True
        return False

    def do_GET(self) -> None:
        if self._misbehave() or not self._allowed():
            return
        super().do_GET()

    def do_HEAD(self) -> None:
        if self.mode == "no-head":
            self.send_response(405)
            self.send_header("Content-Length", "0")
            self.end_headers()
            return
        if self._misbehave() or not self._allowed():
            return
        super().do_HEAD()


@contextlib.contextmanager
def http_server(
    root: Path,
    *,
    certificate: trustme.LeafCert | ssl.SSLContext | None = None,
    mode: str = "files",
    password: str = PASSWORD,
) -> Iterator[int]:
    """An HTTP (or, with ``certificate``, HTTPS) server on 127.0.0.1; yields its port."""
    handler = type("Handler", (_Handler,), {"mode": mode, "password": password})
    server = http.server.ThreadingHTTPServer(
        ("127.0.0.1", 0), functools.partial(handler, directory=str(root))
    )
    if certificate is not None:
        context = certificate
        if not isinstance(context, ssl.SSLContext):
            context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
            certificate.configure_cert(context)
        server.socket = context.wrap_socket(server.socket, server_side=True)
    with serving(server, "test-http") as port:
        yield port


def self_signed(folder: Path) -> ssl.SSLContext:
    """A server context with a self-signed certificate (a CA certificate as its own leaf)."""
    ca = trustme.CA()
    key, cert = folder / "self.key", folder / "self.pem"
    ca.private_key_pem.write_to_path(str(key))
    ca.cert_pem.write_to_path(str(cert))
    context = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
    context.load_cert_chain(str(cert), str(key))
    return context


@contextlib.contextmanager
def ftp_server(root: Path) -> Iterator[int]:
    """pyftpdlib on 127.0.0.1 with user ``algo`` (read-only); yields its port."""
    from pyftpdlib.authorizers import DummyAuthorizer
    from pyftpdlib.handlers import FTPHandler
    from pyftpdlib.servers import ThreadedFTPServer

    authorizer = DummyAuthorizer()
    authorizer.add_user(USER, PASSWORD, str(root), perm="elr")
    handler = type("Handler", (FTPHandler,), {"authorizer": authorizer, "log_prefix": ""})
    server = ThreadedFTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(
        target=server.serve_forever, kwargs={"timeout": 0.1}, name="test-ftp", daemon=True
    )
    thread.start()
    try:
        yield server.address[1]
    finally:
        server.close_all()
        thread.join(5)


@contextlib.contextmanager
def silent_listener() -> Iterator[int]:
    """A TCP port that accepts connections and never says a word (a server that hangs)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(8)
    try:
        yield sock.getsockname()[1]
    finally:
        sock.close()


def closed_port() -> int:
    """A loopback port nothing listens on."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])
