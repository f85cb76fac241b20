"""Shared pieces of the GUI tests (imported by tests/test_ui_*.py, not a pytest conftest).

That a Qt warning fails the test is set for the whole suite in pyproject.toml
(``qt_log_level_fail`` and the curated ``qt_log_ignore``).
"""

from __future__ import annotations

import contextlib
import itertools
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from algodesk.core.events import (
    Event,
    RefusalReason,
    RequestReceived,
    RequestRefused,
    Source,
    TransferFinished,
    TransferProgress,
    TransferStarted,
)
from algodesk.core.md5 import md5_hex
from algodesk.services.paths import AppPaths

if TYPE_CHECKING:
    from algodesk.app import Composition


class EventScript:
    """Builds the events the engine emits for requests, so models can be tested without sockets."""

    def __init__(self) -> None:
        self.events: list[Event] = []
        self._clock = itertools.count(1_700_000_000)
        self._ports = itertools.count(40000)
        self._ids = itertools.count(1)

    def _now(self) -> float:
        return float(next(self._clock))

    def served(
        self, ip: str, name: str, content: bytes = b"x" * 1000, *, finish: bool = True
    ) -> EventScript:
        client = (ip, next(self._ports))
        transfer_id = next(self._ids)
        self.events.append(RequestReceived(time=self._now(), client=client, filename=name))
        self.events.append(
            TransferStarted(
                time=self._now(),
                transfer_id=transfer_id,
                client=client,
                requested=name,
                served=name,
                source=Source.DISK,
                size=len(content),
                md5=md5_hex(content),
            )
        )
        self.events.append(
            TransferProgress(
                time=self._now(),
                transfer_id=transfer_id,
                client=client,
                served=name,
                bytes_sent=len(content) // 2,
                size=len(content),
            )
        )
        if finish:
            self.events.append(
                TransferFinished(
                    time=self._now(),
                    transfer_id=transfer_id,
                    client=client,
                    served=name,
                    bytes_sent=len(content),
                    duration=0.25,
                )
            )
        return self

    def missing(self, ip: str, name: str) -> EventScript:
        client = (ip, next(self._ports))
        self.events.append(RequestReceived(time=self._now(), client=client, filename=name))
        self.events.append(
            RequestRefused(
                time=self._now(), client=client, filename=name, reason=RefusalReason.NOT_FOUND
            )
        )
        return self

    def boot(self, ip: str, mac: str, product: str = "8186", *, md5: bool = True) -> EventScript:
        """A device booting against a folder with only the generic file."""
        self.missing(ip, f"algom{mac}.conf")
        self.served(ip, f"algop{product}.conf", b"prov.use = 1\n")
        if md5:
            self.served(ip, f"algop{product}.md5", md5_hex(b"prov.use = 1\n").encode() + b"\n")
        else:
            self.missing(ip, f"algop{product}.md5")
        return self


def fleet(count: int, *, broken_every: int = 4) -> EventScript:
    """``count`` devices; every ``broken_every``-th one lacks its md5."""
    script = EventScript()
    for n in range(count):
        script.boot(f"10.0.{n // 200}.{n % 200 + 2}", f"0022EE{n:06X}", md5=n % broken_every != 1)
    return script


Feed = Callable[[list[Event]], None]


@contextlib.contextmanager
def running_app(qtbot: Any, app_paths: AppPaths) -> Iterator[Composition]:
    """The whole app, as ``uv run algodesk`` builds it, shown; closed (server, history) after."""
    from algodesk.app import compose  # Qt: only the tests that open the app load it

    parts = compose(app_paths)
    try:
        parts.window.show()
        qtbot.waitExposed(parts.window)
        yield parts
    finally:
        parts.window.close()
        parts.close()
