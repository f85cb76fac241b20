"""Core speed: parse + serialise of the largest sample, and a folder check of 1,000 device files.

    uv run python tests/bench/core_bench.py

Goals: parse+serialise < 2 ms (median); check of 1,000 device files (~700 keys each, with md5s)
< 1 s (median of several runs). The last line is the headline.
"""

from __future__ import annotations

import re
import statistics
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

from algodesk.core import md5, names
from algodesk.core.checks import Severity, check_folder
from algodesk.core.config import ConfigDocument

SAMPLE = Path(__file__).resolve().parents[1] / "data" / "fpbx-8103-2025__algom_mac_.conf"
PARSE_RUNS = 500
CHECK_RUNS = 5
DEVICES = 1000
PARSE_GOAL_MS = 2.0
CHECK_GOAL_S = 1.0

_IF_ELSE = re.compile(r"\{if [^}]*\}\{\$[^}]*\}\{else\}(.*?)\{/if\}")
_PLACEHOLDER = re.compile(r"\{\$([^}]*)\}")


def median_seconds(action: Callable[[], object], runs: int) -> float:
    """Median wall time of ``action`` over ``runs`` runs."""
    times = []
    for _ in range(runs):
        start = time.perf_counter()
        action()
        times.append(time.perf_counter() - start)
    return statistics.median(times)


def device_file(template: str, index: int) -> tuple[str, bytes]:
    """A filled-in per-device config (name, bytes) from the FusionPBX template, as a PBX writes."""
    mac = f"0022EE{index:06X}"
    values = {
        "admin_password": f"Adm{index:04d}!x",
        "algo_page_vol": "-18dB",
        "algo_ring_vol": "-18dB",
        "ntp_server_primary": "pool.ntp.org",
        "project_path": "",
        "domain_name": "pbx.example.net",
        "account.1.outbound_proxy": "",
        "account.1.server_address": "pbx.example.net",
        "account.1.register_expires": "3600",
        "account.1.auth_id": f"{2000 + index}",
        "account.1.password": f"s3cret-{index:04d}",
        "account.1.user_id": f"{2000 + index}",
    }
    text = _IF_ELSE.sub(r"\1", template)
    text = _PLACEHOLDER.sub(lambda m: values[m.group(1)], text)
    return names.device_name(mac), text.encode()


def make_folder(folder: Path, template: str) -> None:
    """Write ``DEVICES`` device configs and their md5 files into ``folder``."""
    for index in range(1, DEVICES + 1):
        name, data = device_file(template, index)
        (folder / name).write_bytes(data)
        (folder / md5.md5_name(name)).write_bytes(md5.format_md5(md5.md5_hex(data)))


def main() -> int:
    """Run both measurements and print the headline last."""
    data = SAMPLE.read_bytes()
    lines = data.count(b"\n") + 1
    parse_ms = median_seconds(lambda: ConfigDocument.from_bytes(data).to_bytes(), PARSE_RUNS) * 1e3
    print(f"parse+serialise {SAMPLE.name} ({len(data)} bytes, {lines} lines): {parse_ms:.2f} ms")

    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as tmp:
        folder = Path(tmp)
        make_folder(folder, data.decode())
        keys = len(ConfigDocument.from_bytes(next(folder.glob("*.conf")).read_bytes()).keys())
        findings = check_folder(folder)
        errors = [f for f in findings if f.severity is Severity.ERROR]
        if errors:
            print(f"unexpected errors in the generated folder: {errors[:3]}", file=sys.stderr)
            return 1
        check_s = median_seconds(lambda: check_folder(folder), CHECK_RUNS)
    print(
        f"check folder of {DEVICES} device files ({keys} keys each, with md5s): "
        f"{check_s:.2f} s, {len(findings)} findings"
    )
    verdict = "ok" if parse_ms < PARSE_GOAL_MS and check_s < CHECK_GOAL_S else "GOAL MISSED"
    print(
        f"parse+serialise {parse_ms:.2f} ms (goal < {PARSE_GOAL_MS:g}); "
        f"check {DEVICES} files {check_s:.2f} s (goal < {CHECK_GOAL_S:g}); {verdict}"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
