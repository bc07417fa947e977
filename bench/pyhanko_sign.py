"""Plain pyHanko PAdES B-B signing with a software RSA-2048 key parsed once: the baseline of bench/sign.py and bench/api.py.

Run as a subprocess by those benches; it never imports Paraf (nothing of the repository is on its path, so
pyHanko runs as shipped, without Paraf's speed-ups). Usage: ``python bench/pyhanko_sign.py PDF``; then each
line ``N`` on stdin signs the PDF N times and answers one JSON line ``{"wall": s, "cpu": s}``; EOF ends it.
"""

from __future__ import annotations

import io
import json
import sys
import time
from datetime import UTC, datetime, timedelta

from asn1crypto import x509 as asn1_x509
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import padding, rsa
from cryptography.x509.oid import NameOID
from pyhanko.pdf_utils.incremental_writer import IncrementalPdfFileWriter
from pyhanko.sign import signers
from pyhanko.sign.fields import SigSeedSubFilter
from pyhanko_certvalidator.registry import SimpleCertificateStore

DIGESTS = {"sha256": hashes.SHA256(), "sha384": hashes.SHA384(), "sha512": hashes.SHA512()}


class ParsedKeySigner(signers.Signer):
    """A pyHanko signer holding a parsed private key (pyHanko's SimpleSigner re-parses PKCS#8 on every signature)."""

    def __init__(self, key: rsa.RSAPrivateKey, cert: bytes):
        super().__init__(signing_cert=asn1_x509.Certificate.load(cert), cert_registry=SimpleCertificateStore())
        self._key = key

    async def async_sign_raw(self, data: bytes, digest_algorithm: str, dry_run: bool = False) -> bytes:
        """Return the RSA PKCS#1 v1.5 signature (zeros of its length for pyHanko's size estimate)."""
        if dry_run:
            return bytes(self._key.key_size // 8)
        return self._key.sign(data, padding.PKCS1v15(), DIGESTS[digest_algorithm])


def software_signer() -> ParsedKeySigner:
    """Return a signer with a fresh RSA-2048 key and a self-signed certificate."""
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "Baseline")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder().subject_name(name).issuer_name(name).public_key(key.public_key())
        .serial_number(x509.random_serial_number()).not_valid_before(now).not_valid_after(now + timedelta(days=1))
        .sign(key, hashes.SHA256())
    )
    return ParsedKeySigner(key, cert.public_bytes(serialization.Encoding.DER))


def sign(document: bytes, signer: ParsedKeySigner) -> bytes:
    """Sign ``document`` once, PAdES B-B, in a new invisible field (a name no Paraf signature takes)."""
    out = io.BytesIO()
    meta = signers.PdfSignatureMetadata(field_name="Baseline", md_algorithm="sha256", subfilter=SigSeedSubFilter.PADES)
    signers.PdfSigner(meta, signer).sign_pdf(IncrementalPdfFileWriter(io.BytesIO(document)), output=out)
    return out.getvalue()


def main() -> None:
    """Answer timing requests on stdin until EOF."""
    if {"app", "signer"} & sys.modules.keys():
        raise SystemExit("the baseline must run without Paraf")
    with open(sys.argv[1], "rb") as handle:
        document = handle.read()
    signer = software_signer()
    sign(document, signer)  # warm up
    for line in sys.stdin:
        count = int(line)
        wall, cpu = time.perf_counter(), time.process_time()
        for _ in range(count):
            sign(document, signer)
        print(json.dumps({"wall": time.perf_counter() - wall, "cpu": time.process_time() - cpu}), flush=True)


if __name__ == "__main__":
    main()
