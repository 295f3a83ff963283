"""The media edge, on PyAV (FFmpeg) and plain bytes: vidvault stores access
units exactly as the source sent them; this folder is where they are pulled
out of containers, turned back into pixels and into MP4 files.

- :mod:`.demux`: access units out of files and streams, and the stream's description;
- :mod:`.transport`: RTSP over TCP, UDP or ``auto``;
- :mod:`.open_failure`: why a source did not open, named for the operator;
- :mod:`.url_redaction`: a source's password out of every text that shows it;
- :mod:`.decode`: stored frames back to pictures;
- :mod:`.encode`: pictures to H.264, with the one set of settings every re-encoded copy uses;
- :mod:`.remux`: stored access units into an MP4 without re-encoding (bit-exact);
- :mod:`.mp4box`: a strict reader of the MP4 boxes a verifier needs;
- :mod:`.nal`: H.264/H.265 NAL units, Annex B and length-prefixed;
- :mod:`.wallclock`: each frame's UTC time from the source's clock;
- :mod:`.config_change`: codec configuration changes inside a stream;
- :mod:`.synthetic`: generated test footage.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from ..lazy_exports import lazy_exports

# Imported on first use: most of this folder needs PyAV, and a caller of
# `transport` or `url_redaction` (the CLI) should not load it.
_LAZY = {
    "decode": (".decode", "decode"),
    "decoded_pictures": (".decode", "decoded_pictures"),
    "Packet": (".demux", "Packet"),
    "PacketSource": (".demux", "PacketSource"),
    "StreamInfo": (".demux", "StreamInfo"),
    "nominal_frame_rate": (".demux", "nominal_frame_rate"),
    "encode_synthetic": (".synthetic", "encode_synthetic"),
    "synthetic_pictures": (".synthetic", "synthetic_pictures"),
}
__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

if TYPE_CHECKING:
    from .decode import decode, decoded_pictures
    from .demux import Packet, PacketSource, StreamInfo, nominal_frame_rate
    from .synthetic import encode_synthetic, synthetic_pictures

__all__ = [
    "Packet",
    "PacketSource",
    "StreamInfo",
    "decode",
    "decoded_pictures",
    "encode_synthetic",
    "nominal_frame_rate",
    "synthetic_pictures",
]
