"""The certificate reader: names, issuer and dates of certificates made at test time."""

from __future__ import annotations

import datetime as dt
import ssl

import pytest
import trustme

from algodesk.core.certificate import CertificateError, read_certificate
from algodesk.services.preflight.server import stage_two_server


def der(pem: bytes) -> bytes:
    return ssl.PEM_cert_to_DER_cert(pem.decode())


def test_a_leaf_names_its_hosts_its_issuer_and_its_dates() -> None:
    ca = trustme.CA()
    leaf = ca.issue_cert(
        "prov.acme.example",
        "10.0.0.5",
        common_name="prov.acme.example",
        not_before=dt.datetime(2024, 1, 2, tzinfo=dt.UTC),
        not_after=dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC),
    )
    facts = read_certificate(der(leaf.cert_chain_pems[0].bytes()))
    assert facts.names == ("prov.acme.example", "10.0.0.5")
    assert "CN=prov.acme.example" in facts.subject
    assert facts.issuer != facts.subject and not facts.self_signed
    assert facts.not_before == dt.datetime(2024, 1, 2, tzinfo=dt.UTC)
    assert facts.not_after == dt.datetime(2026, 3, 4, 5, 6, 7, tzinfo=dt.UTC)
    assert facts.expired(dt.datetime(2027, 1, 1, tzinfo=dt.UTC))
    assert not facts.expired(dt.datetime(2025, 1, 1, tzinfo=dt.UTC))
    assert facts.to_dict()["not_after"] == "2026-03-04T05:06:07+00:00"


def test_a_ca_certificate_is_self_signed() -> None:
    facts = read_certificate(der(trustme.CA().cert_pem.bytes()))
    assert facts.self_signed and "self-signed" in facts.describe()


@pytest.mark.parametrize("junk", [b"", b"\x30\x82\xff\xff", b"\x04\x03abc", b"not a certificate"])
def test_anything_else_is_a_certificate_error(junk: bytes) -> None:
    with pytest.raises(CertificateError):
        read_certificate(junk)


def test_the_stage_two_server_comes_from_the_stage1_keys() -> None:
    server = stage_two_server(
        {
            "prov.server.method": "static",
            "prov.server.static": "[2001:db8::5]:8443",
            "prov.download.method": "https",
            "prov.auth.user": "algo",
            "prov.download.cert": "1",
        }
    )
    assert (server.host, server.port, server.root, server.where) == (
        "2001:db8::5", 8443, "", "https://[2001:db8::5]:8443"
    )  # fmt: skip
    assert server.validate_cert and server.user == "algo"
    in_url = stage_two_server(
        {"prov.server.method": "static", "prov.server.static": "ftp://files.example/algo"}
    )
    assert (in_url.method, in_url.port, in_url.root) == ("ftp", 21, "algo")
    with pytest.raises(ValueError, match="static server"):
        stage_two_server({"prov.server.static": "10.0.0.5"})
