"""Keys a device does not know: misspelt, in upper case, or simply not in the catalog.

Keys are dotted lower case (domain.md §5; guide §5.3 reads them from the web UI's field names).
A device ignores a key it does not know, so ``PROV.USE = 0`` leaves provisioning on. The catalog
holds the keys seen in public templates: it is not the vendor's full list, so a key far from any
known one is a note; one within a small edit distance of a known key is probably a typo.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from algodesk.core.catalog import Catalog
from algodesk.core.checks.findings import Finding, Severity

_LISTED = 5
_CLOSE = 0.88  # difflib ratio: one or two characters off in a key of 15-25 characters


def check_keys(
    name: str, values: Mapping[str, str], line_of: Callable[[str], int | None], catalog: Catalog
) -> list[Finding]:
    """Findings for the keys of ``values`` that the catalog does not hold."""
    unknown = values.keys() - catalog.key_set()
    findings = []
    far = []
    for key in sorted(unknown):
        lowered = key.lower()
        if lowered != key and (lowered in catalog or key.startswith(("PROV", "Prov"))):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "key-case",
                    name,
                    line_of(key),
                    f"{key} is not {lowered}: keys are lower case, and a device ignores a key "
                    "it does not know",
                    f"write it as {lowered}",
                )
            )
            continue
        if near := catalog.similar(lowered, limit=1, cutoff=_CLOSE):
            findings.append(
                Finding(
                    Severity.WARNING,
                    "key-unknown",
                    name,
                    line_of(key),
                    f"{key} is no known key: did you mean {near[0]}?",
                    f"write it as {near[0]}",
                )
            )
        else:
            far.append(key)
    if far:
        # One note per file: the catalog is not the vendor's full list, so these may be fine.
        shown = ", ".join(far[:_LISTED]) + (
            f" and {len(far) - _LISTED} more" if len(far) > _LISTED else ""
        )
        findings.append(
            Finding(
                Severity.INFO,
                "key-unknown",
                name,
                line_of(far[0]),
                f"{len(far)} key(s) not among the known keys ({shown}); a device ignores keys "
                "it does not know",
                "check the names against a backup from the device (guide §5.3)",
            )
        )
    return findings
