"""Records inside a sealed segment are served in the order and place they
were written. Each record authenticates on its own, so a reader of the files
(no key needed) could swap two records of the same length, or copy one over
another, and the footage would be served reordered or with a picture
repeated. These tests edit a real sealed segment's bytes; each failed (the
edited footage was served) on the build before the sequence checks."""

from __future__ import annotations

import struct

import pytest

import vidvault

from helpers import NS, T0

CAM = "cam-1"
FRAME = 40_000_000
FRAMES = 100
PREFIX = 8
BLOCK = 4096


@pytest.fixture
def sealed(store_path, key):
    """One sealed 4 s segment, GOP 25; frame i's payload is 200 + (i % 7) * 50
    bytes, so frames i and i + 7 have records of the same length."""
    s = vidvault.Store.create(store_path, key=key, roll_after=10.0)
    s.add_camera(CAM)
    with s.writer(CAM, codec="h264") as w:
        for i in range(FRAMES):
            data = (b"frame %d " % i).ljust(200 + (i % 7) * 50, b".")
            w.append(T0 + i * FRAME, data, keyframe=i % 25 == 0, duration=FRAME)
    (seg,) = s.segments(CAM)
    path = s.path / seg.path
    s.close()
    return path


def records(data: bytes) -> list[tuple[int, int]]:
    """(start, end) of each frame record, in file order (FORMAT.md: header
    length at byte 12, records of body_len | crc | body, zero padding to a
    4 KiB boundary, then the frame table, kind 'T' (format 4), and the
    footer record, kind 'F')."""
    (at,) = struct.unpack_from("<I", data, 12)
    out = []
    while True:
        if data[at:at + PREFIX] == bytes(PREFIX):
            at = -(-(at + PREFIX) // BLOCK) * BLOCK
            continue
        (length,) = struct.unpack_from("<I", data, at)
        if data[at + PREFIX] in (ord("T"), ord("F")):
            return out
        out.append((at, at + PREFIX + length))
        at += PREFIX + length


def edit(path, change):
    data = bytearray(path.read_bytes())
    recs = records(bytes(data))
    assert len(recs) == FRAMES
    change(data, recs)
    path.write_bytes(bytes(data))


def read_all(store_path, key, start=T0, end=T0 + FRAMES * FRAME):
    with vidvault.Store.open(store_path, key=key) as s:
        return [f.data for f in s.read(CAM, start, end)]


def test_the_untouched_segment_reads_in_order(sealed, store_path, key):
    frames = read_all(store_path, key)
    assert [f.split(b" ")[1] for f in frames] == [b"%d" % i for i in range(FRAMES)]


def test_swapped_records_of_the_same_length_are_refused(sealed, store_path, key):
    def swap(data, recs):
        (a0, a1), (b0, b1) = recs[1], recs[8]
        assert a1 - a0 == b1 - b0
        data[a0:a1], data[b0:b1] = data[b0:b1], data[a0:a1]

    edit(sealed, swap)
    with pytest.raises(vidvault.CorruptSegmentError) as e:
        read_all(store_path, key)
    message = str(e.value)
    assert "expected frame 1" in message and "found frame 8" in message, message
    assert sealed.name in message, message


def test_a_record_copied_over_another_is_refused(sealed, store_path, key):
    def copy(data, recs):
        (a0, a1), (b0, b1) = recs[3], recs[10]
        data[b0:b1] = data[a0:a1]

    edit(sealed, copy)
    with pytest.raises(vidvault.CorruptSegmentError, match="expected frame 10"):
        read_all(store_path, key)


def test_a_seek_refuses_another_record_at_the_index_entry(sealed, store_path, key):
    # Keyframe 25 overwritten by frame 32 (same length): reading or seeking
    # into the second GOP starts at the index entry for frame 25.
    def copy(data, recs):
        (a0, a1), (b0, b1) = recs[32], recs[25]
        data[b0:b1] = data[a0:a1]

    edit(sealed, copy)
    with pytest.raises(vidvault.CorruptSegmentError, match="keyframe 25"):
        read_all(store_path, key, T0 + 30 * FRAME, T0 + 40 * FRAME)
    with vidvault.Store.open(store_path, key=key) as s:
        with pytest.raises(vidvault.CorruptSegmentError, match="keyframe 25"):
            s.seek(CAM, T0 + 30 * FRAME)


def test_a_seek_refuses_padding_at_the_index_entry(sealed, store_path, key):
    # Keyframe 25's record blanked into zeros up to the next 4 KiB boundary,
    # where a copy of frame 26 is put: a reader that skips the zeros as
    # padding finds a record that authenticates and served it as the
    # keyframe (found by fuzzing the merged code).
    def blank_and_move(data, recs):
        start = recs[25][0]
        boundary = -(-(start + PREFIX) // BLOCK) * BLOCK
        moved = bytes(data[recs[26][0]:recs[26][1]])
        data[start:boundary] = bytes(boundary - start)
        data[boundary:boundary + len(moved)] = moved

    edit(sealed, blank_and_move)
    with vidvault.Store.open(store_path, key=key) as s:
        with pytest.raises(vidvault.CorruptSegmentError, match="keyframe 25 at this offset, and no record starts here"):
            s.seek(CAM, T0 + 30 * FRAME)
    with pytest.raises(vidvault.CorruptSegmentError, match="keyframe 25"):
        read_all(store_path, key, T0 + 30 * FRAME, T0 + 40 * FRAME)
