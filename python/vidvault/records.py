"""The plain records a :class:`vidvault.Store` returns that the core hands
over as tuples or dicts: gaps in the footage, and the reports of fsck,
catalog rebuilds and crash recovery."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import timedelta
from typing import NamedTuple


class Gap(NamedTuple):
    """A stretch with no recorded footage: ``[start, end)`` in ns (UTC)."""

    start: int
    end: int

    @property
    def duration(self) -> timedelta:
        return timedelta(microseconds=(self.end - self.start) / 1000)


@dataclass(frozen=True)
class Problem:
    camera: str
    segment_id: int | None
    path: str
    offset: int | None
    detail: str

    def __str__(self) -> str:
        where = self.path + (f" at byte {self.offset}" if self.offset is not None else "")
        who = f"camera {self.camera!r} " if self.camera else ""
        return f"{who}{where}: {self.detail}"


@dataclass(frozen=True)
class FsckReport:
    segments: int
    frames: int
    bytes: int
    problems: list[Problem] = field(default_factory=list)
    #: Objects of uploaded segments asked about in the tier's bucket (0: no tier).
    remote_objects: int = 0
    #: Bytes of those objects read back and hashed (``deep``).
    remote_bytes: int = 0

    @property
    def ok(self) -> bool:
        return not self.problems


@dataclass(frozen=True)
class RebuildReport:
    cameras: int
    segments: int
    repaired: int
    holds: int
    tombstones: int
    problems: list[Problem] = field(default_factory=list)


@dataclass(frozen=True)
class Recovered:
    """What recovery did to one segment when the store was opened."""

    camera: str
    segment_id: int
    path: str
    action: str
    frames: int
    discarded_bytes: int
    detail: str
