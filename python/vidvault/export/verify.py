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

A redacted package (format ``vidvault-export-redacted/2``, or /1 before the review report) holds a
re-encoded copy, so step 4 cannot compare access units: instead
``clip.redacted.mp4`` must decode fully (PyAV) to the recorded size, with
one picture per presented frame, each at its frame's time within one frame
interval (:mod:`vidvault.export.redacted`); the report says that
bit-exactness does not apply, and the frames' hashes are compared with the
store in step 7.

The package comes from whoever handed it over, so nothing in it is trusted
before it is checked: the manifest's fields are checked for type and range
before any check reads them (:mod:`.manifest_fields`), files are read only
from the package itself (:mod:`.package_files`: no paths, no symbolic
links), and a file the manifest does not list fails the package. The
result's :attr:`VerificationReport.status` is ``VERIFIED`` only when every
check holds **and** the signer is pinned (a public key, or a trusted-signers
list: :mod:`.signer_pins`); an intact package signed by a key nobody pinned
is ``UNPINNED``: it proves the files are as some key holder signed them,
not who that was.
"""

from __future__ import annotations

import hashlib
import json
import os
import struct
from dataclasses import asdict, dataclass, field
from enum import Enum
from fractions import Fraction
from pathlib import Path
from typing import Any

from .. import keys
from ..errors import DependencyMissingError, MediaError, VerificationError, VidvaultError
from ..filehash import sha256_file
from ..media import mp4box, nal
from ..timeutil import iso
from . import manifest, redacted, review
from .c2pa import validate as validate_c2pa
from .manifest_fields import ManifestFieldError, check_fields
from .package_files import MAX_ZIP_BYTES, PackageFiles, PackageUnreadable, open_package
from .signer_pins import SignerPins, pins_from

#: Largest manifest read (a day of 25 fps footage lists ~2 million frames).
MAX_MANIFEST_BYTES = 1 << 30
#: A review report is a few hundred bytes per track; a contact sheet a few kB per track.
MAX_REVIEW_BYTES = 64 << 20
#: Largest signer.pub read (a PEM public key is ~113 bytes).
MAX_KEY_FILE_BYTES = 1 << 16
SIGNATURE_BYTES = 64
#: Detail of a check that raised instead of reporting: a verifier bug or an
#: input no check foresaw; the package fails, and the fuzz harness looks for it.
UNEXPECTED = "could not be checked"


class Status(str, Enum):
    """The verdict, as the CLI prints it (docs/EXPORT.md, "Verification")."""

    VERIFIED = "VERIFIED"            # every check holds and the signer is pinned
    UNPINNED = "INTACT, SIGNER NOT PINNED"  # every check holds, signed by an unpinned key
    FAILED = "FAILED"                # a check fails


@dataclass(frozen=True)
class Check:
    name: str
    ok: bool | None  # None: not checked (and why is in detail)
    detail: str


@dataclass
class VerificationReport:
    package: str
    key_source: str | None = None  # "pinned" (--public-key), "trusted-signers" or "packaged"
    signer_fingerprint: str | None = None
    #: The signer is one the caller pinned (and the signature verifies under it).
    pinned: bool = False
    frames: int = 0
    checks: list[Check] = field(default_factory=list)

    @property
    def intact(self) -> bool:
        """Every check holds (whoever signed it)."""
        return bool(self.checks) and all(c.ok is not False for c in self.checks)

    @property
    def status(self) -> Status:
        if not self.intact:
            return Status.FAILED
        return Status.VERIFIED if self.pinned else Status.UNPINNED

    @property
    def ok(self) -> bool:
        """VERIFIED: intact and signed by a pinned signer (the CLI's exit 0)."""
        return self.status is Status.VERIFIED

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
            "status": self.status.value,
            "intact": self.intact,
            "pinned": self.pinned,
            "package": self.package,
            "key_source": self.key_source,
            "signer_fingerprint": self.signer_fingerprint,
            "frames": self.frames,
            "first_failure": None if first is None else asdict(first),
            "checks": [asdict(c) for c in self.checks],
        }

    def raise_for_failure(self) -> None:
        """Raises VerificationError unless the status is VERIFIED."""
        first = self.first_failure
        if first is not None:
            raise VerificationError(f"{self.package}: {first.name}: {first.detail}", report=self)
        if not self.pinned:
            raise VerificationError(f"{self.package}: intact, but signed by a key nobody pinned (fingerprint "
                                    f"{self.signer_fingerprint}): pass public_key= or trusted_signers=",
                                    report=self)


def verify(
    package: str | os.PathLike[str],
    *,
    public_key: bytes | str | os.PathLike[str] | None = None,
    trusted_signers: str | os.PathLike[str] | None = None,
    store: Any = None,
    c2pa_trust_anchors: bytes | None = None,
    max_zip_bytes: int = MAX_ZIP_BYTES,
) -> VerificationReport:
    """Verifies an export package (a directory, or a zip of one); see the
    module docstring for the checks. ``public_key``: the pinned key (PEM,
    hex or raw bytes, or a file of one); ``trusted_signers``: a file listing
    the signers to trust (:mod:`.signer_pins`); ``store``: an open
    :class:`vidvault.Store` to compare frames with; ``max_zip_bytes``: the
    most a zip's members may declare (extraction stops there). An unreadable pin raises
    InvalidArgumentError (the caller's mistake); anything wrong with the
    package is a failed check in the report, never an exception."""
    pins = pins_from(public_key, trusted_signers)
    report = VerificationReport(package=str(package))
    try:
        files = open_package(package, max_zip_bytes=max_zip_bytes)
    except (PackageUnreadable, OSError) as e:
        report.add("package", False, str(e) if isinstance(e, PackageUnreadable) else f"{package}: {e}")
        return report
    with files:
        _verify_files(files, report, pins, store, c2pa_trust_anchors)
    return report


def _verify_files(files: PackageFiles, report: VerificationReport, pins: SignerPins, store: Any,
                  anchors: bytes | None) -> None:
    found = _guarded(report, manifest.MANIFEST, _read_manifest, files, report)
    if found is None:
        return
    doc, body = found
    _guarded(report, "signature", _check_signature, files, body, doc, report, pins)
    _guarded(report, "files", _check_files, files, doc, report)
    if doc["format"] in manifest.REDACTED_FORMATS:
        _guarded(report, "clip", _check_redacted_clip, files, doc, report)
    else:
        _guarded(report, "clip", _check_clip, files, doc, report)
    _guarded(report, "c2pa", _check_c2pa, files, doc, report, anchors)
    if store is not None:
        _guarded(report, "store", _check_store, doc, report, store)


def _guarded(report: VerificationReport, name: str, check: Any, *args: Any) -> Any:
    """Runs one check; an exception it did not foresee fails the package
    (with what went wrong) instead of escaping as a traceback."""
    try:
        return check(*args)
    except Exception as e:  # noqa: BLE001 - the last line of defence; the fuzz harness hunts these
        report.add(name, False, f"{UNEXPECTED}: {type(e).__name__}: {e}; the package is malformed "
                   "(if `vidvault export-clip` wrote it, please report this)")
        return None


def _read_manifest(files: PackageFiles, report: VerificationReport) -> tuple[dict[str, Any], bytes] | None:
    name = manifest.MANIFEST
    if files.path(name) is None:
        why = files.refused.get(name)
        report.add(name, False, f"{name} is {why}, not read" if why else
                   f"{name} is missing from {files.source}: this is not an export package")
        return None
    body = files.read(name, MAX_MANIFEST_BYTES)
    if body is None:
        report.add(name, False, f"{name} is larger than {MAX_MANIFEST_BYTES} bytes; not read")
        return None
    try:
        doc = manifest.parse_canonical(body)
    except manifest.NotCanonicalError as e:
        report.add(name, False, f"not canonical JSON ({e}): the manifest was edited or re-encoded")
        return None
    except UnicodeDecodeError as e:
        report.add(name, False, f"not UTF-8 text (byte {e.start}): not a manifest, or damaged")
        return None
    except (ValueError, RecursionError) as e:
        report.add(name, False, f"not valid JSON: {str(e) or type(e).__name__}")
        return None
    if doc.get("format") not in manifest.FORMATS:
        shown = doc.get("format")
        shown = shown[:80] if isinstance(shown, str) else shown if not isinstance(shown, (dict, list)) else "..."
        report.add(name, False, f"format is {shown!r}, this verifier reads "
                   + " and ".join(repr(f) for f in manifest.FORMATS))
        return None
    try:
        check_fields(doc)
    except ManifestFieldError as e:
        report.add(name, False, f"malformed: {e} (docs/EXPORT.md lists every field)")
        return None
    report.frames = len(doc["frames"])
    report.add(name, True, f"canonical {doc['format']}: camera {doc['camera']}, {report.frames} "
               f"frames, {doc['actual']['first_presented_utc']} .. {doc['actual']['last_presented_utc']}")
    return doc, body


def _packaged_key(files: PackageFiles) -> tuple[bytes | None, str]:
    """The key in signer.pub, or None and why not."""
    data = files.read(manifest.SIGNER_KEY, MAX_KEY_FILE_BYTES)
    if data is None:
        why = files.refused.get(manifest.SIGNER_KEY) or (
            "missing" if files.path(manifest.SIGNER_KEY) is None else "too large for a public key")
        return None, f"{manifest.SIGNER_KEY} is {why}"
    try:
        return keys.parse_public_key(data, where=manifest.SIGNER_KEY), ""
    except VidvaultError as e:
        return None, str(e)


def _check_signature(files: PackageFiles, body: bytes, doc: dict[str, Any], report: VerificationReport,
                     pins: SignerPins) -> None:
    signature = files.read(manifest.SIGNATURE, SIGNATURE_BYTES)
    if signature is None or len(signature) != SIGNATURE_BYTES:
        why = files.refused.get(manifest.SIGNATURE) or (
            "missing" if files.path(manifest.SIGNATURE) is None else f"not {SIGNATURE_BYTES} bytes long")
        report.add("signature", False, f"{manifest.SIGNATURE} is {why}")
        return
    named = doc["signer"]["public_key"]
    if pins.key is not None:
        report.key_source, key = "pinned", pins.key
    else:
        packaged, why = _packaged_key(files)
        if packaged is None:
            report.add("signature", False, f"{why}, and no public key was pinned")
            return
        report.key_source, key = ("trusted-signers" if pins.trusted else "packaged"), packaged
    report.signer_fingerprint = keys.fingerprint(key)
    if not keys.signature_valid(key, body, signature):
        named_fp = keys.fingerprint(bytes.fromhex(named))
        report.add("signature", False,
                   f"{manifest.SIGNATURE} does not verify manifest.json with the {report.key_source} public key "
                   f"(fingerprint {report.signer_fingerprint}); the manifest names signer {named_fp}. "
                   + ("Wrong key, or the package was altered." if pins.key is not None
                      else "The manifest or signature was altered."))
        return
    if named != key.hex():
        report.add("signature", False, f"the signature verifies, but the manifest names signer {named[:16]}..., "
                   f"not the {report.key_source} key {key.hex()[:16]}...")
        return
    _report_signer(files, key, report, pins)


def _report_signer(files: PackageFiles, key: bytes, report: VerificationReport, pins: SignerPins) -> None:
    """The signature is valid under ``key``: is that a signer the caller pinned?"""
    fp = report.signer_fingerprint
    if pins.key is not None:
        report.pinned = True
        report.add("signature", True, f"Ed25519 signature valid under the pinned public key; fingerprint {fp}")
        packaged, _ = _packaged_key(files)
        if files.path(manifest.SIGNER_KEY) is not None:
            report.add(manifest.SIGNER_KEY, packaged == key,
                       "matches the pinned key" if packaged == key else "differs from the pinned key")
        return
    if pins.trusted:
        label = pins.label_of(fp)
        if label is None:
            report.add("signature", False, f"the signature is valid, but its signer (fingerprint {fp}) is not one "
                       f"of the {len(pins.trusted)} trusted signers in {pins.source}: the package was not "
                       "signed by a store you trust (add the store's fingerprint there if it should be)")
            return
        report.pinned = True
        report.add("signature", True, f"Ed25519 signature valid under a trusted signer ({label or 'no label'}, "
                   f"{pins.source}); fingerprint {fp}")
        return
    report.add("signature", True, f"Ed25519 signature valid under the packaged signer.pub, which proves the "
               f"files are as signed but not who signed them: SIGNER NOT PINNED (fingerprint {fp}); pin the "
               "store's key with --public-key FILE or --trusted-signers FILE")


def _listed_path(files: PackageFiles, doc: dict[str, Any], name: str) -> tuple[Path | None, str]:
    """The package's file ``name`` when the manifest lists it (so its hash is
    checked), or None and why it is not read."""
    if name not in doc["files"]:
        return None, f"{name} is not among the manifest's files (its hash would not be checked), not read"
    path = files.path(name)
    if path is None:
        return None, f"{name} is {files.refused.get(name, 'missing')}"
    return path, ""


def _check_files(files: PackageFiles, doc: dict[str, Any], report: VerificationReport) -> None:
    listed = doc["files"]
    for name, info in sorted(listed.items()):
        path = files.path(name)
        if path is None:
            report.add(f"file {name}", False, f"is {files.refused.get(name, 'missing')}")
            continue
        size = path.stat().st_size
        if size != info["bytes"]:
            report.add(f"file {name}", False, f"is {size} bytes, manifest says {info['bytes']}: the file was changed")
            continue
        digest = sha256_file(path)
        if digest != info["sha256"]:
            report.add(f"file {name}", False, f"SHA-256 {digest} ({size} bytes), manifest says "
                       f"{info['sha256']} ({info['bytes']} bytes): the file was changed")
        else:
            report.add(f"file {name}", True, f"SHA-256 {digest}")
    known = {manifest.MANIFEST, manifest.SIGNATURE, manifest.SIGNER_KEY, *listed}
    extra = sorted((files.files | set(files.refused)) - known)
    if extra:
        shown = ", ".join(f"{n[:80]!r}" + (f" ({files.refused[n]})" if n in files.refused else "")
                          for n in extra[:10]) + (f" and {len(extra) - 10} more" if len(extra) > 10 else "")
        report.add("unlisted files", False, f"the package holds entries its manifest does not list, so no signature "
                   f"covers them: {shown}; a package holds only what its manifest lists (remove them, or "
                   "ask the exporter for an untouched copy)")


def _frame_where(i: int, frame: dict[str, Any]) -> str:
    return f"frame {i} ({frame.get('utc')}, segment {frame.get('segment')} seq {frame.get('seq')})"


def _check_clip(files: PackageFiles, doc: dict[str, Any], report: VerificationReport) -> None:
    path, why = _listed_path(files, doc, doc["clip"]["file"])
    frames = doc["frames"]
    if path is None:
        report.add("clip", False, why)
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
        report.add("clip", True, f"{path.name}: {len(track)} samples, {mp4box.fourcc(track.sample_entry)} "
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
    try:
        recorded = set(nal.config_nals(codec["codec"], bytes.fromhex(codec["extradata"])))
    except (ValueError, struct.error, IndexError) as e:  # the NAL reader's errors are not all ValueError
        return [f"the manifest's codec.extradata is not a readable {codec['codec']} configuration ({e})"]
    try:
        found = set(nal.config_nals(codec["codec"], track.codec_config))
    except (ValueError, struct.error, IndexError) as e:
        return [f"the decoder configuration (avcC/hvcC) in the clip cannot be read ({e})"]
    ok = recorded <= found
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


def _review_file(files: PackageFiles, doc: dict[str, Any], problems: list[str]) -> str | None:
    """The review report a redacted package lists (export/review.py), if
    any; it must be the report, never video: a listed file that does not
    parse as one is a problem."""
    section = doc.get("review")
    if doc["format"] == manifest.FORMAT_REDACTED_V1:
        return None  # written before the review report: any other listed file is refused as video
    if not isinstance(section, dict) or not isinstance(section.get("file"), str):
        problems.append(f"the manifest ({doc['format']}) names no review report (review.file)")
        return None
    name = section["file"]
    path, why = _listed_path(files, doc, name)
    if path is None:
        problems.append(f"review report: {why}")
        return name
    try:
        body = json.loads(files.read(name, MAX_REVIEW_BYTES))
        ok = isinstance(body, dict) and body.get("format") == review.FORMAT and isinstance(body.get("tracks"), list)
    except (ValueError, TypeError, OSError):  # TypeError: longer than the limit (read gave None)
        ok = False
    if not ok:
        problems.append(f"{name} is not a review report ({review.FORMAT}); a redacted package holds no other file")
    return name


def _contact_sheet_file(files: PackageFiles, doc: dict[str, Any], problems: list[str]) -> str | None:
    """The contact sheet a /2 package's review section names, if any: it must be a PNG."""
    section = doc.get("review")
    if doc["format"] == manifest.FORMAT_REDACTED_V1 or not isinstance(section, dict):
        return None
    name = section.get("contact_sheet")
    if not isinstance(name, str):
        return None
    path, why = _listed_path(files, doc, name)
    if path is None:
        problems.append(f"contact sheet: {why}")
        return name
    head = files.read(name, MAX_REVIEW_BYTES)
    if head is None or not head.startswith(b"\x89PNG\r\n\x1a\n"):
        problems.append(f"{name} is not a PNG contact sheet; a redacted package holds no other file")
    return name


def _check_redacted_clip(files: PackageFiles, doc: dict[str, Any], report: VerificationReport) -> None:
    """A redacted package: the copy decodes fully, one picture per presented
    frame at that frame's time, and nothing in the package is unredacted."""
    clip, frames = doc["clip"], doc["frames"]
    name = clip["file"]
    problems = []
    if clip.get("bit_exact") is not False:
        problems.append("the manifest does not mark the copy as re-encoded (clip.bit_exact is not false)")
    if not doc.get("redaction"):
        problems.append("the manifest does not say how the copy was redacted (no redaction section)")
    review_file = _review_file(files, doc, problems)
    sheet = _contact_sheet_file(files, doc, problems)
    others = sorted(set(doc.get("files", {})) - {name, review_file, sheet})
    if others:
        problems.append(f"the package lists other video besides the redacted copy: {', '.join(others)}")
    decoded = None
    path, why = _listed_path(files, doc, name)
    if path is None:
        problems.append(why)
    else:
        try:
            decoded = redacted.read_back(path)
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


def _check_c2pa(files: PackageFiles, doc: dict[str, Any], report: VerificationReport, anchors: bytes | None) -> None:
    info = doc.get("c2pa")
    if not info:
        return
    try:
        for name in info["files"]:
            path, why = _listed_path(files, doc, name)
            if path is None:
                report.add(f"c2pa {name}", False, why)
                continue
            result = validate_c2pa(path, trust_anchors=anchors)
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
    try:
        stored = {(f.segment, f.seq): f.data for f in store.read(doc["camera"], doc["actual"]["first_decoded"],
                                                                 doc["requested"]["end"])}
    except VidvaultError as e:
        report.add("store frames", False, f"the store cannot read the package's footage: {e}")
        return
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
