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
    assert packaged.intact and packaged.key_source == "packaged"
    assert packaged.status is vidvault.VerificationStatus.UNPINNED and not packaged.ok
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
    report = vidvault.verify(pkg, public_key=store.export_public_key(), c2pa_trust_anchors=root)
    assert report.status is vidvault.VerificationStatus.FAILED


@pytest.mark.parametrize("au", [
    b"\x00\x00\x00\x01\x09\xf0\x00\x00\x00\x01\x67\x42\x00\x00\x01\x65\x88\x84\x00",
    b"\x00\x00\x01\x65\x00\x00\x00\x00\x00\x01\x41\x9a",
])
def test_annexb_split_and_join_are_exact_inverses(au):
    units = nal.split_annexb(au)
    assert nal.join_annexb(units.nals, units.start_codes) == au
    sample = nal.length_prefixed(units.nals)
    assert nal.join_annexb(nal.split_length_prefixed(sample), units.start_codes) == au


# ---------------------------------------------------------------- pinning, hostile packages

import os
import subprocess
import sys
import zipfile

from vidvault import keys as vkeys


def _resign(store, pkg, doc):
    """Writes ``doc`` as the package's manifest, signed with the store's key
    (a key holder, or the exporter, producing exactly this manifest)."""
    body = manifest.canonical_json(doc)
    (pkg / manifest.MANIFEST).write_bytes(body)
    (pkg / manifest.SIGNATURE).write_bytes(store._core.sign_export(body))


def _doc(pkg):
    return json.loads((pkg / manifest.MANIFEST).read_bytes())


def _cli(*args):
    env = {k: v for k, v in os.environ.items() if k != "VIDVAULT_KEY"}
    return subprocess.run([sys.executable, "-m", "vidvault.cli", "verify", *map(str, args)],
                          capture_output=True, text=True, env=env, timeout=120)


def test_unpinned_package_is_intact_but_not_verified(package, tmp_path):
    store, pkg = package
    report = vidvault.verify(pkg)
    assert report.intact and not report.pinned and not report.ok
    assert report.status is vidvault.VerificationStatus.UNPINNED
    with pytest.raises(vidvault.VerificationError, match="nobody pinned"):
        report.raise_for_failure()
    r = _cli(pkg)
    assert r.returncode == 3, r.stdout + r.stderr
    fp = vkeys.fingerprint(store.export_public_key())
    assert f"INTACT, SIGNER NOT PINNED (fingerprint {fp})" in r.stdout and "VERIFIED" not in r.stdout
    (tmp_path / "pin.pub").write_text(store.export_public_key().hex())
    assert _cli(pkg, "--public-key", tmp_path / "pin.pub").returncode == 0


def test_a_stranger_signed_package_is_not_verified_without_a_pin(package, tmp_path):
    """Breach: anyone can re-sign an edited package with their own key and ship
    their signer.pub; verify without a pin must not exit 0."""
    store, pkg = package
    with vidvault.Store.create(tmp_path / "mallory", key=vidvault.generate_key()) as mallory:
        forged = copy_package(pkg, tmp_path / "forged")
        doc = _doc(pkg)
        doc["case"] = "C-8"
        doc["signer"]["public_key"] = mallory.export_public_key().hex()
        doc["signer"]["fingerprint"] = vkeys.fingerprint(mallory.export_public_key())
        _resign(mallory, forged, doc)
        (forged / manifest.SIGNER_KEY).write_bytes(vkeys.to_pem(mallory.export_public_key()))
    assert vidvault.verify(forged).status is vidvault.VerificationStatus.UNPINNED
    assert _cli(forged).returncode == 3
    assert vidvault.verify(forged, public_key=store.export_public_key()).status is vidvault.VerificationStatus.FAILED


def test_trusted_signers_file(package, tmp_path):
    store, pkg = package
    key = store.export_public_key()
    listed = tmp_path / "trusted.txt"
    listed.write_text(f"# stores we accept\n\nsha256:{vkeys.fingerprint(key)}  Store A, headquarters\n")
    report = vidvault.verify(pkg, trusted_signers=listed)
    assert report.ok and report.key_source == "trusted-signers"
    assert "Store A, headquarters" in next(c.detail for c in report.checks if c.name == "signature")
    by_key = tmp_path / "by-key.txt"
    by_key.write_text(f"ed25519:{key.hex()}\n")
    assert vidvault.verify(pkg, trusted_signers=by_key).ok
    assert _cli(pkg, "--trusted-signers", by_key).returncode == 0
    other = tmp_path / "other.txt"
    other.write_text(f"{'ab' * 32} some other store\n")
    report = vidvault.verify(pkg, trusted_signers=other)
    assert report.status is vidvault.VerificationStatus.FAILED
    assert "not one of the 1 trusted signers" in report.first_failure.detail
    assert _cli(pkg, "--trusted-signers", other).returncode == 1
    bad = tmp_path / "bad.txt"
    bad.write_text("not-a-fingerprint\n")
    with pytest.raises(vidvault.InvalidArgumentError, match="line 1"):
        vidvault.verify(pkg, trusted_signers=bad)
    r = _cli(pkg, "--trusted-signers", bad)
    assert r.returncode == 2 and r.stderr.startswith("vidvault: ") and "Traceback" not in r.stderr


def test_a_file_the_manifest_does_not_list_fails(package, tmp_path):
    store, pkg = package
    extra = copy_package(pkg, tmp_path / "extra")
    (extra / "notes.txt").write_text("the real footage is elsewhere")
    report = vidvault.verify(extra, public_key=store.export_public_key())
    assert report.status is vidvault.VerificationStatus.FAILED
    assert report.first_failure.name == "unlisted files" and "'notes.txt'" in report.first_failure.detail
    linked = copy_package(pkg, tmp_path / "linked")
    (linked / "passwd").symlink_to("/etc/passwd")
    report = vidvault.verify(linked, public_key=store.export_public_key())
    assert report.first_failure.name == "unlisted files" and "symbolic link" in report.first_failure.detail


@pytest.mark.parametrize("name", ["../../etc/passwd", "/etc/passwd", "sub/clip.mp4", "..", "clip.mp4\\..\\x"])
def test_manifest_paths_never_leave_the_package(package, tmp_path, name):
    """A signed manifest naming a path outside the package: nothing outside is
    read (checked by naming a file that exists there with a matching hash)."""
    store, pkg = package
    outside = tmp_path / "outside.mp4"
    outside.write_bytes((pkg / manifest.CLIP).read_bytes())
    evil = copy_package(pkg, tmp_path / "evil")
    doc = _doc(pkg)
    target = str(outside) if name == "/etc/passwd" else name
    doc["clip"]["file"] = target
    doc["files"][target] = doc["files"].pop(manifest.CLIP)
    (evil / manifest.CLIP).unlink()
    _resign(store, evil, doc)
    report = vidvault.verify(evil, public_key=store.export_public_key())
    assert report.status is vidvault.VerificationStatus.FAILED
    assert report.first_failure.name == manifest.MANIFEST
    assert "plain file name" in report.first_failure.detail
    r = _cli(evil, "--public-key", _pin(store, tmp_path))
    assert r.returncode == 1 and "FAILED: manifest.json" in r.stdout and "Traceback" not in r.stderr


def _pin(store, tmp_path):
    path = tmp_path / "pin.hex"
    path.write_text(store.export_public_key().hex())
    return path


def test_clip_file_not_listed_is_not_read(package, tmp_path):
    store, pkg = package
    evil = copy_package(pkg, tmp_path / "evil")
    doc = _doc(pkg)
    doc["clip"]["file"] = "other.mp4"
    (evil / "other.mp4").write_bytes((pkg / manifest.CLIP).read_bytes())
    _resign(store, evil, doc)
    report = vidvault.verify(evil, public_key=store.export_public_key())
    clip = next(c for c in report.checks if c.name == "clip")
    assert clip.ok is False and "not among the manifest's files" in clip.detail


def _malformed(doc):
    """(label, manifest bytes) pairs: each one a malformed manifest."""
    def edited(path, value):
        d = json.loads(json.dumps(doc))
        node = d
        for k in path[:-1]:
            node = node[k]
        if value is KeyError:
            del node[path[-1]]
        else:
            node[path[-1]] = value
        return manifest.canonical_json(d)

    yield "bad JSON", b'{"format":'
    yield "not UTF-8", b'{"format":"\xff\xfe"}'
    yield "a list", b"[]"
    yield "deep nesting", b"[" * 100_000 + b"]" * 100_000
    yield "huge integer", manifest.canonical_json(doc)[:-1] + b',"zz":' + b"9" * 5000 + b"}"
    yield "empty", b""
    yield "format a list", edited(("format",), ["vidvault-export/1"])
    for path, value in [
        (("frames",), KeyError), (("frames",), "many"), (("frames",), []), (("frames", 0, "ts"), "noon"),
        (("frames", 0, "ts"), 2**70), (("frames", 0, "ts"), -2**70), (("frames", 0, "sha256"), 7),
        (("frames", 0, "keyframe"), 1), (("frames", 0), None), (("actual",), KeyError),
        (("actual", "first_presented"), 10**40), (("requested", "end"), None), (("clip",), "clip.mp4"),
        (("clip", "timescale"), 0), (("clip", "file"), None), (("files",), []), (("files", manifest.CLIP), 3),
        (("files", manifest.CLIP, "bytes"), -1), (("files", manifest.CLIP, "bytes"), 2**64),
        (("codec", "extradata"), "xyz"), (("signer",), None), (("signer", "public_key"), "00"),
        (("segments",), {}), (("c2pa",), {"files": ["../x"]}), (("camera",), 17), (("audit",), []),
    ]:
        yield f"{'.'.join(map(str, path))}={'<missing>' if value is KeyError else repr(value)[:20]}", \
            edited(path, value)


def test_malformed_manifests_fail_cleanly(package, tmp_path):
    """Every malformed manifest is one FAILED line with exit 1, never a
    traceback, whether or not it is signed by the store's key."""
    store, pkg = package
    pin = _pin(store, tmp_path)
    doc = _doc(pkg)
    for i, (label, body) in enumerate(_malformed(doc)):
        bad = copy_package(pkg, tmp_path / f"bad{i}")
        (bad / manifest.MANIFEST).write_bytes(body)
        (bad / manifest.SIGNATURE).write_bytes(store._core.sign_export(body))
        report = vidvault.verify(bad, public_key=store.export_public_key())
        assert report.status is vidvault.VerificationStatus.FAILED, label
        assert not any(c.detail.startswith("could not be checked") for c in report.checks), (label, report.checks)
        if i % 8 == 0:  # the CLI prints the same report: spot-check it
            r = _cli(bad, "--public-key", pin)
            assert r.returncode == 1 and "\nFAILED: " in r.stdout and "Traceback" not in r.stderr, (label, r.stderr)


def test_damaged_signature_and_key_files_fail_cleanly(package, tmp_path):
    store, pkg = package
    for i, (name, data) in enumerate([(manifest.SIGNATURE, b""), (manifest.SIGNATURE, b"x" * 10_000),
                                      (manifest.SIGNER_KEY, b"\xff" * 40), (manifest.SIGNER_KEY, b"")]):
        bad = copy_package(pkg, tmp_path / f"bad{i}")
        (bad / name).write_bytes(data)
        report = vidvault.verify(bad)
        assert report.first_failure.name == "signature", (name, data[:8])
        r = _cli(bad)
        assert r.returncode == 1 and "Traceback" not in r.stderr


def test_zipped_package_verifies_and_a_truncated_one_fails(package, tmp_path):
    store, pkg = package
    pin = _pin(store, tmp_path)
    for folder in ("", "case-7/"):
        archive = tmp_path / f"pkg{len(folder)}.zip"
        with zipfile.ZipFile(archive, "w") as z:
            for p in sorted(pkg.iterdir()):
                z.write(p, folder + p.name)
        report = vidvault.verify(archive, public_key=store.export_public_key())
        assert report.ok, report.to_dict()
        assert _cli(archive, "--public-key", pin).returncode == 0
    data = archive.read_bytes()
    cut = tmp_path / "cut.zip"
    cut.write_bytes(data[: len(data) // 2])
    r = _cli(cut, "--public-key", pin)
    assert r.returncode == 1 and "FAILED: package" in r.stdout and "Traceback" not in r.stderr
    evil = tmp_path / "evil.zip"
    with zipfile.ZipFile(evil, "w") as z:
        for p in sorted(pkg.iterdir()):
            z.write(p, p.name)
        z.writestr("../../escaped.txt", b"x")
    report = vidvault.verify(evil, public_key=store.export_public_key())
    assert report.first_failure.name == "unlisted files" and "a path" in report.first_failure.detail
    assert not (tmp_path / "escaped.txt").exists() and not (tmp_path.parent / "escaped.txt").exists()
