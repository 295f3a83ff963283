"""Redacted evidence packages from real encoded video (a real face photo and
a real plate photo, libx264), redacted by the real models: no unredacted
video in the package, faces and plates unreadable in the copy, offline
verification that catches real tampering, grants for `export` vs
`export_raw`, and no package at all when a detector fails."""

from __future__ import annotations

import hashlib
import json
import os
import time

import av
import numpy as np
import pytest

import vidvault
from vidvault.export import manifest, watermark
from vidvault.redact import Redaction
from vidvault.redact.evaluation.scenes import encode
from vidvault.timeutil import iso

from helpers import FRAME_NS, NS, T0, ingest_file
from media_checks import copy_package, ffprobe_errors, flip_byte_in_mdat, remux
from test_cli import run
from test_redact_playback import Degraded, energy, small_scene, truth_box

CAM = "34020000001320000001"
START, END = T0 + 300_000_000, T0 + 1_700_000_000  # mid-GOP: decoding starts at the keyframe at T0
HOUR = 3600 * NS
REDACTED_FILES = {manifest.REDACTED, "review.json", "review.png", manifest.MANIFEST, manifest.SIGNATURE,
                  manifest.SIGNER_KEY}


@pytest.fixture(scope="module")
def scene(tmp_path_factory):
    """The 2 s scene (astronaut face, car plate) encoded once, its ground truth."""
    path = tmp_path_factory.mktemp("scene") / "scene.mp4"
    return path, encode(small_scene(), path)


@pytest.fixture(scope="module")
def footage(tmp_path_factory, scene):
    base = tmp_path_factory.mktemp("rexport")
    store = vidvault.Store.create(base / "store", key=vidvault.generate_key(), roll_after=1.0)
    store.add_camera(CAM, labels={"area": "district-3"})
    ingest_file(store, CAM, scene[0])
    yield store, base
    store.close()


@pytest.fixture(scope="module")
def package(footage):
    """One redacted, watermarked package exported by a trusted caller."""
    store, base = footage
    # Faces and plates only: the scene's moving photo cut-outs are rectangles whose tops the people
    # detector would hide (the export of a real pedestrian clip is in tests/test_redact_people.py).
    result = store.export_clip(CAM, START, END, base / "pkg", redact=Redaction(people=None),
                               watermark="COPY - COURT",
                               case="CASE-17", reason="assault report 4411", actor="clerk.li")
    return result, base / "pkg"


def decoded_rgb(path):
    with av.open(str(path)) as c:
        return [f.to_ndarray(format="rgb24") for f in c.decode(c.streams.video[0])]


def test_redacted_package_holds_no_unredacted_video(footage, package, scene):
    store, base = footage
    result, pkg = package
    assert {p.name for p in pkg.iterdir()} == REDACTED_FILES
    assert not [p.name for p in base.iterdir() if ".partial" in p.name]
    assert ffprobe_errors(pkg / manifest.REDACTED) == ""

    pictures = decoded_rgb(pkg / manifest.REDACTED)
    raw = [f.image for f in store.play(CAM, START, END, raw=True)]
    assert len(pictures) == len(raw) == result.presented == 35
    first = (result.first_presented - T0) // FRAME_NS  # the scene's frame index of the first picture
    for k in range(0, 35, 3):
        for kind in ("face", "plate"):
            box = truth_box(scene[1], first + k, kind)
            before, after = energy(raw[k], box), energy(pictures[k], box)
            assert after < 0.2 * before, f"picture {k} {kind}: detail {after:.2f} of {before:.2f} left"
        # Away from faces, plates and the watermark it is the recorded picture, up to codec noise.
        top = (slice(0, 60), slice(None))
        diff = pictures[k][top].astype(np.float64) - raw[k][top]
        assert 10 * np.log10(255**2 / max(np.mean(diff**2), 1e-9)) > 30


def test_watermark_is_burned_into_the_redacted_copy(package):
    result, pkg = package
    gray = [np.asarray(p, dtype=np.float64).mean(axis=2) for p in decoded_rgb(pkg / manifest.REDACTED)]
    h, w = gray[0].shape
    overlay = watermark.Overlay(w, h, watermark.static_lines(text="COPY - COURT", case="CASE-17", camera=CAM),
                                time_sample=watermark.time_line(T0))
    ys, xs = slice(overlay.y0, overlay.y0 + overlay.box_h), slice(overlay.x0, overlay.x0 + overlay.box_w)
    presented = sorted(f["ts"] for f in result.manifest["frames"] if f["presented"])
    for i in (0, len(gray) - 1):
        expected = overlay.mask(watermark.time_line(presented[i]))
        box = gray[i][ys, xs]
        assert box[expected > 0.8].mean() > 200 and box[expected < 0.05].mean() < 110
        own = np.corrcoef(box.ravel(), expected.ravel())[0, 1]
        other = np.corrcoef(box.ravel(), overlay.mask(watermark.time_line(presented[i] + 3_723_456_000_000)).ravel())[0, 1]
        assert own > 0.85 and own > other
    assert result.manifest["watermark"]["file"] == manifest.REDACTED


def test_manifest_binds_the_stored_frames_and_the_redaction(footage, package):
    store, _ = footage
    result, _ = package
    doc = result.manifest
    assert doc["format"] == manifest.FORMAT_REDACTED
    assert doc["clip"]["file"] == manifest.REDACTED and doc["clip"]["bit_exact"] is False
    assert set(doc["files"]) == {manifest.REDACTED, "review.json", "review.png"}
    stored = list(store.read(CAM, START, END))
    assert [(f["segment"], f["seq"], f["pts"], f["dts"], f["sha256"]) for f in doc["frames"]] == [
        (f.segment, f.seq, f.pts, f.dts, hashlib.sha256(f.data).hexdigest()) for f in stored]
    assert [m["file"] for m in doc["redaction"]["models"]] == ["centerface.onnx", "clp_det.onnx"]
    assert doc["redaction"]["hidden"]["frames"] == 35
    entry = store.audit_entry(doc["audit"]["entry"])
    assert (entry.action, entry.principal, entry.outcome) == ("export", "clerk.li", "allowed")


def test_review_report_lists_every_track_as_it_was_hidden(package):
    result, pkg = package
    doc = result.manifest
    assert doc["review"] == {"file": "review.json", "format": "vidvault-review/1", "contact_sheet": "review.png"}
    data = (pkg / "review.json").read_bytes()
    assert doc["files"]["review.json"] == {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    review = json.loads(data)
    assert review["format"] == "vidvault-review/1" and review["frames"] == doc["clip"]["frames"]
    assert review["frames_with_regions"] == doc["redaction"]["hidden"]["frames"]
    tracks = review["tracks"]
    kinds = {t["kind"] for t in tracks}
    assert kinds == {"face", "plate"}
    for t in tracks:
        assert 0 <= t["first_frame"] <= t["last_frame"] < review["frames"]
        assert 1 <= t["frames"] <= t["last_frame"] - t["first_frame"] + 1
        assert all(t["first_frame"] <= i <= t["last_frame"] for i in t["coasting_frames"])
        assert len(t["coasting_frames"]) <= t["frames"]
    faces = [t for t in tracks if t["kind"] == "face"]
    assert all(0.35 <= t["lowest_score"] <= 1 for t in faces)  # the default floor for faces
    # The boxes over all tracks are the regions the manifest counts.
    assert sum(t["frames"] for t in tracks) == doc["redaction"]["hidden"]["regions"]
    # The contact sheet: one labelled thumbnail per track, cut from the redacted pictures.
    from PIL import Image

    sheet = np.asarray(Image.open(pkg / "review.png").convert("RGB"))
    rows, cols = -(-len(tracks) // 8), min(8, len(tracks))
    assert sheet.shape[:2] == (rows * 142, cols * 128)
    assert sheet[20:, :].std() > 5  # thumbnails, not an empty sheet
    assert doc["files"]["review.png"]["sha256"] == hashlib.sha256((pkg / "review.png").read_bytes()).hexdigest()


def test_a_changed_review_report_fails_verification(footage, package, tmp_path):
    store, _ = footage
    _, pkg = package
    copy = copy_package(pkg, tmp_path / "pkg")
    review = json.loads((copy / "review.json").read_bytes())
    review["tracks"] = []  # "nothing was hidden"
    (copy / "review.json").write_text(json.dumps(review))
    report = vidvault.verify(copy, public_key=store.export_public_key())
    assert not report.ok
    assert any(c.name == "file review.json" and not c.ok for c in report.checks)


def test_redacted_package_verifies_offline_and_against_the_store(footage, package):
    store, _ = footage
    _, pkg = package
    report = vidvault.verify(pkg, public_key=store.export_public_key())
    assert report.ok and report.key_source == "pinned", report.to_dict()
    checks = {c.name: c for c in report.checks}
    assert checks["clip"].ok and "one per presented frame" in checks["clip"].detail
    assert checks["bit-exact"].ok is None and "does not apply" in checks["bit-exact"].detail
    with_store = vidvault.verify(pkg, public_key=store.export_public_key(), store=store)
    assert with_store.ok, with_store.first_failure
    assert {c.name for c in with_store.checks if c.ok} >= {"store frames", "audit"}


def test_tampering_with_a_redacted_package_is_caught(package, tmp_path):
    _, pkg = package
    flipped = copy_package(pkg, tmp_path / "flipped")
    flip_byte_in_mdat(flipped / manifest.REDACTED)
    report = vidvault.verify(flipped)
    assert report.first_failure.name == f"file {manifest.REDACTED}" and "was changed" in report.first_failure.detail

    edited = copy_package(pkg, tmp_path / "edited")
    body = (edited / manifest.MANIFEST).read_bytes()
    i = body.index(b'"case":"CASE-17"') + len(b'"case":"CASE-1')
    (edited / manifest.MANIFEST).write_bytes(body[:i] + b"8" + body[i + 1:])  # still canonical JSON
    assert vidvault.verify(edited).first_failure.name == "signature"

    # A bit-exact verifier's view: claiming the copy is bit-exact is refused, even when re-signed
    # by someone else's key (the pinned key fails) or checked with the packaged one (clip fails).
    doc = json.loads(body)
    doc["clip"]["bit_exact"] = True
    relabelled = copy_package(pkg, tmp_path / "relabelled")
    (relabelled / manifest.MANIFEST).write_bytes(manifest.canonical_json(doc))
    report = vidvault.verify(relabelled)
    assert not report.ok and {c.name for c in report.checks if c.ok is False} >= {"signature", "clip"}


def test_a_copy_that_misses_a_frame_fails_even_when_signed(footage, package, tmp_path):
    """What only decoding can catch: a copy short of a frame, signed with the
    store's key (an exporter bug, or a key holder cutting a frame out)."""
    store, _ = footage
    _, pkg = package
    cut = copy_package(pkg, tmp_path / "cut")
    remux(pkg / manifest.REDACTED, cut / manifest.REDACTED, drop=20)
    doc = json.loads((pkg / manifest.MANIFEST).read_bytes())
    data = (cut / manifest.REDACTED).read_bytes()
    doc["files"][manifest.REDACTED] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
    body = manifest.canonical_json(doc)
    (cut / manifest.MANIFEST).write_bytes(body)
    (cut / manifest.SIGNATURE).write_bytes(store._core.sign_export(body))
    report = vidvault.verify(cut, public_key=store.export_public_key())
    assert report.first_failure.name == "clip"
    assert "decodes to 34 pictures" in report.first_failure.detail, report.first_failure.detail


def _resigned(store, pkg, out, change):
    copy = copy_package(pkg, out)
    doc = json.loads((pkg / manifest.MANIFEST).read_bytes())
    change(doc, copy)
    body = manifest.canonical_json(doc)
    (copy / manifest.MANIFEST).write_bytes(body)
    (copy / manifest.SIGNATURE).write_bytes(store._core.sign_export(body))
    return vidvault.verify(copy, public_key=store.export_public_key())


def test_the_review_file_must_be_a_review_report_even_when_signed(footage, package, tmp_path):
    """A key holder (or an exporter bug) cannot smuggle unredacted video in as the review report,
    nor drop the report from a /2 package; a /1 package (before the report) still verifies."""
    store, _ = footage
    _, pkg = package

    def video_as(name):
        """Puts the redacted video in the package under `name`, listed and re-signed."""
        def change(doc, copy):
            data = (copy / manifest.REDACTED).read_bytes()
            (copy / name).write_bytes(data)
            doc["files"][name] = {"sha256": hashlib.sha256(data).hexdigest(), "bytes": len(data)}
        return change

    report = _resigned(store, pkg, tmp_path / "smuggled", video_as("review.json"))
    assert report.first_failure.name == "clip" and "is not a review report" in report.first_failure.detail

    def no_review(doc, copy):
        del doc["review"]

    report = _resigned(store, pkg, tmp_path / "unnamed", no_review)
    assert report.first_failure.name == "clip" and "names no review report" in report.first_failure.detail

    report = _resigned(store, pkg, tmp_path / "smuggled-png", video_as("review.png"))
    assert report.first_failure.name == "clip" and "is not a PNG contact sheet" in report.first_failure.detail

    def as_v1(doc, copy):
        doc["format"] = manifest.FORMAT_REDACTED_V1
        del doc["review"], doc["files"]["review.json"], doc["files"]["review.png"]
        (copy / "review.json").unlink()
        (copy / "review.png").unlink()

    assert _resigned(store, pkg, tmp_path / "v1", as_v1).ok


def grant(store, actions, to="clerk.li"):
    return store.issue_grant(to=to, actions=actions, cameras=["label:area=district-3"], footage_from=T0,
                             footage_to=T0 + HOUR, valid_until=time.time_ns() + HOUR, case="CASE-17",
                             issued_by="admin.zhao", approver="chief.li")


def test_export_clip_is_redacted_unless_raw_is_asked_for(footage, tmp_path):
    """`redact=` means what it means in `play`: default settings when omitted."""
    store, _ = footage
    result = store.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "default")
    assert {p.name for p in (tmp_path / "default").iterdir()} == REDACTED_FILES
    assert result.manifest["format"] == manifest.FORMAT_REDACTED
    assert result.manifest["redaction"]["method"] == Redaction().method
    assert store.audit_entry(result.manifest["audit"]["entry"]).action == "export"
    for bad in (dict(redact=None), dict(raw=True, redact=Redaction())):
        with pytest.raises(vidvault.InvalidArgumentError, match="raw"):
            store.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "refused", **bad)
    assert not (tmp_path / "refused").exists()
    result = store.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "raw", raw=True)
    assert manifest.CLIP in result.manifest["files"] and result.manifest["format"] == manifest.FORMAT


def test_export_grant_allows_redacted_but_not_raw_export(footage, tmp_path):
    store, _ = footage
    clerk = store.session("clerk.li", [grant(store, ["export"])], purpose="court request")
    result = clerk.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "red", redact=Redaction())
    assert {p.name for p in (tmp_path / "red").iterdir()} == REDACTED_FILES
    entry = store.audit_entry(result.manifest["audit"]["entry"])
    assert (entry.action, entry.principal, entry.grant_id) == ("export", "clerk.li", result.manifest["audit"]["grant_id"])
    with pytest.raises(vidvault.AccessDenied, match="export_raw") as denied:
        clerk.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "raw", raw=True)
    assert not (tmp_path / "raw").exists()
    assert store.audit_entry(denied.value.audit_seq).outcome == "denied"


def test_export_raw_grant_implies_redacted_export(footage, tmp_path):
    """export_raw is the stronger right: its holder may also hand out less."""
    store, _ = footage
    token = grant(store, ["export_raw"])
    clerk = store.session("clerk.li", [token])
    result = clerk.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "red", redact=Redaction(plates=False))
    entry = store.audit_entry(result.manifest["audit"]["entry"])
    assert entry.action == "export" and entry.grant_id == result.manifest["audit"]["grant_id"] is not None
    assert vidvault.verify(tmp_path / "red", public_key=store.export_public_key(), store=store).ok
    # Without any export grant, neither kind of export.
    guard = store.session("guard.chen", [grant(store, ["view_raw"], to="guard.chen")])
    with pytest.raises(vidvault.AccessDenied, match='allows "export"'):
        guard.export_clip(CAM, T0, T0 + NS // 2, tmp_path / "none", redact=Redaction())
    assert not (tmp_path / "none").exists()


def test_session_play_needs_view_raw_only_for_raw_pictures(footage):
    store, _ = footage
    guard = store.session("guard.chen")  # no grant: desensitized viewing only
    first = next(guard.play(CAM, T0, T0 + NS // 4, redact=Redaction(plates=False)))
    assert first.redacted and first.boxes
    with pytest.raises(vidvault.AccessDenied, match="view_raw"):
        guard.play(CAM, T0, T0 + NS // 4, raw=True)
    officer = store.session("officer.wang", [grant(store, ["view_raw"], to="officer.wang")])
    assert not next(officer.play(CAM, T0, T0 + NS // 4, raw=True)).redacted
    assert [(e.principal, e.action, e.outcome) for e in store.audit()[-3:]] == [
        ("guard.chen", "view_raw", "denied"), ("admin.zhao", "grant_issue", "done"),
        ("officer.wang", "view_raw", "allowed")]


def test_a_failing_detector_leaves_no_package(footage, tmp_path):
    store, _ = footage
    seq_before = store.audit_head()[0]
    redaction = Redaction(faces=False, plates=False, people=None, detectors=[Degraded(raises_on=3)], detect_every=3)
    with pytest.raises(vidvault.RedactionError, match="device lost"):
        store.export_clip(CAM, T0, T0 + 2 * NS, tmp_path / "pkg", redact=redaction)
    assert list(tmp_path.iterdir()) == [], "no package, no staging directory, no partial MP4"
    actions = [e.action for e in store.audit() if e.seq > seq_before]
    assert actions == ["export"], "the request is logged; no export_done"


def test_cli_redacted_export_as_a_principal_and_verify(tmp_path, scene):
    key = vidvault.generate_key()
    with vidvault.Store.create(tmp_path / "store", key=key) as s:
        s.add_camera(CAM, labels={"area": "district-3"})
        ingest_file(s, CAM, scene[0])
        (tmp_path / "export.grant").write_text(grant(s, ["export"]))
        pinned = s.export_public_key()
    (tmp_path / "store.pub").write_text(pinned.hex())
    env = {**os.environ, "VIDVAULT_KEY": key.hex()}
    common = ["--camera", CAM, "--start", iso(T0), "--end", iso(T0 + NS // 2), "--as", "clerk.li",
              "--grant", tmp_path / "export.grant", "--case", "CASE-17"]
    r = run("export-clip", tmp_path / "store", *common, "--out", tmp_path / "pkg", "--method", "pixelate",
            "--no-plates", env=env)
    assert "redacted" in r.stdout and "boxes hidden" in r.stderr
    assert {p.name for p in (tmp_path / "pkg").iterdir()} == REDACTED_FILES
    doc = json.loads((tmp_path / "pkg" / manifest.MANIFEST).read_bytes())
    assert doc["redaction"]["method"] == "pixelate" and doc["actor"] == "clerk.li"
    r = run("verify", tmp_path / "pkg", "--public-key", tmp_path / "store.pub")
    assert "VERIFIED" in r.stdout and "SKIP  bit-exact: does not apply" in r.stdout
    # The same grant does not allow the bit-exact package, and a redaction setting with --raw is refused.
    r = run("export-clip", tmp_path / "store", *common, "--out", tmp_path / "raw", "--raw", env=env, check=False)
    assert r.returncode == 2 and "export_raw" in r.stderr and not (tmp_path / "raw").exists()
    r = run("export-clip", tmp_path / "store", *common, "--out", tmp_path / "raw", "--raw", "--method", "fill", env=env,
            check=False)
    assert r.returncode == 2 and "--method is a redaction setting" in r.stderr and not (tmp_path / "raw").exists()
    # play --as: desensitized viewing needs no grant, raw viewing needs view_raw; both are audited.
    play = ["play", tmp_path / "store", "--camera", CAM, "--start", T0, "--end", T0 + NS // 4, "--as", "guard.chen",
            "--reason", "patrol check"]
    r = run(*play, "--raw", "--out", tmp_path / "raw.mp4", env=env, check=False)
    assert r.returncode == 2 and "view_raw" in r.stderr and not (tmp_path / "raw.mp4").exists()
    assert "wrote 7 redacted frames" in run(*play, "--out", tmp_path / "red.mp4", env=env).stdout
    with vidvault.Store.open(tmp_path / "store", key=key) as s:
        assert [(e.principal, e.action, e.outcome) for e in s.audit()[-2:]] == [
            ("guard.chen", "view_raw", "denied"), ("guard.chen", "view_redacted", "allowed")]


def test_c2pa_credentials_on_a_redacted_copy(footage, tmp_path):
    from test_verify import _chain

    from vidvault.export import c2pa

    store, _ = footage
    root = _chain(tmp_path)
    creds = vidvault.C2paCredentials.from_files(tmp_path / "chain.pem", tmp_path / "signer.key")
    pkg = tmp_path / "pkg"
    store.export_clip(CAM, T0, T0 + NS // 2, pkg, redact=Redaction(plates=False), case="CASE-17", c2pa=creds)
    assert ffprobe_errors(pkg / manifest.REDACTED) == ""
    result = c2pa.validate(pkg / manifest.REDACTED, trust_anchors=root)
    assert result.ok and result.state == "Trusted", result.failures
    assert not result.manifest.get("ingredients"), "the unredacted original must not travel with the copy"
    evidence = next(a for a in result.manifest["assertions"] if a["label"] == c2pa.EVIDENCE_LABEL)
    assert evidence["data"]["redacted"] is True
    report = vidvault.verify(pkg, public_key=store.export_public_key(), c2pa_trust_anchors=root)
    assert report.ok and any(c.name == f"c2pa {manifest.REDACTED}" and c.ok for c in report.checks), report.to_dict()
