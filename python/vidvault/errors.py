"""Exceptions raised by vidvault.

Every error carries a message saying what failed, where, and what to do; the
structured parts (camera, path, offset, pid, ...) are attributes as well, so a
service can react without parsing text. ``hint`` holds the what-to-do part
alone when there is one.

The classes the Rust core raises are declared by the extension module
(``vidvault._core``) and re-exported here; the errors only Python code raises
(media, models, verification, redaction, optional dependencies) are declared
below on the same base, so ``except vidvault.VidvaultError`` catches both.
"""

from __future__ import annotations

from ._core import (
    AccessDenied,
    CameraExistsError,
    CatalogError,
    CatalogMissingError,
    CorruptSegmentError,
    InvalidArgumentError,
    NotAStoreError,
    ShreddedError,
    StorageError,
    StorageFullError,
    StoreClosedError,
    StoreDamagedError,
    StoreExistsError,
    StoreLockedError,
    TierError,
    UnknownCameraError,
    VidvaultError,
    WriterBusyError,
    WriterFailedError,
    WrongKeyError,
)

__all__ = [
    "AccessDenied",
    "CameraExistsError",
    "CatalogError",
    "CatalogMissingError",
    "CorruptSegmentError",
    "DependencyMissingError",
    "InvalidArgumentError",
    "MediaError",
    "ModelMissingError",
    "NotAStoreError",
    "ReadOnlyStoreError",
    "RedactionError",
    "ShreddedError",
    "StorageError",
    "StorageFullError",
    "TierError",
    "StoreClosedError",
    "StoreDamagedError",
    "StoreExistsError",
    "StoreLockedError",
    "UnknownCameraError",
    "VerificationError",
    "VidvaultError",
    "WriterBusyError",
    "WriterFailedError",
    "WrongKeyError",
]


class MediaError(VidvaultError):
    """A media source or file could not be read, decoded or written.
    ``cause``: why, as a word a program can act on, when it is known
    (``vidvault.media.open_failure.Cause``: "unauthorized",
    "transport-refused", "connection-refused", ...)."""

    cause: str | None = None


class DependencyMissingError(VidvaultError):
    """An optional package or external tool is not installed (``name``)."""


class VerificationError(VidvaultError):
    """An export package failed verification (``report``: the full report)."""


class ModelMissingError(VidvaultError, FileNotFoundError):
    """A detector's model file is not installed or does not match its pinned
    SHA-256 (``model``, ``path``). Run ``vidvault models install``."""


class ReadOnlyStoreError(VidvaultError):
    """A change asked of a read-only view of a store (``Store.open_remote``):
    recording, cameras, retention, holds, the tier and keys are changed on
    the recorder that owns the bucket prefix (``path``: the view)."""


class RedactionError(VidvaultError):
    """Desensitized playback could not guarantee every face and plate is
    hidden (a detector failed, a frame did not decode...), so it stopped
    instead of showing footage (``camera``, ``ts``)."""


