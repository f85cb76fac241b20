"""TLS as a device with ``prov.download.cert = 1`` sees it, and the certificate either way.

A device that validates trusts its built-in store plus the CA certificates it was given; the
preflight's nearest equivalent is this machine's trust store plus the CA file the profile names.
Whatever the outcome, the server's certificate is read (names, issuer, dates) so the verdict can
show it: on success from the verified connection, on failure from a second, unverified one.
"""

from __future__ import annotations

import socket
import ssl
from dataclasses import dataclass

from algodesk.core.certificate import CertificateError, CertificateFacts, read_certificate
from algodesk.core.preflight import Failure, ServerFailure
from algodesk.services.preflight.errors import network_failure

# OpenSSL's X509_V_ERR_* codes that each mean one thing a technician fixes.
_EXPIRED = {9, 10}  # not yet valid, expired
_SELF_SIGNED = {18, 19}  # self-signed leaf, self-signed certificate in the chain
_UNTRUSTED = {2, 20, 21}  # issuer unknown, cannot verify the leaf
_NAME = {62, 64}  # host name mismatch, IP address mismatch


@dataclass(frozen=True, slots=True)
class TlsReport:
    """What the server's TLS looked like: its certificate and whether a device would accept it.

    ``failure`` is set when devices validate and would refuse the certificate; ``refusal`` says
    why a validating device would refuse it even when these devices do not validate.
    """

    certificate: CertificateFacts | None
    trusted_by: str
    failure: ServerFailure | None = None
    refusal: str = ""

    def evidence(self) -> list[str]:
        """Lines for a verdict: the certificate, and who trusts it (or why nobody would)."""
        lines = []
        if self.certificate is not None:
            lines.append(f"certificate: {self.certificate.describe()}")
        if self.trusted_by:
            lines.append(f"chain: validates against {self.trusted_by}")
        if self.refusal:
            lines.append(
                f"devices do not validate it (prov.download.cert = 0); one that did: {self.refusal}"
            )
        return lines


def device_context(ca_file: str | None, *, validate: bool) -> ssl.SSLContext:
    """The client context a device uses: validating (with ``ca_file`` added) or not at all."""
    if not validate:
        context = ssl.SSLContext(ssl.PROTOCOL_TLS_CLIENT)
        context.check_hostname = False
        context.verify_mode = ssl.CERT_NONE
        return context
    context = ssl.create_default_context()
    if ca_file:
        try:
            context.load_verify_locations(cafile=ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(f"{ca_file}: not a CA certificate file ({error})") from None
    return context


def inspect(
    host: str, port: int, ca_file: str | None, *, validate: bool, timeout: float
) -> TlsReport:
    """Connect as a validating device would and report; network failures raise ServerFailure.

    With ``validate`` False a certificate a device would refuse is reported but not a failure.
    """
    where = f"{host}:{port}"
    trusted_by = (
        "the profile's CA file and this machine's trust store"
        if ca_file
        else ("this machine's trust store")
    )
    checking = device_context(ca_file, validate=True)
    try:
        der = _handshake(checking, host, port, timeout)
    except ssl.SSLCertVerificationError as error:
        facts = _read_unverified(host, port, timeout)
        failure = certificate_failure(error, host, facts)
        if not validate:
            return TlsReport(facts, "", refusal=str(failure))
        return TlsReport(facts, "", failure)
    except ssl.SSLError as error:
        raise ServerFailure(
            Failure.SERVER_ERROR, f"TLS handshake with {where} failed ({error.reason})"
        ) from None
    except OSError as error:
        raise network_failure(error, where, timeout) from None
    return TlsReport(_facts(der), trusted_by)


def certificate_failure(
    error: ssl.SSLCertVerificationError,
    host: str,
    facts: CertificateFacts | None,
) -> ServerFailure:
    """The verdict for a certificate a validating device refuses."""
    code = error.verify_code
    shown = f"certificate: {facts.describe()}" if facts is not None else ""
    evidence = [shown] if shown else []
    evidence.append(f"OpenSSL: {error.verify_message} (code {code})")
    why = "(prov.download.cert = 1)"
    if code in _SELF_SIGNED:
        message = f"the certificate for {host} is self-signed and devices validate it {why}"
        return ServerFailure(Failure.TLS_SELF_SIGNED, message, evidence)
    if code in _EXPIRED:
        end = f" on {facts.not_after:%Y-%m-%d}" if facts is not None else ""
        word = "is not valid yet" if code == 9 else f"expired{end}"
        return ServerFailure(
            Failure.TLS_EXPIRED,
            f"the certificate for {host} {word}; devices validate it {why}",
            evidence,
        )
    if code in _NAME:
        listed = ", ".join(facts.names) if facts is not None and facts.names else "no names"
        return ServerFailure(
            Failure.TLS_NAME,
            f"name mismatch: the certificate is for {listed}, not {host}; devices validate it "
            f"{why}",
            evidence,
        )
    what = "is not issued by a CA devices trust" if code in _UNTRUSTED else "does not validate"
    return ServerFailure(
        Failure.TLS_UNTRUSTED,
        f"the certificate for {host} {what} {why}; name its CA in the profile, or fix the chain",
        evidence,
    )


def _handshake(context: ssl.SSLContext, host: str, port: int, timeout: float) -> bytes:
    with (
        socket.create_connection((host, port), timeout=timeout) as raw,
        context.wrap_socket(raw, server_hostname=host) as tls,
    ):
        return tls.getpeercert(binary_form=True) or b""


def _read_unverified(host: str, port: int, timeout: float) -> CertificateFacts | None:
    try:
        der = _handshake(device_context(None, validate=False), host, port, timeout)
    except OSError:
        return None
    return _facts(der)


def _facts(der: bytes) -> CertificateFacts | None:
    try:
        return read_certificate(der) if der else None
    except CertificateError:
        return None
