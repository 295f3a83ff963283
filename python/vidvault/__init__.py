"""vidvault: encrypted, time-indexed storage of video-surveillance footage.

Public API::

    import vidvault
    with vidvault.Store.create(path, key=key32) as store:
        store.add_camera("34020000001320000001", labels={"area": "district-3"})
        with store.writer("34020000001320000001", codec="h264", extradata=avcc) as w:
            w.append(ts_ns, data, keyframe=True)
        for frame in store.read("34020000001320000001", start, end):
            ...
        vidvault.ingest(store, "34020000001320000002", "rtsp://camera/stream", duration="1h")
        store.export_clip("34020000001320000001", start, end, "case-17/", raw=True, watermark="COPY")
    vidvault.verify("case-17/", public_key=pinned_key).raise_for_failure()

Timestamps are int nanoseconds since the Unix epoch (UTC); aware ``datetime``
objects and ISO-8601 strings with a zone are accepted too.
"""

from ._core import FORMAT_VERSION, gb28181_device_type, is_gb28181_id
from ._core import __version__ as _core_version
from .audit import AuditEntry, AuditReport, AuditRestart, restart_audit_log, verify_audit_log, verify_store_audit_log
from .availability import AvailabilityReport, CameraAvailability
from .errors import (
    AccessDenied,
    CameraExistsError,
    CatalogError,
    CatalogMissingError,
    CorruptSegmentError,
    DependencyMissingError,
    InvalidArgumentError,
    MediaError,
    ModelMissingError,
    NotAStoreError,
    RedactionError,
    ShreddedError,
    StorageError,
    StorageFullError,
    StoreClosedError,
    StoreExistsError,
    StoreDamagedError,
    StoreLockedError,
    UnknownCameraError,
    VerificationError,
    VidvaultError,
    WriterBusyError,
    WriterFailedError,
    WrongKeyError,
)
from .keys import generate_key, load_key
from .retention import Hold, Retention, StorageStatus, SweepReport
from .redact import Detector, PlayedFrame, Redaction
from .records import FsckReport, Gap, Problem, RebuildReport, Recovered
from .store import Camera, CodecConfig, Frame, Segment, Store, Writer
from .session import Session
from .timeutil import from_ns, to_ns
from .export.c2pa import C2paCredentials
from .export.package import ExportResult
from .export.verify import Status as VerificationStatus, VerificationReport, verify
from .ingest import IngestProgress, Outage, ingest
from .record import CameraConfig, Recorder

__version__ = _core_version

__all__ = [
    "AccessDenied",
    "AuditEntry",
    "AuditReport",
    "AuditRestart",
    "AvailabilityReport",
    "restart_audit_log",
    "Session",
    "verify_audit_log",
    "verify_store_audit_log",
    "FORMAT_VERSION",
    "Camera",
    "CameraAvailability",
    "CameraConfig",
    "CameraExistsError",
    "CatalogError",
    "CatalogMissingError",
    "CodecConfig",
    "CorruptSegmentError",
    "C2paCredentials",
    "DependencyMissingError",
    "ExportResult",
    "IngestProgress",
    "Outage",
    "Detector",
    "Frame",
    "FsckReport",
    "Gap",
    "Hold",
    "InvalidArgumentError",
    "MediaError",
    "ModelMissingError",
    "NotAStoreError",
    "PlayedFrame",
    "Problem",
    "RebuildReport",
    "Recovered",
    "Recorder",
    "Retention",
    "Redaction",
    "RedactionError",
    "Segment",
    "ShreddedError",
    "StorageError",
    "StorageFullError",
    "StorageStatus",
    "Store",
    "StoreClosedError",
    "StoreExistsError",
    "StoreDamagedError",
    "StoreLockedError",
    "SweepReport",
    "UnknownCameraError",
    "VerificationError",
    "VerificationReport",
    "VerificationStatus",
    "VidvaultError",
    "Writer",
    "WriterBusyError",
    "WriterFailedError",
    "WrongKeyError",
    "from_ns",
    "gb28181_device_type",
    "generate_key",
    "ingest",
    "is_gb28181_id",
    "load_key",
    "to_ns",
    "verify",
]
