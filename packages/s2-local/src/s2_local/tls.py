"""``--tls-self``: HTTPS with a generated certificate, for clients that insist on TLS.

A development CA and a server certificate it signs (for ``localhost``, ``127.0.0.1``,
``::1`` and the host served on) are written to a directory and kept there: the next
start reuses them while they are valid and cover the host, so a client told to trust
the CA once (``SSL_CERT_FILE=<dir>/ca.pem``, which Python's ``ssl``, OpenSSL and Node's
``NODE_EXTRA_CA_CERTS`` understand) keeps working.
"""

from __future__ import annotations

import datetime
import ipaddress
import os
from dataclasses import dataclass
from pathlib import Path

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

__all__ = ["SelfSigned", "default_dir", "self_signed"]

_VALID_FOR = datetime.timedelta(days=825)
_RENEW_BEFORE = datetime.timedelta(days=30)
_LOOPBACK = ("localhost", "127.0.0.1", "::1")


@dataclass(frozen=True, slots=True)
class SelfSigned:
    """The files of a generated certificate, and the CA's fingerprint."""

    ca_file: Path
    cert_file: Path
    key_file: Path
    fingerprint: str
    """The CA certificate's SHA-256 fingerprint, as ``AB:CD:...``."""


def default_dir(data_dir: str | os.PathLike[str] | None) -> Path:
    """Where the certificate lives: ``<data dir>/tls``, else the user's cache."""
    if data_dir is not None:
        return Path(data_dir) / "tls"
    cache = os.environ.get("XDG_CACHE_HOME") or Path.home() / ".cache"
    return Path(cache) / "s2-local" / "tls"


def self_signed(directory: Path, host: str) -> SelfSigned:
    """The development CA and server certificate in ``directory``, made if missing,
    expiring within 30 days, or not covering ``host``."""
    directory.mkdir(parents=True, exist_ok=True)
    files = SelfSigned(
        directory / "ca.pem", directory / "cert.pem", directory / "key.pem", fingerprint=""
    )
    names = _names(host)
    if not _usable(files, names):
        _generate(files, names)
    ca = x509.load_pem_x509_certificate(files.ca_file.read_bytes())
    digest = ca.fingerprint(hashes.SHA256()).hex().upper()
    fingerprint = ":".join(digest[i : i + 2] for i in range(0, len(digest), 2))
    return SelfSigned(files.ca_file, files.cert_file, files.key_file, fingerprint)


def _names(host: str) -> list[str]:
    extra = [] if host in ("", "0.0.0.0", "::") or host in _LOOPBACK else [host]
    return [*_LOOPBACK, *extra]


def _usable(files: SelfSigned, names: list[str]) -> bool:
    try:
        cert = x509.load_pem_x509_certificate(files.cert_file.read_bytes())
        x509.load_pem_x509_certificate(files.ca_file.read_bytes())
        serialization.load_pem_private_key(files.key_file.read_bytes(), None)
    except (OSError, ValueError):
        return False
    now = datetime.datetime.now(datetime.UTC)
    if cert.not_valid_after_utc - now < _RENEW_BEFORE:
        return False
    san = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    covered = {str(n) for n in san.get_values_for_type(x509.DNSName)} | {
        str(n) for n in san.get_values_for_type(x509.IPAddress)
    }
    return all(str(_general_name(n).value) in covered for n in names)


def _general_name(name: str) -> x509.GeneralName:
    try:
        return x509.IPAddress(ipaddress.ip_address(name))
    except ValueError:
        return x509.DNSName(name)


def _generate(files: SelfSigned, names: list[str]) -> None:
    now = datetime.datetime.now(datetime.UTC)
    ca_key = ec.generate_private_key(ec.SECP256R1())
    ca_name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "s2-local development CA")])
    ca = (
        x509.CertificateBuilder()
        .subject_name(ca_name)
        .issuer_name(ca_name)
        .public_key(ca_key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
        .add_extension(
            x509.KeyUsage(
                digital_signature=True,
                key_cert_sign=True,
                crl_sign=True,
                content_commitment=False,
                key_encipherment=False,
                data_encipherment=False,
                key_agreement=False,
                encipher_only=False,
                decipher_only=False,
            ),
            critical=True,
        )
        .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), False)
        .sign(ca_key, hashes.SHA256())
    )
    key = ec.generate_private_key(ec.SECP256R1())
    cert = (
        x509.CertificateBuilder()
        .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, names[0])]))
        .issuer_name(ca_name)
        .public_key(key.public_key())
        .serial_number(x509.random_serial_number())
        .not_valid_before(now - datetime.timedelta(minutes=5))
        .not_valid_after(now + _VALID_FOR)
        .add_extension(x509.SubjectAlternativeName([_general_name(n) for n in names]), False)
        .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
        .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.SERVER_AUTH]), False)
        .add_extension(
            x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), False
        )
        .sign(ca_key, hashes.SHA256())
    )
    _write(files.key_file, key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ), private=True)  # fmt: skip
    _write(files.cert_file, cert.public_bytes(serialization.Encoding.PEM))
    _write(files.ca_file, ca.public_bytes(serialization.Encoding.PEM))


def _write(path: Path, data: bytes, private: bool = False) -> None:
    tmp = path.with_suffix(".tmp")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600 if private else 0o644)
    with os.fdopen(fd, "wb") as f:
        f.write(data)
    os.replace(tmp, path)
