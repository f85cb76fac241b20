"""Point 10: no digest of a file holding the password is printed or stored.

The rest of a stage-1 file is shown by ``profile show``, so its md5 lets anyone test password
guesses offline. Files served from memory are the ones that hold secrets.
"""

from __future__ import annotations

import hashlib

from algodesk.core import events as ev
from algodesk.core.event_codec import event_to_json
from algodesk.core.event_text import line as describe
from algodesk.services.tftp import TftpSettings
from tests.tftp_helpers import RawClient, running_server

STAGE1 = b"prov.auth.pwd = Guessable-19-chars!\nprov.server.method = static\n"


def test_no_digest_of_a_stage1_file_is_shown(engine_settings: TftpSettings) -> None:
    digest = hashlib.md5(STAGE1).hexdigest()
    md5_file = f"{digest}  algop8186.conf\n".encode()
    with running_server(None, engine_settings) as (server, log):
        server.set_virtual_file("algop8186.conf", STAGE1)
        server.set_virtual_file("algop8186.conf.md5", md5_file)
        with RawClient(server.port) as client:
            assert client.fetch("algop8186.conf")[0] == STAGE1
        with RawClient(server.port) as client:
            assert client.fetch("algop8186.conf.md5")[0] == md5_file
        with RawClient(server.port) as client:
            # generated from the in-memory file: "algop8186.md5" is not installed
            client.fetch("algop8186.md5")
        log.wait_for(ev.TransferFinished, count=3)
    verifiers = {digest, hashlib.md5(md5_file).hexdigest()}
    started = log.of(ev.TransferStarted)
    assert len(started) == 3
    for event in log.events:
        shown = describe(event) + event_to_json(event)
        assert not any(v in shown for v in verifiers), shown
    lines = [describe(e) for e in started if isinstance(e, ev.TransferStarted)]
    assert all(ev.SECRET_DIGEST_TEXT in line for line in lines[:2]), lines
