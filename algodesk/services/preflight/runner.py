"""Run a preflight: each device, as it leaves stage 1, boots against its permanent server.

The device starts with the stage-1 config it will have applied (the profile's, or its roster
file), so it asks the server that config names, over its protocol, with its paths and login. The
simulator walks the boot algorithm; a :class:`Recorder` between it and the protocol fetcher keeps
every request as evidence.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field

from algodesk.core import device, names
from algodesk.core.preflight import (
    DeviceVerdict,
    Failure,
    FetchRecord,
    ServerFailure,
    Target,
    login_changes,
    server_notes,
    verdict,
)
from algodesk.core.simulator import DeviceState, SimulationResult, simulate
from algodesk.services.preflight.server import (
    ServerFetcher,
    StageTwoServer,
    make_fetcher,
    stage_two_server,
)
from algodesk.services.preflight.tls import TlsReport, inspect

MAX_BOOTS = 6
_STOP_TIMEOUT = 2.0


@dataclass(frozen=True, slots=True)
class DeviceStart:
    """One device as stage 1 leaves it: the target, and the stage-1 config it applied."""

    target: Target
    stage1_config: bytes = field(repr=False)
    firmware: str = ""


@dataclass(frozen=True, slots=True)
class PreflightPlan:
    """What to check and how; ``password`` is the stage-2 login (never shown)."""

    devices: tuple[DeviceStart, ...]
    password: str = field(repr=False)
    timeout: float = 10.0
    full: bool = False
    ca_file: str = ""


class Recorder:
    """Between the simulator and a protocol client: evidence, the failure, Cancel.

    The simulator asks for names on the config or firmware path of the config in force
    (``algo/fw/x.sfw``); a server address with a path of its own puts them under it.
    """

    def __init__(
        self,
        fetcher: ServerFetcher,
        server: StageTwoServer,
        cancel: threading.Event,
    ) -> None:
        self.fetcher = fetcher
        self.root = server.root
        self.cancel = cancel
        self.records: list[FetchRecord] = []
        self.failure: ServerFailure | None = None

    def path(self, name: str) -> str:
        """Where on the server the device's request for ``name`` goes."""
        return device.on_path(self.root, name)

    def fetch(self, name: str) -> bytes | None:
        """The simulator's fetcher."""
        path = self._start(name)
        try:
            data = self.fetcher.fetch(path)
        except ServerFailure as failure:
            raise self._failed(name, path, failure) from None
        size = len(data) if data is not None else None
        self.records.append(
            FetchRecord(
                device.bare_name(name), path, data is not None, size, self.fetcher.detail, data
            )
        )
        return data

    def probe(self, name: str) -> int | None:
        """The simulator's prober (firmware by existence and size)."""
        path = self._start(name)
        try:
            size = self.fetcher.probe(path)
        except ServerFailure as failure:
            raise self._failed(name, path, failure) from None
        self.records.append(
            FetchRecord(
                device.bare_name(name),
                path,
                size is not None,
                size,
                self.fetcher.detail,
                probed=True,
            )
        )
        return size

    def _start(self, name: str) -> str:
        if self.cancel.is_set():
            raise self._failed(name, self.path(name), ServerFailure(Failure.CANCELLED, "cancelled"))
        self.fetcher.detail = ""
        return self.path(name)

    def _failed(self, name: str, path: str, failure: ServerFailure) -> ServerFailure:
        self.failure = failure
        self.records.append(FetchRecord(device.bare_name(name), path, None, detail=str(failure)))
        return failure


class Preflight:
    """Check every device of ``plan``; runs on the caller's thread or its own (``start``).

    ``on_verdict(index, verdict)`` is called (from the running thread) as each device is done.
    """

    def __init__(
        self,
        plan: PreflightPlan,
        on_verdict: Callable[[int, DeviceVerdict], None] | None = None,
        on_finished: Callable[[], None] | None = None,
    ) -> None:
        self.plan = plan
        self._on_verdict = on_verdict
        self._on_finished = on_finished
        self._cancel = threading.Event()
        self._lock = threading.Lock()
        self._current: ServerFetcher | None = None
        self._verdicts: list[DeviceVerdict] = []
        self._thread: threading.Thread | None = None
        self._tls: dict[StageTwoServer, TlsReport | ServerFailure] = {}

    def __repr__(self) -> str:
        return f"<Preflight devices={len(self.plan.devices)} done={len(self._verdicts)}>"

    @property
    def verdicts(self) -> list[DeviceVerdict]:
        """The verdicts so far, in device order."""
        with self._lock:
            return list(self._verdicts)

    @property
    def cancelled(self) -> bool:
        """Whether :meth:`stop` was called."""
        return self._cancel.is_set()

    def run(self) -> list[DeviceVerdict]:
        """Check each device in turn; a cancelled run ends early. ``on_finished`` follows."""
        try:
            for index, start in enumerate(self.plan.devices):
                if self._cancel.is_set():
                    break
                result = self.check(start)
                with self._lock:
                    self._verdicts.append(result)
                if self._on_verdict is not None:
                    self._on_verdict(index, result)
        finally:
            if self._on_finished is not None:
                self._on_finished()
        return self.verdicts

    def start(self) -> None:
        """Run on a thread named ``algodesk-preflight``."""
        if self._thread is not None:
            raise RuntimeError("a preflight runs once")
        self._thread = threading.Thread(target=self.run, name="algodesk-preflight", daemon=True)
        self._thread.start()

    def wait(self, timeout: float | None = None) -> bool:
        """Wait for the thread; returns whether it has ended."""
        if self._thread is not None:
            self._thread.join(timeout)
            return not self._thread.is_alive()
        return True

    def cancel(self) -> None:
        """Break off the request in progress and check no further device; returns at once."""
        self._cancel.set()
        with self._lock:
            current = self._current
        if current is not None:
            current.abort()

    def stop(self) -> None:
        """Cancel, and return once the thread has ended."""
        self.cancel()
        self.wait(_STOP_TIMEOUT)

    def check(self, start: DeviceStart) -> DeviceVerdict:
        """One device's verdict."""
        target = start.target
        values = device.config_values(start.stage1_config)
        firmware_known = bool(start.firmware)

        def before_any_fetch(
            failure: ServerFailure, protocol: str, evidence: Sequence[str] = ()
        ) -> DeviceVerdict:
            # The server could not be named, reached or trusted: no request was made.
            return verdict(
                target,
                None,
                (),
                failure=failure,
                protocol=protocol,
                firmware_known=firmware_known,
                evidence=evidence,
            )

        try:
            server = stage_two_server(values)
        except ValueError as error:
            protocol = device.effective(values, "prov.download.method") or "tftp"
            return before_any_fetch(ServerFailure(Failure.SERVER_ERROR, str(error)), protocol)
        evidence = [f"server: {server.where}" + (f" as {server.user}" if server.user else "")]
        tls = self._tls_report(server) if server.method == "https" else None
        if isinstance(tls, ServerFailure):
            return before_any_fetch(tls, server.method, evidence)
        if tls is not None:
            evidence.extend(tls.evidence())
            if tls.failure is not None:
                return before_any_fetch(tls.failure, server.method, evidence)
        try:
            fetcher = make_fetcher(
                server,
                self.plan.password,
                timeout=self.plan.timeout,
                ca_file=self.plan.ca_file,
                cancel=self._cancel,
            )
        except ServerFailure as failure:
            return before_any_fetch(failure, server.method, evidence)
        with self._lock:
            self._current = fetcher
        recorder = Recorder(fetcher, server, self._cancel)
        state = DeviceState(
            mac=target.device_mac,
            product=target.product,
            firmware=start.firmware,
            applied_config=start.stage1_config,
            partial=device.partial_enabled(values),
            protocol=server.method,
        )
        try:
            result = self._boot(state, recorder)
        finally:
            with self._lock:
                self._current = None
            fetcher.close()
        return verdict(
            target,
            result,
            recorder.records,
            failure=recorder.failure,
            protocol=server.method,
            firmware_known=firmware_known,
            evidence=evidence,
            notes=(
                *server_notes(result),
                *login_changes(result, recorder.records, server.user, self.plan.password),
            ),
        )

    def _boot(self, state: DeviceState, recorder: Recorder) -> SimulationResult | None:
        probe = None if self.plan.full else recorder.probe
        return simulate(state, recorder.fetch, MAX_BOOTS, probe=probe)

    def _tls_report(self, server: StageTwoServer) -> TlsReport | ServerFailure:
        # Once per server: every device meets the same certificate.
        if server not in self._tls:
            try:
                self._tls[server] = inspect(
                    server.host,
                    server.port,
                    self.plan.ca_file or None,
                    validate=server.validate_cert,
                    timeout=self.plan.timeout,
                )
            except ServerFailure as failure:
                self._tls[server] = failure
        return self._tls[server]


def plan_devices(
    targets: Sequence[Target],
    stage1_files: Mapping[str, bytes],
    fallback: bytes,
    firmware: Mapping[str, str],
) -> tuple[DeviceStart, ...]:
    """Each target with the stage-1 config it gets on the bench (its own file, else its
    product's generic one, else ``fallback``) and its current firmware ('' = unknown)."""
    starts = []
    for target in targets:
        config = stage1_files.get(names.device_name(target.mac)) if target.mac else None
        if config is None:
            config = stage1_files.get(names.generic_name(target.product), fallback)
        starts.append(DeviceStart(target, config, firmware.get(target.product, "")))
    return tuple(starts)


__all__ = ["DeviceStart", "Preflight", "PreflightPlan", "Recorder", "plan_devices"]
