"""Late copies of a request whose transfer already finished, recognised and dropped.

A client repeats its read request when our first answer is slow to reach it (busybox after
50-100 ms). On a loaded bench a copy can wait in our listener's queue until the transfer it
asked for has ended; answered, it starts a transfer nobody reads, and when the client's next
program reuses the port (Linux often hands the same ephemeral port back) our stale OACK or DATA
reaches a client that asked for another file and takes it for its own: a corrupt download.
Measured with 200 busybox clients (tests/bench/tftp_fleet.py): 319 second transfers of one
(port, file) and up to 236 bad downloads.

A copy was sent before the client had our first answer, so it reached this computer before we
sent the transfer's last DATA; a new request from a reused port can only come after the earlier
client had that last DATA. The kernel stamps each request with its arrival (``sockets``): a
request for the file a client port was served that arrived before the last DATA left is a copy.
Where arrival is unknown (not Linux), nothing is dropped.
"""

from __future__ import annotations

import time
from collections import OrderedDict

KEPT_SECONDS = 10.0
_KEPT = 4096

Key = tuple[tuple[str, int], str]


class RecentlyServed:
    """(client, file name) pairs served lately, with when their last DATA left."""

    def __init__(self) -> None:
        self._last_sent: OrderedDict[Key, float] = OrderedDict()

    def served(self, client: tuple[str, int], name: str, last_sent: float) -> None:
        """``client`` was served ``name`` completely; its last DATA left at ``last_sent``."""
        key = ((client[0], client[1]), name)
        self._last_sent.pop(key, None)
        self._last_sent[key] = last_sent
        horizon = time.time() - KEPT_SECONDS
        while self._last_sent:  # oldest first: forget what no copy can still be queued for
            first_key, sent = next(iter(self._last_sent.items()))
            if sent > horizon and len(self._last_sent) <= _KEPT:
                break
            del self._last_sent[first_key]

    def is_late_copy(self, client: tuple[str, int], name: str, arrived: float | None) -> bool:
        """Whether a request from ``client`` for ``name`` that reached us at ``arrived`` is a
        copy of one whose transfer was served."""
        if arrived is None:
            return False
        last_sent = self._last_sent.get(((client[0], client[1]), name))
        return last_sent is not None and arrived < last_sent
