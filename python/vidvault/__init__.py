"""vidvault: encrypted, time-indexed storage of video-surveillance footage.

Public API::

    import vidvault
    with vidvault.Store.create(path, key=key32) as store:
        store.add_camera("34020000001320000001", labels={"area": "district-3"})
        with store.writer("34020000001320000001", codec="h264", extradata=avcc) as w:
            w.append(ts_ns, data, keyframe=True)
        for frame in store.read("34020000001320000001", start, end):
            ...

Timestamps are int nanoseconds since the Unix epoch (UTC); aware ``datetime``
objects and ISO-8601 strings with a zone are accepted too.
"""

from ._core import FORMAT_VERSION, gb28181_device_type, is_gb28181_id
from ._core import __version__ as _core_version
from .errors import (
    CameraExistsError,
    CatalogError,
    CatalogMissingError,
    CorruptSegmentError,
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
    StoreLockedError,
    UnknownCameraError,
    VidvaultError,
    WriterBusyError,
    WriterFailedError,
    WrongKeyError,
)
from .keyfile import generate_key, load_key
from .redact import Detector, PlayedFrame, Redaction
from .store import (
    Camera,
    CodecConfig,
    Frame,
    FsckReport,
    Gap,
    Problem,
    RebuildReport,
    Recovered,
    Segment,
    Store,
    Writer,
)
from .timeutil import from_ns, to_ns

__version__ = _core_version

__all__ = [
    "FORMAT_VERSION",
    "Camera",
    "CameraExistsError",
    "CatalogError",
    "CatalogMissingError",
    "CodecConfig",
    "CorruptSegmentError",
    "Detector",
    "Frame",
    "FsckReport",
    "Gap",
    "InvalidArgumentError",
    "MediaError",
    "ModelMissingError",
    "NotAStoreError",
    "PlayedFrame",
    "Problem",
    "RebuildReport",
    "Recovered",
    "Redaction",
    "RedactionError",
    "Segment",
    "ShreddedError",
    "StorageError",
    "StorageFullError",
    "Store",
    "StoreClosedError",
    "StoreExistsError",
    "StoreLockedError",
    "UnknownCameraError",
    "VidvaultError",
    "Writer",
    "WriterBusyError",
    "WriterFailedError",
    "WrongKeyError",
    "from_ns",
    "gb28181_device_type",
    "generate_key",
    "is_gb28181_id",
    "load_key",
    "to_ns",
]
