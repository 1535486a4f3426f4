"""--tls-self: HTTPS with a generated certificate that our client and the published one
trust through SSL_CERT_FILE."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
from pathlib import Path

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from interop_clients import official_python
from s2_local.server import Server, ServerProcess

PROGRAM = textwrap.dedent(
    """
    import asyncio, os, sys
    from s2_sdk import S2, AppendInput, Endpoints, Record, SeqNum

    async def main():
        endpoint = os.environ["S2_ACCOUNT_ENDPOINT"]
        async with S2("t", endpoints=Endpoints(endpoint, endpoint)) as s2:
            basin = sys.argv[1]
            await s2.create_basin(basin)
            await s2[basin].create_stream("s")
            await s2[basin]["s"].append(AppendInput(records=[Record(body=b"over tls")]))
            batch = await s2[basin]["s"].read(start=SeqNum(0))
            print(batch.records[0].body.decode())

    asyncio.run(main())
    """
)


def run(
    python: Path | str, endpoint: str, basin: str, ca: Path | None
) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if k != "SSL_CERT_FILE"}
    env["S2_ACCOUNT_ENDPOINT"] = endpoint
    if ca is not None:
        env["SSL_CERT_FILE"] = str(ca)
    return subprocess.run(
        [str(python), "-c", PROGRAM, basin], capture_output=True, text=True, timeout=120, env=env
    )


def test_both_clients_trust_the_generated_ca(tmp_path: Path) -> None:
    server = ServerProcess(data_dir=tmp_path, args=["--tls-self"]).start()
    try:
        assert server.endpoint.startswith("https://127.0.0.1:")
        ca = tmp_path / "tls" / "ca.pem"
        ours = run(sys.executable, server.endpoint, "tls-ours", ca)
        assert ours.returncode == 0, ours.stderr
        assert ours.stdout.strip() == "over tls"
        published = run(official_python(), server.endpoint, "tls-published", ca)
        assert published.returncode == 0, published.stderr
        assert published.stdout.strip() == "over tls"
        untrusted = run(sys.executable, server.endpoint, "tls-untrusted", None)
        assert untrusted.returncode != 0 and "CERTIFICATE_VERIFY_FAILED" in untrusted.stderr
    finally:
        server.stop()


def test_the_ca_is_printed_and_kept_across_restarts(tmp_path: Path) -> None:
    def start() -> tuple[str, str]:
        done = subprocess.Popen(
            [sys.executable, "-m", "s2_local", "serve", "--port", "0", "--tls-self",
             "--data-dir", str(tmp_path)],
            stdout=subprocess.PIPE, text=True,
        )  # fmt: skip
        assert done.stdout is not None
        lines = [done.stdout.readline()]
        while "SHA-256 fingerprint" not in lines[-1] and len(lines) < 12:
            lines.append(done.stdout.readline())
        done.terminate()
        done.communicate(timeout=20)
        text = "".join(lines)
        exported = next(line for line in lines if line.startswith("export SSL_CERT_FILE="))
        cert_file = exported.split("=", 1)[1]
        fingerprint = text.split("SHA-256 fingerprint ", 1)[1].split(" ", 1)[0]
        return cert_file.strip(), fingerprint

    first = start()
    assert first[0] == str(tmp_path / "tls" / "ca.pem")
    ca = x509.load_pem_x509_certificate(Path(first[0]).read_bytes())
    assert first[1].replace(":", "") == ca.fingerprint(hashes.SHA256()).hex().upper()
    assert start() == first  # reused: clients told to trust it keep working


def test_embedded_server_tells_its_clients(tmp_path: Path) -> None:
    with Server(tls_self=True, data_dir=tmp_path) as server:
        env = server.env()
        assert env["SSL_CERT_FILE"] == str(tmp_path / "tls" / "ca.pem")
        done = run(sys.executable, server.endpoint, "tls-embedded", Path(env["SSL_CERT_FILE"]))
        assert done.returncode == 0, done.stderr


def test_tls_self_and_a_certificate_exclude_each_other(tmp_path: Path) -> None:
    done = subprocess.run(
        [sys.executable, "-m", "s2_local", "serve", "--tls-self", "--tls-cert", "c", "--tls-key", "k"],
        capture_output=True, text=True, timeout=30,
    )  # fmt: skip
    assert done.returncode != 0 and "not both" in done.stderr


@pytest.mark.parametrize("host", ["0.0.0.0", "10.1.2.3"])
def test_the_certificate_names_the_host(tmp_path: Path, host: str) -> None:
    from s2_local.tls import self_signed

    made = self_signed(tmp_path, host)
    cert = x509.load_pem_x509_certificate(made.cert_file.read_bytes())
    names = cert.extensions.get_extension_for_class(x509.SubjectAlternativeName).value
    covered = {str(n.value) for n in names}
    assert {"localhost", "127.0.0.1", "::1"} <= covered
    assert (host in covered) is (host != "0.0.0.0")
