"""A virtual Algo device booting against a server: the trace of what it asks and decides.

The device follows :mod:`algodesk.core.device` (domain.md §4). The server is a :data:`Fetcher`,
a function from a file name to its bytes (None = not found); :func:`folder_fetcher` serves a
folder, and a TFTP client can serve a real server. An optional :data:`Prober` answers "is this
firmware image there, and how big" without downloading it (a preflight of a real server).
:func:`run` yields the trace step by step; :func:`simulate` collects it. The types live in :mod:`algodesk.core.trace` and are re-exported.
"""

from __future__ import annotations

import dataclasses
import os
from collections.abc import Callable, Generator, Mapping
from enum import StrEnum
from pathlib import Path
from typing import Any, TypeVar

from algodesk.core import device, names
from algodesk.core.device import Stage
from algodesk.core.md5 import Md5Form, Md5Reading, format_md5, md5_hex, md5_name, read_md5
from algodesk.core.trace import (
    DeviceState,
    Fetcher,
    FetchError,
    Prober,
    SimulationResult,
    StepKind,
    TraceStep,
)
from algodesk.core.wording import count

__all__ = [
    "DeviceState",
    "FetchError",
    "Fetcher",
    "Prober",
    "SimulationResult",
    "StepKind",
    "TraceStep",
    "bench_fetcher",
    "device_macs",
    "folder_fetcher",
    "run",
    "simulate",
]


class _BootEnd(StrEnum):
    REBOOT = "reboot"
    DONE = "done"
    STOPPED = "stopped"
    LEFT = "left"
    FAILED = "failed"


Trace = Generator[TraceStep, None, None]
_T = TypeVar("_T")


class _Device:
    """One simulation: the device's mutable state and the steps it has taken."""

    def __init__(self, state: DeviceState, fetch: Fetcher, probe: Prober | None = None) -> None:
        self.state = state
        self.fetch = fetch
        self.probe = probe
        self.boot = 0
        self.steps: list[TraceStep] = []
        self.problems: list[tuple[device.Step, str]] = []
        self.left_for: str | None = None
        self.disabled_by_config = False

    def record(self, kind: StepKind, stage: Stage, message: str = "", **extra: Any) -> TraceStep:
        """Add a step of the current boot to the trace."""
        step = TraceStep(kind, self.boot, stage, message=message, **extra)
        self.steps.append(step)
        return step

    def problem(self, step: device.Step, text: str) -> None:
        """Note what stops the device this boot, and the part of the algorithm it stops in."""
        self.problems.append((step, text))

    def decide(self, stage: Stage, message: str, file: str = "") -> TraceStep:
        """Record a decision in plain words (``file``: the file it puts in force, if any)."""
        return self.record(StepKind.DECISION, stage, message, file=file)

    def _ask(self, name: str, ask: Callable[[str], _T]) -> Generator[TraceStep, None, _T]:
        yield self.record(
            StepKind.REQUEST, device.stage_for_request(name, found=False) or Stage.DATA, file=name
        )
        try:
            return ask(name)
        except (FetchError, OSError) as error:
            yield self.record(StepKind.RESPONSE, Stage.STOPPED, file=name, message=str(error))
            raise _Unreachable(f"cannot fetch {name}: {error}") from error

    def _exists(self, name: str) -> Generator[TraceStep, None, bool]:
        """Whether the server has ``name``: asked without downloading when a prober is given."""
        if self.probe is None:
            return (yield from self._get(name)) is not None
        size = yield from self._ask(name, self.probe)
        stage = device.stage_for_request(name, found=size is not None) or Stage.DATA
        yield self.record(StepKind.RESPONSE, stage, file=name, found=size is not None, size=size)
        return size is not None

    def _get(self, name: str) -> Generator[TraceStep, None, bytes | None]:
        data = yield from self._ask(name, self.fetch)
        found = data is not None
        stage = device.stage_for_request(name, found=found) or Stage.DATA
        size = len(data) if data is not None else None
        digest = md5_hex(data) if data is not None else ""
        yield self.record(StepKind.RESPONSE, stage, file=name, found=found, size=size, md5=digest)
        return data

    # --- one boot ------------------------------------------------------------------------------
    def boot_once(self) -> Generator[TraceStep, None, _BootEnd]:
        """Walk §4 once: config, then firmware, then data files; say how the boot ended."""
        self.boot += 1
        self.problems = []
        if not self.state.provisioning_enabled:
            yield from self._stopped()
            return _BootEnd.STOPPED
        values = device.config_values(self.state.applied_config)
        new = yield from self._config_step()
        if new is not None:
            return (yield from self._apply(values, *new))
        if (yield from self._firmware_step(values)):
            return _BootEnd.REBOOT
        yield from self._data_step(values)
        return _BootEnd.DONE

    def _stopped(self) -> Trace:
        yield self.decide(Stage.STOPPED, "provisioning disabled: the device asks for nothing")
        if not self.disabled_by_config:
            self.problem(
                device.Step.OTHER,
                "provisioning is disabled on the device (prov.use = 0): it fetches nothing; "
                "turn it on in the web UI",
            )
            return
        values = device.config_values(self.state.applied_config)
        wanted = values.get("prov.version.firmware", "").strip()
        if wanted and wanted != self.state.firmware:
            self.problem(
                device.Step.OTHER,
                f"firmware {wanted} is never installed: the config that names it turns "
                "provisioning off (prov.use = 0)",
            )
        for parameter, name in device.data_files(values, self.state.product):
            if parameter not in self.state.data_md5s:
                self.problem(
                    device.Step.OTHER,
                    f"{name} ({parameter}) is never fetched: the config that names it turns "
                    "provisioning off (prov.use = 0)",
                )

    def _config_step(self) -> Generator[TraceStep, None, tuple[str, bytes, bytes] | None]:
        state = self.state
        # The path of the config in force (guide §2, §5.4): a config's own path counts from the
        # boot after it is applied.
        path = device.config_path(device.config_values(state.applied_config))
        order = device.config_candidates(
            state.mac,
            state.product,
            partial=state.partial,
            supports_incremental=state.supports_incremental,
        )
        for bare in order:
            name = device.on_path(path, bare)
            data = yield from self._get(name)
            if data is None:
                continue
            # Only the first config that exists is ever considered (§4: "stopping at the first
            # config that exists"): when its md5 is missing or wrong the device ignores it and
            # does NOT fall through to the next name, so a broken device file hides the generic.
            if device.config_needs_md5(state.protocol):
                checked = yield from self._check_config_md5(name, data)
                if not checked:
                    return None
            new = device.apply_config(
                state.applied_config, data, incremental=device.is_incremental(bare)
            )
            # "Identical" compares bytes: the device stores the config file it applied, and a
            # re-saved file (other line endings, spacing) counts as new and is applied again.
            if new == state.applied_config:
                yield self.decide(
                    Stage.CONFIG_SERVED, f"{name} is identical to the applied config: ignored"
                )
                return None
            return name, data, new
        yield self.decide(Stage.LOOKING_FOR_CONFIG, "no config on the server: nothing to apply")
        return None

    def _check_config_md5(self, name: str, data: bytes) -> Generator[TraceStep, None, bool]:
        md5_file = md5_name(name)
        md5_data = yield from self._get(md5_file)
        if md5_data is None:
            yield self.decide(Stage.CONFIG_SERVED, f"md5 missing: {name} ignored")
            self.problem(device.Step.CONFIG_MD5, f"{name} is never applied: {md5_file} is missing")
            return False
        reading = read_md5(md5_data)
        problem = md5_problem(reading, data)
        if problem:
            yield self.decide(Stage.CONFIG_SERVED, f"{md5_file} {problem}: {name} ignored")
            self.problem(device.Step.CONFIG_MD5, f"{name} is never applied: {md5_file} {problem}")
            return False
        yield self.decide(Stage.MD5_SERVED, "md5 matches" + md5_note(reading))
        return True

    def _apply(
        self, before: Mapping[str, str], name: str, fetched: bytes, new: bytes
    ) -> Generator[TraceStep, None, _BootEnd]:
        incremental = device.is_incremental(name)
        fetched_keys = device.config_values(fetched)
        after = device.config_values(new)
        state = self.state
        enabled, partial = state.provisioning_enabled, state.partial
        # A full config resets omitted keys to factory defaults; an incremental one leaves them.
        if not incremental or "prov.use" in fetched_keys:
            enabled = device.provisioning_enabled(after)
        if not incremental or "prov.i" in fetched_keys:
            partial = device.partial_enabled(after)
        self.disabled_by_config = not enabled
        kept = {p: h for p, h in state.data_md5s.items() if after.get(p, "").strip()}
        self.state = dataclasses.replace(
            state,
            applied_config=new,
            provisioning_enabled=enabled,
            partial=partial,
            data_md5s=kept,
        )
        how = "incremental: other parameters kept" if incremental else "full config"
        yield self.decide(Stage.APPLYING, f"{name} applied ({how}); reboot", file=name)
        yield self.record(StepKind.REBOOT, Stage.APPLYING, "reboot")
        if device.server_changed(before, after):
            location = device.server_location(after)
            method = device.effective(after, "prov.download.method")
            if method in device.PROTOCOLS:
                self.state = dataclasses.replace(self.state, protocol=method)
            if not location.host and method != device.server_location(before).method:
                # Still the DHCP server, now asked in another protocol: this bench has lost it
                # (domain.md §4). A hand-off names its server (static) or a URL.
                self.problem(
                    device.Step.CONFIG,
                    f"{name} sets prov.download.method = {method} while the server still comes "
                    f"from DHCP: the device now asks this server over {method.upper()} "
                    "(for a hand-off set prov.server.method = static and prov.server.static)",
                )
                yield self.decide(
                    Stage.STOPPED, f"asks the DHCP server over {method.upper()} from now on"
                )
                return _BootEnd.FAILED
            if not location.host:
                return _BootEnd.REBOOT  # the same server, another config path: ask it there
            self.left_for = str(location)
            return _BootEnd.LEFT
        return _BootEnd.REBOOT

    def _firmware_step(self, values: Mapping[str, str]) -> Generator[TraceStep, None, bool]:
        version = values.get("prov.version.firmware", "").strip()
        if not version:
            return False
        if version == self.state.firmware:
            yield self.decide(Stage.FIRMWARE, f"firmware {version} already installed")
            return False
        path = device.firmware_path(values)
        bundle = device.bundle_enabled(values)
        image_name, *md5_names = device.firmware_requests(
            self.state.product, version, bundle=bundle
        )
        image_name = device.on_path(path, image_name)
        # A signed .sfw is checked by the device itself: only whether it is there counts (a
        # prober asks without downloading); a .fw is checked against its md5, so it is fetched.
        image: bytes | None = b""
        if md5_names:
            image = yield from self._get(image_name)
        elif not (yield from self._exists(image_name)):
            image = None
        if image is None:
            yield self.decide(Stage.FIRMWARE, f"firmware {version} not found: not installed")
            how = " (prov.download.bundle = 1 asks for the .fw)" if bundle else ""
            self.problem(
                device.Step.FIRMWARE,
                f"firmware {version} is named but {image_name} is missing{how}",
            )
            return False
        for bare in md5_names:
            fw_md5 = device.on_path(path, bare)
            md5_data = yield from self._get(fw_md5)
            problem = "is missing" if md5_data is None else md5_problem(read_md5(md5_data), image)
            if problem:
                yield self.decide(Stage.FIRMWARE, f"{fw_md5} {problem}: firmware not installed")
                self.problem(
                    device.Step.FIRMWARE,
                    f"firmware {version} is never installed: {fw_md5} {problem}",
                )
                return False
        self.state = dataclasses.replace(self.state, firmware=version)
        yield self.decide(Stage.FIRMWARE, f"firmware {version} installed; reboot", file=image_name)
        yield self.record(StepKind.REBOOT, Stage.APPLYING, "reboot")
        return True

    def _data_step(self, values: Mapping[str, str]) -> Trace:
        stored = dict(self.state.data_md5s)
        path = device.firmware_path(values)
        for parameter, bare in device.data_files(values, self.state.product):
            name = device.on_path(path, bare)
            md5_file = device.on_path(path, md5_name(bare))
            md5_data = yield from self._get(md5_file)
            reading = read_md5(md5_data) if md5_data is not None else None
            expected = reading.device_digest if reading else None
            if expected is None:
                what = "missing" if reading is None else f"holds {reading.form.value}"
                yield self.decide(Stage.DATA, f"{md5_file} {what}: {name} not fetched")
                self.problem(
                    device.Step.DATA,
                    f"{name} ({parameter}) is never fetched: {md5_file} {what} "
                    "(every data file needs one, whatever the protocol)",
                )
                continue
            if stored.get(parameter) == expected:
                yield self.decide(Stage.DATA, f"md5 unchanged: {name} not fetched again")
                continue
            data = yield from self._get(name)
            if data is None or md5_hex(data) != expected:
                what = "is missing" if data is None else f"does not match {md5_file}"
                yield self.decide(Stage.DATA, f"{name} {what}: not stored")
                self.problem(device.Step.DATA, f"{name} ({parameter}) is never stored: it {what}")
                continue
            stored[parameter] = expected
            yield self.decide(Stage.DATA, f"{name} stored ({parameter})", file=name)
        self.state = dataclasses.replace(self.state, data_md5s=stored)


def md5_problem(reading: Md5Reading, content: bytes) -> str:
    """Why a device would not accept an md5 file (``reading``) for ``content`` ("" when it would).

    A form that does not start with the hash is never taken as equal to the bare hash the
    vendor documents (guide §5.5), even when it holds the right one.
    """
    if reading.digest is None:
        return "holds no md5"
    if reading.digest != md5_hex(content):
        return "does not match"
    if not reading.form.starts_with_hash:
        return f"holds {reading.form.value}, not the bare hash"
    return ""


def md5_note(reading: Md5Reading) -> str:
    """`` (md5sum output ...)`` when an accepted md5 file is not in the vendor's bare form."""
    form = reading.form
    return "" if form is Md5Form.BARE else f" ({form.value}: the vendor documents the bare hash)"


class _Unreachable(Exception):
    """The fetcher failed: the simulation cannot go on."""


def run(
    state: DeviceState, fetch: Fetcher, max_boots: int = 10, probe: Prober | None = None
) -> Generator[TraceStep, None, SimulationResult]:
    """Boot ``state`` against ``fetch`` until it is steady, yielding each step as it happens.

    The generator's return value (``StopIteration.value``) is the :class:`SimulationResult`.
    ``probe``, when given, checks a signed firmware image by existence and size instead of
    downloading it (its content plays no part in the device's decision).
    """
    if max_boots < 1:
        raise ValueError("max_boots must be at least 1")
    sim = _Device(state, fetch, probe)
    seen = {(state.applied_config, state.firmware): 0}
    end = _BootEnd.REBOOT
    diagnosis: str | None = None
    try:
        while end is _BootEnd.REBOOT and sim.boot < max_boots:
            end = yield from sim.boot_once()
            key = (sim.state.applied_config, sim.state.firmware)
            if end is _BootEnd.REBOOT and key in seen:
                diagnosis = (
                    f"reboot loop: boot {sim.boot} brought back what the device had "
                    f"after boot {seen[key]}"
                )
                break
            seen[key] = sim.boot
    except _Unreachable as error:
        end, diagnosis = _BootEnd.FAILED, str(error)
    if diagnosis is None and end is _BootEnd.REBOOT:
        diagnosis = (
            f"reboot loop: still rebooting after {sim.boot} boots (does the server change the "
            "config at every request, e.g. a time stamp in a generated file?)"
        )
    if diagnosis is None and sim.problems:
        diagnosis = "; ".join(text for _step, text in sim.problems)
    reboots = sum(1 for s in sim.steps if s.kind is StepKind.REBOOT)
    if end is _BootEnd.LEFT:
        sim.boot += 1  # the first boot with the new server, where the simulation must stop
    if diagnosis is not None:
        outcome = diagnosis
        yield sim.record(StepKind.DIAGNOSIS, Stage.STOPPED, diagnosis)
    else:
        outcome = _steady_outcome(sim, end, reboots)
        stage = Stage.LEFT if end is _BootEnd.LEFT else Stage.DONE
        yield sim.record(StepKind.DONE, stage, outcome)
    return SimulationResult(
        tuple(sim.steps),
        sim.state,
        sim.boot,
        diagnosis is None,
        diagnosis,
        outcome,
        sim.left_for,
        tuple(dict.fromkeys(step for step, _text in sim.problems)),
    )


def _steady_outcome(sim: _Device, end: _BootEnd, reboots: int) -> str:
    boots = count(sim.boot, "boot")
    rebooted = count(reboots, "reboot") if reboots else "no reboot"
    if end is _BootEnd.LEFT:
        return f"left for stage-2 server {sim.left_for} after {rebooted}"
    if end is _BootEnd.STOPPED:
        return f"steady after {boots} ({rebooted}): the applied config turned provisioning off"
    return f"steady after {boots} ({rebooted})"


def simulate(
    state: DeviceState,
    fetch: Fetcher,
    max_boots: int = 10,
    on_step: Callable[[TraceStep], None] | None = None,
    probe: Prober | None = None,
) -> SimulationResult:
    """Boot ``state`` against ``fetch`` until it is steady (or clearly never will be).

    ``on_step`` sees each step as it happens (a slow server's trace can be shown live);
    ``probe`` is :func:`run`'s.
    """
    trace = run(state, fetch, max_boots, probe)
    while True:
        try:
            step = next(trace)
        except StopIteration as stop:
            result: SimulationResult = stop.value
            return result
        if on_step is not None:
            on_step(step)


def folder_fetcher(config_dir: Path | str, firmware_dir: Path | str | None = None) -> Fetcher:
    """A server whose root is ``config_dir``: a request ``firmware/x.sfw`` (a firmware path)
    is served from ``config_dir/firmware/x.sfw``, as a TFTP server serves it.

    With ``firmware_dir``, firmware, data files and their md5s come from that folder instead:
    it is where the firmware path leads, so only the file name counts there.

    Names match exactly, as on a device's server: a differently cased file is not found, and
    ``..``, absolute names and back-slashes are never served.
    """
    configs = Path(config_dir)
    others = Path(firmware_dir) if firmware_dir is not None else None

    def fetch(name: str) -> bytes | None:
        parts = name.split("/")
        if any(part in ("", ".", "..") or "\\" in part or "\0" in part for part in parts):
            return None
        step = device.request_step(parts[-1])
        folder = configs
        if others is not None and step not in (device.Step.CONFIG, device.Step.CONFIG_MD5):
            folder, parts = others, parts[-1:]
        try:
            for part in parts[:-1]:
                if part not in os.listdir(folder):
                    return None
                folder = folder / part
            if parts[-1] not in os.listdir(folder):
                return None
            return (folder / parts[-1]).read_bytes()
        except (FileNotFoundError, IsADirectoryError, NotADirectoryError):
            return None

    return fetch


# What this bench's server answers an md5 request from when the file is missing (its auto-md5).
BENCH_MD5_SOURCES = (".conf", ".zip", ".db", ".txt")


def bench_fetcher(
    folder: Path | str, *, auto_md5: bool, memory: Mapping[str, bytes] | None = None
) -> Fetcher:
    """``folder`` as this bench serves it: files from ``memory`` (stage-1, roster) first, then
    the folder; with ``auto_md5``, a missing ``X.md5`` answered from ``X.conf`` (or a data
    file), as the bench's server does. The Folder page's simulator uses it, so it gives the
    verdict of the page's bench context and of the live view.
    """
    disk = folder_fetcher(folder)
    served = dict(memory or {})

    def fetch(name: str) -> bytes | None:
        if name in served:
            return served[name]
        data = disk(name)
        if data is not None or not auto_md5 or not name.endswith(".md5"):
            return data
        stem = name[: -len(".md5")]
        for extension in BENCH_MD5_SOURCES:
            source = served.get(stem + extension) or disk(stem + extension)
            if source is not None:
                return format_md5(md5_hex(source))
        return None

    return fetch


def device_macs(base: str, count: int) -> list[str]:
    """``count`` distinct Algo MACs from ``base`` upwards (the OUI is always 00:22:EE)."""
    low = int(names.normalize_mac(base)[6:], 16)
    if count < 1 or low + count - 1 > 0xFFFFFF:
        raise ValueError(f"cannot derive {count} Algo MACs from {base}")
    return [f"{names.ALGO_OUI}{low + i:06X}" for i in range(count)]
