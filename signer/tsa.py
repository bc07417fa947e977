"""Time-stamp authority (RFC 3161) signing in the HSM, and a pyHanko time stamper that calls it in-process."""

from __future__ import annotations

import functools
import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timezone

from asn1crypto import algos, cms, core, tsp, x509
from pyhanko.sign.general import as_signing_certificate_v2, simple_cms_attribute
from pyhanko.sign.timestamps.api import TimeStamper

from .ca import TSA, Hierarchy
from .config import PkiConfig
from .hsm import Hsm

DIGEST_SIZES = {"sha256": 32, "sha384": 48, "sha512": 64}
GRANTED = bytes.fromhex("3003020100")  # PKIStatusInfo { status granted }
SIGNED_DATA = bytes.fromhex("06092a864886f70d010702")  # id-signedData


def _der(tag: int, content: bytes) -> bytes:
    """Return one DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


@dataclass(frozen=True)
class _Pieces:
    """The DER that is the same in every token of a TSA: its name, signing-certificate attribute, sid and certificates."""

    name: bytes
    signing_certificate: bytes
    sid: bytes
    certificates: bytes


class TimeStampResp(core.Sequence):
    """RFC 3161 TimeStampResp; asn1crypto's own makes the token mandatory, so rejections cannot be encoded."""

    _fields = [("status", tsp.PKIStatusInfo), ("time_stamp_token", cms.ContentInfo, {"optional": True})]


def _rejection(fail_info: str, text: str) -> TimeStampResp:
    status = {"status": "rejection", "status_string": [text], "fail_info": tsp.PKIFailureInfo({fail_info})}
    return TimeStampResp({"status": status})


class TimeStampAuthority:
    """Issue RFC 3161 time-stamp tokens signed by the HSM-resident TSA key.

    What every token repeats (the TSA's name, certificates, signing-certificate attribute) is encoded once and
    spliced in as DER: asn1crypto re-encodes a parsed certificate placed in a new structure, slowly. Only bytes
    are kept, so one authority may serve several threads.
    """

    def __init__(self, hsm: Hsm, hierarchy: Hierarchy, pki: PkiConfig):
        self.hsm = hsm
        self.hierarchy = hierarchy
        self.pki = pki

    @functools.cached_property
    def _pieces(self) -> _Pieces:
        tsa_cert = self.hierarchy.cert(TSA)
        sid = cms.SignerIdentifier(
            name="issuer_and_serial_number",
            value={"issuer": tsa_cert.issuer, "serial_number": tsa_cert.serial_number},
        )
        return _Pieces(
            name=x509.GeneralName(name="directory_name", value=tsa_cert.subject).dump(),
            signing_certificate=simple_cms_attribute(
                "signing_certificate_v2", as_signing_certificate_v2(tsa_cert)
            ).dump(),
            sid=sid.dump(),
            certificates=_der(0xA0, self.hierarchy.tsa + self.hierarchy.issuing),
        )

    def respond(self, request: tsp.TimeStampReq, now: datetime | None = None) -> TimeStampResp:
        """Answer a parsed time-stamp request with a granted token or a rejection."""
        imprint = request["message_imprint"]
        algorithm = imprint["hash_algorithm"]["algorithm"].native
        if DIGEST_SIZES.get(algorithm) != len(imprint["hashed_message"].native):
            return _rejection("bad_alg", "use SHA-256, SHA-384 or SHA-512 with a digest of the right length")
        policy = request["req_policy"].native
        if policy is not None and policy != self.pki.tsa_policy_oid:
            return _rejection("unaccepted_policy", f"this TSA only issues policy {self.pki.tsa_policy_oid}")
        pieces = self._pieces
        info = {
            "version": "v1",
            "policy": self.pki.tsa_policy_oid,
            "message_imprint": imprint,
            "serial_number": secrets.randbits(127),
            "gen_time": core.GeneralizedTime(now or datetime.now(timezone.utc)),
            "accuracy": {"seconds": 1},
            "tsa": x509.GeneralName.load(pieces.name),
        }
        if request["nonce"].native is not None:
            info["nonce"] = request["nonce"]
        tst_info = tsp.TSTInfo(info).dump()
        signed_attrs = cms.CMSAttributes(
            [
                simple_cms_attribute("content_type", "tst_info"),
                simple_cms_attribute("message_digest", hashlib.sha256(tst_info).digest()),
                cms.CMSAttribute.load(pieces.signing_certificate),
            ]
        )
        signature = self.hsm.sign(TSA, signed_attrs.dump(), "sha256")
        digest_algorithm = algos.DigestAlgorithm({"algorithm": "sha256"})
        signer_info = cms.SignerInfo(
            {
                "version": "v1",
                "sid": cms.SignerIdentifier.load(pieces.sid),
                "digest_algorithm": digest_algorithm,
                "signed_attrs": signed_attrs,
                "signature_algorithm": {"algorithm": "rsassa_pkcs1v15"},
                "signature": signature,
            }
        )
        signed_data = {
            "version": "v3",
            "digest_algorithms": [digest_algorithm],
            "encap_content_info": {"content_type": "tst_info", "content": cms.ParsableOctetString(tst_info)},
            "signer_infos": [signer_info],
        }
        encoded = cms.SignedData(signed_data)
        content = encoded.contents
        if request["cert_req"].native:  # [0] certificates go between encapContentInfo and signerInfos
            infos = len(encoded["signer_infos"].dump())
            content = content[:-infos] + pieces.certificates + content[-infos:]
        token = _der(0x30, SIGNED_DATA + _der(0xA0, _der(0x30, content)))
        return TimeStampResp.load(_der(0x30, GRANTED + token))

    def respond_der(self, request_der: bytes) -> bytes:
        """Answer a DER time-stamp request with a DER response; a malformed request is rejected."""
        try:
            request = tsp.TimeStampReq.load(request_der)
            request.native  # parse it all now: asn1crypto parses lazily
        except (ValueError, TypeError, KeyError):
            return _rejection("bad_data_format", "the request is not a DER TimeStampReq").dump()
        return self.respond(request).dump()


class InProcessTimeStamper(TimeStamper):
    """A pyHanko time stamper that asks an in-process :class:`TimeStampAuthority` directly instead of over HTTP."""

    def __init__(self, authority: TimeStampAuthority):
        super().__init__(include_nonce=True)
        self.authority = authority

    async def async_request_tsa_response(self, req: tsp.TimeStampReq) -> TimeStampResp:
        """Return the TSA's answer to ``req``."""
        return self.authority.respond(req)
