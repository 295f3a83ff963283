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

from __future__ import annotations

from typing import TYPE_CHECKING

from ._core import FORMAT_VERSION, gb28181_device_type, is_gb28181_id
from ._core import __version__ as __version__
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
    ReadOnlyStoreError,
    RedactionError,
    ShreddedError,
    StorageError,
    StorageFullError,
    StoreClosedError,
    StoreExistsError,
    StoreDamagedError,
    StoreLockedError,
    TierError,
    UnknownCameraError,
    VerificationError,
    VidvaultError,
    WriterBusyError,
    WriterFailedError,
    WrongKeyError,
)

from .lazy_exports import lazy_exports

# Everything else is imported on first use (see lazy_exports.py: `vidvault
# --help` must not wait for PyAV and numpy). Public name -> (module, attribute).
_LAZY: dict[str, tuple[str, str]] = {
    "AuditEntry": (".audit", "AuditEntry"),
    "AuditReport": (".audit", "AuditReport"),
    "AuditRestart": (".audit", "AuditRestart"),
    "restart_audit_log": (".audit", "restart_audit_log"),
    "verify_audit_log": (".audit", "verify_audit_log"),
    "verify_store_audit_log": (".audit", "verify_store_audit_log"),
    "AvailabilityReport": (".availability", "AvailabilityReport"),
    "CameraAvailability": (".availability", "CameraAvailability"),
    "generate_key": (".keys", "generate_key"),
    "load_key": (".keys", "load_key"),
    "Hold": (".retention", "Hold"),
    "Retention": (".retention", "Retention"),
    "StorageStatus": (".retention", "StorageStatus"),
    "SweepReport": (".retention", "SweepReport"),
    "Detector": (".redact", "Detector"),
    "PlayedFrame": (".redact", "PlayedFrame"),
    "Redaction": (".redact", "Redaction"),
    "FsckReport": (".records", "FsckReport"),
    "Gap": (".records", "Gap"),
    "Problem": (".records", "Problem"),
    "RebuildReport": (".records", "RebuildReport"),
    "Recovered": (".records", "Recovered"),
    "Camera": (".store", "Camera"),
    "CodecConfig": (".store", "CodecConfig"),
    "Frame": (".store", "Frame"),
    "Segment": (".store", "Segment"),
    "Store": (".store", "Store"),
    "Writer": (".store", "Writer"),
    "S3Tier": (".tier", "S3Tier"),
    "TierStatus": (".tier", "TierStatus"),
    "SyncReport": (".tier.upload", "SyncReport"),
    "RestoreReport": (".tier.restore", "RestoreReport"),
    "restore": (".store", "restore"),
    "Session": (".session", "Session"),
    "from_ns": (".timeutil", "from_ns"),
    "to_ns": (".timeutil", "to_ns"),
    "C2paCredentials": (".export.c2pa", "C2paCredentials"),
    "ExportResult": (".export.package", "ExportResult"),
    "VerificationStatus": (".export.verify", "Status"),
    "VerificationReport": (".export.verify", "VerificationReport"),
    "verify": (".export.verify", "verify"),
    "IngestProgress": (".ingestion", "IngestProgress"),
    "Outage": (".ingestion", "Outage"),
    "ingest": (".ingestion", "ingest"),
    "CameraConfig": (".record", "CameraConfig"),
    "Recorder": (".record", "Recorder"),
}


__getattr__, __dir__ = lazy_exports(__name__, _LAZY, globals())

if TYPE_CHECKING:  # what a type checker and an IDE see: the eager imports
    from .audit import AuditEntry, AuditReport, AuditRestart, restart_audit_log, verify_audit_log, verify_store_audit_log
    from .availability import AvailabilityReport, CameraAvailability
    from .keys import generate_key, load_key
    from .retention import Hold, Retention, StorageStatus, SweepReport
    from .redact import Detector, PlayedFrame, Redaction
    from .records import FsckReport, Gap, Problem, RebuildReport, Recovered
    from .store import Camera, CodecConfig, Frame, Segment, Store, Writer
    from .session import Session
    from .tier import S3Tier, TierStatus
    from .tier.upload import SyncReport
    from .tier.restore import RestoreReport
    from .store import restore
    from .timeutil import from_ns, to_ns
    from .export.c2pa import C2paCredentials
    from .export.package import ExportResult
    from .export.verify import Status as VerificationStatus, VerificationReport, verify
    from .ingestion import IngestProgress, Outage, ingest
    from .record import CameraConfig, Recorder

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
    "ReadOnlyStoreError",
    "RedactionError",
    "S3Tier",
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
    "SyncReport",
    "RestoreReport",
    "restore",
    "TierError",
    "TierStatus",
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
