"""NAL units of H.264 and H.265: the two ways access units carry them.

Streams from MPEG-TS files and RTSP cameras use the Annex B byte stream
(each NAL unit after a ``00 00 01`` or ``00 00 00 01`` start code); MP4 and
Matroska use length-prefixed NAL units with an avcC/hvcC configuration record.
vidvault stores access units exactly as the source sent them, so an export to
MP4 has to convert Annex B access units, and a verifier has to undo that
conversion bit for bit. This module does both, and finds parameter sets
(SPS/PPS/VPS), whose change mid-stream means a new codec configuration.

:func:`split_annexb` splits exactly as FFmpeg's MP4 muxer does
(``ff_nal_parse_units``): a start code's extra leading zero belongs to the
start code, other zeros stay in the NAL unit before it. The start-code
lengths it returns are what :func:`join_annexb` needs to rebuild the access
unit byte for byte.
"""

from __future__ import annotations

import struct
from dataclasses import dataclass

START_CODE = b"\x00\x00\x01"

#: NAL unit types that carry parameter sets, per codec.
PARAMETER_SET_TYPES = {
    "h264": {7, 8},  # SPS, PPS
    "hevc": {32, 33, 34},  # VPS, SPS, PPS
}


@dataclass(frozen=True)
class AnnexBUnits:
    """An Annex B access unit taken apart: its NAL units and, for each, the
    length of the start code before it (3 or more: zeros, then ``01``)."""

    nals: list[bytes]
    start_codes: list[int]


def _find_start_code(data: bytes, pos: int) -> int:
    """Index where the next start code begins (one preceding zero included,
    as FFmpeg's ``ff_nal_find_startcode`` does), or ``len(data)``."""
    found = data.find(START_CODE, pos)
    if found < 0:
        return len(data)
    if found > pos and data[found - 1] == 0:
        return found - 1
    return found


def split_annexb(data: bytes) -> AnnexBUnits:
    """Splits an Annex B access unit the way FFmpeg's MP4 muxer does."""
    nals: list[bytes] = []
    start_codes: list[int] = []
    end = len(data)
    pos = _find_start_code(data, 0)
    while True:
        code_start = pos
        while pos < end and data[pos] == 0:
            pos += 1
        if pos >= end:
            break
        pos += 1  # the 01 that ends the start code
        if pos >= end:
            break
        nal_end = _find_start_code(data, pos)
        nals.append(data[pos:nal_end])
        start_codes.append(pos - code_start)
        pos = nal_end
    return AnnexBUnits(nals, start_codes)


def join_annexb(nals: list[bytes], start_codes: list[int]) -> bytes:
    """Inverse of :func:`split_annexb`: rebuilds the access unit."""
    if len(nals) != len(start_codes):
        raise ValueError(f"{len(nals)} NAL units but {len(start_codes)} start codes")
    parts = []
    for nal, code in zip(nals, start_codes):
        if code < 3:
            raise ValueError(f"a start code is at least 3 bytes, got {code}")
        parts.append(b"\x00" * (code - 1) + b"\x01" + nal)
    return b"".join(parts)


def is_annexb(data: bytes) -> bool:
    """True when ``data`` begins with a start code (Annex B), as FFmpeg's
    muxers decide it for extradata and access units."""
    return data.startswith(START_CODE) or data.startswith(b"\x00" + START_CODE)


def length_prefixed(nals: list[bytes], *, size: int = 4) -> bytes:
    """NAL units as an MP4 sample: each preceded by its length (big-endian)."""
    return b"".join(len(n).to_bytes(size, "big") + n for n in nals)


def split_length_prefixed(data: bytes, *, size: int = 4) -> list[bytes]:
    """The NAL units of an MP4 sample; raises ``ValueError`` if the lengths do
    not add up to the sample."""
    nals = []
    pos = 0
    while pos < len(data):
        if pos + size > len(data):
            raise ValueError(f"truncated NAL length at byte {pos} of a {len(data)}-byte sample")
        n = int.from_bytes(data[pos : pos + size], "big")
        pos += size
        if pos + n > len(data):
            raise ValueError(f"NAL unit of {n} bytes at byte {pos} runs past the {len(data)}-byte sample")
        nals.append(data[pos : pos + n])
        pos += n
    return nals


def nal_type(codec: str, nal: bytes) -> int:
    if not nal:
        return -1
    return (nal[0] >> 1) & 0x3F if codec == "hevc" else nal[0] & 0x1F


def config_nals(codec: str, extradata: bytes) -> list[bytes]:
    """NAL units held in a codec configuration: Annex B parameter sets, or an
    avcC/hvcC record's arrays."""
    if not extradata:
        return []
    if is_annexb(extradata):
        return split_annexb(extradata).nals
    try:
        if codec == "h264":
            return _avcc_nals(extradata)
        if codec == "hevc":
            return _hvcc_nals(extradata)
    except (IndexError, struct.error):
        raise ValueError(f"truncated {codec} configuration record ({len(extradata)} bytes): "
                         "its NAL unit arrays run past its end") from None
    return []


def _take(rec: bytes, pos: int, n: int) -> bytes:
    if pos + n > len(rec):
        raise IndexError(pos + n)
    return rec[pos : pos + n]


def _avcc_nals(rec: bytes) -> list[bytes]:
    # ISO/IEC 14496-15 5.3.3.1: version, profile, compat, level, lengthSize,
    # then numSPS (low 5 bits) SPS entries and numPPS PPS entries.
    out = []
    pos = 5
    count = rec[pos] & 0x1F
    pos += 1
    for group in range(2):
        for _ in range(count):
            (n,) = struct.unpack_from(">H", rec, pos)
            out.append(_take(rec, pos + 2, n))
            pos += 2 + n
        if group == 0:
            count = rec[pos]
            pos += 1
    return out


def _hvcc_nals(rec: bytes) -> list[bytes]:
    # ISO/IEC 14496-15 8.3.3.1: 22 bytes of fields, numOfArrays, then arrays
    # of (type, numNalus, (length, NAL unit)*).
    out = []
    pos = 22
    arrays = rec[pos]
    pos += 1
    for _ in range(arrays):
        (count,) = struct.unpack_from(">H", rec, pos + 1)
        pos += 3
        for _ in range(count):
            (n,) = struct.unpack_from(">H", rec, pos)
            out.append(_take(rec, pos + 2, n))
            pos += 2 + n
    return out


def parameter_sets(codec: str, nals: list[bytes]) -> list[bytes]:
    """The parameter-set NAL units among ``nals``, in order."""
    types = PARAMETER_SET_TYPES.get(codec, set())
    return [n for n in nals if nal_type(codec, n) in types]


def annexb_config(nals: list[bytes]) -> bytes:
    """Parameter sets as Annex B extradata (4-byte start codes)."""
    return b"".join(b"\x00\x00\x00\x01" + n for n in nals)
