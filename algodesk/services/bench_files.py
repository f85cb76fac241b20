"""The in-memory files a stage-1 bench serves: stage-1 configs, roster device files, md5 files.

Stage-1 files hold the password in clear, so they are served from memory (the engine's virtual
files) and only reach a disk when a person exports them.

"Any product": the engine matches virtual files by name only, so every product ID in the product
table (``core.names.PRODUCTS``) gets its own ``algop<P>.conf``. A product missing from that
table is not answered; a resolver hook in the engine would lift that limit.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from algodesk.core import config, names
from algodesk.core.checks import STAGE1, Severity, check_document
from algodesk.core.profile import BenchProfile
from algodesk.core.roster import Roster, RosterIssue, device_configs
from algodesk.core.stage1 import Stage1, build_stage1


class VirtualFileServer(Protocol):
    """What a server must offer to serve files from memory (the TFTP engine does)."""

    def set_virtual_file(self, name: str, data: bytes) -> str:
        """Serve ``data`` as ``name``."""
        ...

    def remove_virtual_file(self, name: str) -> None:
        """Stop serving ``name``."""
        ...


@dataclass(frozen=True, slots=True)
class BenchFiles:
    """Files to serve (name -> bytes, secrets inside: kept out of ``repr``) and notes for people."""

    files: Mapping[str, bytes] = field(repr=False)
    warnings: tuple[str, ...] = ()
    roster_issues: tuple[RosterIssue, ...] = ()

    def install(self, server: VirtualFileServer) -> list[str]:
        """Serve every file from ``server``'s memory; returns the names as the server stored them."""
        return [server.set_virtual_file(name, data) for name, data in self.files.items()]

    def uninstall(self, server: VirtualFileServer) -> None:
        """Stop serving these files."""
        for name in self.files:
            server.remove_virtual_file(name)


def load_base(profile: BenchProfile) -> config.ConfigDocument | None:
    """The device backup ``profile`` starts from, or None for a minimal stage-1 config.

    Raises :class:`~algodesk.core.config.ConfigError` when the file cannot be used.
    """
    if not profile.base_file:
        return None
    return config.load(Path(profile.base_file))


def bench_files(
    profile: BenchProfile,
    password: str,
    roster: Roster | None = None,
    *,
    base: config.ConfigDocument | None = None,
) -> BenchFiles:
    """Everything a stage-1 bench for ``profile`` serves, with the build's warnings.

    Each product's ``algop<P>.conf`` with ``.md5`` and ``.conf.md5`` (devices ask for ``X.md5``,
    guide §5.5; a server may answer the other spelling too, and this one does);
    with a roster, each listed device's ``algom<MAC>.conf`` is the stage-1 config plus its row.
    ``base`` defaults to :func:`load_base`.
    """
    stage1: Stage1 = build_stage1(
        profile, password, base if base is not None else load_base(profile)
    )
    files = stage1.files(conf_md5=True)
    issues: tuple[RosterIssue, ...] = ()
    if roster is not None:
        files.update(device_configs(roster, stage1.document, conf_md5=True))
        issues = roster.issues
    # The stage-1 rules (domain.md §8), as the wizard's preview shows them.
    name = names.generic_name(stage1.products[0]) if stage1.products else "stage-1 file"
    checked = check_document(name, stage1.document, STAGE1)
    said = [f.message for f in checked if f.severity is not Severity.INFO]
    return BenchFiles(files, (*stage1.warnings, *said), issues)


def virtual_files_for(
    profile: BenchProfile, password: str, roster: Roster | None = None
) -> dict[str, bytes]:
    """Name -> bytes of every file a stage-1 bench for ``profile`` serves (see :func:`bench_files`)."""
    return dict(bench_files(profile, password, roster).files)
