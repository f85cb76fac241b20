"""What a preflight checks: each device with the stage-1 config the bench gives it.

Shared by ``algodesk preflight`` and the Stage 1 page, so both check exactly what is served.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from algodesk.core.preflight import Target, targets
from algodesk.core.profile import BenchProfile
from algodesk.core.roster import Roster
from algodesk.core.stage1 import build_stage1
from algodesk.services.bench_files import bench_files, load_base
from algodesk.services.preflight.runner import PreflightPlan, plan_devices
from algodesk.services.preflight.tls import device_context

# The virtual devices' stage-1 configs need no password (the fetchers carry the real one):
# a stand-in keeps the secret out of every device state and trace.
STAND_IN_PASSWORD = "stand-in"


def default_targets(profile: BenchProfile, roster: Roster | None) -> list[Target]:
    """The roster's devices and the profile's products' generic files; ValueError when a roster
    row has no product and the profile has more than one (or none)."""
    rows = [(row.mac, row.product) for row in roster.rows] if roster is not None else []
    only = profile.products[0] if len(profile.products) == 1 else ""
    return targets(rows, profile.products, default_product=only)


def build_plan(
    profile: BenchProfile,
    password: str,
    roster: Roster | None,
    chosen: Sequence[Target],
    *,
    firmware: Mapping[str, str] | None = None,
    timeout: float = 10.0,
    full: bool = False,
    ca_file: str | None = None,
) -> PreflightPlan:
    """The plan for ``chosen``; ValueError when the profile's base or CA file cannot be used."""
    base = load_base(profile)  # read and parsed once, for the bench's files and the fallback
    files = bench_files(profile, STAND_IN_PASSWORD, roster, base=base)
    fallback = build_stage1(profile, STAND_IN_PASSWORD, base).to_bytes()
    ca = profile.ca_file if ca_file is None else ca_file
    if ca:
        device_context(ca, validate=True)
    return PreflightPlan(
        devices=plan_devices(chosen, files.files, fallback, firmware or {}),
        password=password,
        timeout=timeout,
        full=full,
        ca_file=ca,
    )
