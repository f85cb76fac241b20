"""FTP the way a device fetches: log in, passive mode, binary ``RETR`` of each file."""

from __future__ import annotations

import contextlib
import ftplib
import socket
import threading

from algodesk.core.preflight import Failure, ServerFailure
from algodesk.services.preflight.errors import network_failure

_NO_SIZE = ("500", "501", "502", "504")  # the server has no SIZE command


class FtpFetcher:
    """Files from one FTP server over one logged-in session (the password is never shown)."""

    def __init__(self, host: str, port: int, *, user: str, password: str, timeout: float) -> None:
        self.host, self.port = host, port
        self.user = user
        self._password = password
        self.timeout = timeout
        self.detail = ""
        self._lock = threading.Lock()
        self._session: ftplib.FTP | None = None
        self._aborted = False

    def __repr__(self) -> str:
        return f"<FtpFetcher ftp://{self.host}:{self.port} user={self.user!r}>"

    @property
    def _where(self) -> str:
        return f"{self.host}:{self.port}"

    def fetch(self, path: str) -> bytes | None:
        """The file at ``path`` (relative to the login folder), or None when it is not there."""
        chunks: list[bytes] = []
        try:
            reply = self._ftp().retrbinary(f"RETR {path}", chunks.append)
        except ftplib.error_perm as error:
            self._refused(error, path)
            return None
        except (ftplib.error_temp, ftplib.error_reply, ftplib.error_proto) as error:
            raise self._server_error(error, path) from None
        except OSError as error:
            raise self._network(error) from None
        self.detail = f"FTP {reply[:3]}"
        return b"".join(chunks)

    def probe(self, path: str) -> int | None:
        """The size of ``path`` by ``SIZE``, without downloading it; None when it is not there."""
        try:
            size = self._ftp().size(path)
        except ftplib.error_perm as error:
            if str(error).startswith(_NO_SIZE):
                data = self.fetch(path)
                return None if data is None else len(data)
            self._refused(error, path)
            return None
        except (ftplib.error_temp, ftplib.error_reply, ftplib.error_proto) as error:
            raise self._server_error(error, path) from None
        except OSError as error:
            raise self._network(error) from None
        self.detail = "FTP SIZE"
        return size

    def abort(self) -> None:
        """Break off the session (from another thread: Cancel)."""
        with self._lock:
            self._aborted = True
            session = self._session
        if session is not None and session.sock is not None:
            # shutdown() wakes a receive blocked in the other thread; close() alone does not.
            with contextlib.suppress(OSError):
                session.sock.shutdown(socket.SHUT_RDWR)

    def close(self) -> None:
        """Log out (quietly: the session may already be gone)."""
        with self._lock:
            session, self._session = self._session, None
        if session is not None:
            try:
                session.quit()
            except (OSError, ftplib.Error, EOFError):
                session.close()

    def _ftp(self) -> ftplib.FTP:
        with self._lock:
            if self._session is not None:
                return self._session
        session = ftplib.FTP(timeout=self.timeout)
        try:
            session.connect(self.host, self.port)
            with self._lock:
                # A Cancel that came while connecting found no session to shut down.
                if self._aborted:
                    raise ConnectionAbortedError
            session.login(self.user or "anonymous", self._password if self.user else "")
            session.set_pasv(True)
            session.voidcmd("TYPE I")
        except ftplib.error_perm as error:
            session.close()
            code = str(error)[:3]
            who = f"user {self.user}" if self.user else "an anonymous login"
            raise ServerFailure(
                Failure.AUTH, f"the FTP server refused {who} ({code})", [f"FTP {code}"]
            ) from None
        except (ftplib.Error, EOFError) as error:
            session.close()
            raise self._server_error(error, "") from None
        except OSError as error:
            session.close()
            raise self._network(error) from None
        with self._lock:
            self._session = session
        return session

    def _network(self, error: OSError) -> ServerFailure:
        if self._aborted:
            return ServerFailure(Failure.CANCELLED, "cancelled")
        return network_failure(error, self._where, self.timeout)

    def _refused(self, error: ftplib.error_perm, path: str) -> None:
        """Return quietly for "no such file" (550); raise for anything else."""
        code = str(error)[:3]
        self.detail = f"FTP {code}"
        if code == "550":
            return
        if code == "530":
            raise ServerFailure(Failure.AUTH, f"the FTP server refused user {self.user} ({code})")
        raise self._server_error(error, path)

    def _server_error(self, error: Exception, path: str) -> ServerFailure:
        code = str(error)[:3] or type(error).__name__
        what = f" for {path}" if path else ""
        return ServerFailure(Failure.SERVER_ERROR, f"FTP error {code}{what} from {self._where}")
