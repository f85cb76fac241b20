"""What the live view tells a technician about a device, in plain words (domain.md §4, §10).

The tracker decides *when* a diagnosis applies; this module holds *what it says*, so the wording
and its fix live in one place and tests can check codes rather than sentences.
"""

from __future__ import annotations

from dataclasses import dataclass
from enum import Enum

from algodesk.core.device import Stage
from algodesk.core.md5 import md5_name


class Level(Enum):
    """How worried the technician should be; drives colour and icon."""

    OK = "ok"
    WORKING = "working"
    INFO = "info"
    WARNING = "warning"
    ERROR = "error"

    @property
    def rank(self) -> int:
        """Severity order, higher is worse."""
        return _RANK[self]


_RANK = {Level.OK: 0, Level.WORKING: 1, Level.INFO: 2, Level.WARNING: 3, Level.ERROR: 4}


@dataclass(frozen=True, slots=True)
class Diagnosis:
    """One finding about one device: a stable ``code``, plain ``text`` and what to do.

    ``headline`` is the few words the status column shows (``text`` when empty).
    """

    level: Level
    code: str
    text: str
    fix: str = ""
    headline: str = ""
    md5_for: str = ""
    """When the fix is to write an md5 file: the served file it checks (the GUI offers it)."""

    @property
    def md5_file(self) -> str:
        """The md5 file the fix writes, "" when the fix is another."""
        return md5_name(self.md5_for) if self.md5_for else ""

    @property
    def short(self) -> str:
        """The headline, or the text when there is none."""
        return self.headline or self.text


def md5_missing(config: str, md5: str, served: str = "") -> Diagnosis:
    """The config was served but its md5 file was not found (``served``: its path)."""
    return Diagnosis(
        Level.ERROR,
        "md5-missing",
        f"{config} was served but {md5} is missing: the device ignores the config.",
        f"Write {md5} or turn on automatic md5 answers.",
        f"md5 missing: {config} ignored",
        md5_for=served or config,
    )


def md5_mismatch(config: str, md5: str, served: str = "") -> Diagnosis:
    """The md5 file does not match the config that was served (``served``: its path)."""
    return Diagnosis(
        Level.ERROR,
        "md5-mismatch",
        f"{md5} does not match {config}: the device ignores the config.",
        f"Rewrite {md5} from the current {config}.",
        f"md5 wrong: {config} ignored",
        md5_for=served or config,
    )


def no_config(mac: str, product: str) -> Diagnosis:
    """Neither a device file nor a generic file was found."""
    wanted = f"algom{mac}.conf" if mac else "a device file"
    generic = f"algop{product}.conf" if product else "a generic file"
    return Diagnosis(
        Level.ERROR,
        "no-config",
        f"No config for this device: neither {wanted} nor {generic} is in the folder.",
        f"Add {wanted} or {generic} (and its md5) to the provisioning folder.",
        "No config for it in the folder",
    )


def case_mismatch(requested: str, near: str) -> Diagnosis:
    """A request missed a served file only by case: refused, as the customer's server would."""
    return Diagnosis(
        Level.ERROR,
        "case-mismatch",
        f"asked for {requested}; {near} is here but names are case-sensitive",
        f"Rename {near} to {requested} (the customer's server matches names exactly).",
        # the status column's few words: what is wrong and the file to rename (the requested
        # name first left no room for either)
        f"Case differs: {near} is here",
    )


def method_switch(config: str, method: str) -> Diagnosis:
    """The config switches the download method while the server still comes from DHCP."""
    return Diagnosis(
        Level.ERROR,
        "method-switch",
        f"{config} sets prov.download.method = {method} while the server still comes from DHCP: "
        f"after its reboot the device asks this bench over {method.upper()}, and the bench "
        "speaks TFTP.",
        "For a hand-off set prov.server.method = static and prov.server.static in the config; "
        "otherwise remove prov.download.method.",
        f"Asks this bench over {method.upper()} next",
    )


def file_missing(name: str, what: str) -> Diagnosis:
    """A firmware or data file (or its md5) the config names is not in the folder."""
    code = "firmware-missing" if what == "firmware" else "data-missing"
    return Diagnosis(
        Level.ERROR,
        code,
        f"The {what} file {name} was not found: the device skips this step.",
        f"Copy {name} into the firmware folder, or remove it from the config.",
        f"{what.capitalize()} file {name} missing",
    )


def generic_fallback(product: str) -> Diagnosis:
    """No per-device file, so the generic one was used: normal on a bench."""
    return Diagnosis(
        Level.INFO,
        "generic-fallback",
        f"No file for this device: it took the generic file for {product or 'its model'} (normal).",
    )


def reboot_loop(config: str, times: int) -> Diagnosis:
    """The same config was served boot after boot."""
    return Diagnosis(
        Level.WARNING,
        "reboot-loop",
        f"{config} was served {times} boots in a row: the device is probably in a reboot loop.",
        "Check the config's firmware version and that the device keeps the config "
        "(compare with a backup from the device).",
        f"Reboot loop? {config} served {times} times",
    )


def handed_off(config: str, server: str) -> Diagnosis:
    """Stage 1 is over: the device now talks to its permanent server."""
    where = f"its stage-2 server {server}" if server else "its stage-2 server"
    return Diagnosis(
        Level.OK,
        "handed-off",
        f"Stage 1 done: it applied {config} and now talks to {where}.",
        headline=f"Stage 1 done → {server or 'stage-2 server'}",
    )


def stopped_after_stage1(config: str) -> Diagnosis:
    """The device applied a config and never came back; most likely handed off."""
    return Diagnosis(
        Level.INFO,
        "stopped-after-stage-1",
        f"It applied {config} and did not come back: handed off to its permanent server, "
        "or still rebooting.",
        "If the device should come back, check that it reaches this server after a reboot.",
    )


def transfer_failed(name: str, reason: str) -> Diagnosis:
    """A transfer ended before the last block."""
    return Diagnosis(
        Level.WARNING,
        "transfer-failed",
        f"Sending {name} failed ({reason}); the device retries at its next boot.",
        "Check the cable and that nothing else answers on this network.",
        f"Sending {name} failed",
    )


def refused(name: str, reason: str) -> Diagnosis:
    """A request was refused for a reason other than a missing file."""
    return Diagnosis(
        Level.WARNING,
        "refused",
        f"A request for {name} was refused ({reason}).",
        headline=f"{name} refused",
    )


def shared_address(ip: str, devices: int) -> Diagnosis:
    """Several devices ask from one address at once: their unnamed requests cannot be told apart."""
    return Diagnosis(
        Level.WARNING,
        "shared-address",
        f"{devices} devices ask from {ip} at the same time: a request that does not name a MAC "
        f"(the generic config, its md5, firmware) cannot be told apart, so it is listed under "
        f"{ip}, not under a device.",
        "Give each device its own address (a DHCP pool; `algodesk simulate` does on loopback).",
        f"Shares {ip} with other devices",
    )


def provisioning_disabled(config: str) -> Diagnosis:
    """The applied config turns provisioning off: the device will not ask again."""
    return Diagnosis(
        Level.INFO,
        "provisioning-disabled",
        f"{config} turns provisioning off (prov.use = 0): the device will not ask again.",
    )


_STAGE_STATUS: dict[Stage, tuple[Level, str]] = {
    Stage.LOOKING_FOR_CONFIG: (Level.WORKING, "Looking for its config"),
    Stage.CONFIG_SERVED: (Level.WORKING, "Config served; checking its md5"),
    Stage.MD5_SERVED: (Level.WORKING, "Config and md5 served"),
    Stage.APPLYING: (Level.WORKING, "Applying the config and rebooting"),
    Stage.FIRMWARE: (Level.WORKING, "Updating its firmware"),
    Stage.DATA: (Level.WORKING, "Fetching tones and data files"),
    Stage.DONE: (Level.OK, "Done"),
    Stage.LEFT: (Level.OK, "Stage 1 done: left for its stage-2 server"),
    Stage.STOPPED: (Level.ERROR, "Stopped"),
}


def stage_status(stage: Stage | None) -> tuple[Level, str]:
    """Colour level and plain words for a stage (None: known from DHCP only, no request yet)."""
    if stage is None:
        return Level.INFO, "Has an address; waiting for its first request"
    return _STAGE_STATUS[stage]
