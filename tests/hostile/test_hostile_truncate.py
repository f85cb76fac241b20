"""Point 2: a big file truncated in place while it is served (``cp new old``) kills nothing.

Files of ``mmap_threshold`` bytes or more were mapped; truncated under a running transfer, the
process died of SIGBUS (the whole server with one engine). The server runs in a subprocess here,
so that the bug this guards against cannot take the test runner with it.
"""

from __future__ import annotations

import subprocess
import sys
import textwrap
from pathlib import Path

import pytest

from tests.tftp_helpers import DATA, RawClient

SIZE = 1 << 20  # far above the threshold the server below is given
_SERVER = textwrap.dedent(
    """
    import sys
    from pathlib import Path
    from algodesk.services.tftp import TftpServer, TftpSettings

    settings = TftpSettings(mmap_threshold=64 << 10, workers=int(sys.argv[2]), max_retries=20)
    server = TftpServer(Path(sys.argv[1]), "127.0.0.1", 0, settings=settings)
    server.start()
    print(server.port, flush=True)
    sys.stdin.read()  # until the test closes our stdin
    server.stop()
    print("stopped", flush=True)
    """
)


@pytest.mark.skipif(sys.platform == "win32", reason="Windows refuses to truncate a mapped file")
@pytest.mark.parametrize("workers", [1, 2], ids=["one-engine", "two-workers"])
def test_truncated_while_served_gives_the_old_bytes(tmp_path: Path, workers: int) -> None:
    old = bytes(range(256)) * (SIZE // 256)
    big = tmp_path / "big.bin"
    big.write_bytes(old)
    with subprocess.Popen(
        [sys.executable, "-c", _SERVER, str(tmp_path), str(workers)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        text=True,
    ) as proc:
        try:
            assert proc.stdout is not None and proc.stdin is not None
            port = int(proc.stdout.readline())
            with RawClient(port, timeout=10.0) as client:
                client.rrq("big.bin", blksize=1024)
                first = client.recv()
                with big.open("r+b") as handle:  # in place, as cp does: same inode, now empty
                    handle.truncate(0)
                data, _ = client.finish(first)
            assert data == old
            big.write_bytes(b"new")
            with RawClient(port, timeout=10.0) as client:
                reply_data, reply = client.fetch("big.bin")
            assert reply.opcode == DATA and reply_data == b"new"  # the server is still there
            proc.stdin.close()
            assert proc.stdout.read().strip() == "stopped"
            assert proc.wait(timeout=30) == 0
        finally:
            if proc.poll() is None:
                proc.kill()
