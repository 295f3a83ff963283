"""Time values at the API boundary.

The store keys everything by ``int`` nanoseconds since the Unix epoch, UTC.
Callers may also pass timezone-aware ``datetime`` objects or ISO-8601 strings
with a zone; naive datetimes are refused because their instant is ambiguous.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone
from fractions import Fraction
from typing import Callable

from . import _core
from .errors import InvalidArgumentError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
NS_PER_SECOND = 1_000_000_000

TimeLike = int | datetime | str


#: An instant (int ns, ISO-8601 string with a zone, aware datetime) -> ns
#: since the epoch, UTC. The rule has one home, the extension module, which
#: applies it to every time argument it takes; this is that same function
#: (see its docstring).
to_ns: Callable[[TimeLike], int] = _core.to_ns


def ticks_to_ns(ticks: int, time_base: Fraction) -> int:
    """``ticks`` of ``time_base`` in ns, truncated toward zero as
    ``int(ticks * time_base * NS_PER_SECOND)`` is, in integer arithmetic:
    it runs for every packet an ingest stores, where building Fractions
    cost more than the rest of the time keeping."""
    scaled = ticks * time_base.numerator * NS_PER_SECOND
    return scaled // time_base.denominator if scaled >= 0 else -(-scaled // time_base.denominator)


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
