"""Storing a video file's access units as they are, with wall-clock time
``start_ns`` + (pts - first pts): the writer API at its plainest, as the
demo shows it and the redaction evaluation uses it. (:func:`vidvault.ingest`
does the same with reconnects, clocks and configuration changes.)"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from ..media.demux import Packet, PacketSource
from ..timeutil import NS_PER_SECOND


def ingest_file(store: Any, camera: str, path: Path, start_ns: int) -> list[Packet]:
    """Writes every access unit of ``path`` to ``camera`` of ``store`` (a
    :class:`vidvault.Store`); returns the packets written."""
    with PacketSource(path) as src:
        info, packets = src.info, list(src)
    first_pts = min(p.pts for p in packets if p.pts is not None)
    with store.writer(camera, **info.writer_kwargs()) as w:
        for p in packets:
            ts = start_ns + int((p.pts - first_pts) * info.time_base * NS_PER_SECOND)
            w.append(ts, p.data, keyframe=p.keyframe, pts=p.pts, dts=p.dts, duration=p.duration)
    return packets
