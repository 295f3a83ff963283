"""Retention policies, legal holds and sweep reports as Python values.

Durations are ``timedelta`` (seconds or text like "30d" are accepted);
sizes are bytes (text like "500G" is accepted). The rules themselves run in
the Rust core (src/retention.rs, src/sweep.rs).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Union

from . import _core
from .errors import InvalidArgumentError
from .timeutil import duration_ns, iso

Hold = _core.Hold

DurationLike = Union[timedelta, int, float, str]

_SIZE = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*([KMGTP]?)(i?B?)\s*$", re.IGNORECASE)


def parse_size(value: int | str) -> int:
    """Bytes from an int or text such as "500G", "2TiB", "750MB" (powers of 1024)."""
    if isinstance(value, int) and not isinstance(value, bool):
        return value
    if isinstance(value, str):
        m = _SIZE.match(value)
        if m:
            power = "KMGTP".find(m.group(2).upper()) + 1 if m.group(2) else 0
            return int(float(m.group(1)) * 1024**power)
    raise InvalidArgumentError(f"cannot read {value!r} as a size (e.g. 500G, 2T, 750M)")


def _td(value: DurationLike | None) -> timedelta | None:
    return None if value is None else timedelta(microseconds=duration_ns(value) / 1000)


@dataclass(frozen=True)
class Retention:
    """How long footage is kept.

    ``max_age``: footage older than this is deleted (unless held).
    ``max_bytes``: a camera's sealed footage is trimmed to this size, oldest first.
    ``min_age``: footage younger than this is never deleted to meet
    ``max_bytes`` or to free disk space (the regulatory minimum).
    """

    max_age: DurationLike | None = None
    max_bytes: int | str | None = None
    min_age: DurationLike | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "max_age", _td(self.max_age))
        object.__setattr__(self, "min_age", _td(self.min_age))
        if self.max_bytes is not None:
            object.__setattr__(self, "max_bytes", parse_size(self.max_bytes))

    def _core_tuple(self) -> tuple[int | None, int | None, int | None]:
        ns = lambda d: None if d is None else duration_ns(d)  # noqa: E731
        return (ns(self.max_age), self.max_bytes, ns(self.min_age))  # type: ignore[return-value]

    @classmethod
    def _from_core(cls, t: tuple[int | None, int | None, int | None]) -> "Retention":
        max_age, max_bytes, min_age = t
        us = lambda ns: None if ns is None else timedelta(microseconds=ns / 1000)  # noqa: E731
        return cls(us(max_age), max_bytes, us(min_age))

    def __str__(self) -> str:
        def days(d: object) -> str:
            return "-" if d is None else f"{d.total_seconds() / 86400:g}d"  # type: ignore[union-attr]

        size = "-" if self.max_bytes is None else f"{self.max_bytes / 2**30:g}GiB"
        return f"max_age={days(self.max_age)} min_age={days(self.min_age)} max_bytes={size}"


RetentionLike = Union[Retention, str, None]


def setting_to_core(retention: RetentionLike) -> object:
    """None -> store default, str -> class name, Retention -> custom tuple."""
    if retention is None or isinstance(retention, str):
        return retention
    if isinstance(retention, Retention):
        return retention._core_tuple()
    raise InvalidArgumentError(
        f"retention must be a Retention, a class name or None, got {type(retention).__name__}"
    )


def setting_from_core(value: object) -> RetentionLike:
    if value is None or isinstance(value, str):
        return value
    return Retention._from_core(value)  # type: ignore[arg-type]


@dataclass(frozen=True)
class DeletedSegment:
    id: int
    camera: str
    start: int
    end: int
    bytes: int
    reason: str  # "max_age", "max_bytes" or "disk_pressure"


@dataclass(frozen=True)
class CameraSweep:
    camera: str
    policy: Retention
    kept_bytes: int
    held_segments: int
    warnings: list[str]


@dataclass(frozen=True)
class SweepReport:
    """What ``enforce_retention`` deleted (or, with ``dry_run``, would delete)."""

    now: int
    dry_run: bool
    cameras: list[CameraSweep]
    deleted: list[DeletedSegment]
    #: (camera, UTC day) whose key-encryption key was destroyed.
    shredded: list[tuple[str, date]]
    held_bytes: int
    young_bytes: int

    @property
    def deleted_bytes(self) -> int:
        return sum(d.bytes for d in self.deleted)

    @property
    def warnings(self) -> list[str]:
        return [w for c in self.cameras for w in c.warnings]

    @classmethod
    def _from_core(cls, d: dict) -> "SweepReport":
        return cls(
            now=d["now"],
            dry_run=d["dry_run"],
            cameras=[
                CameraSweep(c["camera"], Retention._from_core(c["policy"]), c["kept_bytes"], c["held_segments"],
                            list(c["warnings"]))
                for c in d["cameras"]
            ],
            deleted=[DeletedSegment(*t) for t in d["deleted"]],
            shredded=[(cam, date(1970, 1, 1) + timedelta(days=day)) for cam, day in d["shredded"]],
            held_bytes=d["undeletable_bytes"][0],
            young_bytes=d["undeletable_bytes"][1],
        )

    def summary(self) -> str:
        verb = "would delete" if self.dry_run else "deleted"
        lines = [f"retention at {iso(self.now)}: {verb} {len(self.deleted)} segments, "
                 f"{self.deleted_bytes / 1e6:.1f} MB"]
        per: dict[str, list[DeletedSegment]] = {}
        for d in self.deleted:
            per.setdefault(d.camera, []).append(d)
        for cam, dels in sorted(per.items()):
            reasons = sorted({d.reason for d in dels})
            lines.append(f"  {cam}: {len(dels)} segments, {sum(d.bytes for d in dels) / 1e6:.1f} MB ({', '.join(reasons)})")
        for cam, day in self.shredded:
            lines.append(f"  key of {cam} for {day} {'would be' if self.dry_run else 'was'} destroyed (crypto-shredded)")
        lines.extend(f"  warning: {w}" for w in self.warnings)
        return "\n".join(lines)


@dataclass(frozen=True)
class StorageStatus:
    free_bytes: int
    total_bytes: int
    min_free_bytes: int
    #: Set when free space is under the floor and nothing more may be deleted.
    alarm: str | None = field(default=None)
    #: Sealed footage on this disk (with or without a copy in a tier's
    #: bucket), and footage a tier evicted, in its bucket only.
    local_segments: int = 0
    local_bytes: int = 0
    remote_only_segments: int = 0
    remote_only_bytes: int = 0
