"""Subscriber keys under the passphrase, and the CA keys, in a real SoftHSM token."""

from __future__ import annotations

import pytest
from cryptography import x509
from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.asymmetric import padding
from pkcs11 import DEFAULT, Attribute, KeyType, Mechanism, MechanismFlag, ObjectClass
from pkcs11 import exceptions as p11e

from signer import ca, doctor, keys
from signer.config import KdfParams
from signer.errors import InvalidKeyBlob, WrongPassphrase
from tests import key_blobs

KDF = KdfParams()
NOT_FOR_PRIVATE = {Attribute.ENCRYPT: DEFAULT, Attribute.VERIFY: DEFAULT, Attribute.WRAP: DEFAULT}


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
    assert {ca.ROOT, ca.ISSUING, ca.OCSP, ca.TSA, ca.KEK, ca.PEPPER} <= set(found)
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
        keys.open_sealed(hsm, b"XXXX" + wrapped.blob[4:], "Rahasia#123")
    tampered = bytearray(wrapped.blob)
    tampered[10] ^= 1  # the time cost, now 2**24 + 2: refused before deriving
    with pytest.raises(InvalidKeyBlob):
        keys.open_sealed(hsm, bytes(tampered), "Rahasia#123")
    tampered = bytearray(wrapped.blob)
    tampered[20] ^= 1  # the salt, authenticated as GCM associated data
    with pytest.raises(WrongPassphrase):
        keys.open_sealed(hsm, bytes(tampered), "Rahasia#123")


def test_generation_leaves_no_session_objects(hsm):
    before = objects(hsm)
    keys.generate(hsm, "Rahasia#123", KDF)
    assert objects(hsm) == before


def test_change_passphrase_keeps_the_key(hsm):
    wrapped = keys.generate(hsm, "Lama#2024x", KDF)
    blob = keys.change_passphrase(hsm, wrapped.blob, "Lama#2024x", "Baru#2025y", KDF)
    with pytest.raises(WrongPassphrase):
        keys.open_sealed(hsm, blob, "Lama#2024x")
    with keys.unlock(hsm, blob, "Baru#2025y") as key:
        signature = key.sign(b"data")
    verify(wrapped.public_key, signature, b"data")  # same key pair as before
    with pytest.raises(WrongPassphrase):
        keys.change_passphrase(hsm, wrapped.blob, "salah", "Baru#2025y", KDF)


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



def test_a_copy_of_the_blob_and_the_right_passphrase_open_nothing_without_the_hsm(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    assert key_blobs.version(wrapped.blob) == 2
    with pytest.raises(InvalidTag):
        key_blobs.offline_open(wrapped.blob, "Rahasia#123")
    assert keys.open_sealed(hsm, wrapped.blob, "Rahasia#123")  # the HSM's pepper is what opens it


def test_a_version_1_blob_still_opens_and_upgrades(hsm):
    wrapped = keys.generate(hsm, "Rahasia#123", KDF)
    old = key_blobs.v1_seal(keys.open_sealed(hsm, wrapped.blob, "Rahasia#123"), "Rahasia#123", KDF)
    with keys.unlock(hsm, old, "Rahasia#123") as key:
        verify(wrapped.public_key, key.sign(b"lama"), b"lama")
    with pytest.raises(WrongPassphrase):
        keys.upgrade(hsm, old, "salah", KDF)
    new = keys.upgrade(hsm, old, "Rahasia#123", KDF)
    assert key_blobs.version(new) == 2 and keys.upgrade(hsm, new, "Rahasia#123", KDF) is None
    with pytest.raises(InvalidTag):
        key_blobs.offline_open(new, "Rahasia#123")
    with keys.unlock(hsm, new, "Rahasia#123") as key:
        verify(wrapped.public_key, key.sign(b"baru"), b"baru")


def _inner(hsm, passphrase: str = "Rahasia#123") -> bytes:
    """Return a new subscriber key wrapped under the KEK: what the blob holds once its passphrase layer is off."""
    return keys.open_sealed(hsm, keys.generate(hsm, passphrase, KDF).blob, passphrase)


def _unwrap_with_kek(hsm, wrapped: bytes, sensitive: bool, extractable: bool, read: Attribute | None = None):
    """Unwrap ``wrapped`` with the token KEK as asked (as a PIN holder may), read ``read``, and destroy the key."""

    def unwrap(session):
        kek = session.get_key(object_class=ObjectClass.SECRET_KEY, label=ca.KEK)
        key = kek.unwrap_key(ObjectClass.PRIVATE_KEY, KeyType.RSA, wrapped, mechanism=Mechanism.AES_KEY_WRAP_PAD,
                             store=False, capabilities=MechanismFlag.SIGN,
                             template={Attribute.SENSITIVE: sensitive, Attribute.EXTRACTABLE: extractable, **NOT_FOR_PRIVATE})
        try:
            return key[read] if read is not None else None
        finally:
            key.destroy()

    return hsm.run(unwrap)


def test_the_kek_unwraps_no_readable_subscriber_key(hsm):
    wrapped = _inner(hsm)
    before = objects(hsm)
    with pytest.raises(p11e.TemplateInconsistent):
        _unwrap_with_kek(hsm, wrapped, sensitive=False, extractable=True, read=Attribute.PRIVATE_EXPONENT)
    with pytest.raises(p11e.TemplateInconsistent):
        _unwrap_with_kek(hsm, wrapped, sensitive=True, extractable=True)
    _unwrap_with_kek(hsm, wrapped, sensitive=True, extractable=False)  # the one way the template allows
    assert objects(hsm) == before


def test_a_subscriber_key_cannot_be_wrapped_by_a_fresh_untrusted_key(hsm):
    blob = keys.generate(hsm, "Rahasia#123", KDF).blob

    def fresh_wrapping_key(session):
        return session.generate_key(KeyType.AES, 256, store=False, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
                                    template={Attribute.SENSITIVE: False, Attribute.EXTRACTABLE: True})

    rogue = hsm.run(fresh_wrapping_key)
    try:
        with keys.unlock(hsm, blob, "Rahasia#123") as key, pytest.raises(p11e.KeyUnextractable):
            rogue.wrap_key(key._key, mechanism=Mechanism.AES_KEY_WRAP_PAD)
        # And SoftHSM refuses an untrusted key wrapping a CKA_WRAP_WITH_TRUSTED key (what a trusted KEK relies on).
        _, private = hsm.run(lambda session: session.generate_keypair(
            KeyType.RSA, 1024, store=False, capabilities=MechanismFlag.SIGN | MechanismFlag.VERIFY,
            private_template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: True, Attribute.WRAP_WITH_TRUSTED: True}))
        try:
            with pytest.raises(p11e.KeyNotWrappable):
                rogue.wrap_key(private, mechanism=Mechanism.AES_KEY_WRAP_PAD)
        finally:
            private.destroy()
    finally:
        rogue.destroy()


def test_doctor_finds_every_essential_protection_on_a_new_token(hsm):
    before = objects(hsm)
    found = {check.name: check for check in doctor.checks(hsm)}
    assert all(check.holds for check in found.values() if check.essential), found
    assert any("unwrap template" in name for name in found)
    assert objects(hsm) == before  # the probes' throwaway objects are gone


def test_doctor_fails_a_kek_without_unwrap_template(hsm, monkeypatch):
    label = "paraf-kek-made-before-templates"
    old_kek = hsm.run(lambda session: session.generate_key(
        KeyType.AES, 256, label=label, store=True, capabilities=MechanismFlag.WRAP | MechanismFlag.UNWRAP,
        template={Attribute.SENSITIVE: True, Attribute.EXTRACTABLE: False, Attribute.PRIVATE: True}))
    monkeypatch.setattr(doctor, "KEK", label)
    try:
        failing = [check for check in doctor.checks(hsm) if check.essential and not check.holds]
    finally:
        old_kek.destroy()
    assert [check.name for check in failing] == [
        "the KEK unwraps keys only as sensitive and non-extractable (unwrap template)"
    ]
    assert "readable" in failing[0].detail


def test_pki_doctor_command_reports_and_passes_on_a_new_token(app):
    result = app.test_cli_runner().invoke(args=["pki", "doctor"])
    assert result.exit_code == 0, result.output
    assert "ok   the KEK unwraps keys only as sensitive and non-extractable" in result.output
    assert "FAIL" not in result.output
