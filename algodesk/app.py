"""The composition root: builds the services and the window and wires them together.

``uv run algodesk`` (no sub-command) calls :func:`main`. Nothing imports this module; tests use
:func:`compose` to build the same app without running its event loop.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import QEvent, QObject, QTimer
from PySide6.QtGui import QIcon
from PySide6.QtWidgets import QApplication, QMessageBox

from algodesk import __version__
from algodesk.core.checks import BenchChecker
from algodesk.core.events import Sink
from algodesk.core.resources import resource_path
from algodesk.core.tracker import Tracker
from algodesk.services import interfaces, paths
from algodesk.services.checksync import check_sync
from algodesk.services.credentials import CredentialStore
from algodesk.services.dhcp import DhcpServer
from algodesk.services.discovery import Discovery
from algodesk.services.history import HistoryError, HistoryStore
from algodesk.services.profiles import ProfileStore
from algodesk.services.settings import SettingsStore
from algodesk.services.syslog import SyslogReceiver
from algodesk.services.tftp import TftpServer, TftpSettings
from algodesk.ui.bridge import EventBridge
from algodesk.ui.live.feed import LiveFeed
from algodesk.ui.main_window import MainWindow, MenuTable, WindowActions, WindowServices
from algodesk.ui.network.companions_control import CompanionFactories, Companions
from algodesk.ui.network_wiring import CompanionsUi, install
from algodesk.ui.provisioning_wiring import ProvisioningPages
from algodesk.ui.provisioning_wiring import install as install_provisioning
from algodesk.ui.server_control import ServerControl
from algodesk.ui.stop_signals import StopSignals


@dataclass(slots=True)
class Composition:
    """The running app's parts; :meth:`close` releases what outlives the window."""

    window: MainWindow
    control: ServerControl
    history: HistoryStore | None
    history_error: str = ""
    companions: Companions | None = None
    network: CompanionsUi | None = None
    provisioning: ProvisioningPages | None = None

    def close(self) -> None:
        """Stop serving and close the history (flushing it)."""
        self.control.stop()
        if self.companions is not None:
            self.companions.stop()
        self.window.feed.stop()
        if self.history is not None:
            self.history.close()


def compose(
    app_paths: paths.AppPaths,
    *,
    companion_factories: CompanionFactories | None = None,
    credentials: CredentialStore | None = None,
) -> Composition:
    """Build services and the main window (call with a QApplication running).

    ``companion_factories`` builds DHCP, syslog and zeroconf (tests put them on loopback);
    ``credentials`` keeps profile passwords (tests give one over an in-memory keyring).
    """
    app_paths.ensure()
    store = SettingsStore(app_paths.settings_file)
    settings = store.load()  # once: the window and every part of it share this object
    history: HistoryStore | None = None
    history_error = ""
    try:
        history = HistoryStore(app_paths.history_file)
    except HistoryError as error:
        history_error = str(error)

    def make_server(root: Path, address: str, port: int, sink: Sink) -> TftpServer:
        return TftpServer(
            root,
            address,
            port,
            sink=sink,
            settings=TftpSettings(auto_md5=settings.auto_md5, case_fallback=settings.case_fallback),
        )

    bridge = EventBridge()
    feed = LiveFeed(bridge, Tracker())
    control = ServerControl(make_server, bridge, history)
    window = MainWindow(
        WindowServices(
            feed=feed,
            control=control,
            settings=settings,
            settings_store=store,
            paths=app_paths,
            list_interfaces=interfaces.list_interfaces,
            # The Folder page judges the folder as this bench serves it (one verdict with
            # the live view); `algodesk check` judges it as a folder on its own.
            check_folder=BenchChecker(auto_md5=settings.auto_md5),
            history=history,
        )
    )
    factories = companion_factories or real_companions(app_paths.data_dir / "dhcp-leases.json")
    companions = Companions(factories, bridge, history, window)
    network = install(window, companions, bridge)
    provisioning = install_provisioning(
        window, ProfileStore(app_paths.config_dir / "profiles"), credentials or CredentialStore()
    )
    window.set_menus(menu_table(window.menu_actions, provisioning, network))
    bridge.setParent(window)
    feed.setParent(window)
    control.setParent(window)
    return Composition(window, control, history, history_error, companions, network, provisioning)


def real_companions(leases_path: Path) -> CompanionFactories:
    """The real services: DHCP on port 67 of the bench interface (leases kept on disk), syslog,
    zeroconf on the bench interface, check-sync NOTIFYs."""
    return CompanionFactories(
        dhcp=lambda settings, sink: DhcpServer(settings, sink, leases_path=leases_path),
        syslog=lambda address, port, sink: SyslogReceiver(address, port, sink),
        discovery=lambda address, sink, is_algo: Discovery(
            sink, interfaces=[address], is_algo_address=is_algo
        ),
        check_sync=lambda targets, sink: check_sync(targets, sink=sink),
    )


def menu_table(
    window: WindowActions, provisioning: ProvisioningPages, network: CompanionsUi
) -> MenuTable:
    """The menu bar, in one place: every part makes its actions, this says where they go."""
    return (
        (
            "&File",
            (
                window.open_folder,
                provisioning.open_config,
                provisioning.new_profile,
                window.default_folder,
                window.export,
                None,
                window.quit,
            ),
        ),
        ("&Server", (window.start, window.stop, window.dry_run, window.refresh_interfaces)),
        (
            "&View",
            (
                *window.pages,
                window.live_bench,
                window.reload_runs,
                None,
                provisioning.show_editor,
                provisioning.show_bench,
                None,
                network.show_syslog,
                network.show_panel,
            ),
        ),
        ("&Help", (window.about,)),
    )


EXIT_WHEN_SHOWN = "ALGODESK_EXIT_WHEN_SHOWN"


class _ExitWhenShown(QObject):
    """Start-up benchmarks: once the window is on screen, say so on stdout and close it."""

    def __init__(self, window: MainWindow) -> None:
        super().__init__(window)
        self._window = window

    def eventFilter(self, watched: QObject, event: QEvent) -> bool:
        handle = self._window.windowHandle()
        if event.type() == QEvent.Type.Expose and handle is not None and handle.isExposed():
            watched.removeEventFilter(self)
            # after the expose's paint: the window is drawn when this prints
            QTimer.singleShot(0, self._report)
        return False

    def _report(self) -> None:
        print("algodesk: main window shown", flush=True)
        self._window.close()


def open_bench(
    window: MainWindow,
    *,
    folder: Path | None = None,
    address: str | None = None,
    port: int | None = None,
    start: bool = False,
) -> bool:
    """Set the folder, address and port the command line gave, and (``start``) serve at once.

    Returns whether the window is serving as asked (False, with a banner, when it cannot).
    """
    if folder is not None:
        window.set_folder(str(folder))
    if port is not None:
        window.toolbar.port.setValue(port)
    if address is not None:
        window.toolbar.interfaces.choose("", address)
        if window.toolbar.interfaces.current_address() != address:
            window.banner.show_problem(
                f"{address} is not an address of this computer",
                "The app was told to serve on it (--bind).",
                ("Choose an interface in the toolbar, or give --bind 0.0.0.0 for all of them.",),
            )
            return False
    return window.start_serving() if start else True


def main(
    *,
    folder: Path | None = None,
    address: str | None = None,
    port: int | None = None,
    start: bool = False,
) -> int:
    """Open the window (serving ``folder`` at once with ``start``) and run until it closes."""
    existing = QApplication.instance()
    app = existing if isinstance(existing, QApplication) else QApplication(sys.argv)
    app.setApplicationName("algodesk")
    app.setApplicationVersion(__version__)
    icon = resource_path("algodesk.png")
    if icon is not None:
        app.setWindowIcon(QIcon(str(icon)))
    parts = compose(paths.resolve())
    # Ctrl+C or a kill closes the window as the user would (state saved, run ended, history
    # flushed), from the event loop rather than from inside the signal handler.
    stop_signals = StopSignals(parts.window.close)
    try:
        parts.window.show()
        handle = parts.window.windowHandle()
        if os.environ.get(EXIT_WHEN_SHOWN) == "1" and handle is not None:
            handle.installEventFilter(_ExitWhenShown(parts.window))
        open_bench(parts.window, folder=folder, address=address, port=port, start=start)
        if parts.history_error:
            QMessageBox.warning(
                parts.window,
                "History not available",
                f"Runs will not be kept this time: {parts.history_error}",
            )
        return int(app.exec())
    finally:
        stop_signals.close()
        parts.close()
