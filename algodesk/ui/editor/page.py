"""The Editor page: open a config backup, edit its parameters, compare, save, export.

Saving keeps every byte the user did not change (the core's lossless document) and writes
atomically. Dialogs that ask something go through replaceable callables (``ask_unsaved``,
``choose_*``) so tests can answer them without a modal loop.
"""

from __future__ import annotations

import html
from collections.abc import Callable
from functools import partial
from pathlib import Path

from PySide6.QtCore import QItemSelection, Qt, Slot
from PySide6.QtGui import QAction, QDragEnterEvent, QDropEvent, QKeySequence
from PySide6.QtWidgets import (
    QCheckBox,
    QHBoxLayout,
    QLabel,
    QLineEdit,
    QVBoxLayout,
    QWidget,
)

from algodesk.core import config, names
from algodesk.core.catalog import Catalog
from algodesk.core.fileio import atomic_write
from algodesk.ui.editor.add import AddParameterBar
from algodesk.ui.editor.commands import copy_lines
from algodesk.ui.editor.diff import DiffDialog
from algodesk.ui.editor.export import ProvisioningDialog
from algodesk.ui.editor.files import (
    RecentFiles,
    Unsaved,
    ask_unsaved,
    choose_open_file,
    choose_save_file,
)
from algodesk.ui.editor.filter import ParameterFilter
from algodesk.ui.editor.model import ParameterModel
from algodesk.ui.editor.toolbar import EditorToolbar, connect
from algodesk.ui.editor.view import ParameterView
from algodesk.ui.widgets.text import count

_ERROR, _OK = "#c62828", "#2e7d32"


class EditorPage(QWidget):
    """One config document at a time: a searchable tree of parameters with typed editors.

    Args:
        catalog: what is known about each parameter.
        state_file: an INI file for the recent files list.
        default_folder: the folder "save as provisioning file" offers (the bench folder).
    """

    def __init__(
        self,
        catalog: Catalog,
        state_file: Path,
        default_folder: Callable[[], Path],
        parent: QWidget | None = None,
    ) -> None:
        super().__init__(parent)
        self.setAcceptDrops(True)
        self._default_folder = default_folder
        self.path: Path | None = None
        self.opened = config.ConfigDocument()
        self.ask_unsaved: Callable[[str], Unsaved] = partial(ask_unsaved, self)
        self.choose_open_file: Callable[[], Path | None] = lambda: choose_open_file(
            self, self._start_folder()
        )
        self.choose_save_file: Callable[[], Path | None] = lambda: choose_save_file(
            self, self.path or self._start_folder()
        )
        self.recent = RecentFiles(state_file, self)
        self.recent.chosen.connect(self._on_recent_chosen)
        self.model = ParameterModel(catalog, self)
        self.undo_stack = self.model.undo_stack
        self.filter = ParameterFilter(self.model, self)

        self._build_actions()
        self.file_label = QLabel(self)
        self.file_label.setTextInteractionFlags(Qt.TextInteractionFlag.TextSelectableByMouse)
        self.search = QLineEdit(self)
        self.search.setPlaceholderText("Search parameters, values and descriptions")
        self.search.setClearButtonEnabled(True)
        self.search.textChanged.connect(self._on_search_text_changed)
        self.problems_only = QCheckBox("Only values that need a look", self)
        self.problems_only.toggled.connect(self._on_problems_only_toggled)
        self.reveal = QCheckBox("Show secrets", self)
        self.reveal.toggled.connect(self._on_reveal_toggled)
        search_row = QHBoxLayout()
        search_row.addWidget(self.search, 1)
        search_row.addWidget(self.problems_only)
        search_row.addWidget(self.reveal)

        self.tree = ParameterView(self.model, self.filter, self)
        self.tree.selectionModel().selectionChanged.connect(self._on_tree_selection_changed)
        self.remove_action.setShortcutContext(Qt.ShortcutContext.WidgetShortcut)
        self.tree.addAction(self.remove_action)

        self.add_bar = AddParameterBar(self.model, self)
        self.add_bar.added.connect(self._on_add_bar_added)
        self.add_bar.refused.connect(self._on_add_bar_refused)
        self.add_bar.remove_requested.connect(self.remove_selected)
        self.hint = QLabel(self)
        self.message = QLabel(self)
        self.message.setWordWrap(True)

        layout = QVBoxLayout(self)
        layout.addWidget(self.toolbar)
        layout.addWidget(self.file_label)
        layout.addLayout(search_row)
        layout.addWidget(self.tree, 1)
        layout.addWidget(self.add_bar)
        layout.addWidget(self.hint)
        layout.addWidget(self.message)

        self.model.edit_refused.connect(self._on_model_edit_refused)
        self.model.key_touched.connect(self.show_key)
        self.model.document_changed.connect(self._on_model_document_changed)
        self.undo_stack.cleanChanged.connect(self._on_stack_clean_changed)
        self._update_state()

    # --- actions ---------------------------------------------------------------------------------
    def _build_actions(self) -> None:
        bar = self.toolbar = EditorToolbar(self.undo_stack, self.recent.menu, self)
        self.open_action, self.save_action = bar.open_action, bar.save_action
        self.save_as_action, self.export_action = bar.save_as_action, bar.export_action
        self.compare_disk_action = bar.compare_disk_action
        self.compare_opened_action = bar.compare_opened_action
        self.compare_file_action = bar.compare_file_action
        self.undo_action, self.redo_action = bar.undo_action, bar.redo_action
        for action, slot in (
            (self.open_action, self.open_dialog),
            (self.save_action, self.save),
            (self.save_as_action, self.save_as_dialog),
            (self.export_action, self.export_dialog),
            (self.compare_disk_action, self.compare_with_disk),
            (self.compare_opened_action, self.compare_with_opened),
            (self.compare_file_action, self.compare_dialog),
        ):
            connect(action, slot)
        self.remove_action = QAction("Remove", self)
        self.remove_action.setShortcut(QKeySequence.StandardKey.Delete)
        connect(self.remove_action, self.remove_selected)
        find = QAction("Find", self)
        find.setShortcut(QKeySequence.StandardKey.Find)
        find.triggered.connect(self._on_find_triggered)
        for action in (self.undo_action, self.redo_action, self.save_action, find):
            # Page shortcuts: the window's own (Ctrl+O, Ctrl+1…) stay unambiguous.
            action.setShortcutContext(Qt.ShortcutContext.WidgetWithChildrenShortcut)
            self.addAction(action)

    # --- files -----------------------------------------------------------------------------------
    @property
    def dirty(self) -> bool:
        """Whether there are unsaved changes."""
        return not self.undo_stack.isClean()

    def open_file(self, path: Path) -> bool:
        """Open ``path`` (after asking about unsaved changes); False when it was not opened."""
        if not self.confirm_discard():
            return False
        try:
            document = config.load(path)
        except config.ConfigError as error:
            self._say(_ERROR, str(error))
            return False
        self.path = path
        self.opened = config.ConfigDocument(copy_lines(document.lines))
        self.model.file_name = path.name
        self.model.load(document)
        self.tree.expandAll()
        self.recent.remember(path)
        problems = len(self.model.flagged_keys())
        note = f"; {count(problems, 'value')} to look at" if problems else ""
        keys = count(len(self.model.shown_keys()), "parameter")
        self._say(_OK, f"Opened {path.name}: {keys}{note}.")
        self._update_state()
        return True

    def save(self) -> bool:
        """Save to the file's own path (asking for one if it has none)."""
        if self.path is None:
            return self.save_as_dialog()
        return self.save_to(self.path)

    def save_to(self, path: Path) -> bool:
        """Write the document to ``path`` atomically; it becomes the file's path."""
        try:
            atomic_write(path, self.model.document.to_bytes())
        except OSError as error:
            self._say(_ERROR, f"Not saved: {path}: {error.strerror or error}")
            return False
        self.path = path
        self.undo_stack.setClean()
        self.recent.remember(path)
        self._say(_OK, f"Saved {path}.")
        self._update_state()
        return True

    def confirm_discard(self) -> bool:
        """True when it is fine to drop the document (saved, discarded, or nothing to lose)."""
        if not self.dirty:
            return True
        name = self.path.name if self.path else "the document"
        answer = self.ask_unsaved(name)
        if answer is Unsaved.SAVE:
            return self.save()
        return answer is Unsaved.DISCARD

    @Slot()
    def open_dialog(self) -> bool:
        """Ask for a file to open."""
        chosen = self.choose_open_file()
        return self.open_file(chosen) if chosen else False

    @Slot()
    def save_as_dialog(self) -> bool:
        """Ask where to save, then save there."""
        chosen = self.choose_save_file()
        return self.save_to(chosen) if chosen else False

    def _start_folder(self) -> Path:
        return self.path.parent if self.path else self._default_folder()

    # --- recent files and drops ------------------------------------------------------------------
    @Slot(str)
    def _on_recent_chosen(self, path: str) -> None:
        self.open_file(Path(path))

    def dragEnterEvent(self, event: QDragEnterEvent) -> None:
        """Accept a dragged local file."""
        if any(url.isLocalFile() for url in event.mimeData().urls()):
            event.acceptProposedAction()

    def dropEvent(self, event: QDropEvent) -> None:
        """Open the first dropped local file."""
        for url in event.mimeData().urls():
            if url.isLocalFile():
                event.acceptProposedAction()
                self.open_file(Path(url.toLocalFile()))
                return

    # --- editing ---------------------------------------------------------------------------------
    @Slot(str)
    def _on_add_bar_added(self, key: str) -> None:
        self._say(_OK, f"Added {key}.")
        self.show_key(key)

    @Slot(str, str)
    def _on_add_bar_refused(self, key: str, why: str) -> None:
        self._say(_ERROR, f"Not added: {why}")
        if self.model.value(key) is not None:
            self.show_key(key)

    def selected_keys(self) -> list[str]:
        """Keys of the selected parameter rows."""
        return self.tree.selected_keys()

    @Slot()
    def remove_selected(self) -> bool:
        """Remove the selected parameters (one undo step)."""
        keys = self.selected_keys()
        if not keys:
            return False
        return self.model.remove_parameters(keys)

    @Slot(str)
    def show_key(self, key: str) -> None:
        """Select and scroll to ``key`` (if the search shows it)."""
        self.tree.show_key(key)

    # --- comparing and exporting -----------------------------------------------------------------
    def _compare(
        self, title: str, other: config.ConfigDocument, *, other_first: bool = False
    ) -> DiffDialog:
        """The edited document against ``other`` (on the left when it is the older version)."""
        name = self.path.name if self.path else "document"
        mine = (f"{name} (edited)", self.model.document)
        theirs = (title, other)
        left, right = (theirs, mine) if other_first else (mine, theirs)
        dialog = DiffDialog(left[0], left[1], right[0], right[1], self)
        dialog.reveal.setChecked(self.reveal.isChecked())
        dialog.show()
        return dialog

    @Slot()
    def compare_with_disk(self) -> DiffDialog | None:
        """Compare the file as it is on disk now (left) with the document (right)."""
        if self.path is None:
            return None
        return self.compare_with(self.path, f"{self.path.name} (on disk)", other_first=True)

    @Slot()
    def compare_with_opened(self) -> DiffDialog | None:
        """Compare the file as it was opened (left) with the document (right)."""
        if self.path is None:
            return None
        return self._compare(f"{self.path.name} (as opened)", self.opened, other_first=True)

    def compare_with(
        self, path: Path, title: str = "", *, other_first: bool = False
    ) -> DiffDialog | None:
        """Compare the document with the file at ``path`` (called ``title``)."""
        try:
            other = config.load(path)
        except config.ConfigError as error:
            self._say(_ERROR, str(error))
            return None
        return self._compare(title or path.name, other, other_first=other_first)

    @Slot()
    def compare_dialog(self) -> DiffDialog | None:
        """Ask for a file and compare with it."""
        chosen = self.choose_open_file()
        return self.compare_with(chosen) if chosen else None

    @Slot()
    def export_dialog(self) -> ProvisioningDialog | None:
        """Open "save as provisioning file" (non-modal)."""
        if self.path is None and not self.model.shown_keys():
            return None
        # The product the file names (a backup of an 8196 is for 8196s), else the last one used;
        # the file's own folder, else the bench folder.
        product = names.product_in_name(self.path.name) if self.path else ""
        dialog = ProvisioningDialog(
            self.model.document,
            self.opened,
            self._start_folder(),
            self,
            product=product or self.recent.last_product(),
        )
        dialog.remember_product = self.recent.remember_product
        dialog.show()
        return dialog

    # --- state -----------------------------------------------------------------------------------
    def _say(self, colour: str, text: str) -> None:
        self.message.setText(f"<span style='color:{colour}'>{html.escape(text)}</span>")

    def _update_state(self) -> None:
        has_file = self.path is not None
        for action in (self.save_action, self.save_as_action, self.export_action):
            action.setEnabled(has_file)
        for action in (
            self.compare_disk_action,
            self.compare_opened_action,
            self.compare_file_action,
        ):
            action.setEnabled(has_file)
        self.add_bar.remove_button.setEnabled(bool(self.selected_keys()))
        if self.path is None:
            self.file_label.setText(
                "Open a device backup or provisioning file: <b>Open…</b>, a recent file, "
                "or drop it here."
            )
            return
        modified = " — <b>modified</b>" if self.dirty else ""
        self.file_label.setText(
            f"<b>{html.escape(self.path.name)}</b> in {html.escape(str(self.path.parent))}"
            f"{modified}"
        )

    @Slot(bool)
    def _on_stack_clean_changed(self, _clean: bool) -> None:
        self._update_state()

    @Slot()
    def _on_model_document_changed(self) -> None:
        # The same count as "Only values that need a look" and the opening message: values
        # that do not fit, keys written twice and what the checks flag.
        flagged = len(self.model.flagged_keys())
        if not flagged:
            self.hint.clear()
            return
        said = (
            f"{count(flagged, 'value')} {'needs' if flagged == 1 else 'need'} a look "
            "(marked !, the tooltip says why)"
        )
        unfit = len(self.model.problems())
        if unfit:
            said += (
                f"; {unfit} {'does' if unfit == 1 else 'do'} not fit the parameter: kept as read "
                "until you change it"
            )
        self.hint.setText(f"<span style='color:#e65100'>{said}.</span>")

    @Slot(str, str)
    def _on_model_edit_refused(self, key: str, why: str) -> None:
        self._say(_ERROR, f"{key} not changed: {why}")

    @Slot(str)
    def _on_search_text_changed(self, text: str) -> None:
        self.filter.set_search(text)
        self.tree.expandAll()

    @Slot(bool)
    def _on_problems_only_toggled(self, only: bool) -> None:
        self.filter.set_problems_only(only)
        self.tree.expandAll()

    @Slot(bool)
    def _on_reveal_toggled(self, reveal: bool) -> None:
        self.model.set_reveal(reveal)
        self.filter.set_search(self.search.text())  # revealed values become searchable
        self.tree.expandAll()

    @Slot()
    def _on_find_triggered(self) -> None:
        self.search.setFocus()
        self.search.selectAll()

    @Slot(QItemSelection, QItemSelection)
    def _on_tree_selection_changed(self, _new: QItemSelection, _old: QItemSelection) -> None:
        self.add_bar.remove_button.setEnabled(bool(self.selected_keys()))
