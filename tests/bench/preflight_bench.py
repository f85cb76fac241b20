"""How long a preflight of a roster takes against an HTTPS server on loopback.

N roster devices (00:22:EE:01:00:00 upwards, 8186) each boot against the stage-2 server as after
stage 1: device file 404, generic config (a full config naming firmware 5.4f and tones.zip),
firmware probed by HEAD, tones md5 and zip, one TLS handshake per request as devices make them.

    uv run python tests/bench/preflight_bench.py [--devices 50]

The last line is the figure: devices checked per second.
"""

from __future__ import annotations

import argparse
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT))

from algodesk.core.preflight import Target  # noqa: E402
from algodesk.services.preflight.runner import DeviceStart, Preflight, PreflightPlan  # noqa: E402
from tests.stage2_servers import PASSWORD, http_server, make_certificates, write_site  # noqa: E402


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--devices", type=int, default=50)
    args = parser.parse_args()
    with tempfile.TemporaryDirectory(prefix="algodesk-bench-") as home:
        site = Path(home) / "site"
        site.mkdir()
        certificates = make_certificates(Path(home))
        with http_server(site, certificate=certificates.good) as port:
            write_site(site, server=f"127.0.0.1:{port}", method="https", port=port)
            generic = (site / "algo" / "algop8186.conf").read_bytes()
            (site / "algo" / "algop8186.conf").write_bytes(
                generic + b"prov.version.firmware = 5.4f\nprov.data.tone = tones.zip\n"
            )
            stage1 = (
                "prov.use = 1\nprov.server.method = static\n"
                f"prov.server.static = 127.0.0.1:{port}\nprov.download.method = https\n"
                "prov.download.cfgpath = algo\nprov.download.fwpath = algo/fw\n"
                "prov.download.cert = 1\nprov.auth.user = algo\n"
            ).encode()
            devices = tuple(
                DeviceStart(Target("8186", f"0022EE01{n:04X}"), stage1, "5.3")
                for n in range(args.devices)
            )
            plan = PreflightPlan(
                devices, password=PASSWORD, timeout=10.0, ca_file=str(certificates.ca_file)
            )
            started = time.perf_counter()
            verdicts = Preflight(plan).run()
            seconds = time.perf_counter() - started
    requests = sum(len(v.fetches) for v in verdicts)
    assert all(v.ok for v in verdicts), [v.summary for v in verdicts if not v.ok][:3]
    print(f"{len(verdicts)} devices, {requests} requests in {seconds:.2f} s")
    print(
        f"preflight: {len(verdicts) / seconds:.1f} devices/s ({requests / seconds:.0f} requests/s)"
    )


if __name__ == "__main__":
    main()
