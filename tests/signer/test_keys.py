"""Subscriber keys under the passphrase, and the CA keys, in a real SoftHSM token."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pkcs11 import Attribute, Mechanism, ObjectClass
from pkcs11 import exceptions as p11e

from signer import ca, keys
from signer.config import KdfParams
from signer.errors import InvalidKeyBlob, WrongPassphrase

KDF = KdfParams()


@pytest.fixture()
def hsm(app):
    """Return the session's HSM handle."""
    return app.extensions["paraf.pki"].hsm


def objects(hsm) -> list[tuple]:
    """Return every key object the token shows this process (token and session objects)."""

    def listing(session):
        return sorted(
            (int(obj[Attribute.CLASS]), obj[Attribute.LABEL], bytes(obj[Attribute.ID]))
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.PUBLIC_KEY, ObjectClass.SECRET_KEY)
            for obj in session.get_objects({Attribute.CLASS: cls})
        )

    return hsm.run(listing)


def verify(public_key_der: bytes, signature: bytes, data: bytes) -> None:
    """Check an RSA PKCS#1 v1.5 SHA-256 signature with a SubjectPublicKeyInfo."""
    from cryptography.hazmat.primitives.serialization import load_der_public_key

    load_der_public_key(public_key_der).verify(signature, data, padding.PKCS1v15(), hashes.SHA256())


def test_ca_keys_are_sensitive_and_not_extractable(hsm):
    def attributes(session):
        return {
            obj[Attribute.LABEL]: (obj[Attribute.SENSITIVE], obj[Attribute.EXTRACTABLE], obj[Attribute.TOKEN])
            for cls in (ObjectClass.PRIVATE_KEY, ObjectClass.SECRET_KEY)
            for obj in session.get_objects({Attribute.CLASS: cls, Attribute.TOKEN: True})
        }

    found = hsm.run(attributes)
    assert set(found) == {ca.ROOT, ca.ISSUING, ca.OCSP, ca.TSA, ca.KEK}
    assert all(value == (True, False, True) for value in found.values()), found


def test_token_keys_cannot_be_wrapped_out(hsm):
    def try_wrap(session):
        kek = session.get_key(object_class=ObjectClass.SECRET_KEY, label=ca.KEK)
        root = session.get_key(object_class=ObjectClass.PRIVATE_KEY, label=ca.ROOT)
        return kek.wrap_key(root, mechanism=Mechanism.AES_KEY_WRAP_PAD)

    with pytest.raises(p11e.PKCS11Error):
        hsm.run(try_wrap)


def test_unlocked_key_is_sign_only_and_destroyed_after(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    before = objects(hsm)
    with keys.unlock(hsm, wrapped.blob, "Rahasia#123") as key:
        inner = key._key
        assert inner[Attribute.SENSITIVE] is True
        assert inner[Attribute.EXTRACTABLE] is False
        assert inner[Attribute.SIGN] is True
        assert inner[Attribute.DECRYPT] is False
        assert inner[Attribute.TOKEN] is False
        signature = key.sign(b"surat keputusan")
        assert len(objects(hsm)) == len(before) + 1
    verify(wrapped.public_key, signature, b"surat keputusan")
    assert objects(hsm) == before


def test_blob_holds_no_plaintext_key_material(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    assert wrapped.blob.startswith(keys.MAGIC)
    assert keys.kdf_of(wrapped.blob) == KDF
    # RSA private keys in DER start with SEQUENCE + version 0; nothing like it may appear.
    assert b"\x02\x01\x00\x02\x82\x01\x01\x00" not in wrapped.blob


def test_wrong_passphrase_fails_and_leaves_nothing_behind(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    before = objects(hsm)
    with pytest.raises(WrongPassphrase):
        with keys.unlock(hsm, wrapped.blob, "rahasia#123"):
            pytest.fail("a wrong passphrase unlocked the key")
    assert objects(hsm) == before


def test_damaged_blob_is_refused(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    with pytest.raises(InvalidKeyBlob):
        keys.open_sealed(b"XXXX" + wrapped.blob[4:], "Rahasia#123")
    tampered = bytearray(wrapped.blob)
    tampered[10] ^= 1  # the time cost, now 2**24 + 2: refused before deriving
    with pytest.raises(InvalidKeyBlob):
        keys.open_sealed(bytes(tampered), "Rahasia#123")
    tampered = bytearray(wrapped.blob)
    tampered[20] ^= 1  # the salt, authenticated as GCM associated data
    with pytest.raises(WrongPassphrase):
        keys.open_sealed(bytes(tampered), "Rahasia#123")


def test_generation_leaves_no_session_objects(hsm):
    before = objects(hsm)
    keys.generate(hsm, "Rahasia#123", KDF)
    assert objects(hsm) == before


def test_change_passphrase_keeps_the_key(hsm):
    wrapped = keys.generate(hsm, "Lama#2024x", KDF)
    blob = keys.change_passphrase(wrapped.blob, "Lama#2024x", "Baru#2025y", KDF)
    with pytest.raises(WrongPassphrase):
        keys.open_sealed(blob, "Lama#2024x")
    with keys.unlock(hsm, blob, "Baru#2025y") as key:
        signature = key.sign(b"data")
    verify(wrapped.public_key, signature, b"data")  # same key pair as before
    with pytest.raises(WrongPassphrase):
        keys.change_passphrase(wrapped.blob, "salah", "Baru#2025y", KDF)


def test_kdf_parameters_travel_with_the_blob(hsm):
    stronger = KdfParams(memory_kib=32 * 1024, time_cost=3, parallelism=1)
    wrapped = keys.generate(hsm, "Rahasia#123", stronger)
    assert keys.kdf_of(wrapped.blob) == stronger
    with keys.unlock(hsm, wrapped.blob, "Rahasia#123") as key:
        key.sign(b"x")


def test_subscriber_certificate_profile(issue_certificate, app):
    row = issue_certificate("Siti Nurhaliza")
    cert = x509.load_der_x509_certificate(row.der)
    assert cert.serial_number.bit_length() > 100
    usage = cert.extensions.get_extension_for_class(x509.KeyUsage)
    assert usage.critical and usage.value.digital_signature and usage.value.content_commitment
    assert not usage.value.key_cert_sign
    base = app.config["PUBLIC_BASE_URL"]
    crl_dp = cert.extensions.get_extension_for_class(x509.CRLDistributionPoints).value
    assert crl_dp[0].full_name[0].value == f"{base}/pki/issuing.crl"
    aia = {d.access_method._name: d.access_location.value for d in cert.extensions.get_extension_for_class(x509.AuthorityInformationAccess).value}
    assert aia == {"OCSP": f"{base}/pki/ocsp", "caIssuers": f"{base}/pki/issuing.crt"}
    policies = cert.extensions.get_extension_for_class(x509.CertificatePolicies).value
    assert policies[0].policy_identifier.dotted_string == app.extensions["paraf.pki"].pki.policy_oid
    assert cert.extensions.get_extension_for_class(x509.SubjectKeyIdentifier)
    assert cert.extensions.get_extension_for_class(x509.AuthorityKeyIdentifier)
    assert 729 <= (cert.not_valid_after_utc - cert.not_valid_before_utc).days <= 731

