"""A small, strict reader of the ISO base media file format (MP4) boxes a
verifier needs: the video track's sample table, sample entry and edit list.

Verification must not trust a demuxer's interpretation of a file (FFmpeg
shifts timestamps, applies edit lists and drops samples it considers
discardable), so this module reads the sample table exactly as written:
sizes (stsz), chunk offsets (stco/co64), sample-to-chunk (stsc), decode
deltas (stts), composition offsets (ctts), sync samples (stss) and the edit
list (elst). It also patches the fixed-size duration fields the exporter
sets after muxing. ISO/IEC 14496-12 is the reference for every field.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass, field
from pathlib import Path
from typing import BinaryIO, Iterator

def fourcc(code: bytes) -> str:
    """A box or sample-entry type for a message: four bytes that a damaged
    or forged file may fill with anything, so never decoded as UTF-8."""
    return code.decode("ascii", errors="backslashreplace")


class Mp4FormatError(ValueError):
    """The file is not an MP4 this reader understands (with the byte offset)."""


@dataclass(frozen=True)
class Box:
    type: bytes
    offset: int  # of the box header
    size: int  # whole box, header included
    header: int  # 8, or 16 with a 64-bit size

    @property
    def body(self) -> int:
        return self.offset + self.header

    @property
    def end(self) -> int:
        return self.offset + self.size


def iter_boxes(data: bytes | memoryview, start: int, end: int) -> Iterator[Box]:
    pos = start
    while pos < end:
        if pos + 8 > end:
            raise Mp4FormatError(f"truncated box header at byte {pos}")
        size, kind = struct.unpack_from(">I4s", data, pos)
        header = 8
        if size == 1:
            if pos + 16 > end:
                raise Mp4FormatError(f"truncated 64-bit box size at byte {pos}")
            (size,) = struct.unpack_from(">Q", data, pos + 8)
            header = 16
        elif size == 0:
            size = end - pos
        if size < header or pos + size > end:
            raise Mp4FormatError(f"box {kind!r} at byte {pos} claims {size} bytes, past the end at {end}")
        yield Box(kind, pos, size, header)
        pos += size


def child(data: bytes | memoryview, parent: Box, kind: bytes) -> Box | None:
    for box in iter_boxes(data, parent.body, parent.end):
        if box.type == kind:
            return box
    return None


def require(data: bytes | memoryview, parent: Box, path: list[bytes]) -> Box:
    box = parent
    for kind in path:
        found = child(data, box, kind)
        if found is None:
            raise Mp4FormatError(f"no {fourcc(kind)} box inside {fourcc(box.type)} at byte {box.offset}")
        box = found
    return box


@dataclass(frozen=True)
class Edit:
    """One edit-list entry: ``media_time`` in track units (-1 = empty edit),
    ``duration`` in movie units; ``field_offset`` locates the duration."""

    duration: int
    media_time: int
    field_offset: int
    field_size: int


@dataclass
class VideoTrack:
    """The first video track of an MP4, as stored."""

    timescale: int  # track (media) units per second
    movie_timescale: int
    sample_entry: bytes  # e.g. b"avc1", b"hvc1"
    codec_config: bytes  # body of avcC/hvcC (empty if none)
    width: int
    height: int
    offsets: list[int]
    sizes: list[int]
    dts: list[int]  # decode times, track units, first sample at 0
    cts: list[int]  # composition times = dts + ctts offset
    sync: set[int] | None  # sample indexes (0-based) of sync samples; None = all are sync
    edits: list[Edit]
    duration_fields: list[tuple[int, int]] = field(default_factory=list)  # (offset, size) of mvhd/tkhd durations

    def __len__(self) -> int:
        return len(self.sizes)

    def is_sync(self, index: int) -> bool:
        return self.sync is None or index in self.sync


@dataclass(frozen=True)
class Layout:
    """Top-level box order and the video track."""

    top: list[Box]
    track: VideoTrack

    @property
    def moov_before_mdat(self) -> bool:
        kinds = [b.type for b in self.top]
        return b"moov" in kinds and b"mdat" in kinds and kinds.index(b"moov") < kinds.index(b"mdat")


def _full_box(data: bytes | memoryview, box: Box) -> tuple[int, int]:
    version = data[box.body]
    flags = int.from_bytes(bytes(data[box.body + 1 : box.body + 4]), "big")
    return version, flags


def _table(data: bytes | memoryview, box: Box, fmt: str) -> list[tuple[int, ...]]:
    (count,) = struct.unpack_from(">I", data, box.body + 4)
    width = struct.calcsize(fmt)
    start = box.body + 8
    if start + count * width > box.end:
        raise Mp4FormatError(f"{fourcc(box.type)} at byte {box.offset} lists {count} entries, more than it holds")
    return [struct.unpack_from(fmt, data, start + i * width) for i in range(count)]


def read_layout(path: str | Path) -> Layout:
    data = Path(path).read_bytes()
    return parse_layout(data)


def parse_layout(data: bytes | memoryview) -> Layout:
    top = list(iter_boxes(data, 0, len(data)))
    moov = next((b for b in top if b.type == b"moov"), None)
    if moov is None:
        raise Mp4FormatError("no moov box: not an MP4 file, or the file is truncated")
    mvhd = require(data, moov, [b"mvhd"])
    version, _ = _full_box(data, mvhd)
    if version == 1:
        movie_timescale, = struct.unpack_from(">I", data, mvhd.body + 20)
        duration_fields = [(mvhd.body + 24, 8)]
    else:
        movie_timescale, = struct.unpack_from(">I", data, mvhd.body + 12)
        duration_fields = [(mvhd.body + 16, 4)]
    if movie_timescale == 0:
        raise Mp4FormatError(f"mvhd at byte {mvhd.offset} has timescale 0: no time in this movie can be told")
    for trak in iter_boxes(data, moov.body, moov.end):
        if trak.type != b"trak":
            continue
        hdlr = require(data, trak, [b"mdia", b"hdlr"])
        if bytes(data[hdlr.body + 8 : hdlr.body + 12]) == b"vide":
            track = _video_track(data, trak, movie_timescale)
            track.duration_fields[:0] = duration_fields
            return Layout(top, track)
    raise Mp4FormatError("the MP4 has no video track")


def _video_track(data: bytes | memoryview, trak: Box, movie_timescale: int) -> VideoTrack:
    tkhd = require(data, trak, [b"tkhd"])
    tk_version, _ = _full_box(data, tkhd)
    tk_duration = (tkhd.body + 28, 8) if tk_version == 1 else (tkhd.body + 20, 4)
    mdhd = require(data, trak, [b"mdia", b"mdhd"])
    md_version, _ = _full_box(data, mdhd)
    timescale, = struct.unpack_from(">I", data, mdhd.body + (20 if md_version == 1 else 12))
    if timescale == 0:
        raise Mp4FormatError(f"mdhd at byte {mdhd.offset} has timescale 0: the track's sample times cannot be told")
    stbl = require(data, trak, [b"mdia", b"minf", b"stbl"])

    stsd = require(data, stbl, [b"stsd"])
    entry = next(iter_boxes(data, stsd.body + 8, stsd.end))
    # VisualSampleEntry: 8 bytes SampleEntry + 70 bytes of visual fields.
    width, height = struct.unpack_from(">HH", data, entry.body + 24)
    config = b""
    for sub in iter_boxes(data, entry.body + 78, entry.end):
        if sub.type in (b"avcC", b"hvcC"):
            config = bytes(data[sub.body : sub.end])
            break

    stsz = require(data, stbl, [b"stsz"])
    uniform, count = struct.unpack_from(">II", data, stsz.body + 4)
    if uniform:
        if uniform * count > len(data):  # the samples must fit in the file: no giant list from 8 bytes
            raise Mp4FormatError(f"stsz at byte {stsz.offset} sizes {count} samples of {uniform} bytes, "
                                 f"more than the file holds")
        sizes = [uniform] * count
    else:
        if stsz.body + 12 + 4 * count > stsz.end:
            raise Mp4FormatError(f"stsz at byte {stsz.offset} lists more samples than it holds")
        sizes = list(struct.unpack_from(f">{count}I", data, stsz.body + 12))

    chunk_box = child(data, stbl, b"stco")
    if chunk_box is not None:
        chunks = [c[0] for c in _table(data, chunk_box, ">I")]
    else:
        chunks = [c[0] for c in _table(data, require(data, stbl, [b"co64"]), ">Q")]
    stsc = _table(data, require(data, stbl, [b"stsc"]), ">III")
    offsets = _sample_offsets(sizes, chunks, stsc)

    dts = []
    t = 0
    for n, delta in _table(data, require(data, stbl, [b"stts"]), ">II"):
        if len(dts) + n > count:
            raise Mp4FormatError(f"stts times more samples than stsz sizes ({count})")
        for _ in range(n):
            dts.append(t)
            t += delta
    if len(dts) != count:
        raise Mp4FormatError(f"stts times {len(dts)} samples but stsz sizes {count}")
    cts = list(dts)
    ctts_box = child(data, stbl, b"ctts")
    if ctts_box is not None:
        version, _ = _full_box(data, ctts_box)
        i = 0
        for n, off in _table(data, ctts_box, ">Ii" if version == 1 else ">II"):
            for _ in range(n):
                if i >= count:
                    raise Mp4FormatError("ctts lists more samples than stsz")
                cts[i] = dts[i] + off
                i += 1
    stss_box = child(data, stbl, b"stss")
    sync = None if stss_box is None else {s[0] - 1 for s in _table(data, stss_box, ">I")}

    edits = []
    edts = child(data, trak, b"edts")
    elst = child(data, edts, b"elst") if edts is not None else None
    if elst is not None:
        version, _ = _full_box(data, elst)
        fmt, dur_size = (">QqHH", 8) if version == 1 else (">IiHH", 4)
        width_e = struct.calcsize(fmt)
        for i, (duration, media_time, _rate, _frac) in enumerate(_table(data, elst, fmt)):
            edits.append(Edit(duration, media_time, elst.body + 8 + i * width_e, dur_size))
    return VideoTrack(
        timescale=timescale,
        movie_timescale=movie_timescale,
        sample_entry=entry.type,
        codec_config=config,
        width=width,
        height=height,
        offsets=offsets,
        sizes=sizes,
        dts=dts,
        cts=cts,
        sync=sync,
        edits=edits,
        duration_fields=[tk_duration],
    )


def _sample_offsets(sizes: list[int], chunks: list[int], stsc: list[tuple[int, ...]]) -> list[int]:
    offsets: list[int] = []
    sample = 0
    for i, (first_chunk, per_chunk, _desc) in enumerate(stsc):
        # Chunks count from 1 and each entry starts after the one before: a 0
        # would index from the end of the chunk list (another sample's bytes).
        if first_chunk < 1 or (i > 0 and first_chunk <= stsc[i - 1][0]):
            raise Mp4FormatError(f"stsc entry {i + 1} starts at chunk {first_chunk}: entries must start at "
                                 "chunk 1 or later, each after the one before")
        last_chunk = stsc[i + 1][0] - 1 if i + 1 < len(stsc) else len(chunks)
        for chunk in range(first_chunk - 1, last_chunk):
            if chunk >= len(chunks):
                raise Mp4FormatError(f"stsc refers to chunk {chunk + 1} of {len(chunks)}")
            pos = chunks[chunk]
            for _ in range(per_chunk):
                if sample >= len(sizes):
                    break
                offsets.append(pos)
                pos += sizes[sample]
                sample += 1
    if len(offsets) != len(sizes):
        raise Mp4FormatError(f"chunks place {len(offsets)} samples but stsz sizes {len(sizes)}")
    return offsets


def read_samples(f: BinaryIO, track: VideoTrack) -> Iterator[bytes]:
    """The bytes of every sample, in decode order."""
    for offset, size in zip(track.offsets, track.sizes):
        f.seek(offset)
        chunk = f.read(size)
        if len(chunk) != size:
            raise Mp4FormatError(f"sample at byte {offset} ({size} bytes) runs past the end of the file")
        yield chunk


def patch_durations(path: str | Path, *, edit_duration: int) -> None:
    """:func:`patch_durations_in` on a file, in place."""
    data = bytearray(Path(path).read_bytes())
    fields = duration_fields(data)
    with open(path, "r+b") as f:
        for offset, size in fields:
            f.seek(offset)
            f.write(edit_duration.to_bytes(size, "big"))


def patch_durations_in(data: bytearray, *, edit_duration: int) -> None:
    """Sets the presentation length (movie units) in the single edit, the
    track header and the movie header: the muxer derives it from the last
    sample, which for B-frame streams can be a reference presented after the
    requested end."""
    for offset, size in duration_fields(data):
        data[offset : offset + size] = edit_duration.to_bytes(size, "big")


def duration_fields(data: bytes | memoryview) -> list[tuple[int, int]]:
    """(offset, size) of the single edit's duration and of the track's and
    movie's duration fields."""
    layout = parse_layout(data)
    edits = [e for e in layout.track.edits if e.media_time >= 0]
    if len(edits) != 1:
        raise Mp4FormatError(f"expected one edit with media, found {len(layout.track.edits)} edits")
    return [(edits[0].field_offset, edits[0].field_size), *layout.track.duration_fields]


def faststart(data: bytes | bytearray) -> bytes:
    """The same MP4 with ``moov`` moved before ``mdat`` (what FFmpeg's
    ``+faststart`` does on a file, done on bytes in memory): every chunk
    offset (``stco``; ``co64``) of every track grows by the size of the moved
    ``moov``. Sample bytes are untouched. A file already in that order is
    returned as it is."""
    top = list(iter_boxes(data, 0, len(data)))
    kinds = [b.type for b in top]
    if b"moov" not in kinds or b"mdat" not in kinds:
        raise Mp4FormatError("faststart needs a moov and an mdat box")
    moov = top[kinds.index(b"moov")]
    first_mdat = top[kinds.index(b"mdat")]
    if moov.offset < first_mdat.offset:
        return bytes(data)
    if moov.end != len(data) or any(b.offset > first_mdat.offset and b.type == b"moov" for b in top[:-1]):
        raise Mp4FormatError("faststart expects the moov box at the end of the file")
    new_moov = bytearray(data[moov.offset : moov.end])
    shift = moov.size
    for trak in iter_boxes(new_moov, moov.header, moov.size):
        if trak.type != b"trak":
            continue
        stbl = require(new_moov, trak, [b"mdia", b"minf", b"stbl"])
        for table in iter_boxes(new_moov, stbl.body, stbl.end):
            if table.type not in (b"stco", b"co64"):
                continue
            fmt, width = (">I", 4) if table.type == b"stco" else (">Q", 8)
            (count,) = struct.unpack_from(">I", new_moov, table.body + 4)
            for i in range(count):
                at = table.body + 8 + i * width
                (offset,) = struct.unpack_from(fmt, new_moov, at)
                if fmt == ">I" and offset + shift >= 1 << 32:
                    raise Mp4FormatError("a chunk offset passes 4 GiB after moving moov; the clip is too large")
                struct.pack_into(fmt, new_moov, at, offset + shift)
    return bytes(data[: first_mdat.offset]) + bytes(new_moov) + bytes(data[first_mdat.offset : moov.offset])
