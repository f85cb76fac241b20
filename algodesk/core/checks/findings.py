"""What a check reports: a finding with a severity, a stable code and a fix."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import asdict, dataclass
from enum import StrEnum

from algodesk.core.md5 import md5_name


class Severity(StrEnum):
    """How bad a finding is: an error stops a device, a warning may, info is advice."""

    ERROR = "error"
    WARNING = "warning"
    INFO = "info"


_RANK = {Severity.ERROR: 0, Severity.WARNING: 1, Severity.INFO: 2}


@dataclass(frozen=True, slots=True)
class Finding:
    """One problem in a provisioning folder or document.

    ``code`` is stable and kebab-case (``md5-missing``) for filters and tests; ``file`` is a bare
    file name; ``line`` is 1-based, or None when the finding is about the whole file. Messages
    never hold secret values.
    """

    severity: Severity
    code: str
    file: str
    line: int | None
    message: str
    fix: str
    md5_for: str = ""
    """When the fix is to (re)write an md5 file: the file it checks, relative to the folder
    (what ``algodesk md5`` takes; the GUI offers "Write <its md5>")."""

    def to_dict(self) -> dict[str, str | int | None]:
        """A JSON-ready dict (severity as its string; ``md5_for`` only when set)."""
        result: dict[str, str | int | None] = asdict(self)
        result["severity"] = str(self.severity)
        if not self.md5_for:
            del result["md5_for"]
        return result

    @property
    def md5_file(self) -> str:
        """The md5 file the fix writes (``algop8186.md5``), "" when the fix is another."""
        return md5_name(self.md5_for) if self.md5_for else ""


def sort_findings(findings: Iterable[Finding]) -> list[Finding]:
    """Errors first, then warnings, then info; within each, by file, line and code."""
    return sorted(
        findings,
        key=lambda f: (_RANK[f.severity], f.file, f.line or 0, f.code, f.message),
    )
