"""The faststart MP4 of a range laid out from frame metadata alone, its
samples produced only for the bytes asked for: a long clip is served (any
byte range) without building it, decrypting just the frames a range covers.

It is the file :func:`vidvault.media.remux.to_bytes` builds, byte for byte:
the boxes that do not depend on the samples (``ftyp``, ``free``, the sample
entry with its ``avcC``/``hvcC``, handlers, ``udta``) come from FFmpeg's
muxer run on the first sample alone, and the sample tables are written by
the Rust core (``src/clip_layout.rs``, one pass over the infos) with the
rules FFmpeg's ``movenc`` follows for one video track: timestamps
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
from typing import Any, Callable, Iterator, Sequence

from . import mp4box, nal, remux
from ..errors import InvalidArgumentError

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
    segment for the template, and the sample tables: ``lay_out_clip``, one
    pass in the Rust core over the hour's 90,000 infos)."""
    config = remux.one_config(footage, camera, infos)
    first = footage.read_frame(infos[0])
    if nal.is_annexb(config.extradata) or nal.is_annexb(first.data):
        raise NotLayable("Annex B footage: sample sizes are only known from the bytes")
    # The boxes taken from the template have the same length whatever the
    # first sample's timestamps, so a template at 0 tells the head's length
    # before the tables, which the layout needs for its chunk offsets.
    sizing = _template(0, 0, first, config)
    head_without_tables = len(sizing.ftyp_free) + len(_moov(sizing, _UNTIMED, b"")) + 8
    try:
        track = footage.lay_out_clip(infos, time_base=tuple(config.time_base), timescale=sizing.timescale,
                                     movie_timescale=sizing.movie_timescale, start=start, end=end,
                                     head_without_tables=head_without_tables)
    except InvalidArgumentError as e:
        raise NotLayable(str(e)) from e
    template = _template(track.first_pts, track.first_dts, first, config)
    moov = _moov(template, track, track.tables)
    head = template.ftyp_free + moov + struct.pack(">I4s", 8 + track.payload_bytes, b"mdat")
    if len(head) != head_without_tables + len(track.tables):
        raise NotLayable("the template's boxes changed length with the first sample's timestamps")
    return VirtualMp4(head, track.sample_offsets, track.sample_sizes, list(infos))


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


def _template(pts: int, dts: int, frame: Any, config: Any) -> _Template:
    buffer = io.BytesIO()
    one = remux.ClipSample(frame, pts, dts, True, None)
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


# ------------------------------------------------------------------ the movie box


@dataclass(frozen=True)
class _Timing:
    """What the movie box needs of the laid-out track (``_core.ClipLayout``)."""

    duration: int  # track units
    presented: int  # track units
    media_time: int  # track units
    edit_duration: int  # movie units
    payload_bytes: int


#: Timing of the right width (32-bit fields) for measuring the head.
_UNTIMED = _Timing(0, 0, 0, 0, 0)


def _box(kind: bytes, *parts: bytes) -> bytes:
    body = b"".join(parts)
    return struct.pack(">I4s", 8 + len(body), kind) + body


def _full(kind: bytes, version_flags: int, payload: bytes) -> bytes:
    return _box(kind, struct.pack(">I", version_flags), payload)


def _with_duration(box: bytes, at: int, value: int) -> bytes:
    if value >= U32:
        raise NotLayable("a duration needs 64 bits")
    return box[:at] + struct.pack(">I", value) + box[at + 4 :]


def _stsd(template: _Template, track: Any) -> bytes:
    """The template's sample description with the clip's bit rate in ``btrt``."""
    stsd = bytearray(template.stsd)
    at = stsd.find(b"btrt")
    if at >= 0:
        avg = track.payload_bytes * 8 * template.timescale // track.duration if track.duration else 0
        struct.pack_into(">II", stsd, at + 8, avg, avg)  # max, then average: no better maximum is known
    return bytes(stsd)


def _moov(template: _Template, track: Any, tables: bytes) -> bytes:
    edit = track.edit_duration
    mdhd = _with_duration(template.mdhd, 8 + 16, track.presented)
    stbl = _box(b"stbl", _stsd(template, track), tables)
    mdia = _box(b"mdia", mdhd, template.hdlr, _box(b"minf", template.minf_head, stbl))
    elst = _full(b"elst", 0, struct.pack(">IIiI", 1, edit, track.media_time, 0x00010000))
    trak = _box(b"trak", _with_duration(template.tkhd, 8 + 20, edit), _box(b"edts", elst), mdia)
    return _box(b"moov", _with_duration(template.mvhd, 8 + 16, edit), trak, template.udta)
