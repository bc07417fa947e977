"""The OCSP responder's fast path: a cached responder context, DER built from bytes, nonce-less answers pre-signed.

Requests are read by a small DER walker and answers assembled from pre-encoded pieces, so nothing is re-parsed
per request. A request of an unusual shape (signed, or otherwise beyond the walker) goes to
:func:`revocation.ocsp_respond`, which reads it with asn1crypto.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from .ca import ISSUING, OCSP, Hierarchy, utcnow
from .hsm import Hsm
from .revocation import CertState, Revoked, StatusLookup, error_response, ocsp_respond

SHA1 = bytes.fromhex("06052b0e03021a")
SHA256 = bytes.fromhex("0609608648016503040201")
NONCE = bytes.fromhex("06092b0601050507300102")
BASIC = bytes.fromhex("06092b0601050507300101")
SHA256_RSA = bytes.fromhex("300d06092a864886f70d01010b0500")
GOOD = b"\x80\x00"
UNKNOWN = b"\x82\x00"
REASON_CODES = {
    "unspecified": 0, "key_compromise": 1, "ca_compromise": 2, "affiliation_changed": 3, "superseded": 4,
    "cessation_of_operation": 5, "certificate_hold": 6, "remove_from_crl": 8, "privilege_withdrawn": 9,
    "aa_compromise": 10,
}


def tlv(tag: int, content: bytes) -> bytes:
    """Return one DER element: tag, definite length, content."""
    size = len(content)
    if size < 0x80:
        return bytes((tag, size)) + content
    length = size.to_bytes((size.bit_length() + 7) // 8, "big")
    return bytes((tag, 0x80 | len(length))) + length + content


def _element(data: bytes, pos: int, end: int) -> tuple[int, int, int]:
    """Return (tag, content start, content end) of the DER element at ``pos``; raise ValueError past ``end``."""
    if pos + 2 > end:
        raise ValueError("truncated")
    tag, size = data[pos], data[pos + 1]
    pos += 2
    if size & 0x80:
        count = size & 0x7F
        if not 0 < count <= 4 or pos + count > end:
            raise ValueError("bad length")
        size = int.from_bytes(data[pos:pos + count], "big")
        pos += count
    if pos + size > end:
        raise ValueError("truncated")
    return tag, pos, pos + size


def _children(data: bytes, start: int, end: int) -> list[tuple[int, int, int, int]]:
    """Return (tag, element start, content start, content end) of each element between ``start`` and ``end``."""
    items, pos = [], start
    while pos < end:
        tag, content, stop = _element(data, pos, end)
        items.append((tag, pos, content, stop))
        pos = stop
    return items


@dataclass(frozen=True)
class CertId:
    """One CertID of a request: its DER as sent, hash algorithm (OID DER), issuer hashes and serial."""

    der: bytes
    algorithm: bytes
    name_hash: bytes
    key_hash: bytes
    serial: int


def _cert_id(data: bytes, start: int, content: int, end: int) -> CertId:
    parts = _children(data, content, end)
    if len(parts) != 4 or [p[0] for p in parts] != [0x30, 0x04, 0x04, 0x02]:
        raise ValueError("not a CertID")
    algorithm = _children(data, parts[0][2], parts[0][3])
    if not algorithm or algorithm[0][0] != 0x06:
        raise ValueError("not an AlgorithmIdentifier")
    return CertId(
        der=data[start:end],
        algorithm=data[algorithm[0][1]:algorithm[0][3]],
        name_hash=data[parts[1][2]:parts[1][3]],
        key_hash=data[parts[2][2]:parts[2][3]],
        serial=int.from_bytes(data[parts[3][2]:parts[3][3]], "big", signed=True),
    )


def parse_request(data: bytes) -> tuple[list[CertId], bytes | None] | None:
    """Return the CertIDs and the nonce extension's value (DER) of a plain unsigned request, or None for another shape.

    :raises ValueError: ``data`` is not DER of the OCSPRequest shape.
    """
    tag, content, end = _element(data, 0, len(data))
    if tag != 0x30 or end != len(data):
        raise ValueError("not a SEQUENCE")
    outer = _children(data, content, end)
    if len(outer) != 1 or outer[0][0] != 0x30:
        return None  # signed, or not a request
    cert_ids, nonce = [], None
    for tag, _, start, stop in _children(data, outer[0][2], outer[0][3]):
        if tag in (0xA0, 0xA1):  # version, requestor name
            continue
        if tag == 0x30:
            for item_tag, _, item_start, item_stop in _children(data, start, stop):
                request = _children(data, item_start, item_stop)
                if item_tag != 0x30 or not request or request[0][0] != 0x30:
                    raise ValueError("not a Request")
                cert_ids.append(_cert_id(data, *request[0][1:]))
        elif tag == 0xA2:
            nonce = _nonce(data, start, stop)
        else:
            return None
    if not cert_ids:
        raise ValueError("no request")
    return cert_ids, nonce


def _nonce(data: bytes, start: int, end: int) -> bytes | None:
    extensions = _children(data, start, end)
    if len(extensions) != 1 or extensions[0][0] != 0x30:
        raise ValueError("not Extensions")
    for _, _, ext_start, ext_stop in _children(data, extensions[0][2], extensions[0][3]):
        parts = _children(data, ext_start, ext_stop)
        if parts and data[parts[0][1]:parts[0][3]] == NONCE and parts[-1][0] == 0x04:
            return data[parts[-1][2]:parts[-1][3]]
    return None


def _time(moment: datetime) -> bytes:
    return tlv(0x18, moment.strftime("%Y%m%d%H%M%SZ").encode())


def _status(state: CertState) -> bytes:
    if isinstance(state, Revoked):
        reason = tlv(0xA0, bytes((0x0A, 1, REASON_CODES[state.reason])))
        return tlv(0xA1, _time(state.revoked_at) + reason)
    return GOOD if state == "good" else UNKNOWN


@dataclass(frozen=True)
class Presigned:
    """A signed nonce-less answer about one CertID, for as long as the certificate's state stays ``state``."""

    state: CertState
    this_update: datetime
    der: bytes


class Responder:
    """Answer OCSP requests about certificates of the issuing CA; one per process, shared by its threads."""

    def __init__(self, hsm: Hsm, hierarchy: Hierarchy, validity: timedelta,
                 clock: Callable[[], datetime] = utcnow):
        issuer, responder = hierarchy.cert(ISSUING), hierarchy.cert(OCSP)
        self.hsm, self.hierarchy, self.validity, self.clock = hsm, hierarchy, validity, clock
        self._issuer = {
            SHA1: (issuer.subject.sha1, issuer.public_key.sha1),
            SHA256: (issuer.subject.sha256, issuer.public_key.sha256),
        }
        self._responder_id = tlv(0xA2, tlv(0x04, responder.public_key.sha1))
        self._certs = tlv(0xA0, tlv(0x30, responder.dump() + issuer.dump()))
        self._presigned: dict[bytes, Presigned] = {}

    def respond(self, request_der: bytes, lookup: StatusLookup) -> bytes:
        """Answer an OCSP request (DER); a nonce is echoed, a nonce-less one-certificate answer comes pre-signed."""
        try:
            parsed = parse_request(request_der)
        except ValueError:
            return error_response("malformed_request")
        if parsed is None:
            return ocsp_respond(self.hsm, self.hierarchy, request_der, lookup, self.validity)
        cert_ids, nonce = parsed
        if nonce is None and len(cert_ids) == 1:
            return self._current(cert_ids[0], self._state(cert_ids[0], lookup)).der
        now = self.clock()
        singles = b"".join(self._single(cert_id, self._state(cert_id, lookup), now) for cert_id in cert_ids)
        return self._sign(singles, now, nonce)

    def presign(self, serial: int, state: CertState) -> bytes:
        """Sign the nonce-less answers about ``serial`` in ``state`` now (SHA-1 and SHA-256 CertIDs); return the SHA-1 one."""
        now = self.clock()
        serial_der = tlv(0x02, serial.to_bytes(serial.bit_length() // 8 + 1, "big", signed=True))
        answers = []
        for algorithm, (name_hash, key_hash) in self._issuer.items():
            der = tlv(0x30, tlv(0x30, algorithm + b"\x05\x00") + tlv(0x04, name_hash) + tlv(0x04, key_hash) + serial_der)
            answers.append(self._resign(CertId(der, algorithm, name_hash, key_hash, serial), state, now).der)
        return answers[0]

    def _state(self, cert_id: CertId, lookup: StatusLookup) -> CertState:
        if self._issuer.get(cert_id.algorithm) != (cert_id.name_hash, cert_id.key_hash):
            return "unknown"
        return lookup(cert_id.serial)

    def _current(self, cert_id: CertId, state: CertState) -> Presigned:
        entry = self._presigned.get(cert_id.der)
        now = self.clock()
        if entry is None or entry.state != state or now >= entry.this_update + self.validity / 2:
            entry = self._resign(cert_id, state, now)
        return entry

    def _resign(self, cert_id: CertId, state: CertState, now: datetime) -> Presigned:
        entry = Presigned(state, now, self._sign(self._single(cert_id, state, now), now, None))
        if state != "unknown":  # unknown serials are not cached: anyone can ask about any number of them
            self._presigned[cert_id.der] = entry
        return entry

    def _single(self, cert_id: CertId, state: CertState, now: datetime) -> bytes:
        next_update = tlv(0xA0, _time(now + self.validity))
        return tlv(0x30, cert_id.der + _status(state) + _time(now) + next_update)

    def _sign(self, singles: bytes, now: datetime, nonce: bytes | None) -> bytes:
        extensions = tlv(0xA1, tlv(0x30, tlv(0x30, NONCE + tlv(0x04, nonce)))) if nonce is not None else b""
        data = tlv(0x30, self._responder_id + _time(now) + tlv(0x30, singles) + extensions)
        signature = self.hsm.sign(OCSP, data, "sha256")
        basic = tlv(0x30, data + SHA256_RSA + tlv(0x03, b"\x00" + signature) + self._certs)
        return tlv(0x30, b"\x0a\x01\x00" + tlv(0xA0, tlv(0x30, BASIC + tlv(0x04, basic))))
