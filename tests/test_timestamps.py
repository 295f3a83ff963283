"""Every time argument is read by one rule, the extension module's `to_ns`.

It replaced a Python implementation; that implementation is kept here as the
reference, and the core's parser must agree with it on ints, integer strings,
aware datetimes (any offset, microseconds, before the epoch) and ISO-8601 text,
and raise the same error class with the same message where it refuses.
"""

from __future__ import annotations

import re
from datetime import datetime, timedelta, timezone

import pytest
from hypothesis import example, given, settings
from hypothesis import strategies as st

import vidvault
from vidvault import _core
from vidvault.errors import InvalidArgumentError

EPOCH = datetime(1970, 1, 1, tzinfo=timezone.utc)
INT64 = (-(2**63), 2**63 - 1)


def reference_to_ns(value):
    """vidvault.timeutil.to_ns as it was written in Python."""
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


def outcome(fn, value):
    try:
        return ("ok", fn(value))
    except InvalidArgumentError as e:
        return ("invalid", str(e))


def assert_same(value):
    want = outcome(reference_to_ns, value)
    if want[0] == "ok" and not INT64[0] <= want[1] <= INT64[1]:
        # The reference returned a Python int no store call could take; the
        # core refuses it up front.
        with pytest.raises(InvalidArgumentError, match="outside the range"):
            _core.to_ns(value)
        return
    assert outcome(_core.to_ns, value) == want, repr(value)


# Offsets a camera may carry: whole hours, +05:45 (Nepal), +05:30, -09:30,
# down to seconds and microseconds (datetime allows any offset under a day).
offsets = st.one_of(
    st.sampled_from([0, 5 * 60 + 45, 5 * 60 + 30, -(9 * 60 + 30), 14 * 60, -12 * 60]).map(
        lambda m: timezone(timedelta(minutes=m))
    ),
    st.timedeltas(min_value=timedelta(hours=-23, minutes=-59), max_value=timedelta(hours=23, minutes=59)).map(
        timezone
    ),
)
instants = st.datetimes(
    min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31), timezones=offsets
)


def as_text(dt: datetime, sep: str, spec: str, zulu: bool) -> str:
    text = dt.isoformat(sep=sep, timespec=spec)
    if zulu and dt.utcoffset() == timedelta(0):
        text = text.removesuffix("+00:00") + "Z"
    return text


@settings(max_examples=400, deadline=None)
@given(instants)
@example(datetime(1969, 12, 31, 23, 59, 59, 999_999, tzinfo=timezone.utc))
@example(datetime(2026, 11, 21, 8, 0, tzinfo=timezone(timedelta(hours=5, minutes=45))))
def test_aware_datetimes(dt):
    assert_same(dt)


@settings(max_examples=400, deadline=None)
@given(
    instants,
    st.sampled_from(["T", " "]),
    st.sampled_from(["auto", "hours", "minutes", "seconds", "milliseconds", "microseconds"]),
    st.booleans(),
    st.sampled_from(["", " ", "\t", "\n "]),
)
def test_iso_strings(dt, sep, spec, zulu, pad):
    assert_same(pad + as_text(dt, sep, spec, zulu) + pad)


@settings(max_examples=400, deadline=None)
@given(st.one_of(st.integers(), st.integers(*INT64), st.integers(-(10**6), 10**6)))
@example(1)  # a sub-microsecond instant stays exact
@example(-1)
@example(2**63)
def test_integers_and_integer_strings(n):
    assert_same(n)
    assert_same(str(n))
    assert_same(f"  {n}\n")


@settings(max_examples=300, deadline=None)
@given(st.text(max_size=40))
@example("")
@example("--5")
@example("+5")
@example("1_000")
@example("٣٤")  # Arabic-Indic digits are decimal digits to Python
@example("2026-11-21T08:00:00")  # no zone
@example("2026-11-21T08:00:00z")
@example("2026-11-21")
@example("20261121T080000+0545")
def test_any_text(text):
    assert_same(text)


@settings(max_examples=200, deadline=None)
@given(st.datetimes(min_value=datetime(1678, 1, 1), max_value=datetime(2261, 12, 31)))
def test_naive_datetimes_are_refused_alike(dt):
    assert_same(dt)


@pytest.mark.parametrize("value", [True, False, 1.5, None, b"123", [1], timedelta(1)])
def test_other_types_are_refused_alike(value):
    assert_same(value)


def test_timeutil_to_ns_is_the_core_rule():
    assert vidvault.timeutil.to_ns is _core.to_ns
    assert vidvault.to_ns is _core.to_ns


def test_time_arguments_use_the_rule(store):
    """The writer takes any instant the rule reads; bools are refused there too."""
    store.add_camera("cam")
    t = datetime(2026, 11, 21, 8, 0, tzinfo=timezone(timedelta(hours=5, minutes=45)))
    with store.writer("cam", codec="h264") as w:
        w.append(t, b"k", keyframe=True)
        w.append("2026-11-21T02:15:00.000001Z", b"p")
        w.append(str(_core.to_ns(t) + 2_000), b"p")
        with pytest.raises(InvalidArgumentError, match="bool"):
            w.append(True, b"p")
        with pytest.raises(InvalidArgumentError, match="no timezone"):
            w.append(datetime(2026, 11, 21, 9), b"p")
    frames = list(store.read("cam", 0, 2**62))
    base = _core.to_ns(t)
    assert [f.ts for f in frames] == [base, base + 1_000, base + 2_000]


def test_ticks_to_ns_is_exactly_the_fraction_arithmetic_it_replaces():
    """Ingest converts every packet's pts with integer arithmetic; the store
    times must stay those of ``int(ticks * time_base * 1e9)`` (truncation
    toward zero, negative ticks included: MPEG-TS pts before the anchor)."""
    import random
    from fractions import Fraction

    from vidvault.timeutil import NS_PER_SECOND, ticks_to_ns

    rng = random.Random(15)
    for tb in (Fraction(1, 90000), Fraction(1, 1000), Fraction(1001, 30000), Fraction(1, 10**9), Fraction(3, 7)):
        for ticks in [0, 1, -1, 2**33, -(2**33)] + [rng.randint(-10**13, 10**13) for _ in range(2000)]:
            assert ticks_to_ns(ticks, tb) == int(ticks * tb * NS_PER_SECOND), (ticks, tb)
