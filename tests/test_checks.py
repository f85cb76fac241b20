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
    FOLDER_ON_ITS_OWN,
    STAGE1,
    CheckContext,
    Finding,
    FolderError,
    Severity,
    bench_context,
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
BENCH = bench_context(auto_md5=True)
FWPATH = "prov.download.fwpath = firmware\n"
# A config that sends devices to another server: what it names next is fetched there (§7, §15.1).
HANDOFF = (
    "prov.server.method = static\nprov.server.static = ftp://stage2.example.com\n"
    "prov.download.method = ftp\n"
)
_GOOD_MD5 = md5.md5_hex(GOOD.encode())
BOM_MD5 = b"\xef\xbb\xbf" + _GOOD_MD5.encode() + b"\r\n"
UTF16_MD5 = (_GOOD_MD5 + "\r\n").encode("utf-16")
CERTUTIL_MD5 = (
    f"MD5 hash of algom{MAC}.conf:\r\n{_GOOD_MD5}\r\n"
    "CertUtil: -hashfile command completed successfully.\r\n"
)


def md5_of(content: str) -> str:
    return md5.md5_hex(content.encode()) + "\n"


@dataclass(frozen=True)
class Case:
    """A rule (by code), the guide's section it rests on, a folder that makes it fire, and one
    that keeps it quiet.

    File names starting ``fw/`` go to a separate firmware folder; other names with a ``/`` go to
    a sub-folder of the config folder (a firmware path). Every config a device requests gets a
    correct md5 unless ``md5s`` is False. ``context`` is the verdict's context (``quiet_context``
    for the quiet folder, when it differs). "domain §n" rows rest on domain.md, not the guide.
    """

    code: str
    guide: str
    severity: Severity
    fire: Files
    quiet: Files
    md5s: bool = True
    id: str = ""
    quiet_md5s: bool = True
    extra: tuple[str, ...] = field(default=())
    context: CheckContext = FOLDER_ON_ITS_OWN
    quiet_context: CheckContext | None = None


CASES = [
    # names a device never requests
    Case("name-mac-lowercase", "§5.4", Severity.ERROR, {"algom0022ee010203.conf": GOOD}, {DEVICE: GOOD}),
    Case("name-mac-lowercase", "§5.4", Severity.ERROR, {"algom0022ee010203-i.conf": GOOD},
         {f"algom{MAC}-i.conf": GOOD}, id="incremental"),
    Case("name-mac-malformed", "§5.4", Severity.ERROR, {"algom0022EE01020.conf": GOOD}, {DEVICE: GOOD},
         id="short"),
    Case("name-mac-malformed", "§5.4", Severity.ERROR, {"algom0022EE01020G.conf": GOOD}, {DEVICE: GOOD},
         id="non-hex"),
    Case("name-extension", "§5.4", Severity.ERROR, {"algop8186.cfg": GOOD}, {"algop8186.conf": GOOD},
         id="cfg"),
    Case("name-extension", "§5.4", Severity.ERROR, {"algop8186.conf.txt": GOOD}, {"algop8186.conf": GOOD},
         id="conf.txt"),
    Case("name-extension", "§5.4", Severity.ERROR, {f"algom{MAC}.CONF": GOOD}, {DEVICE: GOOD}, id="CONF"),
    Case("name-extension", "§5.4", Severity.ERROR, {"algop8186": GOOD}, {"algop8186.conf": GOOD},
         id="none"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {f"algo{MAC}.conf": GOOD}, {DEVICE: GOOD},
         id="no-m"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"algom00:22:EE:01:02:03.conf": GOOD}, {DEVICE: GOOD},
         id="colons"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"Algop8186.conf": GOOD}, {"algop8186.conf": GOOD},
         id="capital"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"algop 8186.conf": GOOD}, {"algop8186.conf": GOOD},
         id="space"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"algo8186.conf": GOOD},
         {"algop8186.conf": GOOD, "algo-notes.txt": "x", "algomaster.txt": "x"}, id="no-p"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"algop81860.conf": GOOD}, {"algop8186.conf": GOOD},
         id="five-digits"),
    Case("name-near-miss", "§5.4", Severity.ERROR, {"Algop8186.md5": md5_of(GOOD)},
         {"algop8186.conf": GOOD}, id="md5"),
    Case("name-mac-lowercase", "§5.4", Severity.ERROR, {"algom0022ee010203.md5": md5_of(GOOD)},
         {DEVICE: GOOD}, id="md5"),
    Case("mac-not-algo", "domain §1", Severity.WARNING, {"algom001122334455.conf": GOOD}, {DEVICE: GOOD}),
    Case("product-unknown", "§1", Severity.WARNING, {"algop9999.conf": GOOD}, {"algop8186.conf": GOOD}),
    Case("product-unknown", "§1", Severity.WARNING, {"algo-9999-5.5f.sfw": "fw"},
         {"algo-8186-5.5f.sfw": "fw", DEVICE: GOOD}, id="firmware"),
    # content
    Case("not-a-config", "§5.3", Severity.ERROR, {DEVICE: b"\x00\x01PK\x03\x04binary"}, {DEVICE: GOOD}),
    Case("not-a-config", "§5.3", Severity.ERROR, {DEVICE: "<html>\n<body>Not found</body>\n"},
         {DEVICE: ""}, id="html"),
    Case("line-unparsed", "domain §5", Severity.WARNING, {DEVICE: GOOD + "   # indented comment\n"},
         {DEVICE: "# a comment\n\n" + GOOD}),
    Case("duplicate-key", "domain §5", Severity.WARNING, {DEVICE: GOOD + "prov.use = 0\n"}, {DEVICE: GOOD}),
    Case("hash-in-value", "domain §5", Severity.WARNING, {DEVICE: "sip.proxy = pbx.example.net # main\n"},
         {DEVICE: f"sip.u1.pwd = ab#cd\n{GOOD}"}),
    Case("value-invalid", "§2", Severity.WARNING, {DEVICE: "prov.use = yes\n"}, {DEVICE: GOOD}),
    Case("template-placeholder", "domain §8", Severity.ERROR, {DEVICE: "sip.proxy = {$domain_name}\n"},
         {DEVICE: "sip.proxy = {not a placeholder}\n"}),
    Case("prov-disabled", "§7.1", Severity.INFO, {DEVICE: "prov.use = 0\n"}, {DEVICE: GOOD}),
    Case("prov-disabled-with-steps", "§9, §10", Severity.ERROR,
         {DEVICE: "prov.use = 0\nprov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")},
         {DEVICE: "prov.use = 1\nprov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}),
    Case("static-server-missing", "§4.2", Severity.ERROR, {DEVICE: "prov.server.method = static\n"},
         {DEVICE: "prov.server.method = static\nprov.server.static = 10.0.0.5\n"}),
    Case("path-slashes", "§2", Severity.WARNING, {DEVICE: "prov.download.cfgpath = /algo/\n"},
         {DEVICE: "prov.download.cfgpath = algo/conf\n"}),
    Case("config-empty", "§5", Severity.WARNING, {"algop8186.conf": "\n"},
         {"algop8186.conf": GOOD, f"algom{MAC}-i.conf": ""}),
    Case("secret-in-generic", "§5.1", Severity.WARNING, {"algop8186.conf": f"sip.u1.pwd = {SECRET}\n"},
         {"algop8186.conf": "sip.u1.pwd = \n", DEVICE: f"sip.u1.pwd = {SECRET}\n"}),
    Case("prov-left-enabled", "§5.1, §15.2", Severity.INFO, {"algop8186.conf": GOOD},
         {"algop8186.conf": "prov.use = 0\n", DEVICE: GOOD}),
    # md5 files
    Case("md5-missing", "§3, §5.5", Severity.ERROR, {DEVICE: GOOD}, {DEVICE: GOOD}, md5s=False),
    # X.conf.md5 is never what a device asks for (guide §5.5); it used to be accepted here.
    Case("md5-missing", "§5.4, §5.5", Severity.ERROR,
         {DEVICE: GOOD, f"algom{MAC}.conf.md5": md5_of(GOOD)},
         {DEVICE: GOOD, f"algom{MAC}.md5": md5_of(GOOD)}, md5s=False, quiet_md5s=False,
         id="conf.md5 not accepted", extra=(f"algom{MAC}.md5",)),
    Case("md5-missing", "§5.5", Severity.INFO, {DEVICE: GOOD}, {DEVICE: GOOD}, md5s=False,
         context=BENCH, id="bench answers it", extra=("a copy of the folder",)),
    Case("md5-missing", "§7.3", Severity.ERROR, {DEVICE: GOOD}, {DEVICE: GOOD}, md5s=False,
         quiet_md5s=False, quiet_context=CheckContext(protocol="http"), id="http needs none"),
    Case("md5-misnamed", "§5.5, §10", Severity.WARNING,
         {DEVICE: GOOD, f"algom{MAC}.conf.md5": md5_of(GOOD)}, {DEVICE: GOOD}, md5s=False,
         extra=(f"algom{MAC}.md5",)),
    Case("md5-misnamed", "§10", Severity.WARNING,
         {DEVICE: "prov.data.tone = tone_file.zip\n", "tone_file.zip": "z",
          "tone_file.zip.md5": md5_of("z")},
         {DEVICE: "prov.data.tone = tone_file.zip\n", "tone_file.zip": "z",
          "tone_file.md5": md5_of("z")}, id="zip.md5", extra=("tone_file.md5",)),
    Case("md5-form", "§5.5", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": BOM_MD5},
         {DEVICE: GOOD}, md5s=False, id="notepad-bom", extra=("byte-order mark",)),
    Case("md5-form", "§5.5", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": UTF16_MD5},
         {DEVICE: GOOD}, md5s=False, id="powershell-utf16", extra=("UTF-16",)),
    Case("md5-form", "§5.5", Severity.ERROR,
         {DEVICE: GOOD, f"algom{MAC}.md5": f"MD5 ({DEVICE}) = {md5_of(GOOD)}"}, {DEVICE: GOOD},
         md5s=False, id="macos", extra=("MD5 (file) = hash",)),
    Case("md5-form", "§5.5", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": CERTUTIL_MD5},
         {DEVICE: GOOD}, md5s=False, id="certutil", extra=("certutil",)),
    Case("md5-form", "§5.5", Severity.WARNING,
         {DEVICE: GOOD, f"algom{MAC}.md5": md5_of(GOOD).strip() + f"  {DEVICE}\n"},
         {DEVICE: GOOD}, md5s=False, id="md5sum", extra=("md5sum",)),
    Case("md5-mismatch", "§5.5", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": md5_of("old")},
         {DEVICE: GOOD, f"algom{MAC}.md5": md5.md5_hex(GOOD.encode()).upper() + f"  {DEVICE}\r\n"},
         md5s=False, quiet_md5s=False),
    Case("md5-mismatch", "§5.5", Severity.ERROR,
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "new", "t.md5": md5_of("old")},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "new", "t.md5": md5_of("new")},
         id="data"),
    Case("md5-unreadable", "§5.5", Severity.ERROR, {DEVICE: GOOD, f"algom{MAC}.md5": "save the md5\n"},
         {DEVICE: GOOD}, md5s=False),
    Case("md5-orphan", "§5.5", Severity.INFO, {DEVICE: GOOD, "algop8188.md5": md5_of(GOOD)},
         {DEVICE: GOOD, "algop8188.conf": GOOD}),
    Case("md5-orphan", "§5.5", Severity.INFO, {DEVICE: GOOD, "tones.md5": md5_of("z")},
         {DEVICE: GOOD, "tones.md5": md5_of("z"), "tones.zip": "z"}, id="data"),
    # search order
    Case("config-shadowed", "§8", Severity.WARNING, {"algop8186.conf": GOOD, "algop8186-i.conf": GOOD},
         {"algop8186-i.conf": GOOD, "algop8188.conf": "prov.i = 1\n"}),
    Case("config-shadowed", "§8", Severity.WARNING, {DEVICE: GOOD, f"algom{MAC}-i.conf": GOOD},
         {f"algom{MAC}-i.conf": GOOD, "algop8186.conf": GOOD}, id="device"),
    Case("incremental-needs-partial", "§8", Severity.INFO, {"algop8186-i.conf": GOOD},
         {"algop8186-i.conf": GOOD, "algop8188.conf": "prov.i = 1\n"}),
    # data files
    Case("data-path", "§10", Severity.ERROR, {DEVICE: "prov.data.tone = tones/t.zip\n"},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}),
    Case("data-extension", "§10, §12", Severity.WARNING,
         {DEVICE: "prov.data.tone = t.db\n", "t.db": "z", "t.md5": md5_of("z")},
         {DEVICE: "prov.data.sched = t.db\n", "t.db": "z", "t.md5": md5_of("z")}),
    Case("data-missing", "§10, §11", Severity.ERROR, {DEVICE: "prov.data.cacert = ca.zip\n"},
         {DEVICE: "prov.data.cacert = ca.zip\n", "ca.zip": "z", "ca.md5": md5_of("z")}),
    Case("data-missing", "§10, §11", Severity.ERROR,
         {DEVICE: "prov.prod.dir = dir.txt\n", "dir.txt": "z", "dir.md5": md5_of("z"),
          "fw/other.zip": "x"},
         {DEVICE: "prov.prod.dir = dir.txt\n", "fw/dir.txt": "z", "fw/dir.md5": md5_of("z")},
         id="wrong-folder", extra=("in the config folder",)),
    Case("data-missing", "§10", Severity.ERROR,
         {DEVICE: "prov.data.tone = Tones.zip\n", "tones.zip": "z", "tones.md5": md5_of("z")},
         {DEVICE: "prov.data.tone = tones.zip\n", "tones.zip": "z", "tones.md5": md5_of("z")},
         id="case", extra=("tones.zip is here, but names are case-sensitive",)),
    Case("data-md5-missing", "§10", Severity.ERROR, {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z"},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}),
    # tone_file.zip.md5 used to stand in for tone_file.md5 (guide §10: extension replaced).
    Case("data-md5-missing", "§10", Severity.ERROR,
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.zip.md5": md5_of("z")},
         {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")}, id="zip.md5",
         extra=("devices ask for t.md5",)),
    # firmware
    Case("firmware-missing", "§9", Severity.ERROR, {"algop8186.conf": "prov.version.firmware = 5.5f\n"},
         {"algop8186.conf": "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.sfw": "fw"}),
    Case("firmware-missing", "§9", Severity.ERROR,
         {DEVICE: "prov.version.firmware = 5.5f\n", "algo-8186-5.4f.sfw": "fw"},
         {DEVICE: "prov.version.firmware = 5.5f\n", "fw/algo-8186-5.5f.sfw": "fw"}, id="device"),
    Case("firmware-product", "§9", Severity.INFO,
         {DEVICE: "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.sfw": "f",
          "algo-8180-5.5f.sfw": "f"},
         {DEVICE: GOOD, "algo-8186-5.5f.sfw": "f"}, extra=("8180, 8186",)),
    Case("firmware-md5-missing", "§9", Severity.ERROR,
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f"},
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f", "algo-8186-5.5f.md5": md5_of("f")}),
    # check and simulate agree: without prov.download.bundle = 1 devices ask for the .sfw only.
    Case("firmware-bundle", "§9", Severity.ERROR,
         {"algop8186.conf": "prov.version.firmware = 5.5f\n", "algo-8186-5.5f.fw": "f",
          "algo-8186-5.5f.md5": md5_of("f")},
         {"algop8186.conf": "prov.version.firmware = 5.5f\nprov.download.bundle = 1\n",
          "algo-8186-5.5f.fw": "f", "algo-8186-5.5f.md5": md5_of("f")}),
    # near-miss names by what a device could request (guide §5.4, §8)
    *[
        Case("name-near-miss", "§5.4", Severity.ERROR, {wrong: GOOD}, {"algop8188.conf": GOOD},
             id=f"{why}", extra=(right,))
        for wrong, right, why in [
            ("a1gop8188.conf", "algop8188.conf", "1-for-l"),
            ("alg0p8188.conf", "algop8188.conf", "0-for-o"),
            ("aIgop8188.conf", "algop8188.conf", "I-for-l"),
            ("algop8l88.conf", "algop8188.conf", "l-for-1"),
            ("algop8188_i.conf", "algop8188-i.conf", "underscore-i"),
            ("algop8188i.conf", "algop8188-i.conf", "bare-i"),
            (" algop8188.conf", "algop8188.conf", "leading-space"),
            ("algop8188.conf ", "algop8188.conf", "trailing-space"),
            ("algop8188 (1).conf", "algop8188.conf", "copy-1"),
            ("algop8188 - Copy.conf", "algop8188.conf", "copy"),
            ("algop8188.conf.bak", "algop8188.conf", "bak"),
            ("algop8188.conf~", "algop8188.conf", "tilde"),
        ]
    ],
    *[
        Case("firmware-missing", "§9", Severity.ERROR,
             {"algop8188.conf": "prov.version.firmware = 5.4f\n", there: "fw"},
             {"algop8188.conf": "prov.version.firmware = 5.4f\n", "algo-8188-5.4f.sfw": "fw"},
             id=f"near-{there}", extra=(there, "algo-8188-5.4f.sfw"))
        for there in ["algo-8188-5.4f.SFW", "Algo-8188-5.4f.sfw", "algo_8188_5.4f.sfw"]
    ],
    Case("firmware-value", "§9", Severity.ERROR,
         {"algop8188.conf": "prov.version.firmware = 5.4f.sfw\n", "algo-8188-5.4f.sfw": "fw"},
         {"algop8188.conf": "prov.version.firmware = 5.4f\n", "algo-8188-5.4f.sfw": "fw"},
         id="extension", extra=("5.4f",)),
    Case("firmware-value", "§9", Severity.ERROR,
         {"algop8188.conf": "prov.version.firmware = algo-8188-5.4f.sfw\n",
          "algo-8188-5.4f.sfw": "fw"},
         {"algop8188.conf": "prov.version.firmware = 5.4f\n", "algo-8188-5.4f.sfw": "fw"},
         id="file-name"),
    # the firmware download path (guide §2, §9, §10): laid out as devices request it is clean
    Case("firmware-missing", "§2, §9", Severity.ERROR,
         {"algop8188.conf": FWPATH + "prov.version.firmware = 5.4f\n", "algo-8188-5.4f.sfw": "f"},
         {"algop8188.conf": FWPATH + "prov.version.firmware = 5.4f\n",
          "firmware/algo-8188-5.4f.sfw": "f"},
         id="fwpath", extra=("firmware/algo-8188-5.4f.sfw", "move it to firmware/")),
    Case("data-missing", "§2, §10", Severity.ERROR,
         {DEVICE: FWPATH + "prov.data.tone = t.zip\n", "t.zip": "z", "t.md5": md5_of("z")},
         {DEVICE: FWPATH + "prov.data.tone = t.zip\n", "firmware/t.zip": "z",
          "firmware/t.md5": md5_of("z")},
         id="fwpath", extra=("firmware/t.zip",)),
    Case("firmware-missing", "§7.4, §15.1", Severity.ERROR,
         {"algop8186.conf": "prov.version.firmware = 5.5f\n"},
         {"algop8186.conf": HANDOFF + "prov.version.firmware = 5.5f\n"}, id="handed-off"),
    Case("data-missing", "§7.5, §15.1", Severity.ERROR, {DEVICE: "prov.data.tone = t.zip\n"},
         {DEVICE: HANDOFF + "prov.data.tone = t.zip\n"}, id="handed-off"),
    Case("prov-left-enabled", "§15.1, §15.2", Severity.INFO, {"algop8186.conf": GOOD},
         {"algop8186.conf": HANDOFF}, id="handed-off"),
    Case("config-path", "§2, §5.4", Severity.WARNING, {DEVICE: "prov.download.cfgpath = algo\n"},
         {DEVICE: "prov.download.cfgpath = algo\n", f"algo/{DEVICE}": "x = 1\n"}),
    # data files are per product (domain.md §3; guide §12-§14)
    Case("data-ignored", "§12", Severity.INFO, {"algop8186.conf": "prov.data.sched = s.db\n"},
         {"algop8301.conf": "prov.data.sched = s.db\n", "s.db": "d", "s.md5": md5_of("d")}),
    Case("data-ignored", "§13", Severity.INFO, {"algop8186.conf": "prov.data.image = i.zip\n"},
         {"algop8410.conf": "prov.data.image = i.zip\n", "i.zip": "d", "i.md5": md5_of("d")},
         id="image"),
    Case("data-ignored", "§14", Severity.INFO, {"algop8186.conf": "prov.prod.dir = d.txt\n"},
         {"algop8036.conf": "prov.prod.dir = d.txt\n", "d.txt": "d", "d.md5": md5_of("d")},
         id="directory"),
    # where the config sends the device next (guide §2, §4, §15)
    Case("method-switch-dhcp", "§7.3, domain §4", Severity.ERROR,
         {DEVICE: "prov.download.method = ftp\n"},
         {DEVICE: "prov.download.method = ftp\nprov.server.method = static\n"
                  "prov.server.static = 10.0.0.5\n"}),
    Case("method-switch-dhcp", "§7.3", Severity.ERROR, {DEVICE: "prov.download.method = http\n"},
         {DEVICE: "prov.download.method = http\n"}, quiet_context=CheckContext(protocol="http"),
         id="folder-for-http"),
    Case("static-server-kept", "§15.2", Severity.INFO,
         {DEVICE: "prov.server.method = static\nprov.server.static = 10.0.0.5\n"},
         {DEVICE: "prov.use = 0\nprov.server.method = static\nprov.server.static = 10.0.0.5\n"}),
    Case("server-method-unknown", "§4.1", Severity.INFO,
         {DEVICE: "prov.server.method = option160\n"}, {DEVICE: "prov.server.method = option66\n"}),
    # keys and values (guide §2, §5.3)
    Case("key-case", "§5.3", Severity.WARNING, {DEVICE: "PROV.USE = 0\n"}, {DEVICE: "prov.use = 0\n"},
         extra=("prov.use",)),
    Case("key-unknown", "§5.3", Severity.WARNING, {DEVICE: "prov.version.firmwre = 5.4f\n"},
         {DEVICE: GOOD}, extra=("did you mean prov.version.firmware?",)),
    Case("key-unknown", "§5.3", Severity.INFO, {DEVICE: "prov.frobnicate = 1\n"}, {DEVICE: GOOD},
         id="far"),
    Case("key-unknown", "§5.3", Severity.INFO, {DEVICE: "my.own.a = 1\nmy.own.b = 2\n"},
         {DEVICE: GOOD}, id="far-grouped", extra=("2 key(s) not among the known keys",)),
    *[
        Case("value-invalid", "§2", Severity.WARNING, {DEVICE: f"{key} = {bad}\n"},
             {DEVICE: f"{key} = {good}\n"}, id=f"{key}-{bad}")
        for key, bad, good in [
            ("prov.sync.time", "2:30", "02:30:00"),
            ("prov.sync.time", "25:00:00", "23:59:59"),
            ("prov.sync.endtime", "0300", "03:00:00"),
            ("prov.sync.wdays", "1,2,8,", "1,2,3,4,5,"),
            ("prov.sync.wdays", "mon,tue", "6,7"),
        ]
    ],
    Case("folder-no-configs", "§5.4", Severity.INFO, {"readme.txt": "notes"}, {DEVICE: GOOD}),
]  # fmt: skip


def build(root: Path, files: Files, *, md5s: bool) -> tuple[Path, Path | None]:
    """Write ``files`` under ``root`` (``fw/`` ones in a firmware folder, ``x/`` ones in a
    sub-folder of the config folder); return the folders."""
    config_dir, firmware_dir = root / "config", root / "firmware"
    config_dir.mkdir()
    separate = any(name.startswith("fw/") for name in files)
    if separate:
        firmware_dir.mkdir()
    for name, content in files.items():
        folder, bare = (firmware_dir, name[3:]) if name.startswith("fw/") else (config_dir, name)
        if "/" in bare:
            sub, bare = bare.rsplit("/", 1)
            folder = folder / sub
            folder.mkdir(parents=True, exist_ok=True)
        data = content if isinstance(content, bytes) else content.encode()
        (folder / bare).write_bytes(data)
        if md5s and names.classify(bare).is_config:
            (folder / md5.md5_name(bare)).write_bytes(md5.format_md5(md5.md5_hex(data)))
    return config_dir, firmware_dir if separate else None


def run(
    root: Path, files: Files, *, md5s: bool = True, context: CheckContext = FOLDER_ON_ITS_OWN
) -> list[Finding]:
    return check_folder(*build(root, files, md5s=md5s), context=context)


def case_id(case: Case) -> str:
    return f"{case.code}-{case.id}" if case.id else case.code


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_fires(case: Case, tmp_path: Path) -> None:
    findings = run(tmp_path, case.fire, md5s=case.md5s, context=case.context)
    hits = [f for f in findings if f.code == case.code]
    assert hits, [f"{f.code}: {f.message}" for f in findings]
    assert {f.severity for f in hits} == {case.severity}
    assert all(f.message and f.fix and f.file for f in hits)
    for words in case.extra:
        assert any(words in f.message for f in hits)


@pytest.mark.parametrize("case", CASES, ids=case_id)
def test_rule_stays_quiet(case: Case, tmp_path: Path) -> None:
    context = case.quiet_context or case.context
    findings = run(tmp_path, case.quiet, md5s=case.quiet_md5s, context=context)
    assert [f for f in findings if f.code == case.code] == []


def test_every_documented_code_has_a_case() -> None:
    documented = set(re.findall(r"``([a-z0-9]+(?:-[a-z0-9]+)+)``", checks.__doc__ or ""))
    assert len(documented) > 30
    covered = {case.code for case in CASES} | {case.code for case in DOCUMENT_CASES}
    assert documented == covered | {"file-unreadable"}


def test_every_case_names_its_section() -> None:
    assert all(re.fullmatch(r"(domain )?§[\d.]+(, (domain )?§[\d.]+)*", c.guide) for c in CASES)
    assert all(
        re.fullmatch(r"(domain )?§[\d.]+(, (domain )?§[\d.]+)*", c.guide) for c in DOCUMENT_CASES
    )


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


@dataclass(frozen=True)
class DocumentCase:
    """A document rule: text that makes it fire and text that keeps it quiet, in ``context``."""

    code: str
    guide: str
    severity: Severity
    fire: str
    quiet: str
    context: CheckContext = STAGE1
    name: str = "algop8186.conf"


_STAGE1 = "prov.server.method = static\nprov.server.static = pbx.example.net\n"
DOCUMENT_CASES = [
    DocumentCase("stage1-no-handoff", "§15.1", Severity.WARNING, "prov.download.method = tftp\n",
                 _STAGE1),
    DocumentCase("stage1-user-no-password", "§2, domain §8", Severity.WARNING,
                 _STAGE1 + "prov.auth.user = bench\nprov.auth.pwd = \n",
                 _STAGE1 + f"prov.auth.user = bench\nprov.auth.pwd = {SECRET}\n"),
    DocumentCase("stage1-cert-method", "§2", Severity.WARNING,
                 _STAGE1 + "prov.download.method = ftp\nprov.download.cert = 1\n",
                 _STAGE1 + "prov.download.method = https\nprov.download.cert = 1\n"),
    DocumentCase("stage1-static-ip", "§15.1, domain §8", Severity.WARNING,
                 _STAGE1 + "net.dhcp.use = 0\nnet.ip = 10.0.0.9\n",
                 _STAGE1 + "net.dhcp.use = 1\nnet.ip = \n"),
    DocumentCase("template-placeholder", "domain §8", Severity.ERROR,
                 _STAGE1 + "sip.proxy = {$domain}\n", _STAGE1),
]  # fmt: skip


@pytest.mark.parametrize("case", DOCUMENT_CASES, ids=lambda c: c.code)
def test_document_rule_fires_and_stays_quiet(case: DocumentCase) -> None:
    fired = check_document(case.name, ConfigDocument.from_text(case.fire), case.context)
    hits = [f for f in fired if f.code == case.code]
    assert {f.severity for f in hits} == {case.severity}, [f.code for f in fired]
    quiet = check_document(case.name, ConfigDocument.from_text(case.quiet), case.context)
    assert [f for f in quiet if f.code == case.code] == []


def test_stage1_rules_replace_the_generic_file_rules() -> None:
    # A stage-1 file must carry the stage-2 password and hands devices to another server.
    text = _STAGE1 + f"prov.download.method = ftp\nprov.auth.user = b\nprov.auth.pwd = {SECRET}\n"
    doc = ConfigDocument.from_text(text)
    as_folder = {f.code for f in check_document("algop8186.conf", doc)}
    as_stage1 = {f.code for f in check_document("algop8186.conf", doc, STAGE1)}
    assert {"secret-in-generic", "static-server-kept"} <= as_folder
    assert "prov-left-enabled" not in as_folder  # devices never come back to this server
    assert as_stage1 & {"secret-in-generic", "prov-left-enabled", "static-server-kept"} == set()
    assert "method-switch-dhcp" not in as_stage1  # a static server: a real hand-off


def test_tftp_stage2_server_is_allowed_in_stage1() -> None:
    doc = ConfigDocument.from_text(_STAGE1 + "prov.download.method = tftp\n")
    assert check_document("algop8186.conf", doc, STAGE1) == []


def test_data_keys_of_other_products_are_not_errors(tmp_path: Path) -> None:
    text = "prov.data.sched = s.db\nprov.data.image = i.zip\nprov.prod.dir = d.txt\n"
    findings = run(tmp_path, {"algop8186.conf": text, "algop8186.md5": md5_of(text)}, md5s=False)
    assert [f for f in findings if f.severity is not Severity.INFO] == []
    assert [f.code for f in findings if f.code.startswith("data")] == ["data-ignored"] * 3


def test_firmware_path_layout_is_clean(tmp_path: Path) -> None:
    text = "prov.use = 1\nprov.download.fwpath = firmware\nprov.version.firmware = 5.4f\n"
    files: Files = {"algop8188.conf": text, "firmware/algo-8188-5.4f.sfw": "fw"}
    codes = [f.code for f in run(tmp_path, files)]
    assert codes == ["prov-left-enabled"]  # a note on every generic file; nothing about paths


def test_context_labels() -> None:
    assert FOLDER_ON_ITS_OWN.label == "as a folder on its own"
    assert BENCH.label == "as this bench serves it"
    assert STAGE1.label == "as a stage-1 file"
    with pytest.raises(ValueError, match="unknown protocol"):
        CheckContext(protocol="gopher")


def test_bench_answers_data_md5s_too(tmp_path: Path) -> None:
    files: Files = {DEVICE: "prov.data.tone = t.zip\n", "t.zip": "z"}
    (tmp_path / "a").mkdir()
    (tmp_path / "b").mkdir()
    [alone] = [f for f in run(tmp_path / "a", files) if f.code == "data-md5-missing"]
    [bench] = [f for f in run(tmp_path / "b", files, context=BENCH) if f.code == "data-md5-missing"]
    assert (alone.severity, bench.severity) == (Severity.ERROR, Severity.INFO)
    assert alone.md5_for == bench.md5_for == "t.zip"


def test_bench_files_served_from_memory_count_as_the_bench_serves_them(tmp_path: Path) -> None:
    from algodesk.core.checks import BenchChecker

    # Only the stage-1 md5 is on disk; the bench serves algop8186.conf and its md5 from memory.
    (tmp_path / "algop8186.md5").write_text(md5_of("stale"))
    check = BenchChecker(auto_md5=True)
    alone = {f.code for f in check(tmp_path)}
    assert {"md5-orphan", "folder-no-configs"} <= alone
    served = check(tmp_path, from_memory=frozenset({"algop8186.conf", "algop8186.md5"}))
    assert served == []
