"""How a tracked device's stage and findings move as its requests are answered.

Domain.md §4 as seen from the server: each function takes what one request (or a quiet spell)
told the tracker and updates the device's boot, stage and findings. Pure: no fetching, no events.
"""

from __future__ import annotations

from algodesk.core import diagnosis as dx
from algodesk.core.device import Stage, Step
from algodesk.core.names import FileKind, classify
from algodesk.core.tracked_device import Boot, TimelineEntry, TrackedDevice

ConfigFacts = tuple[str, str | None, bool, str]
"""``(md5, hand-off server, provisioning off, method switched to under DHCP)`` of a served
config; the last is "" unless the config changes ``prov.download.method`` while the server
still comes from DHCP (a fault, not a hand-off: domain.md §4)."""


def note_request(device: TrackedDevice, entry: TimelineEntry) -> None:
    """A request was made: a device file starts a boot, other steps move the stage."""
    step = entry.step
    if entry.name.kind is FileKind.DEVICE:
        # algom<MAC>.conf is the first name of every boot (domain.md §4 step 3).
        if device.stage is not Stage.APPLYING:
            device.last_config, device.same_config_boots = None, 0
        device.boots += 1
        device.boot = Boot()
        device.findings = []
        device.stage = Stage.LOOKING_FOR_CONFIG
    elif step is Step.CONFIG and not device.boot.config:
        device.stage = Stage.LOOKING_FOR_CONFIG
    elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
        device.stage = Stage.FIRMWARE
    elif step in (Step.DATA, Step.DATA_MD5):
        device.stage = Stage.DATA
    product = entry.name.product or (entry.name.target.product if entry.name.target else "")
    if product:
        device.product = product


def note_refusal(device: TrackedDevice, entry: TimelineEntry, *, found: bool) -> None:
    """A request was refused (``found``: the file exists but may not go) or not found."""
    name, step, boot = entry.name, entry.step, device.boot
    if entry.near:
        device.add_finding(dx.case_mismatch(entry.requested, entry.near))
    if found:
        device.add_finding(dx.refused(entry.requested, entry.reason))
    elif name.kind is FileKind.DEVICE:
        boot.device_file_missing = True
        # With worker processes the refusal can reach us after the generic config's start
        # (two workers, two channels): the fallback is the same fact, whichever came first.
        if boot.config and classify(boot.config).kind is FileKind.GENERIC:
            device.add_finding(dx.generic_fallback(device.product))
    elif name.kind is FileKind.GENERIC and not boot.config:
        device.add_finding(dx.no_config(device.mac, device.product))
        device.stage = Stage.STOPPED
    elif step is Step.CONFIG_MD5 and boot.config:
        device.add_finding(dx.md5_missing(boot.config, entry.requested, boot.config_served))
        device.stage = Stage.STOPPED
    elif step in (Step.FIRMWARE, Step.FIRMWARE_MD5):
        # a missing .sfw is followed by a try for the older .fw: name the first file missed
        if not any(d.code == "firmware-missing" for d in device.findings):
            device.add_finding(dx.file_missing(entry.requested, "firmware"))
    elif step in (Step.DATA, Step.DATA_MD5):
        device.add_finding(dx.file_missing(entry.requested, "data"))


def config_served(
    device: TrackedDevice, entry: TimelineEntry, facts: ConfigFacts | None, loop_threshold: int
) -> None:
    """A config started going out; ``facts`` are what it says (None when it could not be read)."""
    boot = device.boot
    boot.config_served = entry.served.replace("\\", "/")
    boot.config = boot.config_served.rsplit("/", 1)[-1]
    boot.config_md5 = entry.md5
    device.stage = Stage.CONFIG_SERVED
    device.drop_finding("no-config")
    if entry.name.kind is FileKind.GENERIC and boot.device_file_missing:
        device.add_finding(dx.generic_fallback(device.product))
    if facts is not None:
        boot.config_known = True
        boot.config_md5, boot.handoff, boot.provisioning_off, switch = facts
        if switch:
            device.add_finding(dx.method_switch(boot.config, switch))
    seen = (boot.config, boot.config_md5)
    device.same_config_boots = device.same_config_boots + 1 if device.last_config == seen else 1
    device.last_config = seen
    boot.repeat = device.same_config_boots > 1
    loops = device.same_config_boots >= loop_threshold
    device.loop = dx.reboot_loop(boot.config, device.same_config_boots) if loops else None


def md5_served(device: TrackedDevice, entry: TimelineEntry, *, matches: bool) -> None:
    """The config's md5 file started going out; ``matches``: it holds the config's hash."""
    if matches:
        device.boot.accepted = True
        device.stage = Stage.MD5_SERVED
    else:
        boot = device.boot
        device.add_finding(dx.md5_mismatch(boot.config, entry.requested, boot.config_served))
        device.stage = Stage.STOPPED


def settle(device: TrackedDevice) -> bool:
    """The device has been quiet: finish its boot. Returns whether anything changed."""
    boot = device.boot
    if device.stage is Stage.APPLYING:
        if boot.provisioning_off:
            device.stage = Stage.DONE
            device.add_finding(dx.provisioning_disabled(boot.config))
        elif boot.handoff is not None:
            device.stage = Stage.LEFT
            device.add_finding(dx.handed_off(boot.config, boot.handoff))
        elif boot.repeat or boot.config_known:
            device.stage = Stage.DONE
        else:
            device.stage = Stage.LEFT
            device.add_finding(dx.stopped_after_stage1(boot.config))
    elif device.stage is Stage.DATA:
        device.stage = Stage.DONE
    else:
        return False
    return True
