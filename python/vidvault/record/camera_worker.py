"""One camera of a recorder: a thread running a reconnecting
:func:`vidvault.ingest` of its stream into the shared store, until stopped.

``ingest`` itself rides out outages of the camera (it reconnects with
back-off); an error it does raise (the store refusing a write, a full
disk) ends that run, is shown as the camera's state "failed", and the
worker starts again after a pause, so that one camera's trouble never ends
the others' recording.
"""

from __future__ import annotations

import threading
import time
from typing import Any, Callable

from ..errors import VidvaultError
from ..ingestion import IngestProgress, ingest
from ..media.url_redaction import redact_text
from ..store import Store
from ..timeutil import iso
from .config import CameraConfig

#: Seconds before a worker whose ingest failed tries again.
RESTART_AFTER = 5.0


class CameraWorker:
    def __init__(self, store: Store, camera: CameraConfig, *,
                 progress: Callable[[IngestProgress], None] | None = None,
                 backoff: tuple[float, float] = (0.5, 10.0)) -> None:
        self.store, self.camera = store, camera
        self.on_progress, self.backoff = progress, backoff
        self._stop = threading.Event()
        self._lock = threading.Lock()
        self._progress: IngestProgress | None = None
        self._failures: list[str] = []
        self._outages_logged: dict[int, bool] = {}  # outage start -> its end is in the audit log too
        self._thread = threading.Thread(target=self._run, name=f"record {camera.id}", daemon=True)

    def start(self) -> None:
        self._thread.start()

    def stop(self) -> None:
        """Asks the ingest to end; :meth:`join` waits for its footage to be
        stored and its writer closed."""
        self._stop.set()

    def join(self, timeout: float | None = None) -> bool:
        self._thread.join(timeout)
        return not self._thread.is_alive()

    @property
    def alive(self) -> bool:
        return self._thread.is_alive()

    def _run(self) -> None:
        while not self._stop.is_set():
            try:
                ingest(self.store, self.camera.id, self.camera.url, stop=self._stop,
                       transport=self.camera.transport, progress=self._seen, backoff=self.backoff)
            except VidvaultError as e:
                with self._lock:
                    self._failures.append(f"{iso(time.time_ns())}: {redact_text(str(e), self.camera.url)}")
                    del self._failures[:-10]
                    if self._progress is not None:
                        self._progress.state = "failed"
                        self._progress.message = redact_text(str(e), self.camera.url)
                self._stop.wait(RESTART_AFTER)

    def _seen(self, p: IngestProgress) -> None:
        with self._lock:
            self._progress = p
        self._log_outages(p)
        if self.on_progress is not None:
            self.on_progress(p)

    def _log_outages(self, p: IngestProgress) -> None:
        """Each outage into the store's audit log when it begins and when it
        ends, cause included, so an availability report can name it."""
        for o in p.outages:
            ended = o.end is not None
            if self._outages_logged.get(o.start) in (ended, True):
                continue
            try:
                self.store.record_outage(self.camera.id, start=o.start, end=o.end, cause=o.cause,
                                         reason=redact_text(o.reason, self.camera.url))
            except VidvaultError as e:  # the recording goes on; the status shows it
                with self._lock:
                    self._failures.append(f"{iso(time.time_ns())}: outage not logged: {e}")
                return
            self._outages_logged[o.start] = ended

    def status(self) -> dict[str, Any]:
        """What the status file shows for this camera (no password)."""
        with self._lock:
            p = self._progress
            failures = list(self._failures)
        out: dict[str, Any] = {"source": self.camera.shown_url, "transport": self.camera.transport}
        if p is None:
            return {**out, "state": "starting", "failures": failures}
        return {
            **out,
            "state": p.state,
            "connected_transport": p.transport,
            "frames": p.frames,
            "bytes": p.bytes,
            "last_frame": iso(p.last_ts) if p.last_ts is not None else None,
            "clock": p.clock,
            "reconnects": p.reconnects,
            "outage_count": p.outage_count,
            "message": p.message,
            "outages": [{"start": iso(o.start), "end": iso(o.end) if o.end is not None else None,
                         "cause": o.cause, "reason": o.reason} for o in p.outages[-20:]],
            "failures": failures,
        }
