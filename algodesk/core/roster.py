"""Device rosters: a CSV with one row per device (MAC, product, parameters) -> algom<MAC>.conf.

The header names the columns: ``mac`` (required, any MAC spelling), ``product`` (optional) and
parameter keys such as ``sip.u1.user``, ``sip.u1.pwd``, ``admin.devname``. An empty cell leaves the
base document's value alone. Rows with errors are reported and skipped; warnings never stop a row.
Issue messages never show a secret value.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from enum import StrEnum

from algodesk.core import catalog, names
from algodesk.core.config import ConfigDocument, ConfigError
from algodesk.core.stage1 import with_md5

MAC_COLUMN = "mac"
PRODUCT_COLUMN = "product"


class Severity(StrEnum):
    """How bad a roster issue is: errors skip the row, warnings do not."""

    ERROR = "error"
    WARNING = "warning"


@dataclass(frozen=True, slots=True)
class RosterIssue:
    """A problem in the roster; ``line`` is the 1-based CSV line (1 = header)."""

    severity: Severity
    line: int
    column: str
    message: str

    def __str__(self) -> str:
        where = f"line {self.line}" + (f", {self.column}" if self.column else "")
        return f"{self.severity.value}: {where}: {self.message}"


@dataclass(frozen=True, slots=True)
class RosterRow:
    """One valid device row: normalised MAC, product ('' if not given) and its parameters."""

    line: int
    mac: str
    product: str
    params: tuple[tuple[str, str], ...] = field(repr=False)


@dataclass(frozen=True, slots=True)
class Roster:
    """The valid rows and every issue found, in file order."""

    rows: tuple[RosterRow, ...]
    issues: tuple[RosterIssue, ...]

    @property
    def errors(self) -> tuple[RosterIssue, ...]:
        """Issues that made a row (or the whole file) unusable."""
        return tuple(i for i in self.issues if i.severity is Severity.ERROR)

    def expected_products(self) -> dict[str, str]:
        """MAC -> product for rows that name one (for the live view)."""
        return {row.mac: row.product for row in self.rows if row.product}


def parse_roster(text: str) -> Roster:
    """Parse and validate roster CSV text (comma, semicolon or tab separated)."""
    issues: list[RosterIssue] = []
    text = text.lstrip("\ufeff")
    reader = csv.reader(io.StringIO(text, newline=""), csv.excel, delimiter=_delimiter(text))
    header = next(reader, None)
    if header is None:
        return Roster((), (RosterIssue(Severity.ERROR, 1, "", "the roster is empty"),))
    columns = [cell.strip() for cell in header]
    lowered = [c.lower() for c in columns]
    if MAC_COLUMN not in lowered:
        issue = RosterIssue(Severity.ERROR, 1, "", "no 'mac' column in the header")
        return Roster((), (issue,))
    mac_index = lowered.index(MAC_COLUMN)
    product_index = lowered.index(PRODUCT_COLUMN) if PRODUCT_COLUMN in lowered else None
    param_columns = _param_columns(columns, {mac_index, product_index}, issues)
    layout = _Layout(mac_index, product_index, param_columns, len(columns))
    rows: list[RosterRow] = []
    seen: dict[str, int] = {}
    for cells in reader:
        line = reader.line_num
        if not any(cell.strip() for cell in cells):
            continue
        row = _row(line, cells, layout, seen, issues)
        if row is not None:
            rows.append(row)
    return Roster(tuple(rows), tuple(issues))


def device_configs(
    roster: Roster | Iterable[RosterRow],
    base: ConfigDocument,
    *,
    md5sum_style: bool = False,
    conf_md5: bool = False,
) -> dict[str, bytes]:
    """``algom<MAC>.conf`` (``base`` with the row's parameters set) and its md5 per row."""
    rows = roster.rows if isinstance(roster, Roster) else tuple(roster)
    files: dict[str, bytes] = {}
    for row in rows:
        document = base.copy()
        for key, value in row.params:
            document.set(key, value)
        name = names.device_name(row.mac)
        files.update(with_md5(name, document.to_bytes(), md5sum_style, conf_md5))
    return files


def _delimiter(text: str) -> str:
    """The header line's most frequent separator (',' ';' or tab; ',' when it has none)."""
    header = text.split("\n", 1)[0]
    delimiter = max(",;\t", key=header.count)
    return delimiter if header.count(delimiter) else ","


def _param_columns(
    columns: list[str], skip: set[int | None], issues: list[RosterIssue]
) -> dict[int, str]:
    """Column index -> parameter key for the usable parameter columns."""
    known = catalog.Catalog.load()
    found: dict[int, str] = {}
    seen: set[str] = set()
    for index, key in enumerate(columns):
        if index in skip:
            continue
        if not key:
            issues.append(
                RosterIssue(Severity.WARNING, 1, f"#{index + 1}", "column ignored: no name")
            )
            continue
        try:
            ConfigDocument().set(key, "")
        except ConfigError:
            issues.append(
                RosterIssue(Severity.ERROR, 1, key, "not a parameter name; column ignored")
            )
            continue
        if key in seen:
            issues.append(RosterIssue(Severity.ERROR, 1, key, "column repeated; later one ignored"))
            continue
        seen.add(key)
        if known.get(key) is None:
            issues.append(RosterIssue(Severity.WARNING, 1, key, "not a known parameter"))
        found[index] = key
    return found


@dataclass(frozen=True, slots=True)
class _Layout:
    """Where the header put each column."""

    mac: int
    product: int | None
    params: Mapping[int, str]
    width: int


def _row(
    line: int, cells: list[str], layout: _Layout, seen: dict[str, int], issues: list[RosterIssue]
) -> RosterRow | None:
    def cell(index: int) -> str:
        return cells[index].strip() if index < len(cells) else ""

    raw_mac = cell(layout.mac)
    try:
        mac = names.normalize_mac(raw_mac)
    except names.MacError:
        what = f"not a MAC address: {raw_mac!r}" if raw_mac else "no MAC address"
        issues.append(RosterIssue(Severity.ERROR, line, MAC_COLUMN, f"{what}; row skipped"))
        return None
    if mac in seen:
        issues.append(
            RosterIssue(
                Severity.ERROR,
                line,
                MAC_COLUMN,
                f"{names.format_mac(mac)} already on line {seen[mac]}; row skipped",
            )
        )
        return None
    seen[mac] = line
    if not names.is_algo_mac(mac):
        issues.append(
            RosterIssue(
                Severity.WARNING,
                line,
                MAC_COLUMN,
                f"{names.format_mac(mac)} is not an Algo MAC (00:22:EE)",
            )
        )
    product = cell(layout.product) if layout.product is not None else ""
    if product and not names.is_known_product(product):
        issues.append(
            RosterIssue(Severity.WARNING, line, PRODUCT_COLUMN, f"unknown product {product!r}")
        )
    if any(c.strip() for c in cells[layout.width :]):
        issues.append(
            RosterIssue(Severity.WARNING, line, "", "more cells than columns; extra ignored")
        )
    params: list[tuple[str, str]] = []
    for index, key in layout.params.items():
        value = cell(index)
        if not value:
            continue
        shown = "value" if catalog.is_secret(key) else repr(value)
        if "\n" in value or "\r" in value:
            issues.append(
                RosterIssue(Severity.ERROR, line, key, f"{shown} spans lines; row skipped")
            )
            return None
        problem = catalog.validate(key, value)
        if problem:
            detail = problem if not catalog.is_secret(key) else "value does not fit (not shown)"
            issues.append(RosterIssue(Severity.WARNING, line, key, detail))
        params.append((key, value))
    return RosterRow(line, mac, product, tuple(params))
