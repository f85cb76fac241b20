"""Stage 2 checked before the devices leave the bench: what each one will do at its server.

A preflight boots each device of a roster (or a product, for the generic files) with the
simulator against the permanent server, through a fetcher per protocol (in services). This
module holds what the fetchers report and how a run becomes one verdict per device, in words a
technician acts on, with the evidence. Pure: no sockets, no threads.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from algodesk.core import device, names
from algodesk.core.checks import CheckContext, Severity, check_document
from algodesk.core.config import ConfigDocument
from algodesk.core.masking import mask_secrets
from algodesk.core.md5 import md5_hex, parse_md5
from algodesk.core.trace import FetchError, SimulationResult, StepKind

GENERIC_MAC = "0022EEFFFFFE"
"""The MAC of a virtual device that checks a product's generic files: it has no file of its own."""


class Failure(StrEnum):
    """Why a device would not complete stage 2: one kind per thing a technician fixes."""

    AUTH = "auth"
    TLS_SELF_SIGNED = "tls-self-signed"
    TLS_NAME = "tls-name-mismatch"
    TLS_EXPIRED = "tls-expired"
    TLS_UNTRUSTED = "tls-untrusted"
    LOGIN_PAGE = "login-page"
    REDIRECT = "redirect"
    TIMEOUT = "timeout"
    DNS = "dns"
    REFUSED = "refused"
    SERVER_ERROR = "server-error"
    NO_CONFIG = "no-config"
    MD5_MISSING = "md5-missing"
    MD5_MISMATCH = "md5-mismatch"
    FIRMWARE_MISSING = "firmware-missing"
    DATA_FILE = "data-file"
    NOT_STEADY = "not-steady"
    CANCELLED = "cancelled"


class ServerFailure(FetchError):
    """The server cannot be used as a device would use it; ``str()`` is the verdict's words.

    ``evidence`` holds what was seen (status line, content type, certificate). Never a secret.
    """

    def __init__(self, kind: Failure, message: str, evidence: Sequence[str] = ()) -> None:
        super().__init__(message)
        self.kind = kind
        self.evidence = tuple(evidence)


@dataclass(frozen=True, slots=True)
class Target:
    """One device to check: a roster MAC with its product, or a product's generic files."""

    product: str
    mac: str = ""

    @property
    def generic(self) -> bool:
        """Whether this checks a product's generic files (no per-device file)."""
        return not self.mac

    @property
    def device_mac(self) -> str:
        """The MAC the virtual device boots with."""
        return self.mac or GENERIC_MAC

    @property
    def label(self) -> str:
        """How people see it: ``00:22:EE:01:02:03 (8186)`` or ``8186 (generic files)``."""
        if self.generic:
            return f"{self.product} (generic files)"
        return f"{names.format_mac(self.mac)} ({self.product})"


@dataclass(frozen=True, slots=True)
class FetchRecord:
    """One request the virtual device made of the permanent server, and what came back.

    ``data`` (kept for ``--save`` only) is never part of :meth:`to_dict`.
    """

    name: str
    path: str
    found: bool | None
    size: int | None = None
    detail: str = ""
    data: bytes | None = field(default=None, repr=False)
    probed: bool = False

    @property
    def md5(self) -> str:
        """The md5 of what was downloaded ('' when nothing was, or only probed)."""
        return md5_hex(self.data) if self.data is not None else ""

    def describe(self) -> str:
        """``/algo/algop8186.conf: 812 bytes (HTTP 200 text/plain)``."""
        if self.found is None:
            what = "failed"
        elif not self.found:
            what = "not found"
        else:
            what = f"{self.size} bytes" + (" (size only)" if self.probed else "")
        shown = f"{self.path}: {what}" + (f" ({self.detail})" if self.detail else "")
        return mask_secrets(shown)

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view (no content)."""
        return {
            "name": self.name,
            "path": self.path,
            "found": self.found,
            "size": self.size,
            "md5": self.md5,
            "detail": mask_secrets(self.detail),
            "probed": self.probed,
        }


@dataclass(frozen=True, slots=True)
class DeviceVerdict:
    """Whether one device would complete stage 2, in words, with the evidence.

    ``evidence``: what the failure showed, the server and its certificate; ``fetches``: every
    request in order; ``config_notes``: what the document checks say about the configs fetched.
    """

    target: Target
    ok: bool
    summary: str
    failure: Failure | None = None
    evidence: tuple[str, ...] = ()
    config_notes: tuple[str, ...] = ()
    fetches: tuple[FetchRecord, ...] = ()

    def to_dict(self) -> dict[str, Any]:
        """A JSON-ready view: one object per device."""
        return {
            "mac": names.format_mac(self.target.mac) if self.target.mac else None,
            "product": self.target.product,
            "generic": self.target.generic,
            "ok": self.ok,
            "verdict": self.summary,
            "failure": self.failure.value if self.failure is not None else None,
            "evidence": list(self.evidence),
            "config_notes": list(self.config_notes),
            "requests": [record.to_dict() for record in self.fetches],
        }


def targets(
    rows: Iterable[tuple[str, str]], products: Iterable[str], default_product: str = ""
) -> list[Target]:
    """Targets for ``(mac, product)`` rows (a row's empty product takes ``default_product``)
    and for each product's generic files; ValueError naming the row that has no product."""
    found: list[Target] = []
    for mac, product in rows:
        chosen = product or default_product
        if not chosen:
            raise ValueError(f"{names.format_mac(mac)}: no product (give --product P)")
        found.append(Target(chosen, names.normalize_mac(mac)))
    found.extend(Target(product) for product in products)
    return list(dict.fromkeys(found))


def verdict(
    target: Target,
    result: SimulationResult | None,
    records: Sequence[FetchRecord],
    *,
    failure: ServerFailure | None = None,
    protocol: str,
    firmware_known: bool,
    evidence: Sequence[str] = (),
    notes: Sequence[str] = (),
) -> DeviceVerdict:
    """Turn one device's run into its verdict (``notes``: more for the config notes).

    ``failure`` is the fetcher's error that ended the run (None when the run ended by itself);
    ``firmware_known`` says whether the device's current firmware was given (else a firmware
    the config names is "would install").
    """

    def made(ok: bool, summary: str, kind: Failure | None, shown: Sequence[str]) -> DeviceVerdict:
        # Servers write some of these words (a page title, a redirect target): the one masking
        # function sees every line before it can leave the app.
        return DeviceVerdict(
            target=target,
            ok=ok,
            summary=mask_secrets(summary),
            failure=kind,
            evidence=tuple(mask_secrets(line) for line in shown),
            config_notes=tuple(
                mask_secrets(line) for line in (*notes, *_config_notes(records, protocol))
            ),
            fetches=tuple(records),
        )

    if failure is not None:
        return made(False, f"fails: {failure}", failure.kind, (*failure.evidence, *evidence))
    if result is None:
        return made(False, "not checked: cancelled", Failure.CANCELLED, evidence)
    kind, problem = _problem(target, result, records, protocol)
    if problem:
        return made(False, f"fails: {problem}", kind, evidence)
    return made(True, "will " + _actions(result, records, protocol, firmware_known), None, evidence)


def server_notes(result: SimulationResult | None) -> list[str]:
    """A note when the config in force leaves the server to DHCP (no static server).

    The device then asks whatever server the site's DHCP names; the check goes on asking this
    one, which is right only when the site's DHCP names it (option 66, 160 or 150).
    """
    if result is None or result.final_state.applied_config is None:
        return []
    values = device.config_values(result.final_state.applied_config)
    if device.server_location(values).host:
        return []
    return [
        "the config in force takes the server from DHCP (prov.server.method is not static): "
        "from its next boot the device asks the server the site's DHCP names; this check "
        "assumed that is this server"
    ]


def login_changes(
    result: SimulationResult | None,
    records: Sequence[FetchRecord],
    user: str,
    password: str,
) -> list[str]:
    """Notes for each applied config that changes the login the device uses from its next boot.

    The check itself logs in as stage 1 left the device (``user``/``password``); a config
    that drops or changes them makes every later request use the new login, and the server
    may refuse it. The password is compared, never shown.
    """
    if result is None:
        return []
    found = []
    for name in dict.fromkeys(_applied(result)):
        record = _record(records, device.bare_name(name))
        if record is None or record.data is None:
            continue
        values = device.config_values(record.data)
        incremental = device.is_incremental(record.name)
        new_user = values.get("prov.auth.user", None if incremental else "")
        new_password = values.get("prov.auth.pwd", None if incremental else "")
        if new_user is not None and new_user.strip() != user:
            who = f"as {new_user.strip()}" if new_user.strip() else "with no user"
            found.append(
                f"{record.name}: after applying it the device logs in {who}, not as {user or '(none)'}"
                ": the next boots use that login"
            )
        elif new_password is not None and new_password.strip() != password:
            what = "another password" if new_password.strip() else "no password"
            found.append(
                f"{record.name}: after applying it the device logs in with {what} "
                "(prov.auth.pwd): the next boots use it"
            )
    return found


def _applied(result: SimulationResult) -> list[str]:
    return [
        step.file
        for step in result.steps
        if step.kind is StepKind.DECISION
        and step.file
        and device.request_step(step.file) is device.Step.CONFIG
    ]


def _record(records: Sequence[FetchRecord], name: str) -> FetchRecord | None:
    for record in records:
        if record.name == name:
            return record
    return None


def _problem(
    target: Target, result: SimulationResult, records: Sequence[FetchRecord], protocol: str
) -> tuple[Failure | None, str]:
    """The first reason the device would not complete stage 2 (None, '' when none)."""
    configs = [r for r in records if r.found and device.request_step(r.name) is device.Step.CONFIG]
    if not configs and not _applied(result):
        return Failure.NO_CONFIG, _no_config(target, records, protocol)
    if not result.steady:
        return _classify(records, result)
    return None, ""


def _no_config(target: Target, records: Sequence[FetchRecord], protocol: str) -> str:
    asked = [r for r in records if device.request_step(r.name) is device.Step.CONFIG]
    status = f" ({asked[-1].detail})" if asked and asked[-1].detail else ""
    generic = names.generic_name(target.product)
    if target.generic:
        return f"{generic} not found{status}"
    own = names.device_name(target.mac)
    return f"{generic} not found{status} and no per-device file ({own})"


def _classify(records: Sequence[FetchRecord], result: SimulationResult) -> tuple[Failure, str]:
    """Name the kind of a simulator diagnosis from what the server returned and the step the
    device stopped in (never from the diagnosis' words: a data file under a firmware path named
    ``firmware/`` once read as missing firmware)."""
    diagnosis = result.diagnosis or result.outcome
    for record in records:
        if device.request_step(record.name) is not device.Step.CONFIG_MD5:
            continue
        config = _record(records, record.name[: -len(".md5")] + ".conf") or _record(
            records, record.name[: -len(".md5")] + "-i.conf"
        )
        if not record.found:
            return Failure.MD5_MISSING, f"{record.name} is missing on the server: {diagnosis}"
        expected = parse_md5(record.data) if record.data is not None else None
        if config is not None and config.data is not None and expected != md5_hex(config.data):
            return Failure.MD5_MISMATCH, f"{record.name} does not match {config.name}"
    if device.Step.FIRMWARE in result.problem_steps:
        return Failure.FIRMWARE_MISSING, diagnosis
    if device.Step.DATA in result.problem_steps:
        return Failure.DATA_FILE, diagnosis
    return Failure.NOT_STEADY, diagnosis


def _actions(
    result: SimulationResult, records: Sequence[FetchRecord], protocol: str, firmware_known: bool
) -> str:
    parts = []
    # The simulator asks for names on their config/firmware path; the evidence shows the paths.
    for name in dict.fromkeys(device.bare_name(name) for name in _applied(result)):
        md5 = (
            "md5 ok"
            if device.config_needs_md5(protocol)
            else f"no md5 over {protocol.upper()}, as devices do"
        )
        parts.append(f"apply {name} ({md5})")
    for step in result.steps:
        if step.kind is not StepKind.DECISION or not step.file:
            continue
        kind = device.request_step(step.file)
        if kind is device.Step.FIRMWARE:
            version = result.final_state.firmware
            parts.append(
                f"install firmware {version}"
                if firmware_known
                else f"would install firmware {version}"
            )
        elif kind in (device.Step.DATA, device.Step.OTHER):
            parts.append(f"fetch {device.bare_name(step.file)}")
    if not parts:
        parts.append("find nothing to change (the server's files are already in force)")
    if result.left_for:
        parts.append(
            f"then ask {result.left_for} (the config moves it there; what it asks there is "
            "not checked)"
        )
    return ", ".join(dict.fromkeys(parts))


def _config_notes(records: Sequence[FetchRecord], protocol: str) -> list[str]:
    """What the document checks say about each config fetched (errors and warnings first),
    judged as served over ``protocol``, the one the devices use here."""
    context = CheckContext(protocol=protocol)
    notes: list[str] = []
    for record in records:
        if record.data is None or device.request_step(record.name) is not device.Step.CONFIG:
            continue
        document = ConfigDocument.from_bytes(record.data)
        for finding in check_document(record.name, document, context):
            if finding.severity is Severity.INFO and finding.code not in _INFO_WORTH_SAYING:
                continue
            notes.append(f"{record.name}: {finding.severity}: {finding.message}")
    return list(dict.fromkeys(notes))


_INFO_WORTH_SAYING = frozenset({"prov-left-enabled", "prov-disabled"})
