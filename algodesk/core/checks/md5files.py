"""Rules about md5 files: named as devices ask for them, holding the hash in the vendor's form.

Devices ask for the checked file's name with its extension replaced by ``.md5`` (guide §5.4,
§5.5, §10): ``algop8188.md5``, ``tone_file.md5``; never ``algop8188.conf.md5``. A server may answer
that spelling too, but a check never takes it in place of ``X.md5``. The vendor documents only the
bare hash; other forms are named (:class:`~algodesk.core.md5.Md5Form`) with the command that
rewrites them.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Callable, Collection
from pathlib import Path

from algodesk.core import md5
from algodesk.core.checks.context import CheckContext
from algodesk.core.checks.findings import Finding, Severity
from algodesk.core.checks.naming import analyse_name

MD5 = ".md5"


def misnamed_md5(name: str) -> str:
    """``algop8188.conf`` -> ``algop8188.conf.md5``: the spelling no device asks for."""
    return name + MD5


def config_md5(
    folder: Path,
    name: str,
    data: bytes,
    present: Collection[str],
    context: CheckContext,
    shown: str = "",
) -> tuple[list[Finding], str | None]:
    """Findings about a requested config's md5, and the md5 file verified (None: none)."""
    wanted = md5.md5_name(name)
    if wanted in present:
        digest = md5.md5_hex(data)
        return verify(folder / wanted, [name], lambda _name: digest, shown), wanted
    if not context.config_md5_needed:
        return [], None
    return [missing_config_md5(name, present, context, shown)], None


def missing_config_md5(
    name: str, present: Collection[str], context: CheckContext, shown: str = ""
) -> Finding:
    """``md5-missing`` for a config: an error, or a note where this bench answers it."""
    wanted = md5.md5_name(name)
    wrong = misnamed_md5(name)
    if context.bench and context.auto_md5:
        return Finding(
            Severity.INFO,
            "md5-missing",
            shown + name,
            None,
            f"this bench answers {wanted} itself; a copy of the folder on another TFTP server "
            f"needs the file",
            f"write {wanted} (algodesk md5 {name})",
            md5_for=shown + name,
        )
    if wrong in present:
        message = f"no {wanted}: {wrong} is here, but devices ask for {wanted} (guide §5.5)"
        fix = f"rename {wrong} to {wanted}"
    else:
        message = f"no {wanted}: a TFTP device ignores a config without its md5 (guide §3, §5.5)"
        fix = f"algodesk md5 {name}  (writes {wanted})"
    md5_for = "" if wrong in present else shown + name
    return Finding(Severity.ERROR, "md5-missing", shown + name, None, message, fix, md5_for)


def verify(
    md5_path: Path, targets: list[str], digest_of: Callable[[str], str | None], shown: str = ""
) -> list[Finding]:
    """Findings for one md5 file checking ``targets`` (it may match any one of them)."""
    name = shown + md5_path.name
    try:
        reading = md5.read_md5(md5_path.read_bytes())
    except OSError as error:
        reading, reason = (
            md5.Md5Reading(None, md5.Md5Form.NONE),
            f"cannot be read ({error.strerror})",
        )
    else:
        reason = "holds no MD5 hash (32 hex digits)"
    rewrite = f"algodesk md5 {targets[0]}  (writes the bare hash)"
    md5_for = shown + targets[0]
    if reading.digest is None:
        return [Finding(Severity.ERROR, "md5-unreadable", name, None, reason, rewrite, md5_for)]
    if not any(digest_of(target) == reading.digest for target in targets):
        return [
            Finding(
                Severity.ERROR,
                "md5-mismatch",
                name,
                None,
                f"does not match {' or '.join(targets)} (changed after the md5 was written?); "
                "a device ignores the file",
                rewrite,
                md5_for,
            )
        ]
    if reading.form is md5.Md5Form.BARE:
        return []
    if reading.form.starts_with_hash:
        severity, consequence = Severity.WARNING, "devices may or may not read past the hash"
    else:
        severity, consequence = Severity.ERROR, "a device finds no hash at the start of the file"
    return [
        Finding(
            severity,
            "md5-form",
            name,
            None,
            f"holds {reading.form.value}, not the bare hash the vendor documents (guide §5.5): "
            f"{consequence}",
            rewrite,
            md5_for,
        )
    ]


class Digest:
    """Lazily hashes files of one folder (firmware can be large: only hash what an md5 checks)."""

    def __init__(self, folder: Path) -> None:
        self._folder = folder

    def __call__(self, name: str) -> str | None:
        try:
            return md5.md5_file(self._folder / name)
        except OSError:
            return None


def other_md5_files(
    folder: Path, present: Collection[str], verified: Collection[str], shown: str = ""
) -> list[Finding]:
    """Verify md5 files of data and firmware; name misspelt md5 files; report ones that check
    nothing."""
    targets: dict[str, list[str]] = defaultdict(list)
    for name in sorted(present):
        if not name.endswith(MD5):
            targets[md5.md5_name(name)].append(name)
    findings: list[Finding] = []
    digest = Digest(folder)
    for name in sorted(present):
        if not name.endswith(MD5) or name in verified:
            continue
        checked = name[: -len(MD5)]
        if "." in checked and checked in present and name not in targets:
            findings.append(_misnamed(name, checked, present, shown))
        elif name in targets:
            findings.extend(verify(folder / name, targets[name], digest, shown))
        else:
            findings.append(_orphan(name, present, shown))
    return findings


def _misnamed(name: str, checked: str, present: Collection[str], shown: str) -> Finding:
    wanted = md5.md5_name(checked)
    if wanted in present:
        message = f"devices never ask for this name; {wanted} is the md5 of {checked} in use"
        fix = f"delete {name}"
    else:
        message = (
            f"devices never ask for this name: the md5 of {checked} is {wanted} "
            "(extension replaced, not added; guide §5.5, §10)"
        )
        fix = f"rename it to {wanted}"
    return Finding(Severity.WARNING, "md5-misnamed", shown + name, None, message, fix)


def _orphan(name: str, present: Collection[str], shown: str) -> Finding:
    stem = name[: -len(MD5)]
    issue = analyse_name(stem if stem.endswith(".conf") else stem + ".conf")
    if issue is not None and issue.suggestion:
        wanted = md5.md5_name(issue.suggestion)
        if wanted not in present:
            return Finding(
                Severity.ERROR,
                issue.code,
                shown + name,
                None,
                f"no device requests this md5: {issue.reason}",
                f"rename it to {wanted}",
            )
    return Finding(
        Severity.INFO,
        "md5-orphan",
        shown + name,
        None,
        "checks no file in this folder",
        "delete it, or add the file it checks",
    )
