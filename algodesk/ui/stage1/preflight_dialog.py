""" "Check stage 2": the permanent server checked as each device will meet it, off the GUI thread.

The preflight runs on its own thread (``algodesk-preflight``) and reports each device's verdict
through a queued signal, so the window stays live; Cancel breaks off the request in progress.
Each device is a row with its verdict; its evidence (requests, certificate, what the fetched
config says) are the row's children.
"""

from __future__ import annotations

import contextlib

from PySide6.QtCore import Qt, Signal, Slot
from PySide6.QtGui import QBrush, QCloseEvent, QColor
from PySide6.QtWidgets import (
    QDialog,
    QHBoxLayout,
    QHeaderView,
    QLabel,
    QProgressBar,
    QPushButton,
    QTreeWidget,
    QTreeWidgetItem,
    QVBoxLayout,
    QWidget,
)

from algodesk.core.diagnosis import Level
from algodesk.core.preflight import DeviceVerdict
from algodesk.core.profile import BenchProfile
from algodesk.core.roster import Roster
from algodesk.services.preflight.plan import build_plan, default_targets
from algodesk.services.preflight.runner import Preflight, PreflightPlan
from algodesk.ui.widgets import status_style
from algodesk.ui.widgets.text import count

_QUIET = QColor("#555555")


class PreflightDialog(QDialog):
    """Runs one preflight and shows its verdicts as they come."""

    verdict_arrived = Signal(int, object)
    """A device's verdict (emitted from the preflight thread, received on the GUI thread)."""
    run_finished = Signal()

    def __init__(self, plan: PreflightPlan, server: str, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self.setWindowTitle("Check stage 2")
        self.resize(980, 560)
        self.total = len(plan.devices)
        self.finished_run = False
        self.preflight = Preflight(plan, on_verdict=self._post_verdict, on_finished=self._post_end)
        queued = Qt.ConnectionType.QueuedConnection
        self.verdict_arrived.connect(self._on_preflight_verdict, queued)
        self.run_finished.connect(self._on_preflight_finished, queued)

        header = QLabel(
            f"Each device boots against <b>{server}</b> as it will after stage 1: login, "
            "certificate, config, md5, firmware and data files.",
            self,
        )
        header.setWordWrap(True)
        self.progress = QProgressBar(self)
        self.progress.setRange(0, max(self.total, 1))
        self.progress.setValue(0)
        self.status = QLabel(f"Checking {count(self.total, 'device')}…", self)
        self.status.setWordWrap(True)
        self.results = QTreeWidget(self)
        self.results.setHeaderLabels(["Device", "Verdict"])
        self.results.setColumnCount(2)
        self.results.setWordWrap(True)
        self.results.header().setSectionResizeMode(0, QHeaderView.ResizeMode.ResizeToContents)
        self.results.header().setStretchLastSection(True)
        self.cancel_button = QPushButton("Cancel", self)
        self.cancel_button.clicked.connect(self.cancel)
        self.close_button = QPushButton("Close", self)
        self.close_button.clicked.connect(self.close)
        buttons = QHBoxLayout()
        buttons.addWidget(self.status, 1)
        buttons.addWidget(self.cancel_button)
        buttons.addWidget(self.close_button)
        layout = QVBoxLayout(self)
        layout.addWidget(header)
        layout.addWidget(self.progress)
        layout.addWidget(self.results, 1)
        layout.addLayout(buttons)

    def _post_verdict(self, index: int, verdict: DeviceVerdict) -> None:
        # From the preflight thread. The app may close with the run going: the dialog's C++
        # side is then gone, and the thread has nobody left to tell.
        with contextlib.suppress(RuntimeError):
            self.verdict_arrived.emit(index, verdict)

    def _post_end(self) -> None:
        with contextlib.suppress(RuntimeError):
            self.run_finished.emit()

    def start(self) -> None:
        """Start checking (on the preflight's own thread)."""
        self.preflight.start()

    @Slot()
    def cancel(self) -> None:
        """Stop after the request in progress; the verdicts so far stay."""
        self.cancel_button.setEnabled(False)
        self.status.setText("Cancelling…")
        self.preflight.cancel()

    def closeEvent(self, event: QCloseEvent) -> None:
        """Closing cancels a run in progress and waits for its thread."""
        self.preflight.stop()
        super().closeEvent(event)

    def verdicts(self) -> list[DeviceVerdict]:
        """The verdicts shown so far."""
        return self.preflight.verdicts

    @Slot(int, object)
    def _on_preflight_verdict(self, _index: int, verdict: DeviceVerdict) -> None:
        item = QTreeWidgetItem([verdict.target.label, verdict.summary])
        colour = status_style.colour(Level.OK if verdict.ok else Level.ERROR)
        for column in (0, 1):
            item.setForeground(column, QBrush(colour))
        item.setToolTip(1, verdict.summary)
        requests = [record.describe() for record in verdict.fetches]
        for kind, lines in (
            ("evidence", verdict.evidence),
            ("request", requests),
            ("config", verdict.config_notes),
        ):
            for line in lines:
                child = QTreeWidgetItem([kind, line])
                child.setToolTip(1, line)
                child.setForeground(0, QBrush(_QUIET))
                item.addChild(child)
        self.results.addTopLevelItem(item)
        item.setExpanded(not verdict.ok)
        self.progress.setValue(self.results.topLevelItemCount())

    @Slot()
    def _on_preflight_finished(self) -> None:
        self.finished_run = True
        self.cancel_button.setEnabled(False)
        verdicts = self.preflight.verdicts
        ready = sum(1 for v in verdicts if v.ok)
        done = f"{count(len(verdicts), 'device')}: {ready} will complete stage 2, " + (
            f"{len(verdicts) - ready} will not"
        )
        if self.preflight.cancelled and len(verdicts) < self.total:
            done = f"Cancelled after {done}"
        self.status.setText(done)


def open_preflight(
    parent: QWidget,
    profile: BenchProfile,
    password: str,
    roster: Roster | None,
) -> PreflightDialog | str:
    """Start checking ``profile``'s server for the roster's devices and the profile's products;
    the dialog, or why it cannot start."""
    try:
        chosen = default_targets(profile, roster)
        plan = build_plan(profile, password, roster, chosen)
    except ValueError as error:
        return str(error)
    if not chosen:
        return "Nothing to check: import a roster, or give the profile its products."
    dialog = PreflightDialog(plan, profile.server_url, parent)
    dialog.show()
    dialog.start()
    return dialog
