"""Rules for a stage-1 file: the bench config that sends devices to their permanent server.

A stage-1 file carries the stage-2 password and hands devices to another server (guide §15.1,
domain.md §8), so the generic-file rules ("secrets in a generic file", "keeps provisioning from
this server") do not apply to it. These do: a user without a password, certificate validation
with a method other than HTTPS (guide §2: only applicable in HTTPS mode), and a base backup that
holds a static IP (every device would take the same address). Template placeholders are refused
by the document rules; TFTP is a valid stage-2 method.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from algodesk.core import device
from algodesk.core.checks.findings import Finding, Severity

LineOf = Callable[[str], int | None]


def check_stage1(name: str, values: Mapping[str, str], line_of: LineOf) -> list[Finding]:
    """Findings for the stage-1 file ``name`` with ``values``."""
    findings = []
    method = device.effective(values, "prov.download.method")
    if values.get("prov.server.method", "").strip() != "static":
        findings.append(
            Finding(
                Severity.WARNING,
                "stage1-no-handoff",
                name,
                line_of("prov.server.method"),
                "a stage-1 file hands devices to their permanent server, but this one leaves "
                "the server to DHCP (the bench's option goes away after stage 1)",
                "set prov.server.method = static and prov.server.static to the stage-2 server",
            )
        )
    if values.get("prov.auth.user", "").strip() and not values.get("prov.auth.pwd", ""):
        findings.append(
            Finding(
                Severity.WARNING,
                "stage1-user-no-password",
                name,
                line_of("prov.auth.user"),
                "a user name without a password: the stage-2 server will refuse the devices",
                "set the stage-2 password (it is served from memory, never written)",
            )
        )
    if values.get("prov.download.cert", "").strip() == "1" and method != "https":
        findings.append(
            Finding(
                Severity.WARNING,
                "stage1-cert-method",
                name,
                line_of("prov.download.cert"),
                f"certificate validation applies to HTTPS only; the method is {method} (guide §2)",
                "use https, or set prov.download.cert = 0",
            )
        )
    static_ip = values.get("net.ip", "").strip()
    dhcp_off = values.get("net.dhcp.use", "").strip() == "0" or (
        values.get("net.ipv4.method", "").strip() not in ("", "dhcp")
    )
    if static_ip and dhcp_off:
        findings.append(
            Finding(
                Severity.WARNING,
                "stage1-static-ip",
                name,
                line_of("net.ip"),
                f"the base holds a static IP ({static_ip}): every device that applies this file "
                "takes the same address",
                "use a base with DHCP on, or the minimal stage-1 file",
            )
        )
    return findings
