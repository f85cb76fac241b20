""" "Check stage 2" on the Stage 1 page: verdicts per device with evidence, off the GUI thread."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
from PySide6.QtCore import Qt

from algodesk.core.profile import BenchProfile
from algodesk.core.tracker import Tracker
from algodesk.services.credentials import CredentialStore
from algodesk.services.profiles import ProfileStore
from algodesk.services.tftp import TftpServer
from algodesk.ui.bridge import EventBridge
from algodesk.ui.server_control import ServerControl
from algodesk.ui.stage1.preflight_dialog import PreflightDialog
from algodesk.ui.stage1.roster_page import BenchPage
from algodesk.ui.stage1.wizard_dialog import StageOneWizard
from tests.memory_keyring import MemoryKeyring
from tests.stage2_servers import PASSWORD, USER, http_server, silent_listener, write_site

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

ROSTER = "mac,product\n00:22:ee:01:02:03,8186\n00:22:ee:0a:0b:0c,8301\n"


@dataclass
class Page:
    page: BenchPage
    profiles: ProfileStore
    roster: Path


@pytest.fixture
def stage1_page(qtbot, tmp_path: Path) -> Iterator[Page]:
    profiles = ProfileStore(tmp_path / "profiles")
    credentials = CredentialStore(MemoryKeyring())
    credentials.set_password("acme", PASSWORD)
    control = ServerControl(
        lambda root, address, port, sink: TftpServer(root, address, port), EventBridge()
    )
    page = BenchPage(profiles, credentials, control, Tracker())
    qtbot.addWidget(page)
    roster = tmp_path / "roster.csv"
    roster.write_text(ROSTER)
    try:
        yield Page(page, profiles, roster)
    finally:
        if page.preflight is not None:
            page.preflight.close()
        control.stop()


def use_profile(page: Page, host: str, *, products: tuple[str, ...] = ("8186",)) -> None:
    page.profiles.save(
        BenchProfile(
            name="acme",
            host=host,
            method="http",
            cfgpath="algo",
            fwpath="algo/fw",
            user=USER,
            products=products,
            has_password=True,
        )
    )
    page.page.reload_profiles(select="acme")


def rows(dialog: PreflightDialog) -> list[tuple[str, str, list[str]]]:
    found = []
    for index in range(dialog.results.topLevelItemCount()):
        item = dialog.results.topLevelItem(index)
        children = [item.child(n).text(1) for n in range(item.childCount())]
        found.append((item.text(0), item.text(1), children))
    return found


def test_check_stage2_shows_each_device_with_its_evidence(
    qtbot, stage1_page: Page, tmp_path: Path
) -> None:
    site = tmp_path / "site"
    site.mkdir()
    with http_server(site) as port:
        write_site(site, server=f"127.0.0.1:{port}", method="http", port=port)
        use_profile(stage1_page, f"127.0.0.1:{port}")
        stage1_page.page.load_roster(stage1_page.roster)
        qtbot.mouseClick(stage1_page.page.check_button, Qt.MouseButton.LeftButton)
        dialog = stage1_page.page.preflight
        assert dialog is not None
        qtbot.waitUntil(lambda: dialog.finished_run, timeout=20_000)
    shown = rows(dialog)
    assert [(label, verdict.split(":")[0]) for label, verdict, _ in shown] == [
        ("00:22:EE:01:02:03 (8186)", "will apply algom0022EE010203.conf (no md5 over HTTP, as devices do), would install firmware 5.4f, fetch tones.zip"),
        ("00:22:EE:0A:0B:0C (8301)", "fails"),
        ("8186 (generic files)", "will apply algop8186.conf (no md5 over HTTP, as devices do)"),
    ]  # fmt: skip
    assert "algop8301.conf not found (HTTP 404)" in shown[1][1]
    assert any("algo/fw/algo-8186-5.4f.sfw: 200004 bytes (size only)" in e for e in shown[0][2])
    assert dialog.progress.value() == 3
    assert dialog.status.text() == "3 devices: 2 will complete stage 2, 1 will not"
    assert PASSWORD not in "\n".join(str(row) for row in shown)


def test_cancel_stops_a_run_that_waits_on_a_silent_server(qtbot, stage1_page: Page) -> None:
    with silent_listener() as port:
        use_profile(stage1_page, f"127.0.0.1:{port}", products=("8186", "8188", "8301"))
        dialog = stage1_page.page.check_stage2()
        assert dialog is not None
        assert dialog.cancel_button.isEnabled()
        qtbot.mouseClick(dialog.cancel_button, Qt.MouseButton.LeftButton)
        qtbot.waitUntil(lambda: dialog.finished_run, timeout=10_000)
    assert dialog.status.text().startswith("Cancelled after")
    assert len(dialog.verdicts()) < 3


def test_no_password_available_says_so(qtbot, stage1_page: Page) -> None:
    stage1_page.profiles.save(
        BenchProfile(name="other", host="127.0.0.1", products=("8186",), has_password=True)
    )
    stage1_page.page.reload_profiles(select="other")
    assert stage1_page.page.check_stage2() is None
    assert "No password for other (missing: not in the keyring)" in stage1_page.page.status.text()


def test_the_wizard_shows_and_keeps_the_profiles_ca_file(qtbot, tmp_path: Path) -> None:
    profiles = ProfileStore(tmp_path / "profiles")
    credentials = CredentialStore(MemoryKeyring())
    profile = BenchProfile(
        name="acme", host="prov.acme.example", products=("8186",), ca_file="/etc/acme-ca.pem"
    )
    profiles.save(profile)
    wizard = StageOneWizard(profiles, credentials, profile)
    qtbot.addWidget(wizard)
    assert wizard.server_page.ca_file.text() == "/etc/acme-ca.pem"
    assert wizard.save().ca_file == "/etc/acme-ca.pem"
    wizard.server_page.ca_file.setText("")
    assert profiles.load("acme").ca_file == "/etc/acme-ca.pem"
    assert wizard.save().ca_file == ""
