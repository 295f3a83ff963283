"""Export: a time range of one camera as a signed evidence package.

    OUT/clip.mp4               bit-exact remux (vidvault.media.remux)
    OUT/clip.watermarked.mp4   with ``watermark``: re-encoded copy with burned-in text
    OUT/manifest.json          canonical JSON (vidvault.export.manifest): what, when, who, every frame's hash
    OUT/manifest.sig           Ed25519 signature of manifest.json, 64 raw bytes
    OUT/signer.pub             the store's export public key, PEM

With ``redaction`` the package holds no unredacted video at all: instead of
the two MP4s above, ``OUT/clip.redacted.mp4`` (vidvault.export.redacted:
faces and plates hidden, the watermark burned in when asked, re-encoded),
and the manifest (format ``vidvault-export-redacted/2``) says how it was
redacted and that it is not bit-exact.

The package is assembled in a hidden sibling directory and renamed into
place at the end, so ``OUT`` either holds a whole package or nothing; a
failed export (a detector error included) leaves no video behind.
docs/EXPORT.md documents every field.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import time
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import TYPE_CHECKING, Any, Callable

from .. import keys
from .._core import __version__
from ..errors import InvalidArgumentError, MediaError
from ..filehash import sha256_file
from ..media import remux
from ..media.demux import nominal_frame_rate
from ..media.encode import copy_encoder
from ..redact.config import checked_redaction
from ..timeutil import TimeLike, iso, to_ns
from . import contact_sheet, manifest, redacted, review, watermark
from .c2pa import C2paCredentials, sign_original, sign_redacted, sign_watermarked

if TYPE_CHECKING:
    from .._core import Store as CoreStore
    from ..redact import PlayedFrame, Redaction

#: Segment rows of the catalog copied into the manifest.
SEGMENT_FIELDS = ("id", "state", "codec", "start", "end", "frames", "path")


@dataclass(frozen=True)
class ExportResult:
    directory: Path
    manifest: dict[str, Any]
    frames: int  # stored access units the clip comes from (from the keyframe at or before start)
    presented: int  # of which inside [start, end): the frames a player shows
    first_presented: int  # ns
    last_presented: int  # ns



def _prepare_directory(out_dir: Path) -> Path:
    if out_dir.exists() and (not out_dir.is_dir() or any(out_dir.iterdir())):
        raise InvalidArgumentError(
            f"{out_dir} exists and is not an empty directory; export into a new directory "
            "(a package holds exactly the files its manifest lists)"
        )
    out_dir.parent.mkdir(parents=True, exist_ok=True)
    staging = out_dir.parent / f".{out_dir.name}.partial-{os.getpid()}"
    shutil.rmtree(staging, ignore_errors=True)
    staging.mkdir()
    return staging


def export_clip(
    core: "CoreStore",
    camera: str,
    start: TimeLike,
    end: TimeLike,
    out_dir: str | os.PathLike[str],
    *,
    redaction: "Redaction | None" = None,
    watermark_text: str | None = None,
    case: str | None = None,
    reason: str | None = None,
    actor: str | None = None,
    c2pa: C2paCredentials | None = None,
    authorization: dict[str, Any] | None = None,
    progress: "Callable[[PlayedFrame, int], None] | None" = None,
) -> ExportResult:
    """Writes the evidence package for ``camera`` over ``[start, end)``:
    bit-exact when ``redaction`` is None, else redacted. ``core``: the
    store's core handle, which reads the footage, signs the manifest and
    writes the audit log.

    ``authorization``: what a session's grant check returned (it logged the
    request); without it the export is logged here as a trusted caller's.
    Either way the audit entry is written before any footage is read, and
    the manifest names it. ``progress``: called per redacted frame."""
    start_ns, end_ns = to_ns(start), to_ns(end)
    if end_ns <= start_ns:
        raise InvalidArgumentError(f"the end ({iso(end_ns)}) must be after the start ({iso(start_ns)})")
    if redaction is not None:
        redaction = checked_redaction(redaction, "export_clip")
    if watermark_text is not None and not watermark_text.strip():
        raise InvalidArgumentError("the watermark text is empty; give the text to burn in, or no watermark")
    if c2pa is not None:
        c2pa.algorithm()  # refuse unusable credentials before any work
    action = "export_raw" if redaction is None else "export"
    audit_ref = _audit_export(core, camera, start_ns, end_ns, action=action, case=case, reason=reason,
                              actor=actor, authorization=authorization)
    frames = list(core.read(camera, start_ns, end_ns))
    if not frames:
        raise MediaError(f"camera {camera!r} has no footage between {iso(start_ns)} and {iso(end_ns)}")
    config = remux.one_config(core, camera, frames)
    annexb = remux.annexb_footage(config, frames)
    # A re-encoded copy carries no stored sample, so it needs no Annex B start codes.
    samples = remux.plan(frames, time_base=Fraction(*config.time_base), start=start_ns, end=end_ns,
                         annexb=annexb and redaction is None)
    shown = [s for s in samples if s.shown]
    evidence = {"store_id": core.store_id, "camera": camera, "case": case,
                "start": iso(min(s.frame.ts for s in shown)), "end": iso(max(s.frame.ts for s in shown))}

    out = Path(out_dir)
    staging = _prepare_directory(out)
    try:
        if redaction is None:
            video = _bit_exact_video(staging, samples, config, camera=camera, watermark_text=watermark_text,
                                     case=case, c2pa=c2pa, evidence=evidence)
        else:
            video = _redacted_video(staging, core, camera, start_ns, end_ns, samples, config, redaction,
                                    watermark_text=watermark_text, case=case, c2pa=c2pa, evidence=evidence,
                                    progress=progress)
        public = core.export_public_key()
        doc = _manifest(core, camera, start_ns, end_ns, config, samples, annexb=annexb, case=case,
                        reason=reason, actor=actor, public_key=public)
        doc.update(video)
        doc["c2pa"] = None if c2pa is None else {"files": sorted(n for n in doc["files"]
                                                                   if n not in (review.FILE, contact_sheet.FILE)),
                                                 "algorithm": c2pa.algorithm()}
        doc["audit"] = audit_ref
        body = manifest.canonical_json(doc)
        (staging / manifest.MANIFEST).write_bytes(body)
        (staging / manifest.SIGNATURE).write_bytes(core.sign_export(body))
        (staging / manifest.SIGNER_KEY).write_bytes(keys.to_pem(public))
        _move_into_place(staging, out)
        core.audit_record(
            actor or "library", "export_done", outcome="done", camera=camera, start=start_ns, end=end_ns,
            reason=reason or "", case=case or "",
            details=json.dumps({"request_entry": audit_ref["entry"], "out": str(out),
                                "manifest_sha256": hashlib.sha256(body).hexdigest()}, sort_keys=True),
        )
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return ExportResult(out, doc, len(samples), len(shown), min(s.frame.ts for s in shown),
                        max(s.frame.ts for s in shown))


def _move_into_place(staging: Path, out: Path) -> None:
    """Makes the staged package durable, then renames it to ``out``."""
    for f in staging.iterdir():
        with open(f, "rb") as handle:
            os.fsync(handle.fileno())
    if out.exists():
        out.rmdir()
    os.replace(staging, out)
    directory = os.open(out.parent, os.O_RDONLY)
    try:
        os.fsync(directory)  # the rename is durable too
    finally:
        os.close(directory)


def _bit_exact_video(staging: Path, samples: list[remux.ClipSample], config: Any, *, camera: str,
                     watermark_text: str | None, case: str | None, c2pa: C2paCredentials | None,
                     evidence: dict[str, Any]) -> dict[str, Any]:
    """clip.mp4 (+ clip.watermarked.mp4) and their manifest fields."""
    clip_path = staging / manifest.CLIP
    clip = remux.write(clip_path, samples, config)
    marked = None
    if watermark_text is not None:
        marked = watermark.burn(staging / manifest.WATERMARKED, samples, config,
                                text=watermark_text, case=case, camera=camera)
    if c2pa is not None:
        sign_original(clip_path, c2pa, evidence=evidence)
        if marked is not None:
            sign_watermarked(staging / manifest.WATERMARKED, clip_path, c2pa, evidence=evidence)
    frames = []
    for i, s in enumerate(samples):
        entry = _frame_entry(i, s)
        entry["sample_dts"], entry["sample_cts"] = clip.sample_dts[i], clip.sample_cts[i]
        if s.start_codes is not None:
            entry["start_codes"] = s.start_codes
        frames.append(entry)
    return {
        "format": manifest.FORMAT,
        "clip": {
            "file": manifest.CLIP,
            "sample_entry": clip.sample_entry,
            "timescale": clip.timescale,
            "movie_timescale": clip.movie_timescale,
            "edit_media_time": clip.media_time,
            "edit_duration": clip.edit_duration,
        },
        "frames": frames,
        "watermark": None if marked is None else _watermark_section(
            manifest.WATERMARKED, watermark_text, marked.lines, marked.frames,
            copy_encoder()),
        "files": _file_hashes(staging, (manifest.CLIP, manifest.WATERMARKED)),
    }


def _redacted_video(staging: Path, core: "CoreStore", camera: str, start: int, end: int,
                    samples: list[remux.ClipSample], config: Any, redaction: "Redaction", *, watermark_text: str | None, case: str | None,
                    c2pa: C2paCredentials | None, evidence: dict[str, Any],
                    progress: "Callable[[PlayedFrame, int], None] | None") -> dict[str, Any]:
    """clip.redacted.mp4 and its manifest fields; no unredacted video."""
    path = staging / manifest.REDACTED
    copy = redacted.write(path, core, camera, start, end, [s.frame for s in samples], redaction,
                               fps=nominal_frame_rate(config), watermark_text=watermark_text,
                               case=case, progress=progress)
    if c2pa is not None:
        sign_redacted(path, c2pa, evidence=evidence, watermarked=watermark_text is not None)
    (staging / review.FILE).write_bytes(copy.review.to_bytes())
    (staging / contact_sheet.FILE).write_bytes(copy.review.contact_sheet())
    return {
        "format": manifest.FORMAT_REDACTED,
        "clip": copy.clip_section(manifest.REDACTED),
        "frames": [_frame_entry(i, s) for i, s in enumerate(samples)],
        "redaction": {**redaction.describe(),
                      "hidden": {"regions": copy.regions, "frames": copy.frames_with_regions}},
        "review": {"file": review.FILE, "format": review.FORMAT, "contact_sheet": contact_sheet.FILE},
        "watermark": None if watermark_text is None else _watermark_section(
            manifest.REDACTED, watermark_text, watermark.static_lines(text=watermark_text, case=case, camera=camera),
            copy.frames, copy_encoder()),
        "files": _file_hashes(staging, (manifest.REDACTED, review.FILE, contact_sheet.FILE)),
    }


def _audit_export(core: "CoreStore", camera: str, start: int, end: int, *, action: str, case: str | None,
                  reason: str | None, actor: str | None, authorization: dict[str, Any] | None) -> dict[str, Any]:
    """The audit entry that allowed this export (written now, as ``action``,
    for a trusted caller), and the log's head, for the manifest's ``audit``
    field."""
    if authorization is None:
        entry = core.audit_record(
            actor or "library", action, outcome="allowed", camera=camera, start=start, end=end,
            reason=reason or "trusted caller (no session)", case=case or "",
        )
        seq, entry_hash, grant_id = entry["seq"], entry["hash"], ""
    else:
        seq, entry_hash = authorization["audit_seq"], authorization["audit_hash"]
        grant_id = authorization.get("grant_id") or ""
    head_seq, head_hash = core.audit_head()
    return {"entry": seq, "entry_hash": entry_hash.hex(), "grant_id": grant_id or None,
            "head_seq": head_seq, "head_hash": head_hash.hex()}


def _frame_entry(i: int, s: remux.ClipSample) -> dict[str, Any]:
    """A stored access unit the package derives from (both kinds of package)."""
    f = s.frame
    return {
        "index": i, "ts": f.ts, "utc": iso(f.ts), "pts": f.pts, "dts": f.dts, "duration": f.duration,
        "keyframe": f.keyframe, "segment": f.segment, "seq": f.seq, "size": len(f.data),
        "sha256": hashlib.sha256(f.data).hexdigest(), "presented": s.shown,
    }


def _watermark_section(file: str, text: str | None, lines: list[str], frames: int,
                       encoder: dict[str, Any]) -> dict[str, Any]:
    return {"file": file, "text": text, "lines": [*lines, "<frame time> UTC"], "frames": frames, "encoder": encoder}


def _file_hashes(staging: Path, names: tuple[str, ...]) -> dict[str, dict[str, Any]]:
    """SHA-256 and size of the package's video files (after C2PA embedding)."""
    files = {}
    for name in names:
        path = staging / name
        if path.exists():
            files[name] = {"sha256": sha256_file(path), "bytes": path.stat().st_size}
    return files


def _manifest(core: "CoreStore", camera: str, start: int, end: int, config: Any, samples: list[remux.ClipSample], *,
              annexb: bool, case: str | None, reason: str | None, actor: str | None,
              public_key: bytes) -> dict[str, Any]:
    """The fields both kinds of package share; the video fields come from
    ``_bit_exact_video`` or ``_redacted_video``."""
    tb = Fraction(*config.time_base)
    used = sorted({s.frame.segment for s in samples})
    rows = {row.id: row for row in core.segments(camera, samples[0].frame.ts, max(s.frame.ts for s in samples) + 1)}
    segments = []
    for seg_id in used:
        row = rows.get(seg_id)
        if row is None:
            raise MediaError(f"segment {seg_id} of camera {camera!r} is not in the catalog; run `vidvault fsck`")
        seg: dict[str, Any] = {k: getattr(row, k) for k in SEGMENT_FIELDS}
        # An open segment (still being written) has no content hash yet: the
        # manifest says so, and `vidvault verify --store` can later check the
        # frames against the sealed segment.
        seg["content_hash"] = row.content_hash.hex() if row.content_hash else None
        seg["prev_hash"] = row.prev_hash.hex()
        segments.append(seg)
    shown = [s for s in samples if s.shown]
    now = time.time_ns()
    return {
        "software": {"name": "vidvault", "version": __version__},
        "exported_at": now,
        "exported_at_utc": iso(now),
        "store_id": core.store_id,
        "camera": camera,
        "actor": actor,
        "case": case,
        "reason": reason,
        "audit": None,
        "requested": {"start": start, "end": end, "start_utc": iso(start), "end_utc": iso(end)},
        "actual": {
            "first_decoded": samples[0].frame.ts,
            "first_presented": min(s.frame.ts for s in shown),
            "last_presented": max(s.frame.ts for s in shown),
            "first_presented_utc": iso(min(s.frame.ts for s in shown)),
            "last_presented_utc": iso(max(s.frame.ts for s in shown)),
            "frames": len(samples),
            "presented": len(shown),
        },
        "gaps": [{"start": g0, "end": g1} for g0, g1 in core.gaps(camera, start, end)],
        "codec": {
            "codec": config.codec,
            "extradata": config.extradata.hex(),
            "time_base": f"{tb.numerator}/{tb.denominator}",
            "width": config.width,
            "height": config.height,
            "bitstream": "annexb" if annexb else "length-prefixed",
        },
        "segments": segments,
        "signer": {
            "algorithm": "Ed25519",
            "public_key": public_key.hex(),
            "fingerprint": keys.fingerprint(public_key),
        },
    }
