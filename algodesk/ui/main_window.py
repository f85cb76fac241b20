"""The main window: toolbar, error banner, the four pages, menus and the status bar."""

from __future__ import annotations

import html
import platform
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import partial
from pathlib import Path

import PySide6
from PySide6.QtCore import QSettings, Slot, qVersion
from PySide6.QtGui import QAction, QCloseEvent, QKeySequence
from PySide6.QtWidgets import (
    QFileDialog,
    QLabel,
    QMainWindow,
    QMessageBox,
    QTabWidget,
    QVBoxLayout,
    QWidget,
)

from algodesk import __version__
from algodesk.core import events as ev
from algodesk.core import export
from algodesk.core.diagnosis import Level
from algodesk.core.fileio import atomic_write
from algodesk.core.simulator import folder_fetcher
from algodesk.services import errors
from algodesk.services.history import HistoryStore
from algodesk.services.interfaces import Interface
from algodesk.services.paths import AppPaths
from algodesk.services.settings import Settings, SettingsStore
from algodesk.ui.folder.model import FolderChecker
from algodesk.ui.folder.page import FolderPage
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.live.log_page import LogPage
from algodesk.ui.live.page import LivePage
from algodesk.ui.live.transfers_page import TransfersPage
from algodesk.ui.serve_toolbar import DRY_RUN_PORT, ServeToolbar
from algodesk.ui.server_control import ServerControl
from algodesk.ui.widgets import text
from algodesk.ui.widgets.banner import Action, Banner

PAGES = ("Live", "Transfers", "Folder", "Log")


@dataclass(slots=True)
class WindowServices:
    """Everything the window works with, built by the composition root."""

    feed: LiveFeed
    control: ServerControl
    settings: Settings
    """Loaded once by the composition root, shared with every part that reads or changes it."""
    settings_store: SettingsStore
    paths: AppPaths
    list_interfaces: Callable[[], list[Interface]]
    check_folder: FolderChecker
    history: HistoryStore | None = None


@dataclass(frozen=True, slots=True)
class WindowActions:
    """The window's own menu entries; app.py places them (and the features') in one table."""

    open_folder: QAction
    default_folder: QAction
    export: QAction
    quit: QAction
    start: QAction
    stop: QAction
    dry_run: QAction
    refresh_interfaces: QAction
    pages: tuple[QAction, ...]
    """Show the Live, Transfers, Folder and Log pages (Ctrl+1 to Ctrl+4)."""
    live_bench: QAction
    reload_runs: QAction
    about: QAction


MenuTable = Sequence[tuple[str, Sequence[QAction | None]]]
"""The menu bar: each menu's title and its entries in order (None: a separator)."""

EXPORT_FOLDER_KEY = "export/last_folder"


class MainWindow(QMainWindow):
    """The bench at a glance: serve a folder, watch devices, see what to do when one is stuck."""

    def __init__(self, services: WindowServices, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.services = services
        self.feed, self.control = services.feed, services.control
        self.settings = services.settings
        self.setWindowTitle("algodesk")
        paths = services.paths

        self.toolbar = ServeToolbar(paths.bench_dir, self)
        self.addToolBar(self.toolbar)
        self.banner = Banner(self)
        self.live = LivePage(self.feed, self)
        self.transfers = TransfersPage(self.feed.transfers, self)
        self.folder_page = FolderPage(
            services.check_folder, auto_md5=self.settings.auto_md5, parent=self
        )
        self.log = LogPage(self.feed.log, self)
        self.pages = QTabWidget(self)
        for page, title in zip(
            (self.live, self.transfers, self.folder_page, self.log), PAGES, strict=True
        ):
            self.pages.addTab(page, title)
        central = QWidget(self)
        layout = QVBoxLayout(central)
        layout.setContentsMargins(4, 4, 4, 4)
        layout.addWidget(self.banner)
        layout.addWidget(self.pages, 1)
        self.setCentralWidget(central)

        self.serving_label = QLabel(self)
        self.devices_label = QLabel(self)
        self.transfers_label = QLabel(self)
        self.warnings_label = QLabel(self)
        for label in (self.serving_label, self.devices_label, self.transfers_label):
            self.statusBar().addWidget(label)
        self.statusBar().addPermanentWidget(self.warnings_label)
        self._folder_problems = (0, 0)

        self.menu_actions = self._make_actions()
        self.toolbar.start_requested.connect(self._on_toolbar_start_requested)
        self.toolbar.stop_requested.connect(self.stop_serving)
        self.toolbar.folder_chosen.connect(self.set_folder)
        self.toolbar.interfaces_refresh_requested.connect(self.refresh_interfaces)
        self.control.started.connect(self._on_control_started)
        self.control.stopped.connect(self._on_control_stopped)
        self.control.failed.connect(self._on_control_failed)
        self.feed.server_failed.connect(self._on_feed_server_failed)
        self.feed.refreshed.connect(self._update_status)
        self.folder_page.checked.connect(self._on_folder_page_checked)
        self.control.virtual_changed.connect(self._on_control_virtual_changed)
        self.live.dry_run_requested.connect(self.dry_run)
        self.live.export_button.clicked.connect(self.export_dialog)
        self.pages.currentChanged.connect(self._on_pages_current_changed)

        self.refresh_interfaces()
        self.toolbar.interfaces.choose(self.settings.interface, self.settings.address)
        self.toolbar.port.setValue(self.settings.port)
        folder = Path(self.settings.folder) if self.settings.folder else paths.bench_dir
        self.set_folder(str(folder if folder.is_dir() else paths.bench_dir))
        self.reload_runs()
        self._window_state = QSettings(
            str(paths.window_state_file), QSettings.Format.IniFormat, self
        )
        self._restore_window_state()
        self._on_pages_current_changed(self.pages.currentIndex())
        self._update_status()

    # --- actions and menus -----------------------------------------------------------------------
    def _make_actions(self) -> WindowActions:
        def action(label: str, slot: Callable[[], object], keys: str = "") -> QAction:
            made = QAction(label, self)

            def run(_checked: bool = False) -> None:
                slot()  # discard any result: PySide mis-counts a slot's bool result

            made.triggered.connect(run)
            if keys:
                made.setShortcut(QKeySequence(keys))
            return made

        return WindowActions(
            open_folder=action("&Open folder…", self.toolbar.choose_folder, "Ctrl+O"),
            default_folder=action(
                "Open the &default bench folder",
                lambda: self.set_folder(str(self.services.paths.bench_dir)),
            ),
            export=action("&Export devices…", self.export_dialog, "Ctrl+E"),
            quit=action("&Quit", self.close, "Ctrl+Q"),
            start=self.toolbar.start_action,
            stop=self.toolbar.stop_action,
            dry_run=action(f"Use port {DRY_RUN_PORT} for a &dry run", self.dry_run),
            refresh_interfaces=action("&Refresh interfaces", self.refresh_interfaces),
            pages=tuple(
                action(f"&{title}", partial(self.pages.setCurrentIndex, index), f"Ctrl+{index + 1}")
                for index, title in enumerate(PAGES)
            ),
            live_bench=action("&Live bench (not a stored run)", lambda: self.live.show_run(None)),
            reload_runs=action("Reload stored &runs", self.reload_runs),
            about=action("&About algodesk", self.about, "F1"),
        )

    def set_menus(self, table: MenuTable) -> None:
        """Build the menu bar from ``table``: ``(title, actions)`` in order, None a separator."""
        bar = self.menuBar()
        bar.clear()
        for title, actions in table:
            menu = bar.addMenu(title)
            for entry in actions:
                if entry is None:
                    menu.addSeparator()
                else:
                    menu.addAction(entry)

    def save_settings(self) -> None:
        """Write the shared settings (after any part of the window changed them)."""
        self.services.settings_store.save(self.settings)

    @Slot(int)
    def _on_pages_current_changed(self, index: int) -> None:
        current = self.pages.widget(index)
        self.feed.show_pages(
            live=current is self.live, transfers=current is self.transfers, log=current is self.log
        )

    # --- folder and interfaces -------------------------------------------------------------------
    @Slot(str)
    def set_folder(self, folder: str) -> None:
        """Serve ``folder`` from now on (restarting the server if it runs: one run, one folder)."""
        path = Path(folder)
        self.settings.remember_folder(str(path))
        self.save_settings()
        self.toolbar.set_folder(path, self.settings.recent_folders)
        self.folder_page.set_folder(path)
        self.feed.tracker.fetch = self.control.fetcher(folder_fetcher(path))
        if self.control.running:
            self.stop_serving()
            self.start_serving()
        else:
            self.live.set_server_state(str(path), None)

    @property
    def folder(self) -> Path:
        """The provisioning folder."""
        return self.toolbar.folder

    @Slot()
    def refresh_interfaces(self) -> None:
        """List the network interfaces again."""
        self.toolbar.set_interfaces(self.services.list_interfaces())

    # --- serving ---------------------------------------------------------------------------------
    @Slot()
    def _on_toolbar_start_requested(self) -> None:
        self.start_serving()

    def start_serving(self) -> bool:
        """Start the server with the toolbar's folder, address and port."""
        self.banner.clear()
        if not self.folder.is_dir():
            self.banner.show_problem(
                "The provisioning folder does not exist",
                str(self.folder),
                ("Choose another folder (File → Open folder…).",),
                (("Use the default bench folder", self._use_default_folder),),
            )
            return False
        address = self.toolbar.interfaces.current_address()
        return self.control.start(self.folder, address, self.toolbar.port.value())

    @Slot()
    def stop_serving(self) -> None:
        """Stop the server."""
        self.control.stop()

    @Slot()
    def dry_run(self) -> None:
        """Serve on an unprivileged port (devices will not find it: for rehearsals and tests)."""
        self._dry_run_on(DRY_RUN_PORT)

    def _dry_run_on(self, port: int) -> None:
        """Serve on ``port`` at the address the toolbar shows, and say where."""
        self.stop_serving()
        self.toolbar.port.setValue(port)
        if not self.start_serving():
            return
        server = self.control.server
        if server is None:
            return
        address = server.address
        self.banner.show_problem(
            f"Dry run on {text.listening_on(address)}, port {server.port}",
            f"Serving {self.folder} at {address or '0.0.0.0'}:{server.port}, the address chosen "
            "in Listen on. Devices ask port 69 and will not find this server; a TFTP client or "
            f"`algodesk simulate --server {address or '127.0.0.1'}:{server.port}` will.",
            level=Level.INFO,
        )

    def _use_default_folder(self) -> None:
        self.set_folder(str(self.services.paths.bench_dir))
        self.start_serving()

    @Slot(str, int)
    def _on_control_started(self, address: str, port: int) -> None:
        self.toolbar.set_serving(True)
        name, _address = self.toolbar.interfaces.current_choice()
        self.settings.interface, self.settings.address = name, address
        self.live.set_server_state(str(self.folder), (address, port))
        self.toolbar.show_bound_port(port)
        self.settings.port = self.toolbar.port_choice()
        self.save_settings()
        self.serving_label.setText(
            f"<b>Serving</b> {html.escape(str(self.folder))} at {address}:{port}"
        )
        self.reload_runs()

    @Slot()
    def _on_control_stopped(self) -> None:
        self.live.set_server_state(str(self.folder), None)
        self.toolbar.set_serving(False)
        self.serving_label.setText("Stopped")
        self.reload_runs()

    @Slot()
    def _on_control_virtual_changed(self) -> None:
        self.folder_page.set_memory_files(self.control.virtual_files)

    @Slot(object)
    def _on_control_failed(self, error: errors.ServerStartError) -> None:
        self.show_server_problem(error.code, error.message, error.remedies, error.port)

    @Slot(object)
    def _on_feed_server_failed(self, event: ev.ServerFailed) -> None:
        if event.service != "tftp":
            return  # DHCP and syslog failures are the companions panel's to report
        self.show_server_problem(event.code, event.message, event.remedies, event.port)
        if self.control.running:
            self.control.stop()

    def show_server_problem(
        self, code: str, message: str, remedies: tuple[str, ...], port: int
    ) -> None:
        """The banner for an engine error, with fixes one click away."""
        actions: list[Action] = []
        titles = {
            errors.PORT_IN_USE: f"Port {port} is already in use",
            errors.PERMISSION_DENIED: f"Not allowed to use port {port}",
            errors.BAD_ADDRESS: "That address is not on this computer (interface gone?)",
        }
        if code in (errors.PORT_IN_USE, errors.PERMISSION_DENIED):
            if port != DRY_RUN_PORT:
                actions.append((f"Use port {DRY_RUN_PORT} for a dry run", self.dry_run))
            else:
                actions.append(("Use any free port for a dry run", self._any_port))
        if code == errors.BAD_ADDRESS:
            actions.append(("Listen on all interfaces", self._all_interfaces))
        actions.append(("Try again", self._try_again))
        remedies = errors.window_remedies(
            remedies, port_box="the toolbar's Port box", address_box="the toolbar's Listen on box"
        )
        self.banner.show_problem(titles.get(code, "The server stopped"), message, remedies, actions)

    def _any_port(self) -> None:
        self._dry_run_on(0)

    def _all_interfaces(self) -> None:
        self.refresh_interfaces()
        self.toolbar.interfaces.setCurrentIndex(0)
        self._try_again()

    def _try_again(self) -> None:
        self.stop_serving()
        self.start_serving()

    # --- status ----------------------------------------------------------------------------------
    @Slot(int, int)
    def _on_folder_page_checked(self, errors_found: int, warnings: int) -> None:
        self._folder_problems = (errors_found, warnings)
        self._update_status()

    @Slot()
    def _update_status(self) -> None:
        devices, active, attention = self.feed.counts()
        if not self.control.running:
            self.serving_label.setText("Stopped")
        self.devices_label.setText(f"Devices: <b>{devices}</b>")
        self.transfers_label.setText(f"Active transfers: <b>{active}</b>")
        folder_errors, folder_warnings = self._folder_problems
        parts = []
        if attention:
            needs = "needs" if attention == 1 else "need"
            parts.append(f"{text.count(attention, 'device')} {needs} attention")
        if folder_errors or folder_warnings:
            parts.append(
                f"folder: {text.count(folder_errors, 'error')}, "
                f"{text.count(folder_warnings, 'warning')}"
            )
        colour = "#c62828" if parts else "#2e7d32"
        self.warnings_label.setText(
            f"<span style='color:{colour}'>{html.escape('; '.join(parts) or 'No warnings')}</span>"
        )

    # --- history and export ----------------------------------------------------------------------
    @Slot()
    def reload_runs(self) -> None:
        """Offer the stored runs on the Live page, newest first."""
        history = self.services.history
        if history is None:
            return
        labels = []
        for run in reversed(history.runs()):
            ended = "running" if run.ended is None else f"until {text.clock(run.ended)}"
            labels.append(
                (
                    run.run_id,
                    f"Run {run.run_id}: {text.stamp(run.started)} ({ended}) — "
                    f"{text.count(run.devices, 'device')}, "
                    f"{text.count(run.transfers, 'transfer')} — {Path(run.root).name}",
                )
            )
        self.live.set_history(history.events, labels)

    def export_devices(self, path: Path) -> Path:
        """Write the devices on the Live page to ``path`` (CSV, or JSON for ``.json``)."""
        devices = self.live.shown_devices()
        content = (
            export.to_json(devices) if path.suffix.lower() == ".json" else export.to_csv(devices)
        )
        return atomic_write(path, content.encode("utf-8"))

    @Slot()
    def export_dialog(self) -> None:
        """Ask where to export the devices on show, then write them."""
        chosen, _filter = QFileDialog.getSaveFileName(
            self,
            "Export devices",
            str(self.export_folder() / "devices.csv"),
            "CSV (*.csv);;JSON (*.json)",
        )
        if chosen:
            self.export_devices(Path(chosen))
            self._window_state.setValue(EXPORT_FOLDER_KEY, str(Path(chosen).parent))

    def export_folder(self) -> Path:
        """Where "Export devices" opens: the last export's folder, else the user's Documents
        (the folder holding the bench folder), never the app's hidden data folder."""
        last = str(self._window_state.value(EXPORT_FOLDER_KEY, "") or "")
        if last and Path(last).is_dir():
            return Path(last)
        return self.services.paths.bench_dir.parent

    # --- about and window state ------------------------------------------------------------------
    def about_text(self) -> str:
        """The About box's text, with versions."""
        return (
            f"<h3>algodesk {__version__}</h3>"
            "<p>Bench provisioning for Algo IP endpoints.</p>"
            f"<p>Python {platform.python_version()}<br/>"
            f"Qt {qVersion()}, PySide6 {PySide6.__version__}<br/>"
            f"{html.escape(platform.platform())}</p>"
            f"<p>Data: {html.escape(str(self.services.paths.data_dir))}</p>"
        )

    @Slot()
    def about(self) -> None:
        """Show the About box."""
        QMessageBox.about(self, "About algodesk", self.about_text())

    def _resize_for_first_start(self) -> None:
        """1440x900, or most of a smaller screen: the Live table and the network dock side by side."""
        screen = self.screen()
        available = screen.availableGeometry() if screen is not None else None
        if available is None or available.isEmpty():
            self.resize(1440, 900)
            return
        self.resize(
            min(1440, int(available.width() * 0.95)), min(900, int(available.height() * 0.9))
        )

    def _restore_window_state(self) -> None:
        state = self._window_state
        geometry = state.value("window/geometry")
        if geometry is not None:
            self.restoreGeometry(geometry)
        else:
            self._resize_for_first_start()
        toolbars = state.value("window/state")
        if toolbars is not None:
            self.restoreState(toolbars)
        splitter = state.value("live/splitter")
        if splitter is not None:
            self.live.splitter.restoreState(splitter)
        page = state.value("window/page")
        if page is not None:
            self.pages.setCurrentIndex(int(page))

    def save_window_state(self) -> None:
        """Remember geometry, layout and the page on show."""
        state = self._window_state
        state.setValue("window/geometry", self.saveGeometry())
        state.setValue("window/state", self.saveState())
        state.setValue("live/splitter", self.live.splitter.saveState())
        state.setValue("window/page", self.pages.currentIndex())
        state.sync()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Stop serving, remember the window, then close."""
        self.control.stop()
        self.feed.stop()
        self.save_window_state()
        self.save_settings()
        event.accept()
        super().closeEvent(event)
