"""'Save as provisioning file': the right name, the file's bytes and a matching md5, atomically."""

from __future__ import annotations

import os
import stat
from pathlib import Path

import pytest

from algodesk.core import md5
from algodesk.core.catalog import Catalog
from algodesk.core.config import ConfigDocument
from algodesk.ui.editor.export import ExportError, ProvisioningDialog, Target
from algodesk.ui.editor.page import EditorPage

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

BACKUP = b"admin.devname = lobby\nprov.use = 1\nsip.proxy = pbx.example\nsip.u1.user = 2001\n"


@pytest.fixture
def bench(tmp_path: Path) -> Path:
    folder = tmp_path / "bench"
    folder.mkdir()
    return folder


@pytest.fixture
def page(qtbot, tmp_path: Path, bench: Path) -> EditorPage:
    widget = EditorPage(Catalog.load(), tmp_path / "editor.ini", lambda: bench)
    qtbot.addWidget(widget)
    source = tmp_path / "backup.conf"
    source.write_bytes(BACKUP)
    assert widget.open_file(source)
    return widget


def export_to(page: EditorPage, bench: Path) -> ProvisioningDialog:
    """The dialog, writing into the bench folder (it offers the opened file's own folder)."""
    dialog = page.export_dialog()
    assert dialog is not None
    dialog.folder.setText(str(bench))
    return dialog


def test_generic_file_for_a_product(page: EditorPage, bench: Path) -> None:
    page.model.set_value("sip.proxy", "pbx2.example")
    dialog = export_to(page, bench)
    dialog.product.setCurrentIndex(dialog.product.findData("8188"))
    assert "algop8188.conf" in dialog.preview.text() and "algop8188.md5" in dialog.preview.text()
    written = dialog.save()
    assert written is not None and written.path == bench / "algop8188.conf"
    content = (bench / "algop8188.conf").read_bytes()
    assert content == page.model.document.to_bytes()
    assert (bench / "algop8188.md5").read_bytes() == f"{md5.md5_hex(content)}\n".encode()
    assert written.digest == md5.md5_hex(content)
    shown = dialog.outcome.text()
    assert "algop8188.conf" in shown and "algop8188.md5" in shown and written.digest in shown
    assert sorted(p.name for p in bench.iterdir()) == ["algop8188.conf", "algop8188.md5"]
    dialog.close()


def test_device_file_for_a_mac_in_any_spelling(page: EditorPage, bench: Path) -> None:
    dialog = export_to(page, bench)
    dialog.mac.setText("00-22-ee-0a-0b-0c")
    dialog.for_mac.setChecked(True)
    dialog.md5sum.setChecked(True)
    written = dialog.save()
    assert written is not None and written.path.name == "algom0022EE0A0B0C.conf"
    content = written.path.read_bytes()
    assert content == BACKUP
    assert (
        written.md5_path.read_bytes()
        == f"{md5.md5_hex(content)}  algom0022EE0A0B0C.conf\n".encode()
    )
    assert md5.verify(written.md5_path.read_bytes(), content)
    dialog.close()


def test_incremental_file_holds_only_the_changes(page: EditorPage, bench: Path) -> None:
    page.model.set_value("sip.u1.user", "2002")
    page.model.remove_parameters(["admin.devname"])
    assert page.model.add_parameter("prov.i", "1") is None
    dialog = export_to(page, bench)
    dialog.mac.setText("0022EE0A0B0C")
    dialog.for_mac.setChecked(True)
    dialog.incremental.setChecked(True)
    written = dialog.save()
    assert written is not None and written.path.name == "algom0022EE0A0B0C-i.conf"
    assert written.md5_path.name == "algom0022EE0A0B0C-i.md5"
    content = written.path.read_bytes()
    assert ConfigDocument.from_bytes(content).as_dict() == {"prov.i": "1", "sip.u1.user": "2002"}
    assert md5.verify(written.md5_path.read_bytes(), content)
    assert "admin.devname" in dialog.outcome.text()  # a removal an -i file cannot carry
    dialog.close()


def test_nothing_is_written_when_the_form_is_wrong(page: EditorPage, bench: Path) -> None:
    dialog = export_to(page, bench)
    dialog.for_mac.setChecked(True)
    dialog.mac.setText("not-a-mac")
    assert not dialog.save_button.isEnabled()
    assert "not a MAC address" in dialog.preview.text()
    assert dialog.save() is None
    dialog.for_product.setChecked(True)
    dialog.incremental.setChecked(True)  # nothing was edited: an -i file would be empty
    assert dialog.save() is None
    assert "nothing changed" in dialog.outcome.text()
    assert list(bench.iterdir()) == []
    dialog.close()


def test_an_existing_file_is_replaced_only_when_confirmed(page: EditorPage, bench: Path) -> None:
    (bench / "algop8186.conf").write_bytes(b"prov.use = 0\n")
    dialog = export_to(page, bench)
    dialog.product.setCurrentIndex(dialog.product.findData("8186"))
    dialog.confirm_overwrite = lambda _path: False
    assert dialog.save() is None
    assert (bench / "algop8186.conf").read_bytes() == b"prov.use = 0\n"
    dialog.confirm_overwrite = lambda _path: True
    assert dialog.save() is not None
    assert (bench / "algop8186.conf").read_bytes() == BACKUP
    dialog.close()


def umask_mode() -> int:
    current = os.umask(0o022)
    os.umask(current)
    return 0o666 & ~current


@pytest.mark.skipif(os.name != "posix", reason="POSIX file modes")
def test_saves_keep_the_file_s_mode_and_new_files_get_the_umask_s(
    page: EditorPage, bench: Path
) -> None:
    # Another user (tftpd-hpa, a stage-2 web server) must still read what the editor saved.
    assert page.path is not None
    page.path.chmod(0o664)
    page.model.set_value("sip.proxy", "pbx2.example")
    assert page.save()
    assert stat.S_IMODE(page.path.stat().st_mode) == 0o664
    dialog = export_to(page, bench)
    dialog.product.setCurrentIndex(dialog.product.findData("8186"))
    assert dialog.save() is not None
    for name in ("algop8186.conf", "algop8186.md5"):
        assert stat.S_IMODE((bench / name).stat().st_mode) == umask_mode()
    (bench / "algop8186.conf").chmod(0o640)
    dialog.confirm_overwrite = lambda _path: True
    assert dialog.save() is not None
    assert stat.S_IMODE((bench / "algop8186.conf").stat().st_mode) == 0o640
    dialog.close()


def test_target_names() -> None:
    assert Target(product="8190S").name() == "algop8190S.conf"
    assert Target(product="8180", incremental=True).name() == "algop8180-i.conf"
    assert Target(mac="00:22:EE:01:02:03").name() == "algom0022EE010203.conf"
    with pytest.raises(ExportError):
        Target(product="81").name()


def test_the_dialog_offers_the_backup_s_product_and_its_own_folder(
    qtbot, tmp_path: Path, bench: Path
) -> None:
    widget = EditorPage(Catalog.load(), tmp_path / "editor.ini", lambda: bench)
    qtbot.addWidget(widget)
    downloads = tmp_path / "downloads"
    downloads.mkdir()
    backup = downloads / "fpbx-8196-2025__algom_mac_.conf"
    backup.write_bytes(BACKUP)
    assert widget.open_file(backup)
    dialog = widget.export_dialog()
    assert dialog is not None
    assert dialog.product.currentData() == "8196"
    assert dialog.folder.text() == str(downloads)
    dialog.product.setCurrentIndex(dialog.product.findData("8188"))
    assert dialog.save() is not None
    dialog.close()
    # A file that names no product: the last one used.
    plain = downloads / "lobby.conf"
    plain.write_bytes(BACKUP)
    assert widget.open_file(plain)
    dialog = widget.export_dialog()
    assert dialog is not None and dialog.product.currentData() == "8188"
    dialog.close()
