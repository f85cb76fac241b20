"""The parameter catalog: coverage of the known keys, types, secrets, masking, validation, search."""

from __future__ import annotations

import importlib.util
from pathlib import Path
from types import ModuleType

import pytest

from algodesk.core import catalog, resources
from algodesk.core.catalog import (
    MASK,
    Catalog,
    CatalogError,
    ParamInfo,
    ParamType,
    is_secret,
    mask,
    validate,
)

ROOT = Path(__file__).resolve().parents[1]
OBSERVED = Path(__file__).parent / "data" / "algo-param-keys.tsv"
DOCUMENTED = [  # domain.md §6
    "prov.use", "prov.server.method", "prov.server.static", "prov.download.method",
    "prov.download.cfgpath", "prov.download.fwpath", "prov.auth.user", "prov.auth.pwd",
    "prov.download.cert", "prov.i", "prov.sync.frequency", "prov.sync.time", "prov.sync.endtime",
    "prov.sync.wdays", "prov.version.firmware", "prov.ztp.use", "prov.data.tone",
    "prov.data.cacert", "prov.data.sched", "prov.data.display", "prov.data.icon",
    "prov.data.image", "prov.prod.dir", "prov.download.bundle", "sip.proxy", "sip.u1.user",
    "sip.u1.auth", "sip.u1.pwd", "sip.u1.dname", "sip.interop.checksync", "log.method",
    "log.server", "log.server2", "log.server3", "log.server4", "log.protocol", "log.level",
    "admin.pwd", "api.admin.pwd",
]  # fmt: skip


def observed_keys() -> list[str]:
    lines = OBSERVED.read_text(encoding="utf-8").splitlines()
    return [line.split("\t")[0] for line in lines if line and not line.startswith("#")]


def load_builder() -> ModuleType:
    spec = importlib.util.spec_from_file_location(
        "build_catalog", ROOT / "packaging" / "build_catalog.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.fixture(scope="module")
def cat() -> Catalog:
    return Catalog.load()


def test_every_observed_key_is_in_the_catalog(cat: Catalog) -> None:
    keys = observed_keys()
    assert len(keys) == 779
    assert [key for key in keys if key not in cat] == []


def test_every_documented_key_is_in_the_catalog(cat: Catalog) -> None:
    assert [key for key in DOCUMENTED if key not in cat] == []
    assert len(cat) == len(set(observed_keys()) | set(DOCUMENTED))


def test_catalog_file_is_what_the_builder_makes() -> None:
    builder = load_builder()
    built = builder.build(builder.read_observed()).to_tsv(builder.HEADER)
    assert (ROOT / "resources" / "catalog.tsv").read_text(encoding="utf-8") == built


@pytest.mark.parametrize(
    ("key", "kind", "choices"),
    [
        ("prov.use", ParamType.BOOL, ()),
        ("prov.i", ParamType.BOOL, ()),
        ("ann.use3", ParamType.BOOL, ()),
        ("net.vlan.id", ParamType.INTEGER, ()),
        ("audio.output.level", ParamType.INTEGER, ()),
        ("prov.download.method", ParamType.ENUM, ("tftp", "ftp", "http", "https")),
        ("prov.server.method", ParamType.ENUM, ("option66", "static", "auto")),
        ("sip.interop.checksync", ParamType.ENUM, ("always-reboot", "conditional-reboot")),
        ("audio.page.vol", ParamType.LEVEL, ()),
        ("audio.vox.thresh", ParamType.LEVEL, ()),
        ("prov.sync.wdays", ParamType.LIST, ()),
        ("mcast.tx.zones", ParamType.LIST, ()),
        ("prov.data.tone", ParamType.FILE, ()),
        ("prov.prod.dir", ParamType.FILE, ()),
        ("admin.pwd", ParamType.SECRET, ()),
        ("sip.u1.pwd", ParamType.SECRET, ()),
        ("sip.proxy", ParamType.TEXT, ()),
        ("log.method", ParamType.TEXT, ()),
    ],
)
def test_types_follow_documentation_and_observed_values(
    cat: Catalog, key: str, kind: ParamType, choices: tuple[str, ...]
) -> None:
    info = cat.get(key)
    assert info is not None
    assert (info.type, info.choices) == (kind, choices)
    assert info.group == key.split(".")[0]


def test_observed_values_are_kept_and_artefacts_dropped(cat: Catalog) -> None:
    page_vol = cat.get("audio.page.vol")
    watchdog = cat.get("watcher.watchdog.use")
    api_pwd = cat.get("api.admin.pwd")
    assert page_vol is not None and watchdog is not None and api_pwd is not None
    assert page_vol.observed == ("", "-18dB", "0dB", "4")
    assert watchdog.observed == ("0",)  # the glued "0admin.devname = ..." lines are gone
    assert api_pwd.observed == ("algo",)  # " algo" read as a device reads it


def test_descriptions_given_where_known_and_empty_otherwise(cat: Catalog) -> None:
    described = {key: cat.get(key) for key in ("prov.use", "sip.u1.pwd", "mcast.zone7")}
    assert all(info is not None and info.description for info in described.values())
    unknown = cat.get("ann.ctone4")
    assert unknown is not None and unknown.description == ""


def test_unknown_key_is_none(cat: Catalog) -> None:
    assert cat.get("no.such.key") is None
    assert "no.such.key" not in cat


def test_keys_are_sorted_and_groups_listed(cat: Catalog) -> None:
    keys = cat.keys()
    assert keys == sorted(keys)
    assert {"prov", "sip", "audio", "net", "mcast", "log", "admin"} <= set(cat.groups())


@pytest.mark.parametrize(
    "key",
    [
        "admin.pwd", "prov.auth.pwd", "api.admin.pwd", "sip.u1.pwd", "sip.u12.pwd",
        "sip.alert3.pwd", "system.u1.pwd", "cancel.pwd", "some.new.pass", "x.y.password",
        "net.srv.snmp.authkey", "net.srv.snmp.privkey", "net.srv.snmp.community",
        "not.in.catalog.pwd", "sip.u1.authpwd", "ADMIN.PWD",
    ],
)  # fmt: skip
def test_secret_keys(key: str) -> None:
    assert is_secret(key)


@pytest.mark.parametrize(
    "key",
    [
        "prov.auth.user", "sip.u1.user", "sip.u1.auth", "admin.keyui", "prov.download.cert",
        "admin.bypass", "password.hint", "log.server", "sip.proxy", "prov.use",
    ],
)  # fmt: skip
def test_non_secret_keys(key: str) -> None:
    assert not is_secret(key)


def test_secret_type_and_is_secret_agree(cat: Catalog) -> None:
    secret_typed = {info.key for info in cat if info.type is ParamType.SECRET}
    assert secret_typed == set(filter(is_secret, cat.keys()))


def test_mask_hides_content_and_length() -> None:
    assert mask("algo") == MASK
    assert mask("a much longer secret value") == MASK
    assert "algo" not in mask("algo")
    assert mask("") == ""


@pytest.mark.parametrize(
    ("key", "value"),
    [
        ("prov.use", "1"),
        ("prov.use", "0"),
        ("net.vlan.id", "42"),
        ("prov.download.method", "tftp"),
        ("audio.page.vol", "-18dB"),
        ("audio.page.vol", "4"),  # older firmware: a level number
        ("audio.page.vol", ""),  # seen empty
        ("prov.sync.wdays", "1,2,3,4,5,"),
        ("prov.sync.wdays", "1,7"),
        # guide §2: daily or chosen weekdays, the latter's value unpublished: never refused
        ("prov.sync.frequency", "daily"),
        ("prov.sync.frequency", "weekly"),
        ("prov.sync.frequency", "weekdays"),
        ("prov.data.tone", "tones.zip"),
        ("prov.data.tone", ""),
        ("sip.proxy", "anything # at all"),
        ("admin.pwd", "not 0 or 1 and that is fine"),
        ("no.such.key", "whatever"),
    ],
)
def test_values_that_fit(key: str, value: str) -> None:
    assert validate(key, value) is None


@pytest.mark.parametrize(
    ("key", "value", "words"),
    [
        ("prov.use", "yes", "0 or 1"),
        ("prov.use", "", "0 or 1"),
        ("prov.use", "2", "0 or 1"),
        ("net.vlan.id", "ten", "whole number"),
        ("net.vlan.id", "4.5", "whole number"),
        ("prov.download.method", "sftp", "tftp, ftp, http, https"),
        ("audio.mic.vol", "loud", "dB"),
        ("prov.sync.wdays", "mon,tue,", "weekdays 1-7"),
        ("prov.sync.wdays", "1,1,", "twice"),
        ("prov.sync.time", "2:30", "HH:mm:ss"),
        ("prov.data.tone", "tones/t.zip", "bare file name"),
        ("prov.data.cacert", "C:\\certs\\ca.zip", "bare file name"),
    ],
)
def test_values_that_do_not_fit(key: str, value: str, words: str) -> None:
    problem = validate(key, value)
    assert problem is not None and words in problem


def test_problems_reports_only_misfits_and_remembers_nothing_secret() -> None:
    fresh = Catalog(Catalog.load())
    values = {"prov.use": "yes", "net.vlan.id": "5", "admin.pwd": "hunter2", "sip.proxy": "x"}
    assert set(fresh.problems(values)) == {"prov.use"}
    assert fresh.problems(values) == fresh.problems(values)  # the memo changes no answer
    assert all("hunter2" not in pair for pair in fresh._fitting)


def test_similar_is_the_one_did_you_mean_and_stays_in_the_keys_group() -> None:
    # `algodesk set` (looser) and the folder check's key-unknown (closer) both ask this.
    small = Catalog(
        ParamInfo(key, key.partition(".")[0], ParamType.TEXT)
        for key in ("sip.proxy", "sip.proxx", "sipp.proxy", "prov.use")
    )
    assert small.similar("SIP.PROXY") == ["sip.proxy", "sip.proxx"]  # group "sip" only
    assert small.similar("sipp.proxz", limit=1) == ["sipp.proxy"]
    assert small.similar("sipx.proxy") == ["sip.proxy", "sipp.proxy", "sip.proxx"]  # no group
    assert small.similar("prov.usee", cutoff=0.95) == []
    found = small.similar("sip.proxy")
    found.append("changed by the caller")
    assert small.similar("sip.proxy") == ["sip.proxy", "sip.proxx"]  # the memo is not shared


def test_search_ranks_exact_key_then_prefix_then_description(cat: Catalog) -> None:
    assert cat.search("prov.use")[0].key == "prov.use"
    firmware = [info.key for info in cat.search("firmware")]
    assert firmware[0] == "prov.version.firmware"
    assert "prov.download.fwpath" in firmware  # described as the firmware path
    syslog = [info.key for info in cat.search("Syslog SERVER")]
    assert set(syslog) >= {"log.server", "log.server2", "log.server3", "log.server4"}
    assert cat.search("") == []
    assert cat.search("no-such-word-anywhere") == []


def test_load_is_cached() -> None:
    assert Catalog.load() is Catalog.load()


def test_tsv_round_trip(cat: Catalog) -> None:
    again = Catalog.from_tsv(cat.to_tsv("a header\nof two lines"))
    assert list(again) == list(cat)


def test_malformed_catalogs_are_refused(tmp_path: Path) -> None:
    with pytest.raises(CatalogError, match="columns"):
        Catalog.from_tsv("prov.use\tprov\tbool\n")
    with pytest.raises(CatalogError, match="unknown type"):
        Catalog.from_tsv("prov.use\tprov\tboolean\t\t\t\n")
    with pytest.raises(CatalogError, match="cannot read"):
        Catalog.load(tmp_path / "missing.tsv")
    with pytest.raises(CatalogError, match="value holds"):
        Catalog([ParamInfo("a.b", "a", ParamType.TEXT, observed=("x|y",))]).to_tsv()


def test_catalog_is_found_in_the_wheel_layout_first(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    wheel, checkout = tmp_path / "_resources", tmp_path / "resources"
    monkeypatch.setattr(resources, "SEARCH_PATH", (wheel, checkout))
    with pytest.raises(CatalogError, match="not found"):
        catalog.catalog_path()
    checkout.mkdir()
    (checkout / catalog.CATALOG_FILE).write_text("")
    assert catalog.catalog_path() == checkout / catalog.CATALOG_FILE
    wheel.mkdir()
    (wheel / catalog.CATALOG_FILE).write_text("")
    assert catalog.catalog_path() == wheel / catalog.CATALOG_FILE


def test_source_checkout_finds_the_real_file() -> None:
    assert catalog.catalog_path() == ROOT / "resources" / catalog.CATALOG_FILE
