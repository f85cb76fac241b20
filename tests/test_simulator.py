"""The device algorithm model and the simulator (domain.md §4)."""

from __future__ import annotations

import hashlib
import itertools
from pathlib import Path

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from algodesk.core import device
from algodesk.core.device import Stage, Step
from algodesk.core.simulator import (
    DeviceState,
    FetchError,
    SimulationResult,
    StepKind,
    device_macs,
    folder_fetcher,
    simulate,
)

MAC = "0022EE010203"
DEVICE = f"algom{MAC}.conf"
DEVICE_I = f"algom{MAC}-i.conf"
GENERIC = "algop8188.conf"
GENERIC_I = "algop8188-i.conf"


def md5(data: bytes) -> bytes:
    return hashlib.md5(data).hexdigest().encode() + b"\n"


def with_md5(files: dict[str, bytes], name: str, data: bytes) -> dict[str, bytes]:
    """Add ``name`` and its md5 file to ``files``."""
    files[name] = data
    files[name.rsplit(".", 1)[0] + ".md5"] = md5(data)
    return files


def fetcher(files: dict[str, bytes]):
    return files.get


def fresh(**kwargs: object) -> DeviceState:
    return DeviceState(mac=MAC, product="8188", **kwargs)  # type: ignore[arg-type]


def requested(result: SimulationResult) -> list[str]:
    return [s.file for s in result.steps if s.kind is StepKind.REQUEST]


def decisions(result: SimulationResult) -> list[str]:
    return [s.message for s in result.steps if s.kind is StepKind.DECISION]


def reboots(result: SimulationResult) -> int:
    return sum(1 for s in result.steps if s.kind is StepKind.REBOOT)


# --- the model ----------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("name", "found", "stage"),
    [
        (DEVICE, False, Stage.LOOKING_FOR_CONFIG),
        (GENERIC, True, Stage.CONFIG_SERVED),
        ("algop8188.md5", True, Stage.MD5_SERVED),
        ("algop8188.conf.md5", False, Stage.CONFIG_SERVED),
        ("algo-8188-5.4f.sfw", True, Stage.FIRMWARE),
        ("algo-8188-5.4f.md5", True, Stage.FIRMWARE),
        ("tones.md5", True, Stage.DATA),
        ("tones.zip", True, Stage.DATA),
        ("favicon.ico", False, None),
    ],
)
def test_stage_for_request(name: str, found: bool, stage: Stage | None) -> None:
    assert device.stage_for_request(name, found=found) == stage


def test_request_steps_tell_firmware_md5_from_data_md5() -> None:
    assert device.request_step("algo-8180-5.4f.md5") is Step.FIRMWARE_MD5
    assert device.request_step("bells.md5") is Step.DATA_MD5
    assert device.request_step(f"algom{MAC}-i.md5") is Step.CONFIG_MD5


def test_incremental_merge_keeps_other_parameters_and_is_idempotent() -> None:
    applied = b"a = 1\nb = 2\n"
    merged = device.apply_config(applied, b"b = 3\nc = 4\n", incremental=True)
    assert device.config_values(merged) == {"a": "1", "b": "3", "c": "4"}
    assert device.apply_config(merged, b"b = 3\n", incremental=True) == merged
    assert device.apply_config(applied, b"x = 1\n", incremental=False) == b"x = 1\n"


def test_server_location_masks_credentials_and_ignores_dhcp_variants() -> None:
    static = {
        "prov.server.method": "static",
        "prov.server.static": "ftp://tech:s3cret@10.0.0.5",
        "prov.download.cfgpath": "/algo/",
    }
    assert str(device.server_location(static)) == "ftp://tech:****@10.0.0.5/algo"
    assert device.mask_credentials("u:p@ss@host/x") == "u:****@host/x"
    assert device.mask_credentials("192.168.1.1:8080/files") == "192.168.1.1:8080/files"
    assert device.mask_credentials("user@host") == "user@host"
    assert not device.server_changed({}, {"prov.server.method": "option66"})
    assert device.server_changed({}, {"prov.download.method": "http"})


def test_data_files_follow_the_product() -> None:
    values = {"prov.data.tone": "t.zip", "prov.data.sched": "s.db", "prov.prod.dir": "d.txt"}
    assert device.data_files(values, "8301") == [
        ("prov.data.tone", "t.zip"),
        ("prov.data.sched", "s.db"),
    ]
    assert device.data_files(values, "8036") == [
        ("prov.data.tone", "t.zip"),
        ("prov.prod.dir", "d.txt"),
    ]


# --- config search ------------------------------------------------------------------------------


def test_device_file_wins_over_generic() -> None:
    files = with_md5({}, DEVICE, b"who = device\n")
    with_md5(files, GENERIC, b"who = generic\n")
    result = simulate(fresh(), fetcher(files))
    assert result.steady
    assert result.final_state.applied_config == b"who = device\n"
    assert GENERIC not in requested(result)
    assert result.boots == 2 and reboots(result) == 1


def test_falls_through_to_generic_when_no_device_file() -> None:
    files = with_md5({}, GENERIC, b"who = generic\n")
    result = simulate(fresh(), fetcher(files))
    assert requested(result)[:2] == [DEVICE, GENERIC]
    assert [s.describe() for s in result.steps[:2]] == [
        f"asks for {DEVICE}",
        f"{DEVICE}: not found",
    ]
    assert result.final_state.applied_config == b"who = generic\n"


def test_incremental_ignored_when_partial_is_off() -> None:
    files = with_md5({}, DEVICE_I, b"sip.proxy = new\n")
    with_md5(files, GENERIC, b"sip.proxy = generic\n")
    result = simulate(fresh(partial=False), fetcher(files))
    assert DEVICE_I not in requested(result)
    assert result.final_state.applied_config == b"sip.proxy = generic\n"


def test_incremental_used_when_partial_is_on() -> None:
    files = with_md5({}, DEVICE_I, b"sip.proxy = new\n")
    with_md5(files, GENERIC, b"sip.proxy = generic\n")
    state = fresh(partial=True, applied_config=b"prov.i = 1\nsip.proxy = old\nx = 1\n")
    result = simulate(state, fetcher(files))
    assert result.steady
    assert device.config_values(result.final_state.applied_config) == {
        "prov.i": "1",
        "sip.proxy": "new",
        "x": "1",
    }
    assert GENERIC not in requested(result)
    assert any("incremental" in d for d in decisions(result))


def test_incremental_not_asked_when_firmware_lacks_support() -> None:
    files = with_md5({}, DEVICE_I, b"sip.proxy = new\n")
    result = simulate(fresh(partial=True, supports_incremental=False), fetcher(files))
    assert requested(result) == [DEVICE, GENERIC]
    assert result.final_state.applied_config is None


def test_full_config_without_prov_i_turns_partial_off() -> None:
    files = with_md5({}, DEVICE, b"a = 1\n")
    result = simulate(fresh(partial=True), fetcher(files))
    assert not result.final_state.partial


# --- md5 ------------------------------------------------------------------------------------------


def test_md5_mismatch_ignores_the_config_without_falling_through() -> None:
    files = {DEVICE: b"a = 1\n", f"algom{MAC}.md5": md5(b"something else")}
    with_md5(files, GENERIC, b"a = generic\n")
    result = simulate(fresh(), fetcher(files))
    assert not result.steady
    assert "does not match" in (result.diagnosis or "")
    assert result.final_state.applied_config is None
    assert GENERIC not in requested(result)
    assert f"algom{MAC}.md5 does not match: {DEVICE} ignored" in decisions(result)


def test_md5_missing_ignores_the_config() -> None:
    result = simulate(fresh(), fetcher({GENERIC: b"a = 1\n"}))
    assert not result.steady
    assert result.diagnosis == f"{GENERIC} is never applied: algop8188.md5 is missing"
    assert reboots(result) == 0


def test_md5sum_style_and_uppercase_md5_accepted() -> None:
    data = b"a = 1\n"
    files = {GENERIC: data, "algop8188.md5": md5(data).upper().strip() + b"  algop8188.conf\r\n"}
    assert simulate(fresh(), fetcher(files)).final_state.applied_config == data


def test_same_config_twice_means_no_reboot() -> None:
    data = b"a = 1\n"
    result = simulate(fresh(applied_config=data), fetcher(with_md5({}, GENERIC, data)))
    assert result.steady and result.boots == 1 and reboots(result) == 0
    assert f"{GENERIC} is identical to the applied config: ignored" in decisions(result)


def test_identical_compares_bytes() -> None:
    files = with_md5({}, GENERIC, b"a = 1\r\n")
    result = simulate(fresh(applied_config=b"a = 1\n"), fetcher(files))
    assert reboots(result) == 1


def test_http_skips_config_md5_but_not_data_md5() -> None:
    files = {GENERIC: b"prov.data.tone = t.zip\n", "t.zip": b"zip"}
    result = simulate(fresh(protocol="http"), fetcher(files))
    assert result.final_state.applied_config == files[GENERIC]
    assert "algop8188.md5" not in requested(result)
    assert "t.md5" in requested(result) and "t.zip" not in requested(result)
    assert not result.steady and "t.md5 missing" in (result.diagnosis or "")
    files["t.md5"] = md5(b"zip")
    assert simulate(fresh(protocol="https"), fetcher(files)).steady


# --- firmware -------------------------------------------------------------------------------------


def test_firmware_upgrade_reboots_twice() -> None:
    files = with_md5({}, GENERIC, b"prov.version.firmware = 5.4f\n")
    files["algo-8188-5.4f.sfw"] = b"image"
    result = simulate(fresh(firmware="5.3"), fetcher(files))
    assert result.steady and result.final_state.firmware == "5.4f"
    assert reboots(result) == 2 and result.boots == 3
    assert [s.boot for s in result.steps if s.kind is StepKind.REBOOT] == [1, 2]
    assert "firmware 5.4f already installed" in decisions(result)


def test_old_firmware_image_needs_bundle_and_its_md5() -> None:
    # guide §9: the .fw path is asked for only with prov.download.bundle = 1 (check agrees:
    # firmware-bundle); without it the device asks for the .sfw alone.
    files = with_md5({}, GENERIC, b"prov.version.firmware = 4.1\n")
    files["algo-8188-4.1.fw"] = b"old image"
    result = simulate(fresh(), fetcher(files))
    assert not result.steady and "algo-8188-4.1.sfw is missing" in (result.diagnosis or "")
    assert "algo-8188-4.1.fw" not in requested(result)
    with_md5(files, GENERIC, b"prov.version.firmware = 4.1\nprov.download.bundle = 1\n")
    result = simulate(fresh(), fetcher(files))
    assert not result.steady and "algo-8188-4.1.md5 is missing" in (result.diagnosis or "")
    files["algo-8188-4.1.md5"] = md5(b"old image")
    result = simulate(fresh(), fetcher(files))
    assert result.steady and result.final_state.firmware == "4.1"


def test_firmware_named_but_missing() -> None:
    files = with_md5({}, GENERIC, b"prov.version.firmware = 9.9\n")
    result = simulate(fresh(firmware="5.3"), fetcher(files))
    assert not result.steady
    assert "firmware 9.9 is named but algo-8188-9.9.sfw is missing" in (result.diagnosis or "")
    assert result.final_state.firmware == "5.3"


# --- data files -----------------------------------------------------------------------------------


def test_tones_fetched_only_when_their_md5_changes() -> None:
    files = with_md5({}, GENERIC, b"prov.data.tone = tones.zip\n")
    with_md5(files, "tones.zip", b"v1")
    first = simulate(fresh(), fetcher(files))
    assert "tones.zip" in requested(first)
    assert first.final_state.data_md5s == {"prov.data.tone": md5(b"v1").decode().strip()}

    second = simulate(first.final_state, fetcher(files))
    data_requests = [n for n in requested(second) if n.startswith("tones")]
    assert data_requests == ["tones.md5"] and second.steady and reboots(second) == 0

    with_md5(files, "tones.zip", b"v2")
    third = simulate(second.final_state, fetcher(files))
    assert [n for n in requested(third) if n.startswith("tones")] == ["tones.md5", "tones.zip"]


def test_removing_the_tone_parameter_forgets_its_md5() -> None:
    files = with_md5({}, GENERIC, b"a = 1\n")
    state = fresh(
        applied_config=b"prov.data.tone = t.zip\n", data_md5s={"prov.data.tone": "0" * 32}
    )
    assert simulate(state, fetcher(files)).final_state.data_md5s == {}


def test_data_file_not_matching_its_md5_is_not_stored() -> None:
    files = with_md5({}, GENERIC, b"prov.data.cacert = certs.zip\n")
    files.update({"certs.zip": b"x", "certs.md5": md5(b"y")})
    result = simulate(fresh(), fetcher(files))
    assert not result.steady and result.final_state.data_md5s == {}
    assert (
        result.diagnosis
        == "certs.zip (prov.data.cacert) is never stored: it does not match certs.md5"
    )


# --- two stages, loops, disabled, broken servers ------------------------------------------------


def test_two_stage_hand_off() -> None:
    stage1 = (
        b"prov.download.method = http\nprov.server.method = static\n"
        b"prov.server.static = tech:pa55@10.0.0.5\nprov.download.cfgpath = algo\n"
    )
    files = with_md5({}, GENERIC, stage1)
    with_md5(files, "algo-8188-5.4f.sfw", b"never reached")
    result = simulate(fresh(), fetcher(files))
    assert result.steady and result.diagnosis is None
    assert result.left_for == "http://tech:****@10.0.0.5/algo"
    assert result.outcome.startswith("left for stage-2 server http://tech:****@10.0.0.5/algo")
    assert result.final_state.applied_config == stage1
    assert result.final_state.protocol == "http"
    assert reboots(result) == 1 and result.boots == 2
    assert result.steps[-1].stage is Stage.LEFT
    assert not any("pa55" in str(step.to_dict()) for step in result.steps)


def test_reboot_loop_when_the_server_changes_the_config_every_time() -> None:
    counter = itertools.count()

    def changing(name: str) -> bytes | None:
        if name == GENERIC:
            return f"stamp = {next(counter) // 2}\n".encode()
        if name == "algop8188.md5":
            return md5(f"stamp = {next(counter) // 2}\n".encode())
        return None

    result = simulate(fresh(), changing, max_boots=5)
    assert not result.steady and result.boots == 5 and reboots(result) == 5
    assert (result.diagnosis or "").startswith("reboot loop")
    assert result.steps[-1].kind is StepKind.DIAGNOSIS


def test_reboot_loop_between_two_configs_is_found_early() -> None:
    contents = itertools.cycle([b"a = 1\n", b"a = 1\n", b"a = 2\n", b"a = 2\n"])

    def alternating(name: str) -> bytes | None:
        if name == GENERIC:
            return next(contents)
        return md5(next(contents)) if name == "algop8188.md5" else None

    result = simulate(fresh(), alternating, max_boots=10)
    assert not result.steady and result.boots == 3
    assert "brought back" in (result.diagnosis or "")


def test_provisioning_disabled_on_the_device() -> None:
    result = simulate(fresh(provisioning_enabled=False), fetcher(with_md5({}, GENERIC, b"a\n")))
    assert requested(result) == [] and not result.steady
    assert "provisioning is disabled" in (result.diagnosis or "")


def test_config_that_turns_provisioning_off_before_its_firmware() -> None:
    files = with_md5({}, GENERIC, b"prov.use = 0\nprov.version.firmware = 5.4f\n")
    files["algo-8188-5.4f.sfw"] = b"image"
    result = simulate(fresh(firmware="5.3"), fetcher(files))
    assert not result.steady and result.final_state.firmware == "5.3"
    assert "firmware 5.4f is never installed" in (result.diagnosis or "")
    assert not result.final_state.provisioning_enabled


def test_config_that_turns_provisioning_off_when_done_is_steady() -> None:
    result = simulate(fresh(), fetcher(with_md5({}, GENERIC, b"prov.use = 0\n")))
    assert result.steady and "turned provisioning off" in result.outcome


def test_fetch_error_is_a_diagnosis() -> None:
    def broken(name: str) -> bytes | None:
        raise FetchError("no answer from 127.0.0.1:6969")

    result = simulate(fresh(), broken)
    assert not result.steady
    assert result.diagnosis == f"cannot fetch {DEVICE}: no answer from 127.0.0.1:6969"


def test_bad_state_is_refused() -> None:
    with pytest.raises(ValueError):
        fresh(protocol="gopher")
    with pytest.raises(ValueError):
        DeviceState(mac="nope", product="8188")
    with pytest.raises(ValueError):
        DeviceState(mac=MAC, product="../x")
    with pytest.raises(ValueError):
        simulate(fresh(), fetcher({}), max_boots=0)


@st.composite
def servers(draw: st.DrawFn) -> dict[str, bytes]:
    """A server holding any mix of configs (with good, bad or no md5), firmware and tones."""
    files: dict[str, bytes] = {}
    for name in (DEVICE, DEVICE_I, GENERIC, GENERIC_I):
        if draw(st.booleans()):
            body = draw(
                st.lists(
                    st.sampled_from(
                        [
                            "prov.version.firmware = 5.4f",
                            "prov.data.tone = t.zip",
                            "prov.i = 1",
                            "prov.i = 0",
                            "sip.proxy = a",
                            "sip.proxy = b",
                        ]
                    ),
                    max_size=4,
                )
            )
            data = "".join(f"{line}\n" for line in body).encode()
            md5_state = draw(st.sampled_from(["good", "bad", "none"]))
            files[name] = data
            md5_file = name.rsplit(".", 1)[0] + ".md5"
            if md5_state != "none":
                files[md5_file] = md5(data if md5_state == "good" else data + b"x")
    if draw(st.booleans()):
        files["algo-8188-5.4f.sfw"] = b"image"
    if draw(st.booleans()):
        with_md5(files, "t.zip", b"tones")
    return files


@settings(max_examples=150, deadline=None)
@given(servers(), st.booleans(), st.sampled_from(["tftp", "http"]))
def test_a_steady_device_boots_again_without_action(
    files: dict[str, bytes], partial: bool, protocol: str
) -> None:
    first = simulate(fresh(partial=partial, protocol=protocol), fetcher(files))
    assert first.boots <= 4
    if first.steady:
        again = simulate(first.final_state, fetcher(files))
        assert again.steady and reboots(again) == 0
        assert again.final_state == first.final_state
        assert "t.zip" not in requested(again)
    else:
        assert first.diagnosis


def test_partial_switched_on_and_off_again_is_a_reboot_loop() -> None:
    files = with_md5({}, GENERIC, b"prov.i = 1\n")
    with_md5(files, DEVICE_I, b"prov.i = 0\n")
    result = simulate(fresh(), fetcher(files))
    assert not result.steady and result.boots == 3
    assert result.diagnosis == "reboot loop: boot 3 brought back what the device had after boot 1"


# --- helpers ------------------------------------------------------------------------------------


def test_folder_fetcher_splits_configs_from_firmware_and_matches_case(tmp_path: Path) -> None:
    configs, firmware = tmp_path / "cfg", tmp_path / "fw"
    configs.mkdir()
    firmware.mkdir()
    (configs / GENERIC).write_bytes(b"a = 1\n")
    (configs / "tones.zip").write_bytes(b"wrong folder")
    (firmware / "tones.zip").write_bytes(b"zip")
    (firmware / "Algop8188.conf").write_bytes(b"case")
    fetch = folder_fetcher(configs, firmware)
    assert fetch(GENERIC) == b"a = 1\n"
    assert fetch("tones.zip") == b"zip"
    assert fetch("algop8188.md5") is None
    assert fetch("ALGOP8188.conf") is None
    assert fetch("../cfg/algop8188.conf") is None
    assert folder_fetcher(configs)("tones.zip") == b"wrong folder"


def test_device_macs_count_up_inside_the_algo_block() -> None:
    assert device_macs("00:22:EE:00:00:FF", 3) == ["0022EE0000FF", "0022EE000100", "0022EE000101"]
    assert device_macs("AA:BB:CC:00:00:01", 1) == ["0022EE000001"]
    with pytest.raises(ValueError):
        device_macs("00:22:EE:FF:FF:FF", 2)


# --- guide §2, §5.5, §9: paths, md5 forms, method switches ----------------------------------------


def test_firmware_and_data_come_from_the_firmware_path() -> None:
    config = (
        b"prov.download.fwpath = firmware\nprov.version.firmware = 5.4f\nprov.data.tone = t.zip\n"
    )
    files = with_md5({}, GENERIC, config)
    files["firmware/algo-8188-5.4f.sfw"] = b"image"
    with_md5(files, "firmware/t.zip", b"tones")  # and firmware/t.md5
    result = simulate(fresh(), fetcher(files))
    assert result.steady, result.diagnosis
    assert {"firmware/algo-8188-5.4f.sfw", "firmware/t.md5", "firmware/t.zip"} <= set(
        requested(result)
    )
    files["algo-8188-5.4f.sfw"] = files.pop("firmware/algo-8188-5.4f.sfw")
    result = simulate(fresh(), fetcher(files))
    assert "firmware/algo-8188-5.4f.sfw is missing" in (result.diagnosis or "")


def test_configs_come_from_the_config_path_of_the_config_in_force() -> None:
    config = b"prov.download.cfgpath = algo\n"
    files = with_md5({}, GENERIC, config)
    with_md5(files, f"algo/{GENERIC}", config)
    result = simulate(fresh(), fetcher(files))
    assert result.steady and reboots(result) == 1
    assert f"algo/{DEVICE}" in requested(result) and f"algo/{GENERIC}" in requested(result)


@pytest.mark.parametrize(
    ("form", "content"),
    [
        ("byte-order mark", b"\xef\xbb\xbf%s\r\n"),
        ("UTF-16", "%s\r\n"),
        ("MD5 (file) = hash", b"MD5 (algop8188.conf) = %s\n"),
    ],
)
def test_md5_forms_the_vendor_does_not_document_are_not_taken_as_equal(
    form: str, content: bytes | str
) -> None:
    data = b"a = 1\n"
    digest = md5(data).strip()
    if isinstance(content, str):
        md5_file = (content % digest.decode()).encode("utf-16")
    else:
        md5_file = content % digest
    result = simulate(fresh(), fetcher({GENERIC: data, "algop8188.md5": md5_file}))
    assert not result.steady and form in (result.diagnosis or "")
    assert result.final_state.applied_config is None


def test_method_switch_while_the_server_comes_from_dhcp_is_a_fault() -> None:
    files = with_md5({}, GENERIC, b"prov.download.method = ftp\n")
    result = simulate(fresh(), fetcher(files))
    assert not result.steady and result.left_for is None
    assert "prov.download.method = ftp while the server still comes from DHCP" in (
        result.diagnosis or ""
    )
    static = b"prov.download.method = ftp\nprov.server.method = static\nprov.server.static = h\n"
    result = simulate(fresh(), fetcher(with_md5({}, GENERIC, static)))
    assert result.steady and result.left_for == "ftp://h"


def test_bench_fetcher_answers_missing_md5s_as_the_bench_does(tmp_path) -> None:
    from algodesk.core.simulator import bench_fetcher

    (tmp_path / GENERIC).write_bytes(b"prov.data.tone = t.zip\n")
    (tmp_path / "t.zip").write_bytes(b"tones")
    memory = {DEVICE: b"a = 1\n"}
    assert not simulate(fresh(), bench_fetcher(tmp_path, auto_md5=False)).steady
    fetch = bench_fetcher(tmp_path, auto_md5=True, memory=memory)
    assert fetch(DEVICE) == memory[DEVICE]  # served from memory first
    assert fetch(f"algom{MAC}.md5") == md5(memory[DEVICE])
    assert fetch("t.md5") == md5(b"tones")
    assert fetch("nothing.md5") is None
