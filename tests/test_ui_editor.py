"""The parameter editor: model, typed editors, validation, undo/redo, search, save, diff, files."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from PySide6.QtCore import QMimeData, QPointF, Qt, QUrl
from PySide6.QtGui import QDropEvent
from PySide6.QtWidgets import QApplication, QComboBox, QLineEdit

from algodesk.core.catalog import MASK, Catalog
from algodesk.core.config import ConfigDocument
from algodesk.ui.editor.delegate import LevelEditor
from algodesk.ui.editor.diff import Change, DiffModel
from algodesk.ui.editor.files import Unsaved
from algodesk.ui.editor.model import Column, ParameterModel
from algodesk.ui.editor.page import EditorPage

pytestmark = pytest.mark.usefixtures("qapp")  # Qt models and widgets need a QApplication

SECRET = "Editor-Secret-Canary"
# Hand-edited: CRLF endings, a comment, odd spacing, a duplicate, no final newline.
HAND_EDITED = (
    "# bench file\r\n"
    "prov.use = 1\r\n"
    "audio.page.vol = -18dB\r\n"
    "log.size=100\r\n"
    f"sip.u1.pwd = {SECRET}\r\n"
    "sip.interop.checksync = always-reboot\r\n"
    "admin.web.sci   =   0\r\n"
    "log.size = 200\r\n"
    "mcast.zone1 = 224.0.2.60:50002 # lobby"
).encode()
SAMPLE = Path(__file__).parent / "data" / "fpbx-8186-2025__algo_mac_.conf"


@pytest.fixture
def catalog() -> Catalog:
    return Catalog.load()


@pytest.fixture
def page(qtbot, tmp_path: Path, catalog: Catalog) -> Iterator[EditorPage]:
    bench = tmp_path / "bench"
    bench.mkdir()
    widget = EditorPage(catalog, tmp_path / "editor.ini", lambda: bench)
    qtbot.addWidget(widget)
    widget.resize(1100, 700)
    widget.show()
    qtbot.waitExposed(widget)
    try:
        yield widget
    finally:
        # QTest sends no release for a modifier of a key click: the app would think Ctrl is
        # still held (a later test's selectRow would toggle rather than select). A key without
        # modifiers sets it straight.
        qtbot.keyClick(widget, Qt.Key.Key_Escape)
        assert QApplication.keyboardModifiers() == Qt.KeyboardModifier.NoModifier


@pytest.fixture
def hand_file(tmp_path: Path) -> Path:
    path = tmp_path / "hand.conf"
    path.write_bytes(HAND_EDITED)
    return path


def value_index(page: EditorPage, key: str):
    index = page.filter.mapFromSource(page.model.key_index(key, Column.VALUE))
    assert index.isValid(), key
    return index


def test_model_groups_keys_and_passes_the_model_tester(qtmodeltester, catalog: Catalog) -> None:
    sample = ParameterModel(catalog)
    sample.load(ConfigDocument.from_bytes(SAMPLE.read_bytes()))
    groups = [sample.group_at(sample.index(row, 0)) for row in range(sample.rowCount())]
    assert groups[:4] == ["prov", "sip", "audio", "net"]
    assert groups[4:] == sorted(groups[4:])
    assert len(sample.shown_keys()) == len(ConfigDocument.from_bytes(SAMPLE.read_bytes()).keys())
    # The tester checks every index after every signal: a small file keeps that quick.
    model = ParameterModel(catalog)
    model.load(ConfigDocument.from_bytes(HAND_EDITED))
    qtmodeltester.check(model)
    # Edits insert and remove rows (and whole groups) under the tester's eye.
    assert model.add_parameter("zz.bench.note", "hello") is None
    assert model.remove_parameters(["zz.bench.note", "mcast.zone1", "prov.use"])
    assert model.group_at(model.index(0, 0)) == "sip"  # prov went with its only key
    model.undo_stack.undo()
    model.undo_stack.undo()
    assert model.document.to_bytes() == HAND_EDITED
    qtmodeltester.check(model)


def test_cells_show_type_description_and_mask_secrets(catalog: Catalog) -> None:
    model = ParameterModel(catalog)
    model.load(ConfigDocument.from_bytes(HAND_EDITED))
    pwd = model.key_index("sip.u1.pwd", Column.VALUE)
    assert model.data(pwd) == MASK
    assert model.data(pwd, Qt.ItemDataRole.EditRole) == SECRET  # the editor needs it
    model.set_reveal(True)
    assert model.data(pwd) == SECRET
    level = model.key_index("audio.page.vol")
    assert model.data(level.siblingAtColumn(Column.TYPE)) == "level"
    assert "Page volume" in model.data(level.siblingAtColumn(Column.DESCRIPTION))
    unknown = model.key_index("mcast.zone1", Column.DESCRIPTION)
    assert model.data(unknown) in ("(not in the catalog)", catalog.get("mcast.zone1").description)
    duplicated = model.key_index("log.size", Column.VALUE)
    assert model.data(duplicated) == "200"  # the device uses the last one
    assert "lines 4, 8" in model.data(duplicated, Qt.ItemDataRole.ToolTipRole)
    assert model.flagged("log.size")


def test_edit_in_place_through_the_view(page: EditorPage, hand_file: Path, qtbot) -> None:
    assert page.open_file(hand_file)
    index = value_index(page, "mcast.zone1")
    page.tree.setCurrentIndex(index)
    page.tree.edit(index)
    editor = page.tree.findChild(QLineEdit, "value-editor")
    assert editor is not None and editor.text() == "224.0.2.60:50002 # lobby"
    editor.selectAll()
    qtbot.keyClicks(editor, "224.0.2.61:50002")
    qtbot.keyClick(editor, Qt.Key.Key_Return)  # the delegate commits in a queued call
    qtbot.waitUntil(lambda: page.model.value("mcast.zone1") == "224.0.2.61:50002")
    assert page.dirty and "modified" in page.file_label.text()


def test_typed_editors(page: EditorPage, hand_file: Path) -> None:
    page.open_file(hand_file)
    delegate = page.tree.itemDelegateForColumn(Column.VALUE)
    level = value_index(page, "audio.page.vol")
    editor = delegate.createEditor(page.tree.viewport(), None, level)
    assert isinstance(editor, LevelEditor)
    delegate.setEditorData(editor, level)
    assert editor.value() == -18.0 and editor.text() == "-18dB"
    editor.setValue(-6.5)
    delegate.setModelData(editor, page.filter, level)
    assert page.model.value("audio.page.vol") == "-6.5dB"

    choice = value_index(page, "sip.interop.checksync")
    combo = delegate.createEditor(page.tree.viewport(), None, choice)
    assert isinstance(combo, QComboBox)
    assert [combo.itemData(i) for i in range(combo.count())] == [
        "always-reboot",
        "conditional-reboot",
    ]
    delegate.setEditorData(combo, choice)
    combo.setCurrentIndex(combo.findData("conditional-reboot"))
    delegate.setModelData(combo, page.filter, choice)
    assert page.model.value("sip.interop.checksync") == "conditional-reboot"

    secret = value_index(page, "sip.u1.pwd")
    hidden = delegate.createEditor(page.tree.viewport(), None, secret)
    assert isinstance(hidden, QLineEdit) and hidden.echoMode() is QLineEdit.EchoMode.Password

    flag = value_index(page, "admin.web.sci")
    assert page.filter.flags(flag) & Qt.ItemFlag.ItemIsUserCheckable
    assert page.filter.data(flag, Qt.ItemDataRole.CheckStateRole) == Qt.CheckState.Unchecked
    assert page.filter.setData(flag, Qt.CheckState.Checked.value, Qt.ItemDataRole.CheckStateRole)
    assert page.model.value("admin.web.sci") == "1"


def test_invalid_values_are_refused_and_flagged(page: EditorPage, tmp_path: Path, qtbot) -> None:
    path = tmp_path / "odd.conf"
    path.write_text("log.size = lots\nprov.use = 1\n")
    page.open_file(path)
    assert page.model.problem("log.size")  # read from the file: kept, flagged
    assert "1 value needs a look (marked !" in page.hint.text()
    assert "1 does not fit the parameter" in page.hint.text()
    page.problems_only.setChecked(True)
    assert page.filter.rowCount() == 1  # the log group, holding log.size only
    page.problems_only.setChecked(False)
    before = page.undo_stack.count()
    assert not page.filter.setData(value_index(page, "prov.use"), "yes", Qt.ItemDataRole.EditRole)
    assert page.model.value("prov.use") == "1"
    assert page.undo_stack.count() == before
    assert "prov.use not changed: must be 0 or 1" in page.message.text()
    delegate = page.tree.itemDelegateForColumn(Column.VALUE)
    live = delegate.createEditor(page.tree.viewport(), None, value_index(page, "log.size"))
    qtbot.keyClicks(live, "12x")  # the validator keeps letters out of an integer editor
    assert live.text() == "12" and not live.toolTip()
    live.clear()
    qtbot.keyClicks(live, "-")  # on the way to a negative number: flagged as typed
    assert "whole number" in live.toolTip() and live.styleSheet()


def test_the_hint_counts_every_value_that_needs_a_look(page: EditorPage, tmp_path: Path) -> None:
    # It counted only values that do not fit, so "1 value flagged" sat under "2 values to look
    # at" and two marked rows; and it named a ⚠ the rows do not show.
    path = tmp_path / "odd.conf"
    path.write_text("log.size = lots\nprov.use = 1\nsip.proxy = a\nsip.proxy = b\n")
    page.open_file(path)
    flagged = page.model.flagged_keys()
    assert len(flagged) >= 2 and len(page.model.problems()) == 1
    assert f"{len(flagged)} values need a look" in page.hint.text()
    assert f"{len(flagged)} values to look at" in page.message.text()
    assert "⚠" not in page.hint.text()


def test_undo_and_redo_with_the_keyboard_give_back_every_byte(
    page: EditorPage, hand_file: Path, qtbot
) -> None:
    page.open_file(hand_file)
    assert page.model.set_value("prov.use", "0")
    assert page.add_bar.key.completer() is not None
    page.add_bar.key.setText("prov.version.firmware")
    page.add_bar.value.setText("5.4f")
    assert page.add_bar.add()
    page.tree.selectionModel().clearSelection()
    page.tree.selectionModel().select(
        value_index(page, "log.size"),
        page.tree.selectionModel().SelectionFlag.Select
        | page.tree.selectionModel().SelectionFlag.Rows,
    )
    assert page.selected_keys() == ["log.size"]
    page.tree.setFocus()
    qtbot.keyClick(page.tree, Qt.Key.Key_Delete)
    assert page.model.value("log.size") is None
    edited = page.model.document.to_bytes()
    assert b"log.size" not in edited
    assert edited.endswith(b"# lobby\r\nprov.version.firmware = 5.4f")  # still no final newline
    for _ in range(3):
        qtbot.keyClick(page.tree, Qt.Key.Key_Z, Qt.KeyboardModifier.ControlModifier)
    assert page.model.document.to_bytes() == HAND_EDITED
    assert not page.dirty
    for _ in range(3):
        qtbot.keyClick(
            page.tree,
            Qt.Key.Key_Z,
            Qt.KeyboardModifier.ControlModifier | Qt.KeyboardModifier.ShiftModifier,
        )
    assert page.model.document.to_bytes() == edited
    assert page.undo_action.text() == "Undo Remove log.size"


def test_add_refuses_what_does_not_fit(page: EditorPage, hand_file: Path) -> None:
    page.open_file(hand_file)
    for key, value, why in (
        ("prov.use", "1", "already in the file"),
        ("not a key", "1", "not a valid parameter name"),
        ("prov.i", "maybe", "must be 0 or 1"),
    ):
        page.add_bar.key.setText(key)
        page.add_bar.value.setText(value)
        assert not page.add_bar.add()
        assert why in page.message.text()
    page.add_bar.key.setText("prov.download.method")
    assert "tftp | ftp | http | https" in page.add_bar.value.placeholderText()


def test_search_covers_key_value_description_but_not_hidden_secrets(
    page: EditorPage, hand_file: Path
) -> None:
    page.open_file(hand_file)

    def shown() -> list[str]:
        return [
            key
            for key in page.model.shown_keys()
            if page.filter.mapFromSource(page.model.key_index(key)).isValid()
        ]

    page.search.setText("lobby")
    assert shown() == ["mcast.zone1"]
    page.search.setText("page volume")
    assert shown() == ["audio.page.vol"]
    page.search.setText(SECRET.lower())
    assert shown() == []
    page.reveal.setChecked(True)
    assert shown() == ["sip.u1.pwd"]
    page.search.clear()
    assert len(shown()) == len(page.model.shown_keys())


def test_save_changes_only_the_edited_lines(page: EditorPage, tmp_path: Path) -> None:
    path = tmp_path / "backup.conf"
    shutil.copy(SAMPLE, path)
    original = path.read_bytes().split(b"\n")
    page.open_file(path)
    assert page.model.set_value("audio.page.vol", "-12dB")
    assert page.model.set_value("sip.u1.pwd", SECRET)
    assert page.save()
    saved = path.read_bytes().split(b"\n")
    changed = [n for n, (a, b) in enumerate(zip(original, saved, strict=True)) if a != b]
    assert [saved[n] for n in changed] == [
        b"audio.page.vol = -12dB",
        f"sip.u1.pwd = {SECRET}".encode(),
    ]
    assert not page.dirty
    assert not list(tmp_path.glob(".backup.conf.*"))  # the temporary file was replaced in


def test_unsaved_changes_prompt(page: EditorPage, hand_file: Path, tmp_path: Path) -> None:
    other = tmp_path / "other.conf"
    other.write_bytes(b"prov.use = 0\n")
    page.open_file(hand_file)
    page.model.set_value("prov.use", "0")
    asked: list[str] = []

    def answer(choice: Unsaved):
        def ask(name: str) -> Unsaved:
            asked.append(name)
            return choice

        return ask

    page.ask_unsaved = answer(Unsaved.CANCEL)
    assert not page.open_file(other)
    assert page.path == hand_file and asked == ["hand.conf"]
    page.ask_unsaved = answer(Unsaved.SAVE)
    assert page.open_file(other)
    assert b"prov.use = 0\r\n" in hand_file.read_bytes()
    page.model.set_value("prov.use", "1")
    page.ask_unsaved = answer(Unsaved.DISCARD)
    assert page.confirm_discard()
    assert other.read_bytes() == b"prov.use = 0\n"


def test_open_refuses_a_file_that_is_not_a_config(page: EditorPage, tmp_path: Path) -> None:
    binary = tmp_path / "tones.zip"
    binary.write_bytes(b"PK\x03\x04\x00\x00")
    assert not page.open_file(binary)
    assert "not a config file" in page.message.text()
    assert page.path is None and not page.save_action.isEnabled()


def test_recent_files_and_drag_and_drop(
    qtbot, page: EditorPage, hand_file: Path, tmp_path: Path, catalog: Catalog
) -> None:
    dropped = tmp_path / "dropped.conf"
    dropped.write_bytes(b"prov.use = 1\n")
    page.open_file(hand_file)
    data = QMimeData()
    data.setUrls([QUrl.fromLocalFile(str(dropped))])
    event = QDropEvent(
        QPointF(10, 10),
        Qt.DropAction.CopyAction,
        data,
        Qt.MouseButton.LeftButton,
        Qt.KeyboardModifier.NoModifier,
    )
    page.dropEvent(event)
    assert page.path == dropped
    assert page.recent.files() == [str(dropped), str(hand_file)]
    again = EditorPage(catalog, tmp_path / "editor.ini", lambda: tmp_path)
    qtbot.addWidget(again)
    assert [a.text() for a in again.recent.menu.actions()] == [str(dropped), str(hand_file)]
    again.recent.menu.actions()[1].trigger()
    assert again.path == hand_file


def test_compare_with_disk_and_another_file(
    page: EditorPage, hand_file: Path, tmp_path: Path, qtmodeltester
) -> None:
    page.open_file(hand_file)
    dialog = page.compare_with_disk()
    assert dialog is not None and "No differences" in dialog.summary.text()
    dialog.close()
    page.model.set_value("prov.use", "0")
    page.model.remove_parameters(["mcast.zone1"])
    page.add_bar.key.setText("prov.i")
    page.add_bar.value.setText("1")
    page.add_bar.add()
    dialog = page.compare_with_disk()
    assert dialog is not None
    model = dialog.model
    qtmodeltester.check(model)
    rows = {model.row(n).key: model.row(n) for n in range(model.rowCount())}
    # the file on disk (older) on the left, the edited document on the right
    assert model.headerData(1, Qt.Orientation.Horizontal) == "hand.conf (on disk)"
    assert rows["prov.use"].change is Change.CHANGED
    assert (rows["prov.use"].left, rows["prov.use"].right) == ("1", "0")
    assert rows["mcast.zone1"].change is Change.REMOVED
    assert rows["prov.i"].change is Change.ADDED
    assert "1 parameter changed" in dialog.summary.text()
    assert "1 added" in dialog.summary.text() and "1 removed" in dialog.summary.text()
    dialog.show_same.setChecked(True)
    assert model.rowCount() == len(ConfigDocument.from_bytes(HAND_EDITED).keys()) + 1
    dialog.close()
    other = tmp_path / "other.conf"
    other.write_text("sip.u1.pwd = another\n")
    page.choose_open_file = lambda: other
    dialog = page.compare_dialog()
    assert dialog is not None
    secret_row = next(
        n for n in range(dialog.model.rowCount()) if dialog.model.row(n).key == "sip.u1.pwd"
    )
    assert dialog.model.data(dialog.model.index(secret_row, 1)) == MASK
    assert dialog.model.data(dialog.model.index(secret_row, 2)) == MASK
    dialog.reveal.setChecked(True)
    assert dialog.model.data(dialog.model.index(secret_row, 1)) == SECRET
    dialog.close()


def test_diff_model_counts(qtmodeltester) -> None:
    left = ConfigDocument.from_bytes(b"a.b = 1\nc.d = 2\n")
    right = ConfigDocument.from_bytes(b"a.b = 1\nc.d = 3\ne.f = 4\n")
    model = DiffModel("left", "right")
    model.set_documents(left, right)
    qtmodeltester.check(model)
    assert model.counts() == {
        Change.SAME: 1,
        Change.CHANGED: 1,
        Change.ADDED: 1,
        Change.REMOVED: 0,
    }
    assert model.headerData(1, Qt.Orientation.Horizontal) == "left"


def test_keys_in_natural_order_and_rows_follow_edits(catalog: Catalog) -> None:
    model = ParameterModel(catalog)
    model.load(ConfigDocument.from_bytes(b"sip.u10.user = 10\nsip.u2.user = 2\nsip.u1.user = 1\n"))
    assert model.shown_keys() == ["sip.u1.user", "sip.u2.user", "sip.u10.user"]
    assert model.add_parameter("sip.u9.user", "9") is None
    assert model.shown_keys() == ["sip.u1.user", "sip.u2.user", "sip.u9.user", "sip.u10.user"]
    assert model.data(model.key_index("sip.u9.user", Column.VALUE)) == "9"
    assert model.data(model.index(0, 0)) == "sip  (4)"


def test_values_that_need_a_look_are_what_check_flags(page: EditorPage, tmp_path: Path) -> None:
    from algodesk.core.checks import check_document
    from algodesk.core.config import ConfigDocument

    path = tmp_path / "algop8186.conf"
    text = (
        "admin.pwd = {$admin_password}\n"
        "log.size = lots\n"
        "prov.use = 1\n"
        "sip.proxy = {$domain_name}\n"
        "sip.u1.user = 2001\n"
    )
    path.write_text(text)
    assert page.open_file(path)
    findings = check_document(path.name, ConfigDocument.from_bytes(text.encode()))
    assert any(f.code == "template-placeholder" for f in findings)
    flagged = set(page.model.flagged_keys())
    assert {"admin.pwd", "sip.proxy", "log.size"} <= flagged
    assert "sip.u1.user" not in flagged
    assert "template placeholder" in page.model.data(
        page.model.key_index("sip.proxy"), Qt.ItemDataRole.ToolTipRole
    )
    page.problems_only.setChecked(True)
    shown = [
        key
        for key in page.model.shown_keys()
        if page.filter.mapFromSource(page.model.key_index(key)).isValid()
    ]
    assert set(shown) == flagged


def test_group_headers_count_the_matches_while_searching(page: EditorPage, hand_file: Path) -> None:
    page.open_file(hand_file)
    page.search.setText("page volume")
    audio = next(
        page.filter.index(row, 0)
        for row in range(page.filter.rowCount())
        if str(page.filter.data(page.filter.index(row, 0))).startswith("audio")
    )
    size = page.model.group_size("audio")
    assert page.filter.data(audio) == f"audio  (1 of {size})"
    page.search.clear()
    assert page.filter.data(page.filter.index(0, 0)).endswith(")")
    assert " of " not in page.filter.data(page.filter.index(0, 0))
