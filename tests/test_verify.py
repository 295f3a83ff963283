"""Offline verification catches real tampering, and C2PA credentials
validate against their trust anchor."""

from __future__ import annotations

import datetime
import json

import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

import vidvault
from vidvault.export import c2pa
from vidvault.export import manifest
from vidvault.media import nal

from media_checks import NS, T0, copy_package, ffprobe_errors, flip_byte_in_mdat, remux


@pytest.fixture(scope="module")
def package(tmp_path_factory, clip):
    """A store with 6 s of 640x360 H.264 with B-frames, and one exported package."""
    base = tmp_path_factory.mktemp("verify")
    store = vidvault.Store.create(base / "store", key=vidvault.generate_key(), roll_after=2.0)
    vidvault.ingest(store, "cam", str(clip(bframes=2)), start=T0, create_camera=True)
    pkg = base / "pkg"
    store.export_clip("cam", T0 + NS, T0 + 3 * NS, pkg, raw=True, watermark="COPY", case="C-7")
    yield store, pkg
    store.close()


def test_intact_package_verifies_with_pinned_and_packaged_key(package):
    store, pkg = package
    pinned = vidvault.verify(pkg, public_key=store.export_public_key())
    assert pinned.ok and pinned.key_source == "pinned"
    packaged = vidvault.verify(pkg)
    assert packaged.ok and packaged.key_source == "packaged"
    assert "pin the store's key" in next(c.detail for c in packaged.checks if c.name == "signature")


def test_one_byte_in_mdat(package, tmp_path):
    _, pkg = package
    bad = copy_package(pkg, tmp_path / "p")
    flip_byte_in_mdat(bad / manifest.CLIP)
    report = vidvault.verify(bad)
    assert not report.ok
    assert report.first_failure.name == "file clip.mp4" and "was changed" in report.first_failure.detail
    frames = next(c for c in report.checks if c.name == "frames")
    assert frames.ok is False and "differs from the recorded access unit" in frames.detail
    assert frames.detail.startswith("frame ")


def test_one_byte_in_manifest(package, tmp_path):
    _, pkg = package
    bad = copy_package(pkg, tmp_path / "p")
    body = (bad / manifest.MANIFEST).read_bytes()
    i = body.index(b'"case":"C-7"') + len(b'"case":"C-')
    (bad / manifest.MANIFEST).write_bytes(body[:i] + b"8" + body[i + 1 :])  # still canonical JSON
    report = vidvault.verify(bad)
    assert report.first_failure.name == "signature"
    assert "does not verify manifest.json" in report.first_failure.detail


def test_reformatted_manifest_is_refused(package, tmp_path):
    _, pkg = package
    bad = copy_package(pkg, tmp_path / "p")
    doc = json.loads((bad / manifest.MANIFEST).read_bytes())
    (bad / manifest.MANIFEST).write_text(json.dumps(doc, indent=1))
    report = vidvault.verify(bad)
    assert not report.ok and "not canonical" in report.first_failure.detail


def test_frame_dropped_by_remuxing(package, tmp_path):
    _, pkg = package
    bad = copy_package(pkg, tmp_path / "p")
    remux(pkg / manifest.CLIP, bad / manifest.CLIP, drop=20)
    report = vidvault.verify(bad)
    assert not report.ok
    frames = next(c for c in report.checks if c.name == "frames")
    assert frames.ok is False and frames.detail.startswith("frame 20 ")


def test_two_frames_swapped(package, tmp_path):
    _, pkg = package
    bad = copy_package(pkg, tmp_path / "p")
    remux(pkg / manifest.CLIP, bad / manifest.CLIP, swap=(11, 12))
    report = vidvault.verify(bad)
    frames = next(c for c in report.checks if c.name == "frames")
    assert frames.ok is False and frames.detail.startswith("frame 11 ") and "2 of" in frames.detail


def test_wrong_public_key(package, tmp_path):
    _, pkg = package
    with vidvault.Store.create(tmp_path / "other", key=vidvault.generate_key()) as other:
        wrong = other.export_public_key()
    report = vidvault.verify(pkg, public_key=wrong)
    assert report.first_failure.name == "signature"
    assert "pinned public key" in report.first_failure.detail and "Wrong key" in report.first_failure.detail


def test_store_check_notices_a_different_store(package, tmp_path):
    _, pkg = package
    with vidvault.Store.create(tmp_path / "other", key=vidvault.generate_key()) as other:
        report = vidvault.verify(pkg, store=other)
    assert report.first_failure.name == "store"


def _chain(tmp_path):
    """A test CA and an end-entity certificate for C2PA signing."""
    now = datetime.datetime.now(datetime.timezone.utc)

    def name(cn):
        return x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, cn),
                          x509.NameAttribute(NameOID.ORGANIZATION_NAME, "vidvault tests")])

    def usage(**on):
        fields = dict(digital_signature=False, content_commitment=False, key_encipherment=False,
                      data_encipherment=False, key_agreement=False, key_cert_sign=False, crl_sign=False,
                      encipher_only=False, decipher_only=False)
        return x509.KeyUsage(**{**fields, **on})

    ca_key, ee_key = ec.generate_private_key(ec.SECP256R1()), ec.generate_private_key(ec.SECP256R1())
    valid = dict(not_valid_before=now - datetime.timedelta(days=1), not_valid_after=now + datetime.timedelta(days=30))
    ca = (x509.CertificateBuilder(subject_name=name("test root"), issuer_name=name("test root"),
                                  public_key=ca_key.public_key(), serial_number=x509.random_serial_number(), **valid)
          .add_extension(x509.BasicConstraints(ca=True, path_length=None), critical=True)
          .add_extension(usage(key_cert_sign=True, crl_sign=True), critical=True)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    ee = (x509.CertificateBuilder(subject_name=name("evidence export"), issuer_name=ca.subject,
                                  public_key=ee_key.public_key(), serial_number=x509.random_serial_number(), **valid)
          .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
          .add_extension(usage(digital_signature=True), critical=True)
          .add_extension(x509.ExtendedKeyUsage([ExtendedKeyUsageOID.EMAIL_PROTECTION]), critical=False)
          .add_extension(x509.SubjectKeyIdentifier.from_public_key(ee_key.public_key()), critical=False)
          .add_extension(x509.AuthorityKeyIdentifier.from_issuer_public_key(ca_key.public_key()), critical=False)
          .sign(ca_key, hashes.SHA256()))
    pem = serialization.Encoding.PEM
    (tmp_path / "chain.pem").write_bytes(ee.public_bytes(pem) + ca.public_bytes(pem))
    (tmp_path / "signer.key").write_bytes(ee_key.private_bytes(pem, serialization.PrivateFormat.PKCS8,
                                                               serialization.NoEncryption()))
    return ca.public_bytes(pem)


def test_c2pa_credentials_validate_and_break_on_a_byte_flip(package, tmp_path):
    store, _ = package
    root = _chain(tmp_path)
    creds = vidvault.C2paCredentials.from_files(tmp_path / "chain.pem", tmp_path / "signer.key")
    pkg = tmp_path / "pkg"
    store.export_clip("cam", T0 + NS, T0 + 2 * NS, pkg, raw=True, watermark="COPY", case="C-7", c2pa=creds)
    for name in (manifest.CLIP, manifest.WATERMARKED):
        assert ffprobe_errors(pkg / name) == ""
        result = c2pa.validate(pkg / name, trust_anchors=root)
        assert result.state == "Trusted" and result.ok, result.failures
    parent = c2pa.validate(pkg / manifest.WATERMARKED, trust_anchors=root).manifest
    assert parent["ingredients"][0]["relationship"] == "parentOf"
    actions = next(a for a in parent["assertions"] if a["label"].startswith("c2pa.actions"))
    assert "c2pa.filtered" in [a["action"] for a in actions["data"]["actions"]]
    # The bit-exact promise survives C2PA embedding, and the whole package verifies.
    report = vidvault.verify(pkg, public_key=store.export_public_key(), c2pa_trust_anchors=root)
    assert report.ok, report.to_dict()

    flip_byte_in_mdat(pkg / manifest.CLIP, fraction=0.3)
    broken = c2pa.validate(pkg / manifest.CLIP, trust_anchors=root)
    assert not broken.ok
    assert not vidvault.verify(pkg, c2pa_trust_anchors=root).ok


@pytest.mark.parametrize("au", [
    b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67\x42\x00\x00\x01\x65\x88\x84\x00",
    b"\x00\x00\x01\x65\x00\x00\x00\x00\x00\x01\x41\x9a",
])
def test_annexb_split_and_join_are_exact_inverses(au):
    units = nal.split_annexb(au)
    assert nal.join_annexb(units.nals, units.start_codes) == au
    sample = nal.length_prefixed(units.nals)
    assert nal.join_annexb(nal.split_length_prefixed(sample), units.start_codes) == au
