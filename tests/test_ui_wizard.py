"""The two-stage wizard: pages checked by the core, a masked preview, a profile without its
secret, the password in the (in-memory test) keyring, and stage-1 bytes served over TFTP."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from keyring.backends import fail

from algodesk.core import md5
from algodesk.core.config import ConfigDocument
from algodesk.core.profile import BenchProfile
from algodesk.core.stage1 import build_stage1
from algodesk.core.tracker import Tracker
from algodesk.services.credentials import CredentialStore, Storage
from algodesk.services.profiles import ProfileStore
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.services.tftp_client import fetch_file
from algodesk.ui.bridge import EventBridge
from algodesk.ui.server_control import ServerControl
from algodesk.ui.stage1.roster_page import BenchPage
from algodesk.ui.stage1.wizard_dialog import StageOneWizard
from tests.memory_keyring import MemoryKeyring

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

PASSWORD = "S3cr3t-Wizard-Canary"


@pytest.fixture
def profiles(tmp_path: Path) -> ProfileStore:
    return ProfileStore(tmp_path / "config" / "profiles")


@pytest.fixture
def keyring_backend() -> MemoryKeyring:
    return MemoryKeyring()


@pytest.fixture
def credentials(keyring_backend: MemoryKeyring) -> CredentialStore:
    return CredentialStore(keyring_backend)


@pytest.fixture
def wizard(qtbot, profiles: ProfileStore, credentials: CredentialStore) -> StageOneWizard:
    dialog = StageOneWizard(profiles, credentials)
    qtbot.addWidget(dialog)
    dialog.show()
    return dialog


def fill(wizard: StageOneWizard, *, products: tuple[str, ...] = ("8186", "8301")) -> None:
    """A typical bench: two products, an HTTPS server with a path, a user and a password."""
    wizard.products_page.name.setText("lobby bench")
    wizard.products_page.choose(products, False)
    assert wizard.validateCurrentPage()
    wizard.next()
    page = wizard.server_page
    page.server.setText("https://prov.example.com/algo/config")
    page.user.setText("algo")
    page.password.setText(PASSWORD)
    page.validate_cert.setChecked(True)
    assert wizard.validateCurrentPage(), page.problem.text()
    wizard.next()
    assert wizard.validateCurrentPage(), wizard.extras_page.problem.text()
    wizard.next()


def test_each_page_is_checked_before_moving_on(wizard: StageOneWizard) -> None:
    products = wizard.products_page
    products.name.setText("a/b")
    assert not wizard.validateCurrentPage()
    assert "not a usable profile name" in products.problem.text()
    products.name.setText("bench")
    assert not wizard.validateCurrentPage()
    assert "at least one product" in products.problem.text()
    products.other.setText("81x")
    assert not wizard.validateCurrentPage() and "not a product ID" in products.problem.text()
    products.other.clear()
    products.any_product.setChecked(True)
    assert not products.products.isEnabled()
    assert wizard.validateCurrentPage() and not products.problem.text()
    wizard.next()
    server = wizard.server_page
    server.server.setText(f"ftp://algo:{PASSWORD}@prov.example.com/algo")
    assert not wizard.validateCurrentPage()
    assert "holds a password" in server.problem.text()
    assert PASSWORD not in server.problem.text()
    server.server.setText("sftp://prov.example.com")
    assert not wizard.validateCurrentPage() and "not a stage-2 method" in server.problem.text()
    server.server.setText("prov.example.com/algo")
    server.cfgpath.setText("other")
    assert not wizard.validateCurrentPage() and "differ" in server.problem.text()
    server.cfgpath.clear()
    server.password.setText(" padded ")
    assert not wizard.validateCurrentPage() and "space" in server.problem.text()
    server.password.setText(PASSWORD)
    assert wizard.validateCurrentPage()
    wizard.next()
    extras = wizard.extras_page
    extras.other.setPlainText("prov.auth.pwd = x\n")
    assert not wizard.validateCurrentPage() and "part of the profile" in extras.problem.text()
    extras.other.setPlainText("no equals sign")
    assert not wizard.validateCurrentPage() and "expected 'key = value'" in extras.problem.text()
    extras.other.clear()
    extras.from_backup.setChecked(True)
    extras.base_file.setText(str(Path("/nonexistent/backup.conf")))
    assert not wizard.validateCurrentPage() and "no such file" in extras.problem.text()


def test_a_url_scheme_sets_the_method(wizard: StageOneWizard, qtbot) -> None:
    wizard.products_page.choose(("8186",), False)
    wizard.next()
    qtbot.keyClicks(wizard.server_page.server, "ftp://prov.example.com")
    assert wizard.server_page.method_value() == "ftp"


def test_preview_masks_the_password_and_shows_the_checks(wizard: StageOneWizard) -> None:
    fill(wizard)
    preview = wizard.preview_page
    text = preview.text.toPlainText()
    assert PASSWORD not in text
    assert "prov.auth.pwd = ********" in text
    assert "prov.server.static = prov.example.com" in text
    assert "prov.download.cfgpath = algo/config" in text
    assert "algop8186.conf" in preview.files.text() and "algop8301.md5" in preview.files.text()
    assert "https://prov.example.com" in preview.files.text()
    checks = preview.checks.text()
    assert "Checks on algop8186.conf" in checks
    # The stage-1 rules judge it (domain.md §8): it must carry the stage-2 password, so the
    # generic-file rule on secrets (once shown here, naming prov.auth.pwd) does not apply.
    assert "judged as a stage-1 file" in checks
    assert "secrets in a generic file" not in checks and "secret-in-generic" not in checks
    assert PASSWORD not in checks


def test_save_keeps_the_password_out_of_the_profile(
    wizard: StageOneWizard, profiles: ProfileStore, keyring_backend: MemoryKeyring
) -> None:
    fill(wizard)
    wizard.accept()
    assert wizard.result() == wizard.DialogCode.Accepted.value
    saved = profiles.load("lobby bench")
    assert saved == wizard.saved
    assert saved.has_password and saved.products == ("8186", "8301")
    assert (saved.host, saved.method, saved.cfgpath, saved.user) == (
        "prov.example.com",
        "https",
        "algo/config",
        "algo",
    )
    assert saved.validate_cert
    stored = profiles.path_for("lobby bench").read_text()
    assert PASSWORD not in stored and json.loads(stored)["has_password"] is True
    assert list(keyring_backend.entries.values()) == [PASSWORD]
    assert wizard.password_storage is Storage.KEYRING


def test_extras_and_a_backup_base(wizard: StageOneWizard, tmp_path: Path) -> None:
    backup = tmp_path / "backup.conf"
    backup.write_bytes(b"admin.pwd = factory\nprov.use = 0\nsip.proxy = old.pbx\n")
    wizard.products_page.choose((), True)
    wizard.next()
    wizard.server_page.server.setText("10.0.0.5")
    wizard.server_page.method.setCurrentIndex(wizard.server_page.method.findData("ftp"))
    wizard.server_page.same_fwpath.setChecked(False)
    wizard.server_page.fwpath.setText("fw")
    wizard.next()
    extras = wizard.extras_page
    extras.firmware.setText("5.4f")
    extras.checksync.setCurrentIndex(extras.checksync.findData("conditional-reboot"))
    extras.schedule.setChecked(True)
    extras.weekdays[5].setChecked(False)
    extras.weekdays[6].setChecked(False)
    extras.syslog.setText("10.0.0.9")
    extras.other.setPlainText("prov.i = 1\n")
    extras.from_backup.setChecked(True)
    extras.base_file.setText(str(backup))
    wizard.next()
    profile = wizard.profile()
    assert dict(profile.extras) == {
        "prov.version.firmware": "5.4f",
        "sip.interop.checksync": "conditional-reboot",
        "prov.sync.frequency": "daily",
        "prov.sync.time": "02:00:00",  # guide §2: HH:mm:ss
        "prov.sync.endtime": "04:00:00",
        "prov.sync.wdays": "1,2,3,4,5,",
        "log.server": "10.0.0.9",
        "prov.i": "1",
    }
    assert profile.any_product and profile.fwpath == "fw" and profile.base_file == str(backup)
    text = wizard.preview_page.text.toPlainText()
    assert "sip.proxy = old.pbx" in text and "admin.pwd = ********" in text
    assert "the base file holds secrets (admin.pwd)" in wizard.preview_page.checks.text()
    wizard.products_page.name.setText("any")
    wizard.accept()
    assert wizard.saved is not None and not wizard.saved.has_password


def test_editing_keeps_the_stored_password_unless_a_new_one_is_typed(
    qtbot, profiles: ProfileStore, credentials: CredentialStore, keyring_backend: MemoryKeyring
) -> None:
    profile = BenchProfile(
        name="bench",
        host="prov.example.com",
        cfgpath="algo",
        user="algo",
        products=("8186",),
        extras=(("prov.version.firmware", "5.4f"),),
        has_password=True,
    )
    profiles.save(profile)
    credentials.set_password("bench", PASSWORD)
    wizard = StageOneWizard(profiles, credentials, profile)
    qtbot.addWidget(wizard)
    assert wizard.server_page.password.text() == ""  # the secret stays in the keyring
    assert "keep it" in wizard.server_page.password.placeholderText()
    assert wizard.extras_page.firmware.text() == "5.4f"
    assert wizard.password() == PASSWORD
    wizard.extras_page.firmware.setText("5.5")
    assert wizard.save().extras == (("prov.version.firmware", "5.5"),)
    assert profiles.load("bench").has_password
    assert credentials.get_password("bench") == PASSWORD
    wizard.server_page.password.setText("new-one")
    wizard.save()
    assert credentials.get_password("bench") == "new-one"
    fresh = StageOneWizard(profiles, credentials)
    qtbot.addWidget(fresh)
    fresh.products_page.name.setText("bench")
    fresh.products_page.choose(("8186",), False)
    fresh.server_page.server.setText("prov.example.com")
    with pytest.raises(ValueError, match="exists"):
        fresh.save()


@pytest.fixture
def loopback_control(qtbot, tmp_path: Path) -> Iterator[ServerControl]:
    """A ServerControl over our engine on 127.0.0.1, any free port, stopped afterwards."""
    bridge = EventBridge()

    def make_server(root: Path, address: str, port: int, sink) -> TftpServer:
        return TftpServer(root, address, port, sink=sink, settings=TftpSettings(auto_md5=False))

    control = ServerControl(make_server, bridge)
    folder = tmp_path / "bench"
    folder.mkdir()
    try:
        assert control.start(folder, "127.0.0.1", 0)
        yield control
    finally:
        control.stop()


def test_a_saved_profile_serves_its_stage1_bytes_over_tftp(
    qtbot,
    wizard: StageOneWizard,
    profiles: ProfileStore,
    credentials: CredentialStore,
    loopback_control: ServerControl,
    tmp_path: Path,
) -> None:
    fill(wizard)
    wizard.accept()
    page = BenchPage(profiles, credentials, loopback_control, Tracker())
    qtbot.addWidget(page)
    assert page.profile_box.currentText() == "lobby bench"
    assert page.serve(), page.status.text()
    server = loopback_control.server
    assert server is not None
    expected = build_stage1(profiles.load("lobby bench"), PASSWORD).to_bytes()
    served = fetch_file("127.0.0.1", server.port, "algop8301.conf", timeout=2.0)
    assert served == expected
    assert ConfigDocument.from_bytes(served).get("prov.auth.pwd") == PASSWORD
    md5_file = fetch_file("127.0.0.1", server.port, "algop8301.md5", timeout=2.0)
    assert md5_file is not None and md5.verify(md5_file, served)
    assert fetch_file("127.0.0.1", server.port, "algop8180.conf", timeout=2.0) is None
    assert list((tmp_path / "bench").iterdir()) == []  # served from memory, nothing on disk
    status = page.status.text()
    assert "Serving 6 files from memory" in status
    assert "stage 1 as algop8186.conf, algop8301.conf" in status and "device file" not in status


def test_no_keyring_is_said_once_and_the_password_kept_in_memory(
    qtbot, profiles: ProfileStore, loopback_control: ServerControl
) -> None:
    credentials = CredentialStore(fail.Keyring())
    page = BenchPage(profiles, credentials, loopback_control, Tracker())
    qtbot.addWidget(page)
    for name in ("first", "second"):
        wizard = page.new_profile()
        wizard.products_page.name.setText(name)
        wizard.products_page.choose(("8186",), False)
        wizard.server_page.server.setText("prov.example.com")
        wizard.server_page.password.setText(PASSWORD)
        wizard.accept()
        assert wizard.password_storage is Storage.MEMORY
        if name == "first":
            assert "kept in memory only" in page.notice.text()
            assert "no keyring backend" in page.notice.text()
            page.notice.clear()
    assert page.notice.text() == ""  # said once
    assert page.profile_box.currentText() == "second"
    assert credentials.get_password("first") == PASSWORD
    assert PASSWORD not in profiles.path_for("first").read_text()
    assert page.serve()
    # Every place that shows the profile says where its password is: here, in memory.
    assert "password in memory until algodesk closes" in page.summary.text()
    assert "in the keyring" not in page.summary.text()


def test_a_profile_shows_where_its_password_is_and_what_to_do(
    qtbot, profiles: ProfileStore, loopback_control: ServerControl
) -> None:
    profiles.save(
        BenchProfile(
            name="away", host="h.example", user="algo", products=("8186",), has_password=True
        )
    )
    profiles.save(BenchProfile(name="empty", host="h.example", user="algo", products=("8186",)))
    credentials = CredentialStore(fail.Keyring())
    page = BenchPage(profiles, credentials, loopback_control, Tracker())
    qtbot.addWidget(page)
    page.profile_box.setCurrentIndex(page.profile_box.findText("away"))
    shown = page.summary.text()
    assert "missing: this computer has no usable keyring" in shown and "Edit" in shown
    page.profile_box.setCurrentIndex(page.profile_box.findText("empty"))
    assert "user algo has no password" in page.summary.text()


def test_the_wizard_warns_of_a_user_without_a_password(wizard: StageOneWizard) -> None:
    fill(wizard)
    assert "has no password" not in wizard.preview_page.checks.text()
    wizard.server_page.password.clear()
    wizard.refresh_preview()
    assert "user algo has no password" in wizard.preview_page.checks.text()


def test_sync_times_are_written_as_the_device_takes_them(wizard: StageOneWizard) -> None:
    # guide §2: HH:mm:ss; a profile saved before holds HH:mm and still fills the fields
    extras = wizard.extras_page
    schedule = {
        "prov.sync.frequency": "daily",
        "prov.sync.time": "02:30",
        "prov.sync.endtime": "04:15:00",
        "prov.sync.wdays": "1,2,",
    }
    extras.fill(
        BenchProfile(name="old", host="h", any_product=True, extras=tuple(schedule.items()))
    )
    pairs = dict(extras.extras())
    assert (pairs["prov.sync.time"], pairs["prov.sync.endtime"]) == ("02:30:00", "04:15:00")


def test_the_certificate_fields_are_for_https_only(wizard: StageOneWizard) -> None:
    page = wizard.server_page
    assert page.method_value() == "https"
    assert page.validate_cert.isEnabled() and page.ca_file.isEnabled()
    page.method.setCurrentIndex(page.method.findData("ftp"))
    assert not page.validate_cert.isEnabled() and not page.ca_file.isEnabled()
    page.method.setCurrentIndex(page.method.findData("https"))
    assert page.validate_cert.isEnabled() and page.ca_file.isEnabled()
