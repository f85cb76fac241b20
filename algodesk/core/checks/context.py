"""The context a verdict is given in: the same rules judge a folder in two ways.

*As a folder on its own* (``algodesk check DIR``): what the customer's server will hold, names
exact, every md5 a file. *As this bench serves it* (the Folder page, its simulator, the live
view): the bench answers missing config md5s itself and serves stage-1 and roster files from
memory, so what would be an error elsewhere is a note that a copy of the folder needs the file.
A stage-1 document (the wizard's preview) is judged by the stage-1 rules instead of the folder
rules (domain.md §8). Places that show findings say which context they used (:attr:`label`).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from algodesk.core.device import PROTOCOLS, config_needs_md5


@dataclass(frozen=True, slots=True, kw_only=True)
class CheckContext:
    """How the folder (or document) under judgement will be served.

    Attributes:
        protocol: The download method devices use to reach this folder (guide §2): config md5
            files are needed only over TFTP (guide §3, §5.5).
        bench: Judged as this bench serves it (else as a folder on its own).
        auto_md5: The bench answers a config's missing ``X.md5`` from the config itself.
        from_memory: Names the bench serves from memory (stage-1 and roster files) besides the
            folder's own files.
        stage1: The document is a stage-1 file: it carries the stage-2 password and hands the
            device to another server, so generic-file rules give way to stage-1 rules.
    """

    protocol: str = "tftp"
    bench: bool = False
    auto_md5: bool = False
    from_memory: frozenset[str] = field(default_factory=frozenset)
    stage1: bool = False

    def __post_init__(self) -> None:
        if self.protocol not in PROTOCOLS:
            raise ValueError(f"unknown protocol {self.protocol!r}: one of {', '.join(PROTOCOLS)}")

    @property
    def label(self) -> str:
        """The words a screen or report shows for this context."""
        if self.stage1:
            return "as a stage-1 file"
        return "as this bench serves it" if self.bench else "as a folder on its own"

    @property
    def config_md5_needed(self) -> bool:
        """Whether a config without its md5 is ignored by devices reaching this folder."""
        return config_needs_md5(self.protocol)


FOLDER_ON_ITS_OWN = CheckContext()
"""What ``algodesk check`` uses by default: the customer's TFTP server."""
STAGE1 = CheckContext(stage1=True)
"""What the stage-1 previews use."""


def bench_context(*, auto_md5: bool, from_memory: frozenset[str] = frozenset()) -> CheckContext:
    """The context of this bench's TFTP server (exact names, auto md5 as set)."""
    return CheckContext(bench=True, auto_md5=auto_md5, from_memory=from_memory)
