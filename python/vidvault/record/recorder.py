"""Many cameras recorded at once into one store: :class:`Recorder`.

    with vidvault.Recorder(store, cameras, status_file="status.json") as rec:
        ...                       # each camera records on its own thread
        rec.update(new_cameras)   # add, remove, change: the others go on
    # leaving the block stops every camera, its footage stored and synced

Each camera runs its own reconnecting ingest (:mod:`.camera_worker`) on the
shared :class:`~vidvault.Store` handle, and its pictures are checked as they
are stored (:class:`~vidvault.picture_check.watch.PictureWatch`: black,
covered, frozen, moved), alarms in the status and the audit log. ``update`` touches only the cameras
whose settings changed: a camera whose URL, transport, labels or retention
is as before keeps its connection. A camera removed from the set stops
recording; its footage stays in the store.
"""

from __future__ import annotations

import threading
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Callable, Iterable, Mapping

from ..ingestion import IngestProgress
from ..errors import InvalidArgumentError, UnknownCameraError, VidvaultError
from ..picture_check.watch import PictureWatch
from ..store import Store
from ..timeutil import iso
from .camera_worker import CameraWorker
from .config import CameraConfig, ConfigError, camera_from_table
from .status_file import write_status


@dataclass(frozen=True)
class UpdateResult:
    added: tuple[str, ...]
    removed: tuple[str, ...]
    changed: tuple[str, ...]
    unchanged: tuple[str, ...]


class Recorder:
    """Records ``cameras`` (:class:`~vidvault.record.config.CameraConfig`,
    or mappings with the keys of a ``[[camera]]`` table) into ``store``. ``status_file``: a JSON file rewritten every
    ``status_interval`` seconds with each camera's state. ``progress`` is
    called with each camera's :class:`~vidvault.IngestProgress`, from that
    camera's thread. ``picture_check_every``: seconds between two checks of
    each camera's newly stored pictures (None: no checks); each check
    decodes one 720p keyframe, about 20 CPU-seconds per camera-hour at 10 s
    (`vidvault bench record`), so the default is 30 s."""

    #: Footage younger than this is left to the next check: it may not be
    #: stored (synced) yet, and a keyframe missed once is not looked at again.
    PICTURE_LAG_S = 5.0

    def __init__(self, store: Store, cameras: Iterable[CameraConfig | Mapping[str, Any]], *,
                 status_file: str | Path | None = None, status_interval: float = 5.0,
                 progress: Callable[[IngestProgress], None] | None = None,
                 backoff: tuple[float, float] = (0.5, 10.0),
                 picture_check_every: float | None = 30.0) -> None:
        self.store = store
        self.picture_check_every = picture_check_every
        self._watches: dict[str, PictureWatch] = {}
        self._picture_errors: dict[str, str] = {}
        self._picture_thread: threading.Thread | None = None
        self.status_file = Path(status_file) if status_file is not None else None
        self.status_interval = status_interval
        self.on_progress, self.backoff = progress, backoff
        self._cameras = _by_id(cameras)
        self._workers: dict[str, CameraWorker] = {}
        self._lock = threading.Lock()
        self._stopping = threading.Event()
        self._status_thread: threading.Thread | None = None
        self._started = False

    # ------------------------------------------------------------------ life

    def start(self) -> "Recorder":
        """Registers (or updates) every camera in the store, then starts them.
        A camera the store refuses (a bad id, an unknown retention class)
        stops the start before any camera records."""
        with self._lock:
            for cam in self._cameras.values():
                self._register(cam)
            if self.status_file is not None:
                try:  # before any camera starts: a status nobody can see is a mistake to report now
                    write_status(self.status_file, {"updated": iso(time.time_ns()), "cameras": {}, "running": True})
                except OSError as e:
                    raise ConfigError(f"status_file {self.status_file} cannot be written ({e.strerror or e}); "
                                      "name a file in an existing directory this user may write") from None
            for cam in self._cameras.values():
                self._launch(cam)
            self._started = True
        if self.status_file is not None:
            self.write_status()
            self._status_thread = threading.Thread(target=self._status_loop, name="record status", daemon=True)
            self._status_thread.start()
        if self.picture_check_every is not None:
            self._picture_thread = threading.Thread(target=self._picture_loop, name="record pictures", daemon=True)
            self._picture_thread.start()
        return self

    def update(self, cameras: Iterable[CameraConfig | Mapping[str, Any]]) -> UpdateResult:
        """Records ``cameras`` from now on: new ones start, missing ones stop,
        changed ones restart with their new settings, the rest go on
        untouched. The store checks every new or changed camera first; if
        it refuses one, nothing changes."""
        wanted = _by_id(cameras)
        with self._lock:
            old = self._cameras
            added = [i for i in wanted if i not in old]
            removed = [i for i in old if i not in wanted]
            changed = [i for i in wanted if i in old and wanted[i] != old[i]]
            unchanged = [i for i in wanted if i in old and wanted[i] == old[i]]
            for i in added + changed:
                self._register(wanted[i])
            for i in removed + changed:
                self._retire(i)
            self._cameras = wanted
            for i in added + changed:
                self._launch(wanted[i])
        return UpdateResult(tuple(added), tuple(removed), tuple(changed), tuple(unchanged))

    def stop(self, timeout: float = 60.0) -> None:
        """Stops every camera and waits until each has stored what it
        received and closed its writer (synced); then writes the status a
        last time."""
        self._stopping.set()
        with self._lock:
            for w in self._workers.values():
                w.stop()
            deadline = time.monotonic() + timeout
            stuck = [i for i, w in self._workers.items() if not w.join(max(0.0, deadline - time.monotonic()))]
        if self._status_thread is not None:
            self._status_thread.join(timeout=5.0)
        if self._picture_thread is not None:
            self._picture_thread.join(timeout=30.0)
        if self.status_file is not None:
            self.write_status(final=True)
        if stuck:
            raise TimeoutError(f"cameras {', '.join(stuck)} did not stop within {timeout:g} s")

    def __enter__(self) -> "Recorder":
        return self.start() if not self._started else self

    def __exit__(self, *exc: object) -> None:
        self.stop()

    # ------------------------------------------------------------------ status

    @property
    def cameras(self) -> tuple[str, ...]:
        with self._lock:
            return tuple(self._cameras)

    def status(self) -> dict[str, Any]:
        """Each camera's state, last frame time and outages (no password)."""
        with self._lock:
            workers, watches, errors = dict(self._workers), dict(self._watches), dict(self._picture_errors)
        cameras = {}
        for i, w in sorted(workers.items()):
            cameras[i] = w.status()
            if i in watches:
                cameras[i]["picture_alarms"] = [a.to_dict() for a in watches[i].open_alarms]
            if i in errors:
                cameras[i]["picture_check_error"] = errors[i]
        return {"updated": iso(time.time_ns()), "cameras": cameras}

    def check_pictures(self) -> None:
        """Judges the pictures each camera stored since the last check (the
        recorder's own thread calls this every ``picture_check_every``)."""
        with self._lock:
            ids = list(self._workers)
        until = time.time_ns() - int(self.PICTURE_LAG_S * 1e9)
        for camera_id in ids:
            with self._lock:
                watch = self._watches.get(camera_id)
            if watch is None:
                continue
            try:
                watch.advance(until)
                self._picture_errors.pop(camera_id, None)
            except VidvaultError as e:  # a picture that will not decode must not stop the recording
                self._picture_errors[camera_id] = str(e)

    def write_status(self, *, final: bool = False) -> None:
        if self.status_file is None:
            return
        status = self.status()
        status["running"] = not final
        write_status(self.status_file, status)

    # ------------------------------------------------------------------ inside

    def _register(self, cam: CameraConfig) -> None:
        try:
            try:
                existing = self.store.camera(cam.id)
            except UnknownCameraError:
                self.store.add_camera(cam.id, labels=cam.labels, retention=cam.retention)
                return
            if dict(existing.labels) != dict(cam.labels):
                self.store.set_labels(cam.id, cam.labels)
            # No retention in the table: the camera keeps what the store has for it.
            if cam.retention is not None and self.store.camera_retention(cam.id) != cam.retention:
                self.store.set_retention(cam.id, cam.retention)
        except ConfigError:
            raise
        except InvalidArgumentError as e:  # the store's word on this camera's settings, with the camera named
            raise ConfigError(f"camera {cam.id!r}: {e}") from None

    def _launch(self, cam: CameraConfig) -> None:
        worker = CameraWorker(self.store, cam, progress=self.on_progress, backoff=self.backoff)
        self._workers[cam.id] = worker
        if self.picture_check_every is not None:
            self._watches[cam.id] = self.store.watch_pictures(cam.id, every=self.picture_check_every)
        worker.start()

    def _retire(self, camera_id: str) -> None:
        worker = self._workers.pop(camera_id, None)
        self._watches.pop(camera_id, None)
        self._picture_errors.pop(camera_id, None)
        if worker is not None:
            worker.stop()
            worker.join()

    def _picture_loop(self) -> None:
        assert self.picture_check_every is not None
        while not self._stopping.wait(self.picture_check_every):
            self.check_pictures()

    def _status_loop(self) -> None:
        while not self._stopping.wait(self.status_interval):
            try:
                self.write_status()
            except OSError:
                pass  # a full or read-only status directory must not stop the recording; tried again next time


def _by_id(cameras: Iterable[CameraConfig | Mapping[str, Any]]) -> dict[str, CameraConfig]:
    out: dict[str, CameraConfig] = {}
    for cam in cameras:
        if isinstance(cam, Mapping):
            cam = camera_from_table(cam)
        if not isinstance(cam, CameraConfig):
            raise ConfigError(f"cameras must be CameraConfig values or [[camera]]-like mappings, "
                              f"got {type(cam).__name__}")
        if cam.id in out:
            raise ConfigError(f"camera {cam.id!r} is given twice; every camera needs its own id")
        out[cam.id] = cam
    return out
