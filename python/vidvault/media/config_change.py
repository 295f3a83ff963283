"""Noticing that a stream's codec configuration changed mid-stream.

A segment holds one codec configuration, so a writer must be reconfigured
(new segment, next frame a keyframe) when a camera switches resolution or
profile. Sources announce it three ways, and all three are checked:

- a reconnect whose stream parameters differ (RTSP SDP, a new file);
- FFmpeg's new-extradata side data on a packet (some demuxers attach it);
- an Annex B keyframe carrying in-band parameter sets (SPS/PPS, and VPS for
  H.265) that are not in the current configuration: MPEG-TS and RTSP
  cameras repeat them before every keyframe, and a changed one is the only
  sign of a new configuration.
"""

from __future__ import annotations

from dataclasses import dataclass, fields, replace
from fractions import Fraction
from typing import Any

import av

from . import nal
from .demux import Packet, StreamInfo


@dataclass(frozen=True)
class StreamConfig:
    """The codec configuration a writer records."""

    codec: str
    extradata: bytes
    time_base: Fraction
    width: int
    height: int
    params: dict[str, str]

    @classmethod
    def from_info(cls, info: StreamInfo) -> "StreamConfig":
        kw = info.writer_kwargs()
        return cls(kw["codec"], kw["extradata"], Fraction(kw["time_base"]), kw["width"], kw["height"], kw["params"])

    def writer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.writer``: the fields are exactly those."""
        return {f.name: getattr(self, f.name) for f in fields(self)}

    def same_stream(self, other: "StreamConfig") -> bool:
        return (self.codec, self.extradata, self.time_base, self.width, self.height) == (
            other.codec, other.extradata, other.time_base, other.width, other.height)


def picture_size(codec: str, extradata: bytes, keyframe: bytes) -> tuple[int, int]:
    """Width and height of a keyframe under a configuration, by decoding it
    (parameter sets are not parsed here: the decoder knows them best)."""
    ctx = av.CodecContext.create(codec, "r")
    if extradata:
        ctx.extradata = extradata
    try:
        frames = list(ctx.decode(av.Packet(keyframe))) + list(ctx.decode(None))
    except av.error.FFmpegError:
        return 0, 0
    return (frames[0].width, frames[0].height) if frames else (0, 0)


def in_band_change(config: StreamConfig, packet: Packet) -> StreamConfig | None:
    """The new configuration a keyframe announces, or None if it announces none."""
    if packet.new_extradata and packet.new_extradata != config.extradata:
        width, height = picture_size(config.codec, packet.new_extradata, packet.data)
        return replace(config, extradata=packet.new_extradata, width=width, height=height)
    if not packet.keyframe or config.codec not in nal.PARAMETER_SET_TYPES:
        return None
    if (config.extradata and not nal.is_annexb(config.extradata)) or not nal.is_annexb(packet.data):
        return None  # length-prefixed access units: the configuration lives in avcC/hvcC only
    in_band = nal.parameter_sets(config.codec, nal.split_annexb(packet.data).nals)
    if not in_band:
        return None
    current = set(nal.parameter_sets(config.codec, nal.config_nals(config.codec, config.extradata)))
    if set(in_band) <= current:
        return None
    extradata = nal.annexb_config(in_band)
    width, height = picture_size(config.codec, extradata, packet.data)
    return replace(config, extradata=extradata, width=width, height=height)
