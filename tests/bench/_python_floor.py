"""The least a Python TFTP server can do per packet: a yardstick for our engine, not a server.

Lockstep octet transfers only (blksize option or 512), no retransmission, no confinement, no
events: one epoll loop, ``recv_into``, a slice into a reused buffer, ``send``. Run against curl
on loopback by the benchmarks (``--servers python-floor``), it shows what a pure-Python
per-packet path costs at best, so our engine's figures can be read against it.

    python tests/bench/_python_floor.py ROOT PORT [ADDRESS]
"""

from __future__ import annotations

import os
import select
import signal
import socket
import struct
import sys

_HEADER = struct.Struct("!HH")
_BLOCK = struct.Struct("!H").pack_into


def main() -> None:
    """Serve ``ROOT`` on ``ADDRESS`` (127.0.0.1):``PORT`` until SIGTERM."""
    root, port = sys.argv[1], int(sys.argv[2])
    address = sys.argv[3] if len(sys.argv) > 3 else "127.0.0.1"
    signal.signal(signal.SIGTERM, lambda *_args: os._exit(0))
    listener = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
    listener.bind((address, port))
    listener.setblocking(False)
    poller = select.epoll()
    poller.register(listener.fileno(), select.EPOLLIN)
    files: dict[str, memoryview] = {}
    # fd -> [socket, file, blksize, last block sent, last block, out buffer, its view]
    transfers: dict[int, list] = {}  # type: ignore[type-arg]
    buffer = bytearray(65536)

    def send_block(transfer: list, block: int) -> None:  # type: ignore[type-arg]
        sock, view, blksize, _sent, _last, out, outv = transfer
        chunk = view[(block - 1) * blksize : block * blksize]
        if len(chunk) == blksize:
            outv[4:] = chunk
            _BLOCK(out, 2, block & 0xFFFF)
            sock.send(out)
        else:
            sock.send(_HEADER.pack(3, block & 0xFFFF) + bytes(chunk))
        transfer[3] = block

    while True:
        for fd, _events in poller.poll(1.0):
            transfer = transfers.get(fd)
            if transfer is not None:
                try:
                    size = transfer[0].recv_into(buffer)
                except OSError:
                    continue
                if size < 4 or buffer[1] != 4:
                    continue
                sent = transfer[3]
                if ((buffer[2] << 8) | buffer[3]) != sent & 0xFFFF:
                    continue
                if sent >= transfer[4]:
                    poller.unregister(fd)
                    transfer[0].close()
                    del transfers[fd]
                    continue
                send_block(transfer, sent + 1)
                continue
            try:
                data, client = listener.recvfrom(2048)
            except OSError:
                continue
            parts = data[2:].split(b"\0")
            name = parts[0].decode(errors="replace")
            options = dict(zip(parts[2::2], parts[3::2], strict=False))
            if name not in files:
                try:
                    with open(os.path.join(root, name), "rb") as handle:
                        files[name] = memoryview(handle.read())
                except OSError:
                    listener.sendto(b"\0\5\0\1not found\0", client)
                    continue
            view = files[name]
            blksize = int(options.get(b"blksize", b"512"))
            sock = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
            sock.bind((address, 0))
            sock.connect(client)
            sock.setblocking(False)
            out = bytearray(4 + blksize)
            out[1] = 3
            transfer = [sock, view, blksize, 0, len(view) // blksize + 1, out, memoryview(out)]
            transfers[sock.fileno()] = transfer
            poller.register(sock.fileno(), select.EPOLLIN)
            if b"blksize" in options:
                sock.send(b"\0\6blksize\0" + str(blksize).encode() + b"\0")
            else:
                send_block(transfer, 1)


if __name__ == "__main__":
    main()
