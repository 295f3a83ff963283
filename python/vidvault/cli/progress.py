"""What a person watching a long command sees on stderr: an ingest's state,
and the frames of a playback or a redacted export, on one
:class:`~vidvault.status_line.StatusLine`."""

from __future__ import annotations

import sys
import threading
import time
from typing import TYPE_CHECKING, Any

from ..status_line import StatusLine

if TYPE_CHECKING:
    from ..ingestion import IngestProgress


class IngestProgressLine:
    """Frames, bitrate, footage time and the connection state; a new line in
    logs at every change of state and every few seconds."""

    def __init__(self, status: StatusLine | None = None) -> None:
        self.status = status or StatusLine(log_every=5.0)
        self._last_state = ""

    def __call__(self, p: IngestProgress) -> None:
        seconds = p.footage_seconds
        footage = f"{int(seconds // 3600)}:{int(seconds % 3600 // 60):02d}:{seconds % 60:04.1f}"
        line = (f"{p.state:12} {p.frames:8d} frames  {p.bitrate / 1e6:6.2f} Mbit/s  {footage} of footage  "
                f"clock {p.clock}" + (f"  reconnects {p.reconnects}" if p.reconnects else "")
                + (f"  | {p.message}" if p.message and p.state != "receiving" else ""))
        if p.state == "done":
            self.status.done(line)
        else:
            self.status(line, force=p.state != self._last_state)
        self._last_state = p.state


class FrameProgressLine:
    """Share of the requested range done, frames, fps and boxes hidden, at
    most 4 times a second (every 5 s in logs)."""

    def __init__(self, start: int, end: int, status: StatusLine | None = None) -> None:
        self.start, self.end = start, end
        self.status = status or StatusLine(every=0.25, log_every=5.0)
        self.began = time.perf_counter()
        self.boxes = 0

    def __call__(self, frame: Any, count: int) -> None:
        self.boxes += len(frame.boxes)
        done = min(1.0, max(0.0, (frame.ts - self.start) / max(1, self.end - self.start)))
        fps = count / max(1e-9, time.perf_counter() - self.began)
        self.status(f"{done:6.1%}  {count} frames  {fps:5.1f} fps  {self.boxes} boxes hidden")

    def close(self, count: int) -> None:
        elapsed = time.perf_counter() - self.began
        self.status.done(f"100.0%  {count} frames  {count / max(elapsed, 1e-9):5.1f} fps  {self.boxes} boxes hidden")


class CameraProgressLog:
    """`vidvault record`'s log: a line per camera when its state changes
    and every ``every`` seconds while it records, from the cameras' threads
    (one line at a time, never rewritten in place: many cameras share it)."""

    def __init__(self, stream: Any = None, *, every: float = 60.0) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.every = every
        self._lock = threading.Lock()
        self._last: dict[str, tuple[str, float]] = {}

    def __call__(self, p: IngestProgress) -> None:
        now = time.monotonic()
        with self._lock:
            state, when = self._last.get(p.camera, ("", -1e18))
            if p.state == state and now - when < self.every:
                return
            self._last[p.camera] = (p.state, now)
            line = (f"camera {p.camera}: {p.state} {p.frames} frames {p.bitrate / 1e6:.2f} Mbit/s clock {p.clock}"
                    + (f" {p.transport.upper()}" if p.transport else "")
                    + (f" reconnects {p.reconnects}" if p.reconnects else "")
                    + (f" | {p.message}" if p.message else ""))
            self.stream.write(line + "\n")
            self.stream.flush()
