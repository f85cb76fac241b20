"""The profile password goes to devices and nowhere else.

A profile with a distinctive password is served on 127.0.0.1 while every consumer of events
listens: the serve command's human and JSON printers, the history store, Python logging at DEBUG.
Then the config folder, data folder, logs, history database, event output and every repr are
searched: the password may only be in the bytes a device fetched.

Hook for the live view (issue 4): add an :class:`Output` to :func:`outputs` whose ``sink`` is
the GUI event bridge and whose ``collect`` returns the text of every live-view cell and tooltip.
"""

from __future__ import annotations

import io
import json
import logging
import os
import re
import signal
import subprocess
import sys
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import tftpy

from algodesk.cli import main
from algodesk.commands.profile import serving_files
from algodesk.commands.serve import EventPrinter
from algodesk.core import config
from algodesk.core.events import Event
from algodesk.core.stage1 import Stage1Error, check_password
from algodesk.services import paths
from algodesk.services.credentials import CredentialStore
from algodesk.services.history import HistoryStore
from algodesk.services.preflight.ftp_fetcher import FtpFetcher
from algodesk.services.preflight.http_fetcher import HttpFetcher
from algodesk.services.preflight.runner import Preflight, PreflightPlan
from algodesk.services.profiles import ProfileStore
from algodesk.services.tftp import TftpServer
from tests import stage2_servers
from tests.memory_keyring import MemoryKeyring

CANARY = "S3cr3t-Leak-Canary-9f2"
ROSTER_CANARY = "Sip-Roster-Leak-Canary-4e1"


@dataclass
class Output:
    """One consumer of events: where they go, and everything it showed or stored, as text."""

    name: str
    sink: Callable[[Event], None]
    collect: Callable[[], str]


def fetch(port: int, name: str) -> bytes:
    out = io.BytesIO()
    tftpy.TftpClient("127.0.0.1", port).download(name, out, timeout=2, retries=2)
    return out.getvalue()


def everything_under(folder: Path) -> Iterator[tuple[Path, bytes]]:
    for path in folder.rglob("*"):
        if path.is_file():
            yield path, path.read_bytes()


@pytest.fixture
def bench_profile(
    home: Path,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    capsys: pytest.CaptureFixture[str],
) -> Path:
    """Profile ``bench`` with the canary password (through the CLI); returns a roster CSV."""
    code = main(
        [
            "profile",
            "create",
            "bench",
            "--server",
            "ftp://algo@10.9.8.7/algo",
            "--products",
            "8186,8301",
        ]
    )
    assert code == 0
    monkeypatch.setattr("sys.stdin", io.StringIO(CANARY + "\n"))
    assert main(["profile", "set-password", "bench"]) == 0
    roster = tmp_path / "roster.csv"
    roster.write_text(
        f"mac,product,sip.u1.user,sip.u1.pwd\n0022EE010203,8186,1001,{ROSTER_CANARY}\n"
    )
    return roster


def outputs(store: HistoryStore) -> list[Output]:
    """Every consumer the serving events reach (the live view joins here, see module doc)."""
    human, as_json = io.StringIO(), io.StringIO()
    human_printer = EventPrinter(human, human, as_json=False, progress=True)
    json_printer = EventPrinter(as_json, as_json, as_json=True, progress=True)
    seen: list[Event] = []
    return [
        Output("serve (human)", human_printer, human.getvalue),
        Output("serve --json", json_printer, as_json.getvalue),
        Output("history", store.record, lambda: ""),  # searched as a file below
        Output("event repr", seen.append, lambda: "\n".join(repr(e) for e in seen)),
    ]


def test_password_reaches_only_the_served_bytes(
    home: Path,
    bench_profile: Path,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    app = paths.resolve().ensure()
    store = HistoryStore(app.history_file)
    consumers = outputs(store)
    server = TftpServer(None, "127.0.0.1", 0, sink=lambda event: [o.sink(event) for o in consumers])
    fetched: dict[str, bytes] = {}
    try:
        files = serving_files("bench", bench_profile)
        files.install(server)
        server.start()
        run = store.start_run("", server.address, server.port)
        for name in (
            "algop8186.conf",
            "algop8186.md5",
            "algop8186.conf.md5",
            "algom0022EE010203.conf",
            "algom0022EE010203.md5",
        ):
            fetched[name] = fetch(server.port, name)
        with pytest.raises(tftpy.TftpException):
            fetch(server.port, "algop8188.conf")
        server.stop()
        store.end_run(run)
        store.flush()
        history_events = store.events(run)
    finally:
        server.stop()
        store.close()
    assert main(["profile", "show", "bench"]) == 0
    assert main(["profile", "show", "bench", "--json"]) == 0
    assert main(["profile", "list", "--json"]) == 0

    # The canary really went out: a test that finds nothing would otherwise prove nothing.
    served = config.ConfigDocument.from_bytes(fetched["algop8186.conf"])
    assert served.get("prov.auth.pwd") == CANARY
    device = config.ConfigDocument.from_bytes(fetched["algom0022EE010203.conf"])
    assert device.get("sip.u1.pwd") == ROSTER_CANARY
    assert len(history_events) > 5

    captured = capsys.readouterr()
    texts = {o.name: o.collect() for o in consumers}
    texts["stdout"] = captured.out
    texts["stderr"] = captured.err
    texts["logging"] = caplog.text + "\n".join(
        f"{r.getMessage()} {r.args!r} {r.exc_text or ''}" for r in caplog.records
    )
    texts["history events"] = "\n".join(json.dumps(e.to_dict()) for e in history_events)
    texts["repr"] = "\n".join(
        repr(x)
        for x in (
            ProfileStore().load("bench"),
            ProfileStore(),
            files,
            CredentialStore(),
            files.roster_issues,
        )
    )
    assert "prov.auth.pwd" in texts["stdout"]  # the masked preview was printed
    for name, text in texts.items():
        for secret in (CANARY, ROSTER_CANARY):
            assert secret not in text, f"{secret} leaked into {name}"
    for path, data in everything_under(home):
        for secret in (CANARY, ROSTER_CANARY):
            assert secret.encode() not in data, f"{secret} leaked into {path}"


def test_exceptions_never_carry_the_password() -> None:
    for bad in (f"{CANARY}\n", f" {CANARY}", f"{CANARY}\x00"):
        with pytest.raises(Stage1Error) as caught:
            check_password(bad)
        assert CANARY not in str(caught.value) and CANARY not in repr(caught.value)


def _bound_port(line: str) -> int:
    """The port in serve's first line (server started), human or JSON."""
    if line.startswith("{"):
        return int(json.loads(line)["port"])
    match = re.search(r":(\d+)$", line.strip())
    assert match, line
    return int(match.group(1))


def _serve(args: list[str], home: Path, password: str) -> tuple[str, str, dict[str, bytes]]:
    """Run ``algodesk serve`` in a subprocess, fetch the stage-1 file, stop it with SIGTERM."""
    env = {
        **os.environ,
        "ALGODESK_HOME": str(home),
        "PYTHON_KEYRING_BACKEND": "keyring.backends.fail.Keyring",
        "PYTHONUNBUFFERED": "1",
    }
    command = [
        sys.executable,
        "-m",
        "algodesk",
        "serve",
        "--bind",
        "127.0.0.1",
        "--port",
        "0",
        "--profile",
        "bench",
        "--password-stdin",
        *args,
    ]
    proc = subprocess.Popen(
        command,
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
        text=True,
    )
    fetched: dict[str, bytes] = {}
    try:
        assert proc.stdin is not None and proc.stdout is not None
        proc.stdin.write(password + "\n")
        proc.stdin.close()
        first = proc.stdout.readline()
        port = _bound_port(first)
        fetched["algop8186.conf"] = fetch(port, "algop8186.conf")
        fetched["algop8186.md5"] = fetch(port, "algop8186.md5")
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=10) == 0
        assert proc.stderr is not None
        out, err = proc.stdout.read(), proc.stderr.read()  # small: the pipes never filled
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait(timeout=5)
        for pipe in (proc.stdout, proc.stderr):
            if pipe is not None:
                pipe.close()
    return first + out, err, fetched


@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["human", "json"])
def test_serve_command_output_never_shows_the_password(
    home: Path, bench_profile: Path, mode: list[str], capsys: pytest.CaptureFixture[str]
) -> None:
    out, err, fetched = _serve(mode, home, CANARY)
    assert (
        config.ConfigDocument.from_bytes(fetched["algop8186.conf"]).get("prov.auth.pwd") == CANARY
    )
    assert "algop8186.conf" in out
    assert "summary" in out
    assert CANARY not in out
    assert CANARY not in err
    for path, data in everything_under(home):
        assert CANARY.encode() not in data, f"password leaked into {path}"


@pytest.mark.parametrize("server_password", [CANARY, "another-password"], ids=["ok", "401"])
@pytest.mark.parametrize("mode", [[], ["--json"]], ids=["human", "json"])
def test_preflight_never_shows_the_password(
    home: Path,
    tmp_path: Path,
    memory_keyring: MemoryKeyring,
    monkeypatch: pytest.MonkeyPatch,
    caplog: pytest.LogCaptureFixture,
    capsys: pytest.CaptureFixture[str],
    server_password: str,
    mode: list[str],
) -> None:
    """A preflight logs in with the password (the server checks it) and shows it nowhere."""
    caplog.set_level(logging.DEBUG)
    site = tmp_path / "site"
    site.mkdir()
    with stage2_servers.http_server(site, password=server_password) as port:
        stage2_servers.write_site(site, server=f"127.0.0.1:{port}", method="http", port=port)
        assert main(["profile", "create", "leak", "--server", f"http://127.0.0.1:{port}/algo",
                     "--user", "algo", "--products", "8186", "--fwpath", "algo/fw"]) == 0  # fmt: skip
        monkeypatch.setattr("sys.stdin", io.StringIO(CANARY + "\n"))
        assert main(["profile", "set-password", "leak"]) == 0
        capsys.readouterr()
        code = main(["preflight", "--profile", "leak", "--mac", "00:22:EE:01:02:03",
                     "--product", "8186", "--product", "8186", *mode])  # fmt: skip
    out, err = capsys.readouterr()
    assert code == (0 if server_password == CANARY else 1), out
    assert "algom0022EE010203.conf" in out
    for text in (out, err, caplog.text):
        assert CANARY not in text
    for path, data in everything_under(home):
        assert CANARY.encode() not in data, f"password leaked into {path}"


def test_preflight_objects_never_show_the_password() -> None:
    plan = PreflightPlan((), password=CANARY)
    fetchers = [
        HttpFetcher("127.0.0.1", 80, context=None, user="algo", password=CANARY, timeout=1),
        FtpFetcher("127.0.0.1", 21, user="algo", password=CANARY, timeout=1),
    ]
    for thing in (plan, Preflight(plan), *fetchers):
        assert CANARY not in repr(thing)
