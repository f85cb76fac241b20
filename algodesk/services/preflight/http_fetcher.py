"""HTTP and HTTPS the way a device fetches: GET with basic auth, one file per request.

Stdlib ``http.client`` rather than a library: it lets each status, header and TLS failure be
judged on its own (``urllib`` follows redirects and folds failures into one error; a redirect is a
verdict here, not something to follow), and algodesk ships no HTTP library otherwise.
"""

from __future__ import annotations

import base64
import contextlib
import html
import http.client
import re
import socket
import ssl
import threading
from urllib.parse import quote, urlsplit

from algodesk.core.masking import mask_secrets
from algodesk.core.preflight import Failure, ServerFailure
from algodesk.services.preflight.errors import network_failure
from algodesk.services.preflight.tls import certificate_failure

_REDIRECTS = {301, 302, 303, 307, 308}
_NOT_FOUND = {404, 410}
_TITLE = re.compile(rb"<title[^>]*>(.*?)</title>", re.I | re.S)
_PROBE_FALLBACK = {405, 501}  # HEAD not allowed / not implemented: ask for the first byte


class HttpFetcher:
    """Files from one HTTP(S) server; the password stays in this object (never in its repr)."""

    def __init__(
        self,
        host: str,
        port: int,
        *,
        context: ssl.SSLContext | None,
        user: str,
        password: str,
        timeout: float,
    ) -> None:
        self.host, self.port = host, port
        self._context = context
        self.user = user
        self._authorization = (
            "Basic " + base64.b64encode(f"{user}:{password}".encode()).decode("ascii")
            if user
            else ""
        )
        self.timeout = timeout
        self.detail = ""
        self._lock = threading.Lock()
        self._open: http.client.HTTPConnection | None = None
        self._aborted = False

    def __repr__(self) -> str:
        scheme = "https" if self._context is not None else "http"
        return f"<HttpFetcher {scheme}://{self.host}:{self.port} user={self.user!r}>"

    def fetch(self, path: str) -> bytes | None:
        """The file at ``path`` (relative to the server root), or None when it is not there."""
        reply = self._request("GET", path)
        return None if reply is None else reply[0]

    def probe(self, path: str) -> int | None:
        """The size of the file at ``path`` without downloading it (HEAD), or None.

        A server that allows no HEAD is asked for the first byte only.
        """
        reply = self._request("HEAD", path)
        return None if reply is None else reply[1]

    def abort(self) -> None:
        """Break off the request in progress (from another thread: Cancel)."""
        with self._lock:
            self._aborted = True
            connection = self._open
        if connection is not None and connection.sock is not None:
            # shutdown() wakes a receive blocked in the other thread; close() alone does not.
            with contextlib.suppress(OSError):
                connection.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Nothing stays open between requests."""

    def _connection(self) -> http.client.HTTPConnection:
        if self._context is None:
            return http.client.HTTPConnection(self.host, self.port, timeout=self.timeout)
        return http.client.HTTPSConnection(
            self.host, self.port, timeout=self.timeout, context=self._context
        )

    def _request(
        self, method: str, path: str, *, first_byte: bool = False
    ) -> tuple[bytes, int] | None:
        """``(body, size of the file)``, or None when the server has no such file."""
        where = f"{self.host}:{self.port}"
        url = "/" + quote(path)
        headers = {"User-Agent": "algodesk-preflight", "Connection": "close"}
        if self._authorization:
            headers["Authorization"] = self._authorization
        if first_byte:
            headers["Range"] = "bytes=0-0"
        connection = self._connection()
        with self._lock:
            self._open = connection
        try:
            connection.connect()
            # An abort() that came before the socket existed could not shut it down: it set
            # the flag, seen here (an abort after this shuts the socket down instead).
            with self._lock:
                if self._aborted:
                    raise _Aborted
            connection.request(method, url, headers=headers)
            response = connection.getresponse()
            # Asked for the first byte, read no more even when the server ignores the range
            # (the connection is closed after each request anyway).
            body = b"" if method == "HEAD" else response.read(1) if first_byte else response.read()
        except Exception as error:
            if self._aborted:
                raise ServerFailure(Failure.CANCELLED, "cancelled") from None
            raise self._failure(error, where) from None
        finally:
            with self._lock:
                self._open = None
            connection.close()
        return self._judge(method, path, response, body, first_byte)

    def _failure(self, error: Exception, where: str) -> Exception:
        """The verdict for an exchange that broke off (anything unforeseen passes through)."""
        if isinstance(error, ssl.SSLCertVerificationError):
            return certificate_failure(error, self.host, None)
        if isinstance(error, ssl.SSLError):
            return ServerFailure(Failure.SERVER_ERROR, f"TLS with {where} failed ({error.reason})")
        if isinstance(error, http.client.HTTPException):
            return ServerFailure(
                Failure.SERVER_ERROR, f"{where} broke the HTTP exchange ({type(error).__name__})"
            )
        if isinstance(error, OSError):
            return network_failure(error, where, self.timeout)
        return error

    def _judge(
        self,
        method: str,
        path: str,
        response: http.client.HTTPResponse,
        body: bytes,
        first_byte: bool,
    ) -> tuple[bytes, int] | None:
        status = response.status
        content_type = response.getheader("Content-Type", "") or ""
        self.detail = f"HTTP {status}" + (f" {content_type}" if content_type else "")
        name = path.rsplit("/", 1)[-1]
        if status in _NOT_FOUND:
            self.detail = f"HTTP {status}"  # the error page's type says nothing here
            return None
        if method == "HEAD" and status in _PROBE_FALLBACK and not first_byte:
            return self._request("GET", path, first_byte=True)
        if status in (200, 206):
            media = content_type.split(";", 1)[0].strip().lower()
            if media == "text/html" and not name.lower().endswith((".html", ".htm")):
                evidence = [f"{method} /{path}: {self.detail}"]
                title = _TITLE.search(body[:8192])
                if title:
                    text = " ".join(title.group(1).decode("utf-8", "replace").split())[:80]
                    evidence.append(f"page title: {html.unescape(text)}")
                raise ServerFailure(
                    Failure.LOGIN_PAGE,
                    f"the server answered text/html (a login page?) for {name} with HTTP "
                    f"{status}; devices would take it for the file",
                    evidence,
                )
            size = len(body)
            length = response.getheader("Content-Length", "") or ""
            if (method == "HEAD" or (first_byte and status == 200)) and length.isdigit():
                size = int(length)
            total = (response.getheader("Content-Range", "") or "").rpartition("/")[2]
            if first_byte and status == 206 and total.isdigit():
                size = int(total)
            return body, size
        if status in _REDIRECTS:
            target = _shown_location(response.getheader("Location", "") or "")
            raise ServerFailure(
                Failure.REDIRECT,
                f"the server redirects {name} (HTTP {status}) to {target or 'nowhere'}: serve "
                f"the file at /{path} itself (devices ask for that path)",
                [f"{method} /{path}: {self.detail}"],
            )
        if status == 401:
            challenge = (response.getheader("WWW-Authenticate", "") or "").split(" ", 1)[0]
            asked = f" (the server asks for {challenge} auth)" if challenge else ""
            message = (
                f"401 with user {self.user}{asked}"
                if self.user
                else f"401: the server wants a login and the profile has no user{asked}"
            )
            raise ServerFailure(Failure.AUTH, message, [f"{method} /{path}: {self.detail}"])
        if status == 403:
            who = f"user {self.user}" if self.user else "no user"
            raise ServerFailure(
                Failure.AUTH, f"403 forbidden for {name} with {who}", [f"{method} /{path}"]
            )
        raise ServerFailure(
            Failure.SERVER_ERROR,
            f"HTTP {status} {response.reason} for {name}",
            [f"{method} /{path}: {self.detail}"],
        )


class _Aborted(Exception):
    """Cancel came while the connection was being made."""


def _shown_location(location: str) -> str:
    """A redirect target without credentials or query (it may carry a token)."""
    parts = urlsplit(location)
    shown = parts._replace(query="", fragment="").geturl()
    return mask_secrets(shown)
