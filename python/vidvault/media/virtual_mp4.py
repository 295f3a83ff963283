"""The faststart MP4 of a range laid out from frame metadata alone, its
samples produced only for the bytes asked for: a long clip is served (any
byte range) without building it, decrypting just the frames a range covers.

It is the file :func:`vidvault.media.remux.to_bytes` builds, byte for byte:
the boxes that do not depend on the samples (``ftyp``, ``free``, the sample
entry with its ``avcC``/``hvcC``, handlers, ``udta``) come from FFmpeg's
muxer run on the first sample alone, and the sample tables are written here
with the rules FFmpeg's ``movenc`` follows for one video track: timestamps
rescaled to the track timescale, ``stts``/``ctts`` run-length coded, chunks
of contiguous samples closed before they reach 1 MiB, ``btrt`` carrying the
average bit rate, one edit starting at ``-first dts``, and the presentation
length :func:`vidvault.media.remux` patches in afterwards.

Sample sizes must be known without the payload, so the footage must be
length-prefixed (avcC/hvcC, what MP4 and Matroska sources store); Annex B
access units (RTSP, MPEG-TS) change size when converted, which only their
bytes tell: :func:`layout` raises :class:`NotLayable` and the caller builds
the clip in memory as before.
"""

from __future__ import annotations

import bisect
import io
import struct
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Callable, Iterator, Sequence

from . import mp4box, nal, remux

#: FFmpeg's movenc closes a chunk before it reaches this many bytes.
MAX_CHUNK_BYTES = 1 << 20
U32 = 1 << 32


class NotLayable(Exception):
    """This footage cannot be laid out from metadata (the reason says why)."""


@dataclass(frozen=True)
class VirtualMp4:
    head: bytes  # ftyp, free, moov and the mdat header
    sample_offsets: list[int]  # file offset of each sample
    sample_sizes: list[int]
    infos: list[Any]  # the FrameInfo of each sample, decode order

    @property
    def size(self) -> int:
        return self.sample_offsets[-1] + self.sample_sizes[-1]

    def read(self, first: int, last: int, frame: Callable[[Any], Any]) -> Iterator[bytes]:
        """Bytes ``first..last`` (inclusive) of the file; ``frame(info)``
        returns the authenticated frame an info names (decrypted on demand)."""
        if first < len(self.head):
            yield self.head[first : min(last + 1, len(self.head))]
        i = max(0, bisect.bisect_right(self.sample_offsets, first) - 1)
        while i < len(self.infos) and self.sample_offsets[i] <= last:
            at, size = self.sample_offsets[i], self.sample_sizes[i]
            if at + size > first:
                data = frame(self.infos[i]).data
                yield data[max(0, first - at) : min(size, last + 1 - at)]
            i += 1


def layout(footage: Any, camera: str, infos: Sequence[Any], *, start: int, end: int) -> VirtualMp4:
    """The clip of ``infos`` (``FrameInfo``, decode order, as the session's
    ``raw_footage`` lists them) presenting ``[start, end)``; ``footage`` is
    the store's core handle (codec configurations, one frame of the first
    segment for the template)."""
    config = remux.one_config(footage, camera, infos)
    time_base = Fraction(*config.time_base)
    first = footage.read_frame(infos[0])
    if nal.is_annexb(config.extradata) or nal.is_annexb(first.data):
        raise NotLayable("Annex B footage: sample sizes are only known from the bytes")
    samples = remux.plan(infos, time_base=time_base, start=start, end=end, annexb=False)
    template = _template(samples[0], first, config)
    track = _Track.of(samples, time_base, template.timescale, template.movie_timescale)
    moov = _moov(template, track)
    head_len = len(template.ftyp_free) + len(moov) + 8
    mdat_size = 8 + sum(track.sizes)
    if head_len + mdat_size >= U32:
        raise NotLayable("the clip passes 4 GiB (64-bit chunk offsets)")
    offsets = _cumulative(head_len, track.sizes)
    moov = _moov(template, track, [offsets[c] for c in track.chunk_starts])
    head = template.ftyp_free + moov + struct.pack(">I4s", mdat_size, b"mdat")
    return VirtualMp4(head, offsets, track.sizes, [s.frame for s in samples])


def _cumulative(base: int, sizes: Sequence[int]) -> list[int]:
    out, at = [], base
    for n in sizes:
        out.append(at)
        at += n
    return out


# ------------------------------------------------------------------ the template


@dataclass(frozen=True)
class _Template:
    """FFmpeg's file of the first sample alone, taken apart."""

    ftyp_free: bytes
    mvhd: bytes
    tkhd: bytes
    mdhd: bytes
    hdlr: bytes
    minf_head: bytes  # vmhd and dinf
    stsd: bytes
    udta: bytes
    timescale: int
    movie_timescale: int


def _template(sample: remux.ClipSample, frame: Any, config: Any) -> _Template:
    buffer = io.BytesIO()
    one = remux.ClipSample(frame, sample.pts, sample.dts, True, None)
    remux.mux(buffer, [one], config, where="the clip's template", faststart=False)
    data = buffer.getvalue()
    top = {b.type: b for b in mp4box.iter_boxes(data, 0, len(data))}
    moov = top[b"moov"]
    kids = {b.type: b for b in mp4box.iter_boxes(data, moov.body, moov.end)}
    trak = kids[b"trak"]
    mdia = mp4box.require(data, trak, [b"mdia"])
    minf = mp4box.require(data, mdia, [b"minf"])
    stbl = mp4box.require(data, minf, [b"stbl"])

    def whole(box: mp4box.Box) -> bytes:
        return bytes(data[box.offset : box.end])

    mdhd = mp4box.require(data, mdia, [b"mdhd"])
    mvhd = kids[b"mvhd"]
    for box in (mvhd, mp4box.require(data, trak, [b"tkhd"]), mdhd):
        if data[box.body] != 0:
            raise NotLayable("the muxer wrote 64-bit durations")
    minf_head = b"".join(whole(b) for b in mp4box.iter_boxes(data, minf.body, minf.end) if b.type != b"stbl")
    ftyp_free = b"".join(whole(b) for b in mp4box.iter_boxes(data, 0, len(data)) if b.type in (b"ftyp", b"free"))
    if ftyp_free != bytes(data[: top[b"mdat"].offset]):
        raise NotLayable("the muxer wrote boxes other than ftyp and free before mdat")
    trak_kids = [b.type for b in mp4box.iter_boxes(data, trak.body, trak.end)]
    if trak_kids != [b"tkhd", b"edts", b"mdia"] or b"udta" not in kids:
        raise NotLayable(f"unexpected track layout {trak_kids}")
    return _Template(
        ftyp_free=ftyp_free, mvhd=whole(mvhd), tkhd=whole(mp4box.require(data, trak, [b"tkhd"])), mdhd=whole(mdhd),
        hdlr=whole(mp4box.require(data, mdia, [b"hdlr"])), minf_head=minf_head,
        stsd=whole(mp4box.require(data, stbl, [b"stsd"])), udta=whole(kids[b"udta"]),
        timescale=struct.unpack_from(">I", data, mdhd.body + 12)[0],
        movie_timescale=struct.unpack_from(">I", data, mvhd.body + 12)[0],
    )


# ------------------------------------------------------------------ the sample tables


def _rescaler(time_base: Fraction, timescale: int) -> Callable[[int], int]:
    """FFmpeg's av_rescale_q from ``time_base`` to 1/``timescale`` (round to
    nearest, halves away from zero), in integers: it runs once per value."""
    x = time_base * timescale
    n, d = x.numerator, x.denominator
    if d == 1:
        return lambda v: v * n

    def rescale(v: int) -> int:
        q, r = divmod(abs(v) * n, d)
        q += 2 * r >= d
        return q if v >= 0 else -q

    return rescale


@dataclass(frozen=True)
class _Track:
    dts: list[int]
    cts: list[int]  # pts - dts
    sizes: list[int]
    sync: list[int]  # 1-based numbers of keyframe samples
    duration: int  # track units: last dts - first dts + last duration (stts, btrt)
    presented: int  # track units: latest pts + duration - first pts (mdhd)
    chunk_starts: list[int]  # first sample of each chunk
    media_time: int
    edit_duration: int  # movie units

    @classmethod
    def of(cls, samples: Sequence[remux.ClipSample], time_base: Fraction, timescale: int,
           movie_timescale: int) -> "_Track":
        rescale = _rescaler(time_base, timescale)
        dts = [rescale(s.dts) for s in samples]
        pts = [rescale(s.pts) for s in samples]
        sizes = [s.frame.size for s in samples]
        durations = [rescale(s.frame.duration or 0) for s in samples]
        duration = dts[-1] - dts[0] + durations[-1]
        # mdhd: the end of the latest presentation after the first dts plus
        # the smallest composition offset (what FFmpeg's movenc writes).
        presented = max(p + d for p, d in zip(pts, durations)) - dts[0] - min(p - d for p, d in zip(pts, dts))
        chunk_starts, chunk = [0], sizes[0]
        for i in range(1, len(sizes)):
            if chunk + sizes[i] < MAX_CHUNK_BYTES:
                chunk += sizes[i]
            else:
                chunk_starts.append(i)
                chunk = sizes[i]
        # The file's composition times start at the first dts; the edit
        # starts at the first frame shown and (as remux's check sets it)
        # lasts up to the next composition time after the last one shown.
        file_cts = [p - dts[0] for p in pts]
        media_time = -min(dts[0], 0)
        shown = [c for c, s in zip(file_cts, samples) if s.shown]
        if min(shown) != media_time:
            raise NotLayable("the first presented frame is not where the edit starts")
        last = max(shown)
        later = [c for c in file_cts if c > last]
        if later:
            end_cts = min(later)
        else:
            ordered = sorted(file_cts)
            steps = sorted(b - a for a, b in zip(ordered, ordered[1:]) if b > a)
            end_cts = last + (steps[len(steps) // 2] if steps else 1)
        return cls(dts, [p - d for p, d in zip(pts, dts)], sizes,
                   [i + 1 for i, s in enumerate(samples) if s.frame.keyframe], duration, presented, chunk_starts,
                   media_time,
                   (end_cts - media_time) * movie_timescale // timescale)


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version_flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), payload)


def _run_length(values: Sequence[int]) -> list[tuple[int, int]]:
    runs: list[list[int]] = []
    for v in values:
        if runs and runs[-1][1] == v:
            runs[-1][0] += 1
        else:
            runs.append([1, v])
    return [(n, v) for n, v in runs]


def _tables(track: _Track, chunk_offsets: Sequence[int]) -> bytes:
    deltas = [b - a for a, b in zip(track.dts, track.dts[1:])] + [track.duration - (track.dts[-1] - track.dts[0])]
    stts = _run_length(deltas)
    parts = [_full(b"stts", 0, struct.pack(">I", len(stts)) + b"".join(struct.pack(">II", n, d) for n, d in stts))]
    if len(track.sync) < len(track.sizes):
        parts.append(_full(b"stss", 0, struct.pack(f">I{len(track.sync)}I", len(track.sync), *track.sync)))
    if any(track.cts):
        ctts = _run_length(track.cts)
        parts.append(_full(b"ctts", 0, struct.pack(">I", len(ctts))
                           + b"".join(struct.pack(">Ii", n, c) for n, c in ctts)))
    per_chunk = [b - a for a, b in zip(track.chunk_starts, [*track.chunk_starts[1:], len(track.sizes)])]
    stsc, prev = [], None
    for number, n in enumerate(per_chunk, start=1):
        if n != prev:
            stsc.append(struct.pack(">III", number, n, 1))
            prev = n
    parts.append(_full(b"stsc", 0, struct.pack(">I", len(stsc)) + b"".join(stsc)))
    if len(set(track.sizes)) == 1:
        parts.append(_full(b"stsz", 0, struct.pack(">II", track.sizes[0], len(track.sizes))))
    else:
        parts.append(_full(b"stsz", 0, struct.pack(f">II{len(track.sizes)}I", 0, len(track.sizes), *track.sizes)))
    offsets = list(chunk_offsets) or [0] * len(track.chunk_starts)
    parts.append(_full(b"stco", 0, struct.pack(f">I{len(offsets)}I", len(offsets), *offsets)))
    return b"".join(parts)


def _with_duration(box: bytes, at: int, value: int) -> bytes:
    if value >= U32:
        raise NotLayable("a duration needs 64 bits")
    return box[:at] + struct.pack(">I", value) + box[at + 4 :]


def _stsd(template: _Template, track: _Track) -> bytes:
    """The template's sample description with the clip's bit rate in ``btrt``."""
    stsd = bytearray(template.stsd)
    at = stsd.find(b"btrt")
    if at >= 0:
        avg = sum(track.sizes) * 8 * template.timescale // track.duration if track.duration else 0
        struct.pack_into(">II", stsd, at + 8, avg, avg)  # max, then average: no better maximum is known
    return bytes(stsd)


def _moov(template: _Template, track: _Track, chunk_offsets: Sequence[int] = ()) -> bytes:
    edit = track.edit_duration
    mdhd = _with_duration(template.mdhd, 8 + 16, track.presented)
    stbl = _box(b"stbl", _stsd(template, track), _tables(track, chunk_offsets))
    mdia = _box(b"mdia", mdhd, template.hdlr, _box(b"minf", template.minf_head, stbl))
    elst = _full(b"elst", 0, struct.pack(">IIiI", 1, edit, track.media_time, 0x00010000))
    trak = _box(b"trak", _with_duration(template.tkhd, 8 + 20, edit), _box(b"edts", elst), mdia)
    return _box(b"moov", _with_duration(template.mvhd, 8 + 16, edit), trak, template.udta)
