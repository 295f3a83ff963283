"""Demuxing: access units pulled out of files and streams with PyAV (FFmpeg),
exactly as the source sent them, and the description of the stream a
writer records with them.
"""

from __future__ import annotations

import json
import os
import time
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator

import av

from ..errors import MediaError
from .open_failure import Cause, classify, explain
from .transport import transports_to_try
from .url_redaction import redact_text, redact_url


#: Seconds to let a server settle after it refused a transport, before the next
#: one is asked for a second time.
SETTLE_AFTER_REFUSAL = 0.5


@dataclass(frozen=True)
class StreamInfo:
    """What a writer needs to know about a video stream."""

    codec: str
    extradata: bytes
    time_base: Fraction
    width: int
    height: int
    fps: Fraction | None

    def writer_kwargs(self) -> dict[str, Any]:
        """Keyword arguments for ``Store.writer`` describing this stream."""
        params = {"fps": str(self.fps)} if self.fps else {}
        return {
            "codec": self.codec,
            "extradata": self.extradata,
            "time_base": self.time_base,
            "width": self.width,
            "height": self.height,
            "params": params,
        }


@dataclass(frozen=True)
class Packet:
    """One demuxed access unit, in decode order."""

    data: bytes
    pts: int | None
    dts: int | None
    duration: int | None
    keyframe: bool
    #: A new codec configuration the demuxer attached to this packet
    #: (FFmpeg's AV_PKT_DATA_NEW_EXTRADATA), if any.
    new_extradata: bytes | None = None



class PacketSource:
    """Demuxes the first video stream of a file or URL, access unit by unit.

    ``transport`` (RTSP only): "tcp", "udp" or "auto" (:mod:`.transport`).
    Errors never quote the source's password (:mod:`.url_redaction`) and
    name the cause (:mod:`.open_failure`, ``MediaError.cause``).

    >>> with PacketSource("clip.mp4") as src:           # doctest: +SKIP
    ...     info = src.info
    ...     for packet in src: ...
    """

    def __init__(self, source: str | os.PathLike[str], *, options: dict[str, str] | None = None,
                 timeout: float | tuple[float, float] | None = None, transport: str = "auto",
                 preferred_transport: str | None = None) -> None:
        self.source = os.fspath(source)
        #: The source as any output may show it: without its password.
        self.shown = redact_url(self.source)
        #: The RTSP lower transport the stream came over (None: not RTSP).
        self.transport: str | None = None
        self._container = self._open(options or {}, timeout, transport, preferred_transport)
        if not self._container.streams.video:
            kinds = sorted({s.type for s in self._container.streams})
            self._container.close()
            found = f"only {', '.join(kinds)}" if kinds else "no track at all"
            raise MediaError(f"{self.shown} has no video track ({found}): point the URL at the camera's "
                             "video stream", cause=Cause.NO_VIDEO)
        self._stream = self._container.streams.video[0]
        cc = self._stream.codec_context
        rate = self._stream.average_rate or self._stream.guessed_rate
        self.info = StreamInfo(
            codec=cc.name,
            extradata=bytes(cc.extradata or b""),
            time_base=Fraction(self._stream.time_base),
            width=cc.width,
            height=cc.height,
            fps=Fraction(rate) if rate else None,
        )

    def _open(self, options: dict[str, str], timeout: float | tuple[float, float] | None, transport: str,
              preferred: str | None) -> Any:
        attempts = transports_to_try(self.source, transport, preferred)
        refused = False  # the server has just refused a transport
        i = 0
        while i < len(attempts):
            lower = attempts[i]
            began = time.monotonic()
            try:
                container = av.open(self.source, options={**options, **({"rtsp_transport": lower} if lower else {})},
                                    timeout=timeout)
            except (av.error.FFmpegError, OSError) as e:
                open_timeout = timeout[0] if isinstance(timeout, tuple) else timeout
                timed_out = open_timeout is not None and time.monotonic() - began >= 0.9 * open_timeout
                cause = classify(e, live=lower is not None or "://" in self.source, timed_out=timed_out)
                if cause == Cause.TRANSPORT_REFUSED and i + 1 < len(attempts):
                    refused, i = True, i + 1  # auto: the server refused this transport, ask for the next
                    continue
                if cause == Cause.SERVER_ERROR and refused:
                    # A server that has just refused one transport may still be tearing
                    # that session down: GStreamer's answers 5XX for a moment. Once more.
                    refused = False
                    time.sleep(SETTLE_AFTER_REFUSAL)
                    continue
                text = redact_text(_ffmpeg_text(e), self.source)
                # "from None": FFmpeg's exception quotes the URL, password included,
                # and a logged traceback would print it.
                raise MediaError(explain(cause, self.shown, text, transport=lower,
                                         timeout=open_timeout), cause=cause) from None
            self.transport = lower
            return container
        raise AssertionError("unreachable: transports_to_try returns at least one")

    @property
    def realtime_start_ns(self) -> int | None:
        """Wall-clock time (UTC ns) of pts 0 when the source states it: FFmpeg
        derives it from the first RTCP sender report of an RTSP stream."""
        us = self._container.start_time_realtime
        return None if us is None or us <= 0 else us * 1000

    @property
    def creation_time(self) -> str | None:
        """The container's ``creation_time`` tag (MP4/MOV/MKV), if any."""
        return self._container.metadata.get("creation_time") or self._stream.metadata.get("creation_time")

    def __iter__(self) -> Iterator[Packet]:
        try:
            for p in self._container.demux(self._stream):
                if p.size == 0:  # the demuxer's end-of-stream marker
                    continue
                extra = bytes(p.get_sidedata("new_extradata")) if p.has_sidedata("new_extradata") else None
                yield Packet(bytes(p), p.pts, p.dts, p.duration, bool(p.is_keyframe), extra)
        except (av.error.FFmpegError, OSError) as e:
            raise MediaError(f"reading {self.shown} failed: {redact_text(_ffmpeg_text(e), self.source)}",
                             cause=Cause.UNREADABLE) from None

    def close(self) -> None:
        self._container.close()

    def __enter__(self) -> "PacketSource":
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _ffmpeg_text(error: BaseException) -> str:
    """FFmpeg's words for an error, without the "[Errno N]" prefix and the
    quoted URL PyAV appends (the caller names the source itself)."""
    strerror = getattr(error, "strerror", None)
    return str(strerror) if strerror else str(error)


def nominal_frame_rate(config: Any) -> Fraction:
    """A stored stream's frame rate as recorded at ingest (``CodecConfig``
    params, ``StreamInfo.writer_kwargs``); 25 when the source gave none."""
    fps = json.loads(config.params or "{}").get("fps")
    return Fraction(fps) if fps else Fraction(25)
