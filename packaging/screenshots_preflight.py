"""Screenshot of "Check stage 2" on the Stage 1 page, under Xvfb.

The permanent server is an HTTPS server on 127.0.0.1 with basic auth and a certificate from a
CA made for the run (the tests' stand-in), holding a device file, a generic file, a config that
names missing firmware, and nothing for the 8301.

    uv run python packaging/screenshots_preflight.py [--out docs/screenshots] [--display :96]
"""

from __future__ import annotations

import sys
import tempfile
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))
sys.path.insert(0, str(ROOT / "packaging"))

from screenshots import WINDOW_SIZE, pump, run  # noqa: E402  (the page screenshots' Xvfb helpers)

from tests.stage2_servers import (  # noqa: E402  (the tests' loopback stand-ins)
    PASSWORD,
    USER,
    http_server,
    make_certificates,
    write_site,
)

ROSTER = "mac,product,sip.u1.user\n00:22:ee:01:02:03,8186,2001\n00:22:ee:0a:0b:0c,8301,2002\n"


def capture(out: Path, size: tuple[int, int] = WINDOW_SIZE) -> list[Path]:
    """Build the app, run "Check stage 2" against the loopback server, save the PNG."""
    from PySide6.QtWidgets import QApplication

    from algodesk.app import compose
    from algodesk.core.profile import BenchProfile
    from algodesk.services.credentials import CredentialStore
    from algodesk.services.paths import beside
    from tests.memory_keyring import MemoryKeyring

    app = QApplication.instance() or QApplication(sys.argv)
    out.mkdir(parents=True, exist_ok=True)
    written: list[Path] = []
    with tempfile.TemporaryDirectory(prefix="algodesk-shots-") as home:
        site = Path(home) / "site"
        site.mkdir()
        certificates = make_certificates(Path(home))
        paths = beside(Path(home), portable=False).ensure()
        credentials = CredentialStore(MemoryKeyring())
        parts = compose(paths, credentials=credentials)
        window = parts.window
        window.resize(*size)
        window.show()
        try:
            with http_server(site, certificate=certificates.good) as port:
                write_site(site, server=f"127.0.0.1:{port}", method="https", port=port)
                bench = parts.provisioning.bench
                bench.profiles.save(
                    BenchProfile(
                        name="acme",
                        host=f"127.0.0.1:{port}",
                        method="https",
                        cfgpath="algo",
                        fwpath="algo/fw",
                        user=USER,
                        products=("8186", "8188"),
                        validate_cert=True,
                        has_password=True,
                        ca_file=str(certificates.ca_file),
                    )
                )
                credentials.set_password("acme", PASSWORD)
                roster = Path(home) / "roster.csv"
                roster.write_text(ROSTER)
                window.pages.setCurrentWidget(bench)
                bench.reload_profiles(select="acme")
                bench.load_roster(roster)
                dialog = bench.check_stage2()
                if dialog is None:
                    raise SystemExit(bench.status.text())
                while not dialog.finished_run:
                    pump(app, 0.1)
                dialog.resize(1240, 640)
                dialog.results.setColumnWidth(0, 230)
                dialog.results.topLevelItem(0).setExpanded(True)  # a device that passes, too
                pump(app, 0.6)
                path = out / "preflight.png"
                dialog.grab().save(str(path))
                written.append(path)
                dialog.close()
        finally:
            window.close()
            parts.close()
    return written


def main() -> None:
    run(capture, __doc__.splitlines()[0], ":96")


if __name__ == "__main__":
    main()
