"""Time values at the API boundary.

The store keys everything by ``int`` nanoseconds since the Unix epoch, UTC.
Callers may also pass timezone-aware ``datetime`` objects or ISO-8601 strings
with a zone; naive datetimes are refused because their instant is ambiguous.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

from .errors import InvalidArgumentError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NS_PER_SECOND = 1_000_000_000

TimeLike = int | datetime | str


def to_ns(value: TimeLike) -> int:
    """Converts an instant to ns since the epoch (UTC)."""
    if isinstance(value, bool):
        raise InvalidArgumentError(f"a timestamp cannot be a bool ({value!r})")
    if isinstance(value, int):
        return value
    if isinstance(value, str):
        text = value.strip()
        if re.fullmatch(r"-?\d+", text):
            return int(text)
        try:
            value = datetime.fromisoformat(text.replace("Z", "+00:00").replace("z", "+00:00"))
        except ValueError:
            raise InvalidArgumentError(
                f"{text!r} is neither ISO-8601 with a zone (2026-11-21T08:00:00+08:00) "
                "nor an integer of nanoseconds"
            ) from None
    if isinstance(value, datetime):
        if value.tzinfo is None or value.utcoffset() is None:
            raise InvalidArgumentError(
                f"datetime {value.isoformat()} has no timezone; pass an aware datetime "
                "(e.g. datetime(..., tzinfo=timezone.utc))"
            )
        return (value - EPOCH) // timedelta(microseconds=1) * 1000
    raise InvalidArgumentError(
        f"expected int ns, aware datetime or ISO-8601 string, got {type(value).__name__}"
    )


def from_ns(ns: int) -> datetime:
    """ns since the epoch -> aware UTC datetime (microsecond precision)."""
    return EPOCH + timedelta(microseconds=ns // 1000)


def iso(ns: int) -> str:
    """ns since the epoch -> ISO-8601 UTC string with nanoseconds."""
    seconds, frac = divmod(ns, NS_PER_SECOND)
    base = (EPOCH + timedelta(seconds=seconds)).strftime("%Y-%m-%dT%H:%M:%S")
    return f"{base}.{frac:09d}Z" if frac else f"{base}Z"


_DURATION = re.compile(r"^\s*(\d+(?:\.\d+)?)\s*(ns|us|ms|s|m|min|h|d|w)?\s*$")
_UNITS = {
    "ns": 1,
    "us": 1_000,
    "ms": 1_000_000,
    "s": NS_PER_SECOND,
    None: NS_PER_SECOND,
    "m": 60 * NS_PER_SECOND,
    "min": 60 * NS_PER_SECOND,
    "h": 3600 * NS_PER_SECOND,
    "d": 86400 * NS_PER_SECOND,
    "w": 7 * 86400 * NS_PER_SECOND,
}


def duration_ns(value: timedelta | int | float | str) -> int:
    """A duration as ``timedelta``, seconds (int/float) or text ("30d", "500ms") -> ns."""
    if isinstance(value, timedelta):
        return value // timedelta(microseconds=1) * 1000
    if isinstance(value, bool):
        raise InvalidArgumentError(f"a duration cannot be a bool ({value!r})")
    if isinstance(value, (int, float)):
        return round(value * NS_PER_SECOND)
    if isinstance(value, str):
        m = _DURATION.match(value)
        if m:
            return round(float(m.group(1)) * _UNITS[m.group(2)])
    raise InvalidArgumentError(f"cannot read {value!r} as a duration (e.g. 30d, 1h, 2.5s, 500ms)")
