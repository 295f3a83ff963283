"""Stored access units -> an MP4 file, with no re-encode.

The clip starts at the keyframe at or before the requested start (so the
first frame decodes) and an edit list hides the frames before it, so players
begin at the requested instant. B-frame streams keep their decode order and
their composition offsets. The muxer is FFmpeg's (through PyAV): moov first
(faststart), sample bytes untouched for avcC/hvcC streams; Annex B access
units are rewritten to length-prefixed NAL units, and :mod:`vidvault.media.nal`
records how to undo that bit for bit.

After muxing, the file is read back with :mod:`vidvault.media.mp4box` and every
sample compared with what was meant to go in: an export never trusts the
muxer blindly.
"""

from __future__ import annotations

import io
import os
from dataclasses import dataclass
from fractions import Fraction
from pathlib import Path
from typing import Any, Sequence

import av

from . import mp4box, nal
from ..errors import MediaError
from ..timeutil import NS_PER_SECOND, iso

#: Codecs an MP4 export carries, and the raw FFmpeg format whose empty stream
#: serves as the template for the output stream's codec parameters.
MP4_CODECS = {"h264": "h264", "hevc": "hevc"}

#: Keyframes whose source timestamps disagree with their wall-clock times by
#: more than this start a new timeline run (the source jumped, or a stream
#: reconnected and restarted its clock).
RUN_TOLERANCE_NS = NS_PER_SECOND


@dataclass(frozen=True)
class ClipSample:
    """One stored frame placed on the clip's timeline (source time base)."""

    frame: Any  # vidvault.Frame
    pts: int
    dts: int
    shown: bool  # presented inside [start, end)
    start_codes: list[int] | None  # Annex B start-code lengths, None for length-prefixed

    def sample_bytes(self) -> bytes:
        """What the MP4 sample must contain."""
        if self.start_codes is None:
            return self.frame.data
        return nal.length_prefixed(nal.split_annexb(self.frame.data).nals)


@dataclass(frozen=True)
class ClipFile:
    """What was written: the MP4's own view of its samples and edit."""

    timescale: int
    movie_timescale: int
    media_time: int  # track units: composition time shown first
    edit_duration: int  # movie units
    sample_dts: list[int]
    sample_cts: list[int]
    sample_entry: str
    codec_config: bytes


def plan(frames: Sequence[Any], *, time_base: Fraction, start: int, end: int, annexb: bool) -> list[ClipSample]:
    """Places ``frames`` (decode order, as ``Store.read`` returns them) on one
    continuous timeline whose decode times strictly increase; the first frame
    presented at or after ``start`` gets pts 0."""
    tb_ns = time_base * NS_PER_SECOND
    samples: list[ClipSample] = []
    offset = 0
    prev_dts: int | None = None
    prev_key: tuple[int, int, int] | None = None  # (wall ts, source pts, clip pts) of the last keyframe
    for f in frames:
        pts = f.pts if f.pts is not None else f.dts
        dts = f.dts if f.dts is not None else pts
        if pts is None or dts is None:
            raise MediaError(
                f"frame {f.seq} of segment {f.segment} (at {iso(f.ts)}) has no pts or dts; "
                "it cannot be placed in an MP4 timeline"
            )
        if prev_dts is not None:
            new_run = dts + offset <= prev_dts
            if f.keyframe and prev_key is not None and not new_run:
                source_ns = (pts - prev_key[1]) * tb_ns
                wall_ns = f.ts - prev_key[0]
                new_run = abs(source_ns - wall_ns) > RUN_TOLERANCE_NS
            if new_run:
                if f.keyframe and prev_key is not None:
                    target = prev_key[2] + round((f.ts - prev_key[0]) / tb_ns)
                    offset = target - pts
                if dts + offset <= prev_dts:
                    offset = prev_dts + 1 - dts
        prev_dts = dts + offset
        start_codes = None
        if annexb:
            units = nal.split_annexb(f.data)
            if nal.join_annexb(units.nals, units.start_codes) != f.data:
                raise MediaError(
                    f"frame {f.seq} of segment {f.segment} (at {iso(f.ts)}) is not a clean Annex B "
                    "access unit (bytes before the first start code); MP4 cannot carry it bit-exactly"
                )
            start_codes = units.start_codes
        sample = ClipSample(f, pts + offset, dts + offset, start <= f.ts < end, start_codes)
        if f.keyframe:
            prev_key = (f.ts, pts, sample.pts)
        samples.append(sample)
    shown = [s.pts for s in samples if s.shown]
    if not shown:
        raise MediaError(f"no frame is presented between {iso(start)} and {iso(end)}")
    zero = min(shown)
    return [
        ClipSample(s.frame, s.pts - zero, s.dts - zero, s.shown, s.start_codes) for s in samples
    ]


def one_config(footage: Any, camera: str, frames: Sequence[Any]) -> Any:
    """The codec configuration shared by all ``frames``' segments (one MP4
    holds one); ``footage`` is the store's core handle."""
    first = footage.segment_config(frames[0].segment)
    seen = {frames[0].segment}
    for f in frames:
        if f.segment in seen:
            continue
        seen.add(f.segment)
        config = footage.segment_config(f.segment)
        if _config_key(config) != _config_key(first):
            raise MediaError(
                f"camera {camera!r} changes codec configuration at {iso(f.ts)} (segment {f.segment}: "
                f"{config.codec} {config.width}x{config.height}); one MP4 holds one configuration, so "
                f"ask for the footage up to {iso(f.ts)} and from it separately"
            )
    return first


def annexb_footage(config: Any, frames: Sequence[Any]) -> bool:
    """Whether the stored access units are Annex B (start codes), which an
    MP4 carries length-prefixed (:mod:`.nal` records how to undo it)."""
    return nal.is_annexb(config.extradata) or nal.is_annexb(frames[0].data)


def _config_key(config: Any) -> tuple[Any, ...]:
    return (config.codec, config.extradata, tuple(config.time_base), config.width, config.height)


def write(path: str | os.PathLike[str], samples: Sequence[ClipSample], config: Any) -> ClipFile:
    """Muxes ``samples`` into ``path`` (faststart MP4) and checks the result."""
    path = Path(path)
    mux(str(path), samples, config, where=str(path))
    data = bytearray(path.read_bytes())
    clip = _check(data, samples, where=str(path))
    mp4box.patch_durations(path, edit_duration=clip.edit_duration)
    return clip


def to_bytes(samples: Sequence[ClipSample], config: Any) -> tuple[bytes, ClipFile]:
    """As :func:`write`, in memory: the faststart MP4's bytes (checked the
    same way), for serving footage without a plaintext file on disk.
    FFmpeg's faststart rewrites a file by name, so ``moov`` is moved here
    (:func:`vidvault.media.mp4box.faststart`)."""
    buffer = io.BytesIO()
    mux(buffer, samples, config, where="the in-memory clip", faststart=False)
    try:
        data = bytearray(mp4box.faststart(buffer.getvalue()))
    except mp4box.Mp4FormatError as e:
        raise MediaError(f"moving moov to the front of the in-memory clip failed: {e}") from e
    clip = _check(data, samples, where="the in-memory clip")
    mp4box.patch_durations_in(data, edit_duration=clip.edit_duration)
    return bytes(data), clip


#: A fragmented MP4 (moov without samples, then a moof/mdat pair per GOP),
#: what a browser's Media Source Extensions take.
FRAGMENTED_MOVFLAGS = "frag_keyframe+empty_moov+default_base_moof"


def to_fragmented_bytes(samples: Sequence[ClipSample], config: Any, *, where: str) -> bytes:
    """``samples`` as a fragmented MP4 that starts decoding on its own (its
    own ``moov`` with the stored parameter sets), sample bytes untouched."""
    buffer = io.BytesIO()
    mux(buffer, samples, config, where=where, faststart=False, fragmented=True)
    return buffer.getvalue()


def mux(target: str | io.BytesIO, samples: Sequence[ClipSample], config: Any, *, where: str,
        faststart: bool = True, fragmented: bool = False) -> None:
    """FFmpeg's MP4 muxer on ``samples`` (unchecked: :func:`write` and
    :func:`to_bytes` check what it wrote)."""
    raw_format = MP4_CODECS.get(config.codec)
    if raw_format is None:
        raise MediaError(
            f"an MP4 export carries H.264 or H.265; this footage is {config.codec!r} "
            "(read it with Store.read instead)"
        )
    time_base = Fraction(*config.time_base)
    try:
        with av.open(io.BytesIO(b""), format=raw_format) as template, av.open(
            target, "w", format="mp4", options=_mp4_options(faststart, fragmented)
        ) as out:
            stream = out.add_stream_from_template(template.streams.video[0])
            ctx = stream.codec_context
            ctx.extradata = config.extradata or None
            ctx.width, ctx.height = config.width, config.height
            ctx.time_base = time_base
            stream.time_base = time_base
            if config.codec == "hevc" and not nal.is_annexb(config.extradata):
                ctx.codec_tag = "hvc1"  # parameter sets in hvcC: the tag Apple players require
            for s in samples:
                packet = av.Packet(s.frame.data)
                packet.pts, packet.dts = s.pts, s.dts
                packet.duration = s.frame.duration or 0
                packet.is_keyframe = s.frame.keyframe
                packet.time_base = time_base
                packet.stream = stream
                out.mux(packet)
    except (av.error.FFmpegError, OSError) as e:
        raise MediaError(f"writing {where} failed: {e}") from e


def _mp4_options(faststart: bool, fragmented: bool) -> dict[str, str]:
    if fragmented:
        return {"movflags": FRAGMENTED_MOVFLAGS}
    return {"use_editlist": "1", **({"movflags": "+faststart"} if faststart else {})}


def _check(data: bytes | bytearray, samples: Sequence[ClipSample], *, where: str) -> ClipFile:
    """Reads the muxed MP4 back and compares every sample with what was
    meant to go in; returns its layout with the presentation length to set."""
    layout = mp4box.parse_layout(data)
    track = layout.track
    if not layout.moov_before_mdat:
        raise MediaError(f"{where}: the muxer did not put moov before mdat (faststart)")
    if len(track) != len(samples):
        raise MediaError(f"{where}: the muxer wrote {len(track)} samples for {len(samples)} frames")
    with io.BytesIO(data) as f:
        for i, (sample, s) in enumerate(zip(mp4box.read_samples(f, track), samples)):
            if sample != s.sample_bytes():
                raise MediaError(f"{where}: sample {i} differs from stored frame {s.frame.seq} of segment {s.frame.segment}")
            if track.is_sync(i) != s.frame.keyframe:
                raise MediaError(f"{where}: sample {i} keyframe flag differs from the stored frame")
    edits = [e for e in track.edits if e.media_time >= 0]
    if len(edits) != 1:
        raise MediaError(f"{where}: expected one edit list entry, the muxer wrote {len(track.edits)}")
    media_time = edits[0].media_time
    shown_cts = [c for c, s in zip(track.cts, samples) if s.shown]
    if min(shown_cts) != media_time:
        raise MediaError(f"{where}: the edit starts at {media_time}, the first presented frame at {min(shown_cts)}")
    last = max(shown_cts)
    later = [c for c in track.cts if c > last]
    if later:
        end_cts = min(later)
    else:
        steps = sorted(b - a for a, b in zip(sorted(track.cts), sorted(track.cts)[1:]) if b > a)
        end_cts = last + (steps[len(steps) // 2] if steps else 1)
    edit_duration = (end_cts - media_time) * track.movie_timescale // track.timescale
    return ClipFile(
        timescale=track.timescale,
        movie_timescale=track.movie_timescale,
        media_time=media_time,
        edit_duration=edit_duration,
        sample_dts=track.dts,
        sample_cts=track.cts,
        sample_entry=track.sample_entry.decode("ascii", "replace"),
        codec_config=track.codec_config,
    )
