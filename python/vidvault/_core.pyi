"""Type stubs of the Rust extension module (src/py/)."""

import os
import pathlib
from datetime import datetime
from typing import Any, Callable, Iterator

import numpy

FORMAT_VERSION: int
__version__: str

def to_ns(value: int | str | datetime) -> int:
    """An instant -> ns since the Unix epoch, UTC: an int (ns; not a bool), a
    string of a decimal integer (ns), an ISO-8601 string with a zone ("Z" for
    UTC), an aware datetime (whole microseconds), or an integer-like object
    (``__index__``). Naive datetimes, other types and instants outside int64
    ns raise InvalidArgumentError."""

def verify_audit_log(path: str | os.PathLike[str], public_key: bytes) -> dict[str, Any]:
    """Verifies an audit log file against a pinned Ed25519 public key, without
    opening the store, and against the head recorded in the keystore beside it."""

def verify_store_audit_log(root: str | os.PathLike[str], key: bytes) -> dict[str, Any]:
    """Verifies a store's audit log with its master key (its own public key
    and recorded head) without opening the store or writing anything."""

def restart_audit_log(root: str | os.PathLike[str], key: bytes, operator: str, reason: str) -> dict[str, Any]:
    """Starts a new audit log continuing from the recorded head after the
    store's log was lost or damaged; refused for a sound log."""

def is_gb28181_id(id: str) -> bool: ...
def gb28181_device_type(id: str) -> str | None: ...
def redact_regions(
    frame: numpy.ndarray,
    boxes: list[tuple[int, int, int, int]],
    *,
    method: str,
    shape: str,
    strength: float = 1.0,
    color: tuple[int, int, int] = (0, 0, 0),
) -> None:
    """Hides boxes (x0, y0, x1, y1) of a C-contiguous HxWx3 uint8 frame in
    place: method "blur" | "pixelate" | "fill", shape "rectangle" | "ellipse"."""

# Exceptions the core raises (re-exported by vidvault.errors, which also
# declares the Python-only ones on VidvaultError).

class VidvaultError(Exception):
    message: str
    hint: str | None
    def __init__(self, message: str, **fields: Any) -> None: ...

class WrongKeyError(VidvaultError, KeyError):
    path: str

class CorruptSegmentError(VidvaultError):
    camera: str
    path: str
    offset: int

class StoreDamagedError(VidvaultError):
    path: str
    offset: int | None

class StoreLockedError(VidvaultError):
    path: str
    pid: int | None

class NotAStoreError(VidvaultError):
    path: str

class StoreExistsError(VidvaultError, FileExistsError):
    path: str  # type: ignore[assignment]

class CatalogMissingError(VidvaultError):
    path: str

class CatalogError(VidvaultError): ...

class UnknownCameraError(VidvaultError, LookupError):
    camera: str

class CameraExistsError(VidvaultError):
    camera: str

class WriterBusyError(VidvaultError):
    camera: str

class WriterFailedError(VidvaultError):
    camera: str
    segment: int

class ShreddedError(VidvaultError):
    camera: str
    day: str

class InvalidArgumentError(VidvaultError, ValueError): ...

class StoreClosedError(VidvaultError): ...
class TierError(VidvaultError): ...

class StorageError(VidvaultError, OSError):
    path: str  # type: ignore[assignment]
    errno: int | None  # type: ignore[assignment]

class StorageFullError(StorageError): ...

class AccessDenied(VidvaultError, PermissionError):
    principal: str
    action: str
    reason: str
    audit_seq: int

class Frame:
    @property
    def ts(self) -> int: ...
    @property
    def pts(self) -> int | None: ...
    @property
    def dts(self) -> int | None: ...
    @property
    def duration(self) -> int | None: ...
    @property
    def keyframe(self) -> bool: ...
    @property
    def segment(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def data(self) -> bytes: ...
    def __len__(self) -> int: ...

class ClipLayout:
    @property
    def first_pts(self) -> int: ...
    @property
    def first_dts(self) -> int: ...
    @property
    def tables(self) -> bytes: ...
    @property
    def sample_offsets(self) -> list[int]: ...
    @property
    def sample_sizes(self) -> list[int]: ...
    @property
    def duration(self) -> int: ...
    @property
    def presented(self) -> int: ...
    @property
    def media_time(self) -> int: ...
    @property
    def edit_duration(self) -> int: ...
    @property
    def payload_bytes(self) -> int: ...

class FrameInfo:
    @property
    def ts(self) -> int: ...
    @property
    def pts(self) -> int | None: ...
    @property
    def dts(self) -> int | None: ...
    @property
    def duration(self) -> int | None: ...
    @property
    def keyframe(self) -> bool: ...
    @property
    def segment(self) -> int: ...
    @property
    def seq(self) -> int: ...
    @property
    def offset(self) -> int: ...
    @property
    def size(self) -> int: ...
    def __len__(self) -> int: ...

class FrameReader(Iterator[Frame]):
    def __iter__(self) -> FrameReader: ...
    def __next__(self) -> Frame: ...

class Camera:
    @property
    def id(self) -> str: ...
    @property
    def labels(self) -> dict[str, str]: ...
    @property
    def created(self) -> int: ...
    @property
    def retention(self) -> None | str | tuple[int | None, int | None, int | None]: ...

class Hold:
    @property
    def id(self) -> int: ...
    @property
    def camera(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int: ...
    @property
    def case(self) -> str: ...
    @property
    def reason(self) -> str: ...
    @property
    def actor(self) -> str: ...
    @property
    def created(self) -> int: ...
    @property
    def until(self) -> int | None: ...
    @property
    def released_at(self) -> int | None: ...
    @property
    def released_by(self) -> str | None: ...
    def active_at(self, now: int) -> bool: ...

class Segment:
    @property
    def id(self) -> int: ...
    @property
    def camera(self) -> str: ...
    @property
    def path(self) -> str: ...
    @property
    def state(self) -> str: ...
    @property
    def codec(self) -> str: ...
    @property
    def start(self) -> int: ...
    @property
    def end(self) -> int | None: ...
    @property
    def frames(self) -> int | None: ...
    @property
    def bytes(self) -> int | None: ...
    @property
    def content_hash(self) -> bytes | None: ...
    @property
    def prev_hash(self) -> bytes: ...
    @property
    def created(self) -> int: ...
    @property
    def sealed_at(self) -> int | None: ...

class CodecConfig:
    @property
    def codec(self) -> str: ...
    @property
    def extradata(self) -> bytes: ...
    @property
    def time_base(self) -> tuple[int, int]: ...
    @property
    def width(self) -> int: ...
    @property
    def height(self) -> int: ...
    @property
    def params(self) -> str: ...

class Writer:
    @property
    def camera(self) -> str: ...
    @property
    def closed(self) -> bool: ...
    @property
    def stats(self) -> dict[str, int | None]: ...
    def append(
        self,
        ts: int | str | datetime,
        data: Any,
        *,
        keyframe: bool = False,
        pts: int | None = None,
        dts: int | None = None,
        duration: int | None = None,
    ) -> None: ...
    def sync(self) -> None: ...
    def close(self) -> None: ...
    def reconfigure(
        self,
        codec: str,
        *,
        extradata: bytes | None = None,
        time_base: tuple[int, int] = (1, 1_000_000_000),
        width: int = 0,
        height: int = 0,
        params: str = "",
    ) -> None: ...
    def __enter__(self) -> Writer: ...
    def __exit__(self, *exc: object) -> bool: ...

_Policy = tuple[int | None, int | None, int | None]

class Store:
    # Options (seconds as floats, sizes as ints); one given as None, or left
    # out, keeps the core's default (StoreOptions::default).
    @staticmethod
    def create(
        path: str | os.PathLike[str],
        key: bytes,
        *,
        sync_interval: float | None = None,
        roll_after: float | None = None,
        roll_bytes: int | None = None,
        gap_threshold: float | None = None,
        io_threads: int | None = None,
        flush_bytes: int | None = None,
        max_pending_bytes: int | None = None,
        min_free_bytes: int | None = None,
        segment_cache: int | None = None,
        index_cache: int | None = None,
        pressure_interval: float | None = None,
        commit_mode: str | None = None,
    ) -> Store: ...
    @staticmethod
    def open(
        path: str | os.PathLike[str],
        key: bytes,
        *,
        rebuild_catalog: bool = False,
        sync_interval: float | None = None,
        roll_after: float | None = None,
        roll_bytes: int | None = None,
        gap_threshold: float | None = None,
        io_threads: int | None = None,
        flush_bytes: int | None = None,
        max_pending_bytes: int | None = None,
        min_free_bytes: int | None = None,
        segment_cache: int | None = None,
        index_cache: int | None = None,
        pressure_interval: float | None = None,
        commit_mode: str | None = None,
    ) -> Store: ...
    @property
    def store_id(self) -> str: ...
    @property
    def path(self) -> pathlib.Path: ...
    def add_camera(self, id: str, labels: dict[str, str] | None = None, retention: None | str | _Policy = None) -> Camera: ...
    def set_labels(self, id: str, labels: dict[str, str]) -> Camera: ...
    def camera(self, id: str) -> Camera: ...
    def cameras(self) -> list[Camera]: ...
    def writer(
        self,
        camera: str,
        codec: str,
        *,
        extradata: bytes | None = None,
        time_base: tuple[int, int] = (1, 1_000_000_000),
        width: int = 0,
        height: int = 0,
        params: str = "",
    ) -> Writer: ...
    def read(self, camera: str, start: int, end: int) -> FrameReader: ...
    def seek(self, camera: str, ts: int) -> Frame | None: ...
    def frame_infos(self, camera: str, start: int, end: int) -> list[FrameInfo]: ...
    def read_frame(self, segment: int, offset: int, seq: int) -> Frame: ...
    def lay_out_clip(self, infos: list[FrameInfo], *, time_base: tuple[int, int], timescale: int,
                     movie_timescale: int, start: int, end: int, head_without_tables: int) -> ClipLayout: ...
    def segments(self, camera: str, start: int, end: int) -> list[Segment]: ...
    def gaps(self, camera: str, start: int, end: int, min_gap: int | None = None) -> list[tuple[int, int]]: ...
    def segment_config(self, segment_id: int) -> CodecConfig: ...
    def fsck(self, deep: bool = False) -> dict[str, Any]: ...
    def rebuild_catalog(self) -> dict[str, Any]: ...
    def recovery_report(self) -> list[dict[str, Any]]: ...
    def export_public_key(self) -> bytes: ...
    def sign_export(self, message: bytes) -> bytes: ...
    def set_retention(self, camera: str, retention: None | str | _Policy = None) -> Camera: ...
    def effective_retention(self, camera: str) -> tuple[str, _Policy]: ...
    def define_retention_class(self, name: str, policy_: _Policy) -> None: ...
    def retention_classes(self) -> tuple[str, list[tuple[str, _Policy]]]: ...
    def set_default_retention_class(self, name: str) -> None: ...
    def hold(self, camera: str, start: int, end: int, *, case: str, reason: str, actor: str, until: int | None = None) -> Hold: ...
    def release_hold(self, hold_id: int, *, actor: str) -> Hold: ...
    def holds(self, camera: str | None = None) -> list[Hold]: ...
    def enforce_retention(self, now: int | None = None, dry_run: bool = False, actor: str = "retention") -> dict[str, Any]: ...
    def check_disk_pressure(self) -> dict[str, Any]: ...
    def storage_status(self) -> dict[str, Any]: ...
    def rotate_master_key(self, new_key: bytes, *, actor: str = "operator") -> None: ...
    def admin_public_key(self) -> bytes: ...
    def issue_grant(
        self,
        to: str,
        actions: list[str],
        cameras: list[str],
        *,
        valid_from: int,
        valid_until: int,
        case: str,
        issued_by: str,
        footage_from: int | None = None,
        footage_to: int | None = None,
        purpose: str = "",
        approver: str | None = None,
    ) -> str: ...
    def verify_grant(self, token: str) -> tuple[dict[str, Any] | None, str | None]:
        """The grant ``token`` carries, checked now (signature, store,
        validity): ``(grant, None)`` or ``(None, why it is refused)``. Logs
        nothing."""
        ...
    def authorize(
        self,
        principal: str,
        grants: list[str],
        action: str,
        camera: str | None = None,
        start: int | None = None,
        end: int | None = None,
        reason: str = "",
    ) -> dict[str, Any]:
        """Checks one request against the grant tokens and logs it, allowed or
        denied; returns ``{"grant_id", "audit_seq", "audit_hash"}`` or raises
        AccessDenied. ``view_redacted`` needs no grant. A grant of
        ``view_raw`` also allows ``view_redacted``, one of ``export_raw`` also
        ``export`` (the redacted form of the same footage); ``export`` and
        ``export_raw`` need a grant that names an approver."""
    def audit_record(
        self,
        principal: str,
        action: str,
        *,
        outcome: str,
        camera: str | None = None,
        start: int | None = None,
        end: int | None = None,
        reason: str = "",
        case: str = "",
        grant_id: str = "",
        details: str = "",
    ) -> dict[str, Any]: ...
    def audit_entries(self, camera: str | None = None, since: int | None = None,
                      limit: int = 1_000_000, action: str | None = None) -> list[dict[str, Any]]: ...
    def audit_entry(self, seq: int) -> dict[str, Any] | None: ...
    def audit_head(self) -> tuple[int, bytes]: ...
    def audit_verify(self) -> dict[str, Any]: ...
    def set_remote_fetch(self, fetch: Callable[[int], str] | None) -> None: ...
    def set_tier_relief(self, relieve: Callable[[int], int] | None) -> None: ...
    def close(self) -> None: ...
