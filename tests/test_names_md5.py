"""File names, MAC spellings, the product table, and md5 files."""

from __future__ import annotations

from pathlib import Path

import pytest

from algodesk.core import md5, names
from algodesk.core.names import FileKind


@pytest.mark.parametrize(
    "spelling",
    ["00:22:ee:01:02:03", "00-22-EE-01-02-03", "0022.ee01.0203", "0022EE010203", "0:22:ee:1:2:3"],
)
def test_mac_spellings_normalise(spelling: str) -> None:
    assert names.normalize_mac(spelling) == "0022EE010203"


@pytest.mark.parametrize(
    "bad", ["", "0022EE01020", "0022EE01020G", "00:22:ee:01:02", "00:22-ee:01:02:03"]
)
def test_bad_macs_are_refused(bad: str) -> None:
    with pytest.raises(names.MacError):
        names.normalize_mac(bad)


def test_format_and_oui() -> None:
    assert names.format_mac("0022ee010203") == "00:22:EE:01:02:03"
    assert names.is_algo_mac("00:22:ee:aa:bb:cc")
    assert not names.is_algo_mac("00:11:22:33:44:55")
    assert not names.is_algo_mac("garbage")


@pytest.mark.parametrize(
    ("name", "kind", "attrs"),
    [
        ("algop8188.conf", FileKind.GENERIC, {"product": "8188"}),
        ("algop8190S.conf", FileKind.GENERIC, {"product": "8190S"}),
        ("algom0022EE010203.conf", FileKind.DEVICE, {"mac": "0022EE010203"}),
        ("algom0022EE010203-i.conf", FileKind.INCREMENTAL, {"mac": "0022EE010203"}),
        ("algop8188-i.conf", FileKind.INCREMENTAL, {"product": "8188"}),
        ("algo-8180-5.4f.sfw", FileKind.FIRMWARE, {"product": "8180", "version": "5.4f"}),
        ("algo-8180-1.6.4.fw", FileKind.FIRMWARE, {"version": "1.6.4"}),
        ("tones.zip", FileKind.DATA, {}),
        ("sched.db", FileKind.DATA, {}),
        ("algom0022ee010203.conf", FileKind.OTHER, {}),
        ("algop8188.cfg", FileKind.OTHER, {}),
    ],
)
def test_classify(name: str, kind: FileKind, attrs: dict[str, str]) -> None:
    result = names.classify(name)
    assert result.kind is kind
    for attr, value in attrs.items():
        assert getattr(result, attr) == value


def test_md5_names_point_at_their_targets() -> None:
    for md5_file, target in [
        ("algop8188.md5", "algop8188.conf"),
        ("algop8188-i.md5", "algop8188-i.conf"),
        ("algom0022EE010203.conf.md5", "algom0022EE010203.conf"),
        ("tones.md5", "tones"),  # a data file: its extension is unknown
    ]:
        result = names.classify(md5_file)
        assert result.kind is FileKind.MD5
        assert result.target is not None and result.target.name == target


def test_builders_and_search_order() -> None:
    assert names.device_name("00-22-ee-01-02-03") == "algom0022EE010203.conf"
    assert names.generic_name("8186", incremental=True) == "algop8186-i.conf"
    assert names.firmware_name("8180", "5.4f") == "algo-8180-5.4f.sfw"
    assert names.config_search_order("0022EE010203", "8186", partial=False) == [
        "algom0022EE010203.conf",
        "algop8186.conf",
    ]
    assert names.config_search_order("0022EE010203", "8186", partial=True) == [
        "algom0022EE010203.conf",
        "algom0022EE010203-i.conf",
        "algop8186.conf",
        "algop8186-i.conf",
    ]


def test_product_table_matches_the_domain() -> None:
    for product in [
        "8180",
        "8186",
        "8188",
        "8189",
        "8198",
        "8196",
        "8190",
        "8190S",
        "8028",
        "8201",
        "8039",
        "8036",
        "8063",
        "8061",
        "8301",
        "8373",
        "8128",
        "8138",
        "8410",
        "8420",
    ]:
        assert names.is_known_product(product)
        assert product in names.PRODUCT_FAMILIES
    assert not names.is_known_product("9999")


def test_md5_format_and_parse() -> None:
    digest = md5.md5_hex(b"hello")
    assert md5.format_md5(digest) == f"{digest}\n".encode()
    assert md5.format_md5(digest, "f.conf", md5sum_style=True) == f"{digest}  f.conf\n".encode()
    for text in [
        digest,
        digest.upper(),
        f"{digest}\r\n",
        f"{digest}  f.conf\n",
        f"  {digest} \t\n",
    ]:
        assert md5.parse_md5(text.encode()) == digest
        assert md5.verify(text.encode(), b"hello")
    assert not md5.verify(digest.encode(), b"other")
    assert md5.parse_md5(b"not a hash\n") is None
    assert md5.parse_md5(b"") is None


def test_write_md5_beside_the_file(tmp_path: Path) -> None:
    target = tmp_path / "algop8186.conf"
    target.write_bytes(b"prov.use = 1\n")
    written = md5.write_md5(target)
    assert written.name == "algop8186.md5"
    assert written.read_bytes() == md5.md5_hex(b"prov.use = 1\n").encode() + b"\n"
    assert md5.md5_file(target) == md5.md5_hex(b"prov.use = 1\n")
    assert not list(tmp_path.glob("*.tmp"))


@pytest.mark.parametrize(
    ("name", "product"),
    [
        ("algop8196.conf", "8196"),
        ("fpbx-8196-2025__algom_mac_.conf", "8196"),
        ("algo-8180-5.4f.sfw", "8180"),
        ("backup-2025-01-02.conf", ""),
        ("algom0022EE010203.conf", ""),
    ],
)
def test_the_product_a_file_name_holds(name: str, product: str) -> None:
    assert names.product_in_name(name) == product


def test_product_names_are_the_guides() -> None:
    # guide §1 (domain.md §1 had other names for these three)
    assert names.PRODUCTS["8196"] == "IP PoE+ Horn Speaker"
    assert names.PRODUCTS["8039"] == "IP Video Mullion Intercom"
    assert names.PRODUCTS["8190S"] == "IP Speaker – Clock & Visual Alerter"


def test_md5_forms_are_named() -> None:
    digest = md5.md5_hex(b"hello")
    forms = {
        f"{digest}\n".encode(): md5.Md5Form.BARE,
        f"{digest}  f.conf\n".encode(): md5.Md5Form.MD5SUM,
        f"MD5 (f.conf) = {digest}\n".encode(): md5.Md5Form.BSD,
        f"MD5 hash of f.conf:\r\n{digest}\r\nCertUtil: -hashfile command completed "
        "successfully.\r\n".encode(): md5.Md5Form.CERTUTIL,
        b"\xef\xbb\xbf" + digest.encode(): md5.Md5Form.BOM,
        f"{digest}\r\n".encode("utf-16"): md5.Md5Form.UTF16,
        b"save the md5": md5.Md5Form.NONE,
    }
    for data, form in forms.items():
        reading = md5.read_md5(data)
        assert reading.form is form, data
        assert reading.digest == (None if form is md5.Md5Form.NONE else digest)
        # only forms that start with the hash are taken as the hash (guide §5.5)
        assert md5.verify(data, b"hello") is form.starts_with_hash


def test_write_md5_in_stays_inside_the_folder(tmp_path: Path) -> None:
    (tmp_path / "firmware").mkdir()
    (tmp_path / "firmware" / "t.zip").write_bytes(b"tones")
    written = md5.write_md5_in(tmp_path, "firmware/t.zip")
    assert written == (tmp_path / "firmware" / "t.md5").resolve()
    assert written.read_bytes() == md5.md5_hex(b"tones").encode() + b"\n"
    (tmp_path.parent / "outside.conf").write_bytes(b"x")
    with pytest.raises(ValueError, match="not a file in"):
        md5.write_md5_in(tmp_path, "../outside.conf")


def test_a_conf_md5_is_described_as_never_asked_for() -> None:
    described = names.describe(names.classify("algop8189.conf.md5"))
    assert "never ask" in described and "algop8189.md5" in described
    assert names.describe(names.classify("algop8189.md5")) == "md5 of algop8189.conf"
