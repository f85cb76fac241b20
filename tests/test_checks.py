"""Folder and document checks: every rule fires on a folder built for it and stays quiet otherwise."""

from __future__ import annotations

import json
import pathlib
import re
from dataclasses import dataclass, field
from pathlib import Path

import pytest
from hypothesis import given
from hypothesis import strategies as st

from algodesk.core import checks, md5, names
from algodesk.core.checks import (
    Finding,
    FolderError,
    Severity,
    check_document,
    check_folder,
    sort_findings,
)
from algodesk.core.config import ConfigDocument, ParseMemo

MAC = "0022EE010203"
DEVICE = f"algom{MAC}.conf"
GOOD = "prov.use = 1\nsip.proxy = pbx.example.net\n"
SECRET = "S3cr3t-Value"

Files = dict[str, str | bytes]


def md5_of(content: str) -> str:
    return md5.md5_hex(content.encode()) + "\n"


@dataclass(frozen=True)
class Case:
    """A rule (by code), a folder that makes it fire, and one that keeps it quiet.

    File names starting ``fw/`` go to a separate firmware folder. Every config a device requests
    gets a correct md5 unless ``md5s`` is False.
    """

    code: str
    severity: Severity
    fire: Files
    quiet: Files
    md5s: bool = True
    id: str = ""
    quiet_md5s: bool = True
    extra: tuple[str, ...] = field(default=())


CASES = [
    # names a device never requests
    Case("name-mac-lowercase", Severity.ERROR, {"algom0022ee010203.conf": GOOD}, {DEVICE: GOOD}),
    Case("name-mac-lowercase", Severity.ERROR, {"algom0022ee010203-i.conf": GOOD},
         {f"algom{MAC}-i.conf": GOOD}, id="incremental"),
    Case("name-mac-malformed", Severity.ERROR, {"algom0022EE01020.conf": GOOD}, {DEVICE: GOOD},
         id="short"),
    Case("name-mac-malformed", Severity.ERROR, {"algom0022EE01020G.conf": GOOD}, {DEVICE: GOOD},
         id="non-hex"),
    Case("name-extension", Severity.ERROR, {"algop8186.cfg": GOOD}, {"algop8186.conf": GOOD},
         id="cfg"),
    Case("name-extension", Severity.ERROR, {"algop8186.conf.txt": GOOD}, {"algop8186.conf": GOOD},
         id="conf.txt"),
    Case("name-extension", Severity.ERROR, {f"algom{MAC}.CONF": GOOD}, {DEVICE: GOOD}, id="CONF"),
    Case("name-extension", Severity.ERROR, {"algop8186": GOOD}, {"algop8186.conf": GOOD},
         id="none"),
    Case("name-near-miss", Severity.ERROR, {f"algo{MAC}.conf": GOOD}, {DEVICE: GOOD},
         id="no-m"),
    Case("name-near-miss", Severity.ERROR, {"algom00:22:EE:01:02:03.conf": GOOD}, {DEVICE: GOOD},
         id="colons"),
    Case("name-near-miss", Severity.ERROR, {"Algop8186.conf": GOOD}, {"algop8186.conf": GOOD},
         id="capital"),
    Case("name-near-miss", Severity.ERROR, {"algop 8186.conf": GOOD}, {"algop8186.conf": GOOD},
         id="space"),
    Case("name-near-miss", Severity.ERROR, {"algo8186.conf": GOOD},
         {"algop8186.conf": GOOD, "algo-notes.txt": "x", "algomaster.txt": "x"}, id="no-p"),
    Case("name-near-miss", Severity.ERROR, {"algop81860.conf": GOOD}, {"algop8186.conf": GOOD},
         id="five-digits"),
    Case("name-near-miss", Severity.ERROR, {"Algop8186.md5": md5_of(GOOD)},
         {"algop8186.conf": GOOD}, id="md5"),
    Case("name-mac-lowercase", Severity.ERROR, {"algom0022ee010203.md5": md5_of(GOOD)},
         {DEVICE: GOOD}, id="md5"),
    Case("mac-not-algo", Severity.WARNING, {"algom001122334455.conf": GOOD}, {DEVICE: GOOD}),
    Case("product-unknown", Severity.WARNING, {"algop9999.conf": GOOD}, {"algop8186.conf": GOOD}),
    Case("product-unknown", Severity.WARNING, {"algo-9999-5.5f.sfw": "fw"},
         {"algo-8186-5.5f.sfw": "fw", DEVICE: GOOD}, id="firmware"),
    # content
    Case("not-a-config", Severity.ERROR, {DEVICE: b"\x00\x01PK\x03\x04binary"}, {DEVICE: GOOD}),
    Case("not-a-config", Severity.ERROR, {DEVICE: "<html>\n<body>Not found</body>\n"},
         {DEVICE: ""}, id="html"),
    Case("line-unparsed", Severity.WARNING, {DEVICE: GOOD + "   # indented comment\n"},
         {DEVICE: "# a comment\n\n" + GOOD}),
    Case("duplicate-key", Severity.WARNING, {DEVICE: GOOD + "prov.use = 0\n"}, {DEVICE: GOOD}),
    Case("hash-in-value", Severity.WARNING, {DEVICE: "sip.proxy = pbx.example.net # main\n"},
         {DEVICE: f"sip.u1.pwd = ab#cd\n{GOOD}"}),
    Case("value-invalid", Severity.WARNING, {DEVICE: "prov.use = yes\n"}, {DEVICE: GOOD}),
    Case("template-placeholder", Severity.ERROR, {DEVICE: "sip.proxy = {$domain_name}\n"},
         {DEVICE: "sip.proxy = {not a placeholder}\n"}),
    Case("prov-disabled", Severity.INFO, {DEVICE: "prov.use = 0\n"}, {DEVICE: GOOD}),
    Case("prov-disabled-with-steps", Severity.ERROR,
         {DEVICE: "prov.use = 0\nprov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")},
         {DEVICE: "prov.use = 1\nprov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}),
    Case("static-server-missing", Severity.ERROR, {DEVICE: "prov.server.method = static\n"},
         {DEVICE: "prov.server.method = static\nprov.server.static = 10.0.0.5\n"}),
    Case("path-slashes", Severity.WARNING, {DEVICE: "prov.download.cfgpath = /algo/\n"},
         {DEVICE: "prov.download.cfgpath = algo/conf\n"}),
    Case("config-empty", Severity.WARNING, {"algop8186.conf": "\n"},
         {"algop8186.conf": GOOD, f"algom{MAC}-i.conf": ""}),
    Case("secret-in-generic", Severity.WARNING, {"algop8186.conf": f"sip.u1.pwd = {SECRET}\n"},
         {"algop8186.conf": "sip.u1.pwd = \n", DEVICE: f"sip.u1.pwd = {SECRET}\n"}),
    Case("prov-left-enabled", Severity.INFO, {"algop8186.conf": GOOD},
         {"algop8186.conf": "prov.use = 0\n", DEVICE: GOOD}),
    # md5 files
    Case("md5-missing", Severity.ERROR, {DEVICE: GOOD}, {DEVICE: GOOD}, md5s=False),
    Case("md5-missing", Severity.ERROR, {DEVICE: GOOD},
         {DEVICE: GOOD, f"algom{MAC}.conf.md5": md5_of(GOOD)}, md5s=False, quiet_md5s=False,
         id="conf.md5 accepted"),
    Case("md5-mismatch", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": md5_of("old")},
         {DEVICE: GOOD, f"algom{MAC}.md5": md5.md5_hex(GOOD.encode()).upper() + f"  {DEVICE}\r\n"},
         md5s=False, quiet_md5s=False),
    Case("md5-mismatch", Severity.ERROR,
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "new", "t.md5": md5_of("old")},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "new", "t.md5": md5_of("new")},
         id="data"),
    Case("md5-unreadable", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": "save the md5\n"},
         {DEVICE: GOOD}, md5s=False),
    Case("md5-orphan", Severity.INFO, {DEVICE: GOOD, "algop8188.md5": md5_of(GOOD)},
         {DEVICE: GOOD, "algop8188.conf": GOOD}),
    Case("md5-orphan", Severity.INFO, {DEVICE: GOOD, "tones.md5": md5_of("z")},
         {DEVICE: GOOD, "tones.md5": md5_of("z"), "tones.zip": "z"}, id="data"),
    # search order
    Case("config-shadowed", Severity.WARNING, {"algop8186.conf": GOOD, "algop8186-i.conf": GOOD},
         {"algop8186-i.conf": GOOD, "algop8188.conf": "prov.i = 1\n"}),
    Case("config-shadowed", Severity.WARNING, {DEVICE: GOOD, f"algom{MAC}-i.conf": GOOD},
         {f"algom{MAC}-i.conf": GOOD, "algop8186.conf": GOOD}, id="device"),
    Case("incremental-needs-partial", Severity.INFO, {"algop8186-i.conf": GOOD},
         {"algop8186-i.conf": GOOD, "algop8188.conf": "prov.i = 1\n"}),
    # data files
    Case("data-path", Severity.ERROR, {DEVICE: "prov.data.tone = tones/t.zip\n"},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}),
    Case("data-extension", Severity.WARNING,
         {DEVICE: "prov.data.tone = t.db\n", "t.db": "z", "t.md5": md5_of("z")},
         {DEVICE: "prov.data.sched = t.db\n", "t.db": "z", "t.md5": md5_of("z")}),
    Case("data-missing", Severity.ERROR, {DEVICE: "prov.data.cacert = ca.zip\n"},
         {DEVICE: "prov.data.cacert = ca.zip\n", "ca.zip": "z", "ca.md5": md5_of("z")}),
    Case("data-missing", Severity.ERROR,
         {DEVICE: "prov.prod.dir = dir.txt\n", "dir.txt": "z", "dir.md5": md5_of("z"),
          "fw/other.zip": "x"},
         {DEVICE: "prov.prod.dir = dir.txt\n", "fw/dir.txt": "z", "fw/dir.md5": md5_of("z")},
         id="wrong-folder", extra=("in the config folder",)),
    Case("data-md5-missing", Severity.ERROR, {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z"},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.zip.md5": md5_of("z")}),
    # firmware
    Case("firmware-missing", Severity.ERROR, {"algop8186.conf": "prov.version.firmware = 5.5f\n"},
         {"algop8186.conf": "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.sfw": "fw"}),
    Case("firmware-missing", Severity.ERROR,
         {DEVICE: "prov.version.firmware = 5.5f\n", "algo-8186-5.4f.sfw": "fw"},
         {DEVICE: "prov.version.firmware = 5.5f\n", "fw/algo-8186-5.5f.sfw": "fw"}, id="device"),
    Case("firmware-product", Severity.INFO,
         {DEVICE: "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.sfw": "f",
          "algo-8180-5.5f.sfw": "f"},
         {DEVICE: GOOD, "algo-8186-5.5f.sfw": "f"}, extra=("8180, 8186",)),
    Case("firmware-md5-missing", Severity.ERROR,
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f"},
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f", "algo-8186-5.5f.md5": md5_of("f")}),
    Case("firmware-bundle", Severity.WARNING,
         {"algop8186.conf": "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.fw": "f",
          "algo-8186-5.5f.md5": md5_of("f")},
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f", "algo-8186-5.5f.md5": md5_of("f")}),
    Case("folder-no-configs", Severity.INFO, {"readme.txt": "notes"}, {DEVICE: GOOD}),
]  # fmt: skip


def build(root: Path, files: Files, *, md5s: bool) -> tuple[Path, Path | None]:
    """Write ``files`` under ``root`` (``fw/`` ones in a firmware folder); return the folders."""
    config_dir, firmware_dir = root / "config", root / "firmware"
    config_dir.mkdir()
    separate = any(name.startswith("fw/") for name in files)
    if separate:
        firmware_dir.mkdir()
    for name, content in files.items():
        folder, bare = (firmware_dir, name[3:]) if name.startswith("fw/") else (config_dir, name)
        data = content if isinstance(content, bytes) else content.encode()
        (folder / bare).write_bytes(data)
        if md5s and names.classify(bare).is_config:
            (folder / md5.md5_name(bare)).write_bytes(md5.format_md5(md5.md5_hex(data)))
    return config_dir, firmware_dir if separate else None


def run(root: Path, files: Files, *, md5s: bool = True) -> list[Finding]:
    return check_folder(*build(root, files, md5s=md5s))


def case_id(case: Case) -> str:
    return f"{case.code}-{case.id}" if case.id else case.code


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_fires(case: Case, tmp_path: Path) -> None:
    findings = run(tmp_path, case.fire, md5s=case.md5s)
    hits = [f for f in findings if f.code == case.code]
    assert hits, [f"{f.code}: {f.message}" for f in findings]
    assert {f.severity for f in hits} == {case.severity}
    assert all(f.message and f.fix and f.file for f in hits)
    for words in case.extra:
        assert any(words in f.message for f in hits)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_stays_quiet(case: Case, tmp_path: Path) -> None:
    findings = run(tmp_path, case.quiet, md5s=case.quiet_md5s)
    assert [f for f in findings if f.code == case.code] == []


def test_every_documented_code_has_a_case() -> None:
    documented = set(re.findall(r"``([a-z0-9]+(?:-[a-z0-9]+)+)``", checks.__doc__ or ""))
    assert len(documented) > 30
    assert documented == {case.code for case in CASES} | {"file-unreadable"}


def test_file_unreadable(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    config_dir, _ = build(tmp_path, {DEVICE: GOOD}, md5s=True)
    real = pathlib.Path.read_bytes

    def refuse(self: Path) -> bytes:
        if self.name == DEVICE:
            raise PermissionError(13, "Permission denied")
        return real(self)

    monkeypatch.setattr(pathlib.Path, "read_bytes", refuse)
    findings = check_folder(config_dir)
    assert [(f.code, f.severity) for f in findings if f.file == DEVICE] == [
        ("file-unreadable", Severity.ERROR)
    ]


def test_clean_folder_has_no_findings(tmp_path: Path) -> None:
    files: Files = {
        DEVICE: "prov.use = 1\nprov.version.firmware = 5.5f\nprov.data.tone = t.zip\n",
        "algom0022EE010204.conf": GOOD,
        "t.zip": "tones",
        "t.md5": md5_of("tones"),
        "algo-8186-5.5f.sfw": "fw",
        "algo-8180-5.5f.sfw": "fw",
    }
    findings = run(tmp_path, files)
    assert [f.code for f in findings] == ["firmware-product"]


def test_stray_copy_is_a_warning_when_the_right_name_exists(tmp_path: Path) -> None:
    findings = run(tmp_path, {"algop8186.conf": GOOD, "Algop8186.conf": GOOD})
    stray = [f for f in findings if f.file == "Algop8186.conf" and f.code == "name-near-miss"]
    assert [f.severity for f in stray] == [Severity.WARNING]
    assert "algop8186.conf" in stray[0].message


def test_near_miss_suggests_the_requested_name(tmp_path: Path) -> None:
    findings = run(tmp_path, {"algom00-22-ee-01-02-03.conf": GOOD})
    assert any(f"rename it to {DEVICE}" in f.fix for f in findings)


def test_secrets_never_appear_in_findings(tmp_path: Path) -> None:
    text = (
        f"admin.pwd = {SECRET}\nsip.u1.pwd = {SECRET}\nprov.auth.pwd = {SECRET} # old one\n"
        f"sip.u1.pwd = {SECRET}x\nsip.alert1.pwd: {SECRET}\nsip.turn.pwd = yes\n"
    )
    findings = run(tmp_path, {"algop8186.conf": text, "algop8188-i.conf": text})
    codes = {f.code for f in findings}
    assert {"secret-in-generic", "hash-in-value", "duplicate-key", "line-unparsed"} <= codes
    dumped = json.dumps([f.to_dict() for f in findings])
    assert SECRET not in dumped


def test_findings_sorted_by_severity_then_file(tmp_path: Path) -> None:
    findings = run(
        tmp_path,
        {"algop8186.conf": "prov.use = 0\n", "algop9999.conf": GOOD, DEVICE: "prov.use = x\n"},
        md5s=False,
    )
    assert findings == sort_findings(reversed(findings))
    ranks = [list(Severity).index(f.severity) for f in findings]
    assert ranks == sorted(ranks)
    errors = [f.file for f in findings if f.severity is Severity.ERROR]
    assert errors == sorted(errors)


def test_check_document_judges_an_unsaved_document() -> None:
    doc = ConfigDocument.from_text("prov.use = 0\nprov.version.firmware = 5.5f\nprov.use = 0\n")
    findings = check_document("algom0022ee010203.conf", doc)
    codes = {f.code for f in findings}
    assert codes == {"name-mac-lowercase", "prov-disabled-with-steps", "duplicate-key"}
    assert all(f.file == "algom0022ee010203.conf" for f in findings)
    assert check_document("/some/where/algop8186.conf", ConfigDocument.from_text(GOOD))[0].file == (
        "algop8186.conf"
    )


def test_finding_lines_point_at_the_effective_value() -> None:
    doc = ConfigDocument.from_text("# header\nprov.use = 1\nsip.proxy = a\nprov.use = maybe\n")
    [invalid] = [f for f in check_document(DEVICE, doc) if f.code == "value-invalid"]
    assert invalid.line == 4


def test_missing_folders_are_refused(tmp_path: Path) -> None:
    with pytest.raises(FolderError, match="not a folder"):
        check_folder(tmp_path / "nope")
    (tmp_path / "file").write_text("x")
    with pytest.raises(FolderError):
        check_folder(tmp_path, tmp_path / "file")


def test_finding_to_dict_is_json_ready() -> None:
    finding = Finding(Severity.WARNING, "duplicate-key", "a.conf", 3, "m", "f")
    assert json.loads(json.dumps(finding.to_dict())) == {
        "severity": "warning",
        "code": "duplicate-key",
        "file": "a.conf",
        "line": 3,
        "message": "m",
        "fix": "f",
    }


_LINES = st.lists(
    st.sampled_from(
        ["prov.use = 1", "a=b", "  k  =  v  ", "# c", "", " x", "k = v # c", "k.y =", "\t=\t"]
    )
    | st.text(st.sampled_from(list(" =#ab.\t\r")), max_size=8),
    max_size=8,
)


@given(st.lists(_LINES, min_size=1, max_size=4), st.sampled_from(["\n", "\r\n", "\r"]))
def test_parse_memo_changes_no_document(docs: list[list[str]], eol: str) -> None:
    memo: ParseMemo = {}
    for lines in docs:
        text = eol.join(lines)
        assert ConfigDocument.from_text(text, memo) == ConfigDocument.from_text(text)
