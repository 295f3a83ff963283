"""Offline verification of an export package (no store, no key but public).

Checks, in order (docs/EXPORT.md, "Verification"):

1. ``manifest.json`` is canonical JSON of the expected format;
2. ``manifest.sig`` is a valid Ed25519 signature of it, under the pinned
   public key when one is given, else under the packaged ``signer.pub``
   (the report says which: only a pinned key proves *who* signed);
3. every file the manifest lists has its SHA-256 and size;
4. ``clip.mp4`` (read with :mod:`vidvault.media.mp4box`, not a demuxer): every
   sample, turned back into the stored access unit, has the recorded
   SHA-256, size, keyframe flag and timing, in the recorded order;
5. the edit list presents exactly the frames inside the requested range,
   and counts and time range agree with the manifest;
6. C2PA manifests validate (when present and c2pa-python is installed);
7. with a store: every frame still matches the store's record, and the
   segments' hashes match the catalog.

A re-muxed, trimmed, reordered or edited clip fails at step 3 and 4 and the
report names the first frame that differs.

A redacted package (format ``vidvault-export-redacted/1``) holds a
re-encoded copy, so step 4 cannot compare access units: instead
``clip.redacted.mp4`` must decode fully (PyAV) to the recorded size, with
one picture per presented frame, each at its frame's time within one frame
interval (:mod:`vidvault.export.redacted`); the report says that
bit-exactness does not apply, and the frames' hashes are compared with the
store in step 7.
"""

from __future__ import annotations

import hashlib
import os
from dataclasses import asdict, dataclass, field
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import keys
from ..errors import DependencyMissingError, MediaError, VerificationError
from ..filehash import sha256_file
from ..media import mp4box, nal
from ..timeutil import iso
from . import manifest, redacted
from .c2pa import validate as validate_c2pa


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not checked (and why is in detail)
    detail: str


@dataclass
class VerificationReport:
    package: str
    key_source: str | None = None  # "pinned" or "packaged"
    signer_fingerprint: str | None = None
    frames: int = 0
    checks: list[Check] = field(default_factory=list)

    @property
    def ok(self) -> bool:
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    @property
    def first_failure(self) -> Check | None:
        return next((c for c in self.checks if c.ok is False), None)

    def add(self, name: str, ok: bool | None, detail: str) -> bool:
        self.checks.append(Check(name, ok, detail))
        return ok is not False

    def to_dict(self) -> dict[str, Any]:
        first = self.first_failure
        return {
            "ok": self.ok,
            "package": self.package,
            "key_source": self.key_source,
            "signer_fingerprint": self.signer_fingerprint,
            "frames": self.frames,
            "first_failure": None if first is None else asdict(first),
            "checks": [asdict(c) for c in self.checks],
        }

    def raise_for_failure(self) -> None:
        first = self.first_failure
        if first is not None:
            raise VerificationError(f"{self.package}: {first.name}: {first.detail}", report=self)


def _key_bytes(public_key: bytes | str | os.PathLike[str]) -> bytes:
    if isinstance(public_key, bytes) and len(public_key) == keys.RAW_BYTES:
        return public_key
    if isinstance(public_key, (str, os.PathLike)) and Path(public_key).is_file():
        return keys.load_public_key(public_key)
    data = public_key if isinstance(public_key, bytes) else str(public_key).encode()
    return keys.parse_public_key(data)


def verify(
    package_dir: str | os.PathLike[str],
    *,
    public_key: bytes | str | os.PathLike[str] | None = None,
    store: Any = None,
    c2pa_trust_anchors: bytes | None = None,
) -> VerificationReport:
    """Verifies an export package; see the module docstring for the checks.
    ``public_key``: the pinned key (PEM, hex or raw bytes, or a file of one).
    ``store``: an open :class:`vidvault.Store` to compare frames with."""
    pkg = Path(package_dir)
    report = VerificationReport(package=str(pkg))
    doc = _read_manifest(pkg, report)
    if doc is None:
        return report
    body = (pkg / manifest.MANIFEST).read_bytes()
    _check_signature(pkg, body, doc, report, None if public_key is None else _key_bytes(public_key))
    _check_files(pkg, doc, report)
    if doc["format"] == manifest.FORMAT_REDACTED:
        _check_redacted_clip(pkg, doc, report)
    else:
        _check_clip(pkg, doc, report)
    _check_c2pa(pkg, doc, report, c2pa_trust_anchors)
    if store is not None:
        _check_store(doc, report, store)
    return report


def _read_manifest(pkg: Path, report: VerificationReport) -> dict[str, Any] | None:
    path = pkg / manifest.MANIFEST
    if not pkg.is_dir():
        report.add("package", False, f"{pkg} is not a directory")
        return None
    if not path.is_file():
        report.add(manifest.MANIFEST, False, f"{path} is missing: this is not an export package")
        return None
    try:
        doc = manifest.parse_canonical(path.read_bytes())
    except manifest.NotCanonicalError as e:
        report.add(manifest.MANIFEST, False, f"not canonical JSON ({e}): the manifest was edited or re-encoded")
        return None
    except (ValueError, UnicodeDecodeError) as e:
        report.add(manifest.MANIFEST, False, f"not valid JSON: {e}")
        return None
    if doc.get("format") not in manifest.FORMATS:
        report.add(manifest.MANIFEST, False, f"format is {doc.get('format')!r}, this verifier reads "
                   + " and ".join(repr(f) for f in manifest.FORMATS))
        return None
    report.frames = len(doc.get("frames") or [])
    report.add(manifest.MANIFEST, True, f"canonical {doc['format']}: camera {doc['camera']}, {report.frames} "
               f"frames, {doc['actual']['first_presented_utc']} .. {doc['actual']['last_presented_utc']}")
    return doc


def _check_signature(pkg: Path, body: bytes, doc: dict[str, Any], report: VerificationReport,
                     pinned: bytes | None) -> None:
    sig_path = pkg / manifest.SIGNATURE
    if not sig_path.is_file():
        report.add("signature", False, f"{manifest.SIGNATURE} is missing")
        return
    signature = sig_path.read_bytes()
    named = doc.get("signer", {}).get("public_key", "")
    if pinned is not None:
        report.key_source, key = "pinned", pinned
    else:
        pub_path = pkg / manifest.SIGNER_KEY
        if not pub_path.is_file():
            report.add("signature", False, f"{manifest.SIGNER_KEY} is missing and no public key was pinned")
            return
        try:
            key = keys.load_public_key(pub_path)
        except Exception as e:  # noqa: BLE001 - any unreadable key is a failed check
            report.add("signature", False, str(e))
            return
        report.key_source = "packaged"
    report.signer_fingerprint = keys.fingerprint(key)
    if not keys.signature_valid(key, body, signature):
        named_fp = keys.fingerprint(bytes.fromhex(named)) if len(named) == 64 else "unknown"
        report.add("signature", False,
                   f"{manifest.SIGNATURE} does not verify manifest.json with the {report.key_source} public key "
                   f"(fingerprint {report.signer_fingerprint}); the manifest names signer {named_fp}. "
                   + ("Wrong key, or the package was altered." if pinned is not None
                      else "The manifest or signature was altered."))
        return
    if named != key.hex():
        report.add("signature", False, f"the signature verifies, but the manifest names signer {named[:16]}..., "
                   f"not the {report.key_source} key {key.hex()[:16]}...")
        return
    how = ("the pinned public key" if pinned is not None
           else "the packaged signer.pub (pin the store's key with --public-key to prove who signed)")
    report.add("signature", True, f"Ed25519 signature valid under {how}; fingerprint {report.signer_fingerprint}")
    if pinned is not None and (pkg / manifest.SIGNER_KEY).is_file():
        try:
            packaged = keys.load_public_key(pkg / manifest.SIGNER_KEY)
        except Exception:  # noqa: BLE001
            packaged = b""
        report.add(manifest.SIGNER_KEY, packaged == pinned,
                   "matches the pinned key" if packaged == pinned else "differs from the pinned key")



def _check_files(pkg: Path, doc: dict[str, Any], report: VerificationReport) -> None:
    listed = doc.get("files", {})
    for name, info in sorted(listed.items()):
        path = pkg / name
        if Path(name).name != name:
            report.add(f"file {name}", False, "a listed file name must not contain a path")
            continue
        if not path.is_file():
            report.add(f"file {name}", False, "is missing")
            continue
        size, digest = path.stat().st_size, sha256_file(path)
        if digest != info.get("sha256") or size != info.get("bytes"):
            report.add(f"file {name}", False, f"SHA-256 {digest} ({size} bytes), manifest says "
                       f"{info.get('sha256')} ({info.get('bytes')} bytes): the file was changed")
        else:
            report.add(f"file {name}", True, f"SHA-256 {digest}")
    known = {manifest.MANIFEST, manifest.SIGNATURE, manifest.SIGNER_KEY, *listed}
    extra = sorted(p.name for p in pkg.iterdir() if p.name not in known)
    if extra:
        report.add("unlisted files", None, f"not covered by the signature, ignored: {', '.join(extra)}")


def _frame_where(i: int, frame: dict[str, Any]) -> str:
    return f"frame {i} ({frame.get('utc')}, segment {frame.get('segment')} seq {frame.get('seq')})"


def _check_clip(pkg: Path, doc: dict[str, Any], report: VerificationReport) -> None:
    path = pkg / doc["clip"]["file"]
    frames = doc["frames"]
    if not path.is_file():
        report.add("clip", False, f"{path.name} is missing")
        return
    try:
        layout = mp4box.read_layout(path)
    except mp4box.Mp4FormatError as e:
        report.add("clip", False, f"{path.name} is not a readable MP4: {e}")
        return
    track = layout.track
    problems = []
    if not layout.moov_before_mdat:
        problems.append("moov is not before mdat (not faststart)")
    if track.timescale != doc["clip"]["timescale"]:
        problems.append(f"timescale {track.timescale}, manifest says {doc['clip']['timescale']}")
    if len(track) != len(frames):
        problems.append(f"{len(track)} samples, manifest lists {len(frames)} frames")
    problems += _config_problems(doc, track)
    if problems:
        report.add("clip", False, f"{path.name}: " + "; ".join(problems))
    else:
        report.add("clip", True, f"{path.name}: {len(track)} samples, {track.sample_entry.decode()} "
                   f"{track.width}x{track.height}, moov first")
    annexb = doc["codec"]["bitstream"] == "annexb"
    bad = 0
    first_bad: tuple[int, str] | None = None
    last_pos: tuple[int, int] | None = None
    with open(path, "rb") as f:
        samples = mp4box.read_samples(f, track)
        for i, frame in enumerate(frames):
            try:
                data = next(samples)
            except StopIteration:
                why = "is not in clip.mp4 (the clip has fewer samples)"
            except mp4box.Mp4FormatError as e:
                why = str(e)
            else:
                why = _frame_problem(i, frame, data, track, annexb, last_pos)
            last_pos = (frame["segment"], frame["seq"])
            if why:
                bad += 1
                if first_bad is None:
                    first_bad = (i, f"{_frame_where(i, frame)} {why}")
    if first_bad is None:
        report.add("frames", True, f"all {len(frames)} access units in clip.mp4 match their SHA-256, "
                   "size, keyframe flag and timing, in order")
    else:
        report.add("frames", False, f"{first_bad[1]} ({bad} of {len(frames)} frames fail)")
    _check_time_range(doc, track, report)


def _config_problems(doc: dict[str, Any], track: mp4box.VideoTrack) -> list[str]:
    # The muxer may re-serialise the configuration record (hvcC flags, Annex B
    # to avcC), so compare the parameter sets it carries, not its bytes.
    codec = doc["codec"]
    recorded = set(nal.config_nals(codec["codec"], bytes.fromhex(codec["extradata"])))
    ok = recorded <= set(nal.config_nals(codec["codec"], track.codec_config))
    return [] if ok else ["the decoder configuration (avcC/hvcC) lacks the recorded parameter sets"]


def _frame_problem(i: int, frame: dict[str, Any], data: bytes, track: mp4box.VideoTrack, annexb: bool,
                   last_pos: tuple[int, int] | None) -> str | None:
    if annexb:
        try:
            unit = nal.join_annexb(nal.split_length_prefixed(data), frame.get("start_codes") or [])
        except ValueError as e:
            return f"cannot be turned back into its Annex B access unit: {e}"
    else:
        unit = data
    digest = hashlib.sha256(unit).hexdigest()
    if digest != frame["sha256"] or len(unit) != frame["size"]:
        return (f"differs from the recorded access unit: SHA-256 {digest} ({len(unit)} bytes), "
                f"manifest says {frame['sha256']} ({frame['size']} bytes)")
    if track.is_sync(i) != frame["keyframe"]:
        return "has a different keyframe flag than recorded"
    if track.dts[i] != frame["sample_dts"] or track.cts[i] != frame["sample_cts"]:
        return (f"is timed dts {track.dts[i]} cts {track.cts[i]} in clip.mp4, manifest says "
                f"dts {frame['sample_dts']} cts {frame['sample_cts']}")
    if last_pos is not None and (frame["segment"], frame["seq"]) <= last_pos:
        return "is out of recording order in the manifest"
    return None


def _check_time_range(doc: dict[str, Any], track: mp4box.VideoTrack, report: VerificationReport) -> None:
    clip, req, frames = doc["clip"], doc["requested"], doc["frames"]
    edits = [e for e in track.edits if e.media_time >= 0]
    problems = []
    if len(edits) != 1 or edits[0].media_time != clip["edit_media_time"] or edits[0].duration != clip["edit_duration"]:
        found = ", ".join(f"(media {e.media_time}, duration {e.duration})" for e in track.edits) or "none"
        problems.append(f"edit list {found} differs from the manifest's (media {clip['edit_media_time']}, "
                        f"duration {clip['edit_duration']})")
    else:
        begin = edits[0].media_time
        end = begin + edits[0].duration * track.timescale / track.movie_timescale
        n = min(len(frames), len(track))
        for i in range(n):
            in_edit = begin <= track.cts[i] < end
            in_range = req["start"] <= frames[i]["ts"] < req["end"]
            if in_edit != in_range:
                problems.append(f"{_frame_where(i, frames[i])} is {'' if in_edit else 'not '}presented by the edit "
                                f"list but {'inside' if in_range else 'outside'} the requested range")
                break
    _report_time_range(doc, problems, report)


def _report_time_range(doc: dict[str, Any], problems: list[str], report: VerificationReport) -> None:
    """Adds the manifest's own account of what is presented (both kinds of
    package) to ``problems`` and reports the "time range" check."""
    req, actual, frames = doc["requested"], doc["actual"], doc["frames"]
    for i, frame in enumerate(frames):
        in_range = req["start"] <= frame["ts"] < req["end"]
        if in_range != frame["presented"]:
            problems.append(f"{_frame_where(i, frame)} is marked {'' if frame['presented'] else 'not '}presented "
                            f"but lies {'inside' if in_range else 'outside'} the requested range")
            break
    presented = [f for f in frames if f["presented"]]
    if not presented:
        problems.append("no frame is presented")
    else:
        if len(presented) != actual["presented"] or len(frames) != actual["frames"]:
            problems.append(f"{len(frames)} frames / {len(presented)} presented, manifest says "
                            f"{actual['frames']} / {actual['presented']}")
        first, last = min(f["ts"] for f in presented), max(f["ts"] for f in presented)
        if (first, last) != (actual["first_presented"], actual["last_presented"]):
            problems.append(f"presented frames span {iso(first)} .. {iso(last)}, manifest says "
                            f"{actual['first_presented_utc']} .. {actual['last_presented_utc']}")
        keys = [f["ts"] for f in frames if f["keyframe"]]
        if not frames[0]["keyframe"] or any(b <= a for a, b in zip(keys, keys[1:])):
            problems.append("the clip does not start at a keyframe, or keyframe times do not increase")
    if problems:
        report.add("time range", False, "; ".join(problems))
    else:
        report.add("time range", True, f"presents {len(presented)} frames, {actual['first_presented_utc']} .. "
                   f"{actual['last_presented_utc']}, inside the requested {req['start_utc']} .. {req['end_utc']}")


def _check_redacted_clip(pkg: Path, doc: dict[str, Any], report: VerificationReport) -> None:
    """A redacted package: the copy decodes fully, one picture per presented
    frame at that frame's time, and nothing in the package is unredacted."""
    clip, frames = doc["clip"], doc["frames"]
    name = clip["file"]
    problems = []
    if clip.get("bit_exact") is not False:
        problems.append("the manifest does not mark the copy as re-encoded (clip.bit_exact is not false)")
    if not doc.get("redaction"):
        problems.append("the manifest does not say how the copy was redacted (no redaction section)")
    others = sorted(set(doc.get("files", {})) - {name})
    if others:
        problems.append(f"the package lists other video besides the redacted copy: {', '.join(others)}")
    decoded = None
    if not (pkg / name).is_file():
        problems.append(f"{name} is missing")
    else:
        try:
            decoded = redacted.read_back(pkg / name)
        except MediaError as e:
            problems.append(str(e))
    if decoded is not None:
        if (decoded.width, decoded.height) != (clip["width"], clip["height"]) or len(decoded.times) != clip["frames"]:
            problems.append(f"{name} decodes to {len(decoded.times)} pictures of {decoded.width}x{decoded.height}, "
                            f"the manifest says {clip['frames']} of {clip['width']}x{clip['height']}")
        presented = sorted(f["ts"] for f in frames if f["presented"])
        interval = redacted.frame_interval(presented, Fraction(clip["fps"]))
        problems += redacted.timing_problems(decoded, presented, interval)
    if problems:
        report.add("clip", False, f"{name}: " + "; ".join(problems))
    else:
        report.add("clip", True, f"{name}: decodes fully, {len(decoded.times)} {decoded.codec} pictures of "
                   f"{decoded.width}x{decoded.height}, one per presented frame, each at its frame's time "
                   f"within one frame interval ({interval / 1e9:.3f} s)")
    report.add("bit-exact", None, f"does not apply: {name} is a redacted copy, decoded and re-encoded "
               f"({doc['redaction'].get('method') if doc.get('redaction') else '?'} over faces and plates), so its "
               "samples are not the stored access units. The manifest's SHA-256 of each stored access unit it "
               "derives from are compared with the store by `vidvault verify --store`.")
    out_of_order = next((i for i in range(1, len(frames))
                         if (frames[i]["segment"], frames[i]["seq"]) <= (frames[i - 1]["segment"], frames[i - 1]["seq"])),
                        None)
    if out_of_order is None:
        report.add("frames", True, f"the manifest lists {len(frames)} stored access units in recording order")
    else:
        report.add("frames", False, f"{_frame_where(out_of_order, frames[out_of_order])} is out of recording order "
                   "in the manifest")
    _report_time_range(doc, [], report)


def _check_c2pa(pkg: Path, doc: dict[str, Any], report: VerificationReport, anchors: bytes | None) -> None:
    info = doc.get("c2pa")
    if not info:
        return
    try:
        for name in info["files"]:
            result = validate_c2pa(pkg / name, trust_anchors=anchors)
            detail = f"C2PA {result.state}" + (f": {'; '.join(result.failures)}" if result.failures else "")
            if anchors is None and result.ok:
                detail += " (signing chain not checked against trust anchors)"
            report.add(f"c2pa {name}", result.ok, detail)
    except DependencyMissingError as e:
        report.add("c2pa", None, f"not checked: {e}")


def _check_audit(doc: dict[str, Any], report: VerificationReport, store: Any) -> None:
    """The audit entry the manifest names is in the store's log, unchanged,
    and the log verifies."""
    ref = doc.get("audit")
    if not ref:
        report.add("audit", False, "the manifest names no audit entry")
        return
    entry = store.audit_entry(ref["entry"])
    if entry is None:
        report.add("audit", False, f"audit entry {ref['entry']} is not in the store's log")
    elif entry.hash.hex() != ref["entry_hash"]:
        report.add("audit", False, f"audit entry {ref['entry']} differs from the one the manifest recorded")
    else:
        log = store.audit_verify()
        report.add("audit", log.ok, f"audit entry {ref['entry']} ({entry.action} by {entry.principal}) is in the log"
                   + ("; the log verifies" if log.ok else f"; but the log is broken at entry {log.problem_seq}: {log.problem}"))


def _check_store(doc: dict[str, Any], report: VerificationReport, store: Any) -> None:
    if store.store_id != doc["store_id"]:
        report.add("store", False, f"the store is {store.store_id}, the package came from {doc['store_id']}")
        return
    frames = doc["frames"]
    stored = {(f.segment, f.seq): f.data for f in store.read(doc["camera"], doc["actual"]["first_decoded"],
                                                             doc["requested"]["end"])}
    for i, frame in enumerate(frames):
        data = stored.get((frame["segment"], frame["seq"]))
        if data is None:
            report.add("store frames", False, f"{_frame_where(i, frame)} is no longer in the store")
            break
        if hashlib.sha256(data).hexdigest() != frame["sha256"]:
            report.add("store frames", False, f"{_frame_where(i, frame)} differs from the store's record")
            break
    else:
        report.add("store frames", True, f"all {len(frames)} frames match the store's records")
    _check_audit(doc, report, store)
    rows = {s.id: s for s in store.segments(doc["camera"])}
    for seg in doc["segments"]:
        row = rows.get(seg["id"])
        now = row.content_hash.hex() if row is not None and row.content_hash else None
        if row is None:
            report.add(f"segment {seg['id']}", False, "is no longer in the catalog")
        elif seg["content_hash"] is None:
            report.add(f"segment {seg['id']}", True, f"was open at export; now {row.state}"
                       + (f" with content hash {now}" if now else ""))
        else:
            report.add(f"segment {seg['id']}", now == seg["content_hash"],
                       "content hash matches the catalog" if now == seg["content_hash"]
                       else f"content hash is now {now}, manifest says {seg['content_hash']}")
