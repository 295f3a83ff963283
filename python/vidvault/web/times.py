"""Instants in query strings: ISO-8601 with a zone, or integer nanoseconds
since the Unix epoch (UTC)."""

from __future__ import annotations

import re

from ..errors import InvalidArgumentError
from ..timeutil import to_ns
from .errors import ApiError

#: How the API describes an instant parameter.
TIME_HELP = "ISO-8601 with a zone, or ns since the epoch"
_INTEGER = re.compile(r"-?[0-9]{1,19}")
#: Longest range one request may name (a week): bounds the work of a timeline.
MAX_RANGE_NS = 7 * 24 * 3600 * 10**9


def instant(value: str, name: str) -> int:
    try:
        if _INTEGER.fullmatch(value):
            ns = int(value)
            if not -(2**63) <= ns < 2**63:
                raise InvalidArgumentError("out of range")
            return ns
        return to_ns(value)
    except (InvalidArgumentError, ValueError, OverflowError) as e:
        raise ApiError(400, "invalid_argument",
                       f"{name}={value!r} is not an instant: give ISO-8601 with a zone "
                       f"(2026-11-21T08:00:00+08:00) or nanoseconds since the epoch ({e})") from e


def time_range(start: str, end: str, *, longest: int = MAX_RANGE_NS) -> tuple[int, int]:
    s, e = instant(start, "start"), instant(end, "end")
    if e <= s:
        raise ApiError(400, "invalid_argument", f"end ({end}) must be after start ({start})")
    if e - s > longest:
        raise ApiError(400, "invalid_argument",
                       f"the range is longer than {longest // 10**9} s; ask for a shorter one")
    return s, e
