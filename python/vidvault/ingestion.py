"""Ingest: a file or a live stream into a camera of the store, as it comes.

Access units are stored exactly as the demuxer hands them over (no
re-encode), with their codec configuration, keyframe flags, pts and dts.
Times come from :class:`vidvault.media.wallclock.WallClock`; configuration
changes from :mod:`vidvault.media.config_change`.

Live sources (``rtsp://`` and other network URLs) never end an ingest on
their own: when the stream drops or cannot be reached, ingest waits (with
exponential back-off), reconnects, records the outage and carries on, until
``duration`` has passed or ``stop`` is set. The store sees the outage as a
gap (``Store.gaps``). A file is read once, to its end.
"""

from __future__ import annotations

import json
import threading
from collections import deque
import time
from dataclasses import dataclass, field
from fractions import Fraction
from typing import Callable

from .errors import InvalidArgumentError, MediaError, UnknownCameraError
from .media.config_change import StreamConfig, in_band_change
from .media.demux import Packet, PacketSource
from .media.transport import check_transport
from .media.url_redaction import redact_url
from .media.wallclock import ClockSource, WallClock
from .store import Store, Writer
from .timeutil import NS_PER_SECOND, TimeLike, duration_ns, iso, ticks_to_ns, to_ns

#: Outages an IngestProgress keeps (the latest): a recorder runs for months, and
#: a camera that drops every few seconds must not grow its memory without end.
#: ``IngestProgress.outage_count`` counts them all.
OUTAGES_KEPT = 1000

LIVE_SCHEMES = ("rtsp://", "rtsps://", "rtmp://", "rtmps://", "srt://", "udp://", "rtp://", "http://", "https://")


def is_live(source: str) -> bool:
    return source.lower().startswith(LIVE_SCHEMES)


@dataclass(frozen=True)
class Outage:
    """A stretch during which a live source delivered nothing."""

    start: int  # ns: the last frame before it (or when ingest began)
    end: int | None  # ns: the first frame after it (None while it lasts)
    reason: str  # what went wrong, as the error said it (never with the source's password)
    cause: str | None = None  # the same as a word (vidvault.media.open_failure.Cause, "stream-ended")


@dataclass
class IngestProgress:
    """Where an ingest stands: handed to the ``progress`` callback while it
    runs, and returned, final, when it ends."""

    camera: str
    source: str  # redacted: rtsp://user:***@host/...
    live: bool
    state: str = "connecting"  # connecting | receiving | reconnecting | done
    frames: int = 0
    keyframes: int = 0
    bytes: int = 0
    skipped: int = 0  # packets not stored: before the first keyframe, or without timestamps
    first_ts: int | None = None
    last_ts: int | None = None
    started: float = field(default_factory=time.monotonic)
    reconnects: int = 0
    config_changes: int = 0
    clock: str = ClockSource.ARRIVAL
    clock_reanchors: int = 0
    outages: list[Outage] = field(default_factory=list)  # the latest OUTAGES_KEPT
    outage_count: int = 0
    message: str = ""
    transport: str | None = None  # the RTSP lower transport of the current connection

    @property
    def footage_seconds(self) -> float:
        if self.first_ts is None or self.last_ts is None:
            return 0.0
        return (self.last_ts - self.first_ts) / NS_PER_SECOND

    @property
    def elapsed_seconds(self) -> float:
        return time.monotonic() - self.started

    @property
    def bitrate(self) -> float:
        """Bits per second of footage stored so far."""
        seconds = self.footage_seconds
        return self.bytes * 8 / seconds if seconds > 0 else 0.0



class _Stop:
    """``stop`` as given (an Event, a callable or None), plus a deadline."""

    def __init__(self, stop: threading.Event | Callable[[], bool] | None) -> None:
        self._stop = stop

    def __call__(self) -> bool:
        if self._stop is None:
            return False
        if isinstance(self._stop, threading.Event):
            return self._stop.is_set()
        return bool(self._stop())

    def sleep(self, seconds: float) -> None:
        deadline = time.monotonic() + seconds
        while not self() and (left := deadline - time.monotonic()) > 0:
            if isinstance(self._stop, threading.Event):
                self._stop.wait(left)
            else:
                time.sleep(min(left, 0.1))


def ingest(
    store: Store,
    camera: str,
    source: str,
    *,
    duration: float | str | None = None,
    stop: threading.Event | Callable[[], bool] | None = None,
    start: TimeLike | None = None,
    create_camera: bool = False,
    progress: Callable[[IngestProgress], None] | None = None,
    progress_interval: float = 0.5,
    transport: str = "auto",
    open_timeout: float = 10.0,
    read_timeout: float = 5.0,
    backoff: tuple[float, float] = (0.5, 10.0),
    rtcp_wait: float = 3.0,
) -> IngestProgress:
    """Stores ``source`` (a file path or URL) as ``camera``'s footage.

    ``duration``: stop after this much footage (files) or wall time (live
    sources); seconds or text ("90s", "2h"). ``stop``: an Event or a callable
    that ends the ingest when set/true. ``start``: wall time of a file's first
    keyframe (default: its ``creation_time`` tag, else now); not allowed for
    live sources, whose time comes from RTCP or arrival. ``progress`` is called
    at most every ``progress_interval`` seconds and on every state change.
    ``transport`` (RTSP): "tcp", "udp" or "auto" (TCP, then UDP when the
    server refuses TCP; :mod:`vidvault.media.transport`).
    ``backoff``: first and longest wait between reconnection attempts (the
    wait doubles after each failure). ``rtcp_wait``: how long a live
    connection's first frames wait for the source's RTCP clock before arrival
    time is used instead.

    The source's password never leaves this call: progress, outages and
    errors show the URL as ``rtsp://user:***@host/...``.
    """
    source = str(source)
    live = is_live(source)
    check_transport(transport)
    if start is not None and live:
        raise InvalidArgumentError(
            f"--start applies to files; the live source {redact_url(source)} is timed by its RTCP clock or "
            "arrival time"
        )
    try:
        store.camera(camera)
    except UnknownCameraError:
        if not create_camera:
            raise
        store.add_camera(camera)
    limit_ns = None if duration is None else duration_ns(duration)
    job = _Ingest(store, camera, source, live=live, limit_ns=limit_ns, stop=_Stop(stop),
                  start_ns=None if start is None else to_ns(start), progress=progress,
                  progress_interval=progress_interval, transport=transport,
                  timeouts=(open_timeout, read_timeout), backoff=backoff, rtcp_wait=rtcp_wait)
    return job.run()


class _Ingest:
    def __init__(self, store: Store, camera: str, source: str, *, live: bool, limit_ns: int | None,
                 stop: _Stop, start_ns: int | None, progress: Callable[[IngestProgress], None] | None,
                 progress_interval: float, transport: str, timeouts: tuple[float, float],
                 backoff: tuple[float, float], rtcp_wait: float) -> None:
        self.store, self.camera, self.source, self.live = store, camera, source, live
        self.limit_ns, self.stop, self.start_ns = limit_ns, stop, start_ns
        self.on_progress, self.progress_interval = progress, progress_interval
        self.transport = transport
        self._working_transport: str | None = None  # the one the last connection came over (auto)
        self.timeouts, self.backoff, self.rtcp_wait = timeouts, backoff, rtcp_wait
        self.status = IngestProgress(camera=camera, source=redact_url(source), live=live)
        self.writer: Writer | None = None
        self.config: StreamConfig | None = None
        self.clock: WallClock | None = None
        self.floor_ns = self._stored_until()
        if start_ns is not None and self.floor_ns is not None and start_ns <= self.floor_ns:
            raise InvalidArgumentError(
                f"camera {camera!r} already has footage up to {iso(self.floor_ns)}; "
                f"a start of {iso(start_ns)} would overlap it: pass a later --start"
            )
        self._last_report = 0.0
        self._wall_started_ns = time.time_ns()
        self._need_keyframe = True
        self._last_dts: int | None = None
        self._file_anchor: tuple[int, str] | None = None
        self._pending_config: StreamConfig | None = None
        self._queue: deque[tuple[Packet, int]] = deque()  # (packet, arrival ns) not yet stored
        self._clock_deadline = 0.0

    # ------------------------------------------------------------------ loop

    def run(self) -> IngestProgress:
        delay = self.backoff[0]
        try:
            while not self._finished():
                try:
                    src = PacketSource(self.source, timeout=self.timeouts, transport=self.transport,
                                       preferred_transport=self._working_transport)
                except MediaError as e:
                    if not self.live:
                        raise
                    self._dropped(str(e), cause=e.cause)
                    delay = self._wait(delay)
                    continue
                with src:
                    self._connected(src)
                    try:
                        for packet in src:
                            self._queue.append((packet, time.time_ns()))
                            if self._drain(src):
                                delay = self.backoff[0]  # a working connection resets the back-off
                            if self._finished():
                                break
                        self._drain(src, final=True)
                    except MediaError as e:
                        if not self.live:
                            raise
                        self._drain(src, final=True)
                        self._dropped(str(e), cause=e.cause)
                        delay = self._wait(delay)
                        continue
                if not self.live:
                    break
                if not self._finished():
                    self._dropped("the stream ended", cause="stream-ended")
                    delay = self._wait(delay)
        finally:
            if self.writer is not None:
                self.writer.close()
            self.status.state = "done"
            self._report(force=True)
        return self.status

    def _finished(self) -> bool:
        if self.stop():
            return True
        if self.limit_ns is None:
            return False
        if self.live:
            return time.time_ns() - self._wall_started_ns >= self.limit_ns
        s = self.status
        return s.first_ts is not None and s.last_ts is not None and s.last_ts - s.first_ts >= self.limit_ns

    def _wait(self, delay: float) -> float:
        self.status.state = "reconnecting"
        self.status.message = f"{self.status.message}; retrying in {delay:.1f} s"
        self._report(force=True)
        self.stop.sleep(delay)
        return min(delay * 2, self.backoff[1])

    def _dropped(self, reason: str, *, cause: str | None) -> None:
        s = self.status
        if not s.outages or s.outages[-1].end is not None:
            began = s.last_ts if s.last_ts is not None else time.time_ns()
            s.outages.append(Outage(began, None, reason, cause))
            s.outage_count += 1
            del s.outages[:-OUTAGES_KEPT]
        s.message = reason
        self._need_keyframe = True
        if self.clock is not None:
            self.clock.restart()

    def _connected(self, src: PacketSource) -> None:
        s = self.status
        if s.frames or s.outages:
            s.reconnects += 1
        s.state = "receiving"
        self._working_transport = src.transport
        s.transport = src.transport
        s.message = (f"connected: {src.info.codec} {src.info.width}x{src.info.height}"
                     + (f" over {src.transport.upper()}" if src.transport else ""))
        self._report(force=True)
        fresh = StreamConfig.from_info(src.info)
        self._pending_config = None if self.config is not None and fresh.same_stream(self.config) else fresh
        self._queue.clear()
        self._clock_deadline = time.monotonic() + self.rtcp_wait
        if not self.live and self.clock is None:
            self._file_anchor = self._file_start(src)

    def _file_start(self, src: PacketSource) -> tuple[int, str]:
        if self.start_ns is not None:
            return self.start_ns, ClockSource.GIVEN
        tag = src.creation_time
        if tag:
            try:
                ns = to_ns(tag)
            except InvalidArgumentError:
                ns = None
            if ns is not None and ns > 0 and (self.floor_ns is None or ns > self.floor_ns):
                return ns, ClockSource.CONTAINER
        return time.time_ns(), ClockSource.ARRIVAL

    def _stored_until(self) -> int | None:
        ends = [s.end for s in self.store.segments(self.camera) if s.end is not None]
        return max(ends) if ends else None

    # ------------------------------------------------------------------ packets

    def _drain(self, src: PacketSource, *, final: bool = False) -> bool:
        """Stores queued packets that are ready; True if a keyframe was stored.

        Packets wait in the queue while a live connection's first keyframe
        has no source clock yet (RTCP arrives a moment after the stream
        starts; up to ``rtcp_wait`` seconds), and while a packet without
        timestamps waits for the next timed one to place it."""
        stored_key = False
        while self._queue:
            if not final and self._awaiting_source_clock(src):
                return stored_key
            packet, arrival = self._queue[0]
            if packet.pts is None and packet.dts is None:
                following = next(((i, p) for i, (p, _) in enumerate(self._queue) if p.dts is not None
                                  or p.pts is not None), None)
                if following is None and not final:
                    return stored_key
                packet = self._place_untimed(packet, following)
                if packet is None:
                    self._queue.popleft()
                    self.status.skipped += 1
                    continue
            self._queue.popleft()
            stored_key |= self._store(packet, arrival, src)
        return stored_key

    def _awaiting_source_clock(self, src: PacketSource) -> bool:
        return (self.live and self._need_keyframe and src.realtime_start_ns is None
                and time.monotonic() < self._clock_deadline)

    def _place_untimed(self, packet: Packet, following: tuple[int, Packet] | None) -> Packet | None:
        """Gives a packet the source did not time a decode time: frames before
        the next timed packet, or one tick after the last stored one."""
        if following is not None:
            distance, nxt = following
            config = self._pending_config or self.config
            assert config is not None
            fps = config.params.get("fps")
            ticks = round(1 / (Fraction(fps) * config.time_base)) if fps else round(1 / (25 * config.time_base))
            base = nxt.dts if nxt.dts is not None else nxt.pts
            assert base is not None
            t = base - distance * ticks
        elif self._last_dts is not None and not self._need_keyframe:
            t = self._last_dts + 1
        else:
            return None
        return Packet(packet.data, t, t, packet.duration, packet.keyframe, packet.new_extradata)

    def _store(self, packet: Packet, arrival: int, src: PacketSource) -> bool:
        """Writes one timed packet; True if it was a keyframe."""
        pts = packet.pts if packet.pts is not None else packet.dts
        dts = packet.dts if packet.dts is not None else pts
        assert pts is not None and dts is not None
        if self._need_keyframe and not packet.keyframe:
            self.status.skipped += 1  # undecodable without the keyframe we did not get
            return False
        config = self._pending_config or self.config
        assert config is not None
        changed = in_band_change(config, packet)
        if changed is not None:
            config = changed
        if config is not self.config:
            if not packet.keyframe:
                self.status.skipped += 1
                return False
            self._configure(config)
        assert self.writer is not None and self.clock is not None
        source_ns, source = None, ClockSource.ARRIVAL
        if self.live:
            realtime = src.realtime_start_ns
            if realtime is not None:
                source_ns, source = realtime + ticks_to_ns(pts, config.time_base), ClockSource.RTCP
        elif self._file_anchor is not None and packet.keyframe:
            source_ns, source = self._file_anchor
            self._file_anchor = None  # a file's start anchors its first keyframe only
        ts = self.clock.frame_time(pts=pts, keyframe=packet.keyframe, arrival_ns=arrival,
                                   source_ns=source_ns, source=source)
        self.writer.append(ts, packet.data, keyframe=packet.keyframe, pts=pts, dts=dts,
                           duration=packet.duration or None)
        self._need_keyframe = False
        self._last_dts = dts
        self._account(packet, ts)
        return packet.keyframe

    def _configure(self, config: StreamConfig) -> None:
        if self.writer is None:
            self.writer = self.store.writer(self.camera, **config.writer_kwargs())
        else:
            self.writer.reconfigure(
                config.codec,
                extradata=config.extradata,
                time_base=(config.time_base.numerator, config.time_base.denominator),
                width=config.width,
                height=config.height,
                params=json.dumps(config.params, sort_keys=True),
            )
            self.status.config_changes += 1
            self.status.message = f"codec configuration changed: {config.codec} {config.width}x{config.height}"
        fps = config.params.get("fps")
        frame_ns = int(NS_PER_SECOND / Fraction(fps)) if fps else 40_000_000
        if self.clock is None:
            self.clock = WallClock(time_base=config.time_base, floor_ns=self.floor_ns, live=self.live,
                                   frame_ns=frame_ns)
        elif self.clock.time_base != config.time_base:
            self.clock.time_base = config.time_base
            self.clock.restart()  # pts in a new unit: anchor again at this keyframe
        self.config = config
        self._pending_config = None

    def _account(self, packet: Packet, ts: int) -> None:
        s = self.status
        s.frames += 1
        s.keyframes += packet.keyframe
        s.bytes += len(packet.data)
        if s.first_ts is None:
            s.first_ts = ts
        s.last_ts = ts if s.last_ts is None else max(s.last_ts, ts)
        if s.outages and s.outages[-1].end is None:
            last = s.outages[-1]
            s.outages[-1] = Outage(last.start, ts, last.reason, last.cause)
            s.message = f"resumed after {(ts - last.start) / NS_PER_SECOND:.1f} s without footage"
        assert self.clock is not None
        s.clock, s.clock_reanchors = self.clock.source, self.clock.reanchors
        self._report()

    def _report(self, *, force: bool = False) -> None:
        if self.on_progress is None:
            return
        now = time.monotonic()
        if force or now - self._last_report >= self.progress_interval:
            self._last_report = now
            self.on_progress(self.status)
