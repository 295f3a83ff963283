"""Exceptions raised by vidvault.

Every error carries a message saying what failed, where, and what to do; the
structured parts (camera, path, offset, pid, ...) are attributes as well, so a
service can react without parsing text.
"""

from __future__ import annotations

from typing import Any


class VidvaultError(Exception):
    """Base class of every vidvault error."""

    def __init__(self, message: str, **fields: Any) -> None:
        super().__init__(message)
        self.message = message
        for name, value in fields.items():
            setattr(self, name, value)

    def __str__(self) -> str:
        return self.message


class WrongKeyError(VidvaultError, KeyError):
    """The master key does not open the store (attribute: ``path``)."""


class CorruptSegmentError(VidvaultError):
    """Stored bytes fail their checksum or authentication.

    Attributes: ``camera``, ``path`` (segment file), ``offset`` (byte offset).
    """


class StoreLockedError(VidvaultError):
    """Another process holds the store open for writing (``pid``, ``path``)."""


class NotAStoreError(VidvaultError):
    """The path is not a vidvault store (``path``)."""


class StoreExistsError(VidvaultError, FileExistsError):
    """A store already exists where one was to be created (``path``)."""


class CatalogMissingError(VidvaultError):
    """The catalog database is missing; rebuild it from the segment files."""


class CatalogError(VidvaultError):
    """The catalog database failed (SQLite error)."""


class UnknownCameraError(VidvaultError, LookupError):
    """No camera with that id (``camera``)."""


class CameraExistsError(VidvaultError):
    """A camera with that id already exists (``camera``)."""


class WriterBusyError(VidvaultError):
    """The camera already has an open writer (``camera``)."""


class WriterFailedError(VidvaultError):
    """A writer hit an unrecoverable I/O error (``camera``, ``segment``)."""


class ShreddedError(VidvaultError):
    """The footage's key was destroyed by retention (``camera``, ``day``)."""


class InvalidArgumentError(VidvaultError, ValueError):
    """An argument is out of range or malformed."""


class StoreClosedError(VidvaultError):
    """The store was closed."""


class StorageError(VidvaultError, OSError):
    """An operating-system call failed (``path``, ``errno``)."""


class StorageFullError(StorageError):
    """The disk is full (ENOSPC/EDQUOT)."""


class MediaError(VidvaultError):
    """A media source or file could not be read, decoded or written."""


class AccessDenied(VidvaultError, PermissionError):
    """A session's grants do not allow the request. The attempt is in the
    audit log (``audit_seq``); ``reason`` names the missing grant."""


class DependencyMissingError(VidvaultError):
    """An optional package or external tool is not installed (``name``)."""


class VerificationError(VidvaultError):
    """An export package failed verification (``report``: the full report)."""


class ModelMissingError(VidvaultError, FileNotFoundError):
    """A detector's model file is not installed or does not match its pinned
    SHA-256 (``model``, ``path``). Run ``vidvault models install``."""


class RedactionError(VidvaultError):
    """Desensitized playback could not guarantee every face and plate is
    hidden (a detector failed, a frame did not decode...), so it stopped
    instead of showing footage (``camera``, ``ts``)."""
