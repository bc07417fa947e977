"""What a signature declares, apart from whether it holds: reason, location, algorithms, DocMDP level, chain.

``signer.validate`` attaches it to each report (``SignatureReport.declared``) from the signature it has
already parsed, for answers such as the eSign API's verification.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace

from asn1crypto import cms, x509
from pyhanko.sign.validation import EmbeddedPdfSignature


@dataclass(frozen=True)
class SignatureInfo:
    """The declared content of one signature."""

    field_name: str
    reason: str | None
    location: str | None
    contact_info: str | None
    digest_algorithm: str
    signature_algorithm: str
    docmdp_level: int | None
    """1 no changes, 2 form filling, 3 form filling and annotations; None for an approval signature."""
    chain: tuple[x509.Certificate, ...]
    """The signer's certificate first, then its issuers as far as the signature embeds them."""
    tsa_name: str | None

    def __reduce__(self):
        """Pickle the chain as DER: an unpickled asn1crypto object skips the set-up its class needs to be read."""
        values = {item.name: getattr(self, item.name) for item in fields(self)}
        return _from_pickle, (values | {"chain": tuple(cert.dump() for cert in self.chain)},)


def _from_pickle(values: dict) -> SignatureInfo:
    """Rebuild a :class:`SignatureInfo` pickled by its ``__reduce__``."""
    info = SignatureInfo(**values)
    return replace(info, chain=tuple(x509.Certificate.load(der) for der in info.chain))


def _text(sig_object, key: str) -> str | None:
    value = sig_object.get(key)
    return str(value) if value is not None else None


def _chain(signer: x509.Certificate, others: list[x509.Certificate]) -> tuple[x509.Certificate, ...]:
    chain, current = [signer], signer
    while current.self_signed == "no" and len(chain) < 8:
        issuer = next((cert for cert in others if cert.subject == current.issuer and cert not in chain), None)
        if issuer is None:
            break
        chain.append(issuer)
        current = issuer
    return tuple(chain)


KEY_ALGORITHMS = {"rsassa_pkcs1v15": "RSA", "rsassa_pss": "RSASSA-PSS", "ecdsa": "ECDSA", "ed25519": "Ed25519"}


def _signature_algorithm(md_algorithm: str, signer_info: cms.SignerInfo) -> str:
    """Return the algorithm the Java way integrators know, e.g. ``SHA256withRSA``."""
    algo = signer_info["signature_algorithm"].signature_algo
    return f"{md_algorithm.upper()}with{KEY_ALGORITHMS.get(algo, algo.upper())}"


def _tsa_name(signer_info: cms.SignerInfo) -> str | None:
    for attribute in signer_info["unsigned_attrs"] or []:
        if attribute["type"].native != "signature_time_stamp_token":
            continue
        token = attribute["values"][0]["content"]
        sid = token["signer_infos"][0]["sid"].chosen
        for choice in token["certificates"] or []:
            cert = choice.chosen
            if isinstance(cert, x509.Certificate) and cert.serial_number == sid["serial_number"].native:
                return cert.subject.native.get("common_name") or cert.subject.human_friendly
    return None


def describe(sig: EmbeddedPdfSignature) -> SignatureInfo:
    """Return what one parsed signature declares."""
    level = sig.docmdp_level
    try:
        tsa = _tsa_name(sig.signer_info)
    except (KeyError, IndexError, ValueError, AttributeError):
        tsa = None
    return SignatureInfo(
        field_name=str(sig.field_name),  # a plain str: pyHanko's string objects point back at their reader
        reason=_text(sig.sig_object, "/Reason"),
        location=_text(sig.sig_object, "/Location"),
        contact_info=_text(sig.sig_object, "/ContactInfo"),
        digest_algorithm=sig.md_algorithm.upper().replace("SHA", "SHA-"),
        signature_algorithm=_signature_algorithm(sig.md_algorithm, sig.signer_info),
        docmdp_level=int(level.value) if level is not None else None,
        chain=_chain(sig.signer_cert, sig.other_embedded_certs),
        tsa_name=tsa,
    )
