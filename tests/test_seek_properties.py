"""Property tests: for random timelines (GOP sizes, B-frame reordering, gaps
inside and between writer sessions, segment rolls), `read`, `seek` and
`gaps` agree with a small reference model of the documented semantics."""

from __future__ import annotations

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

import vidvault

from helpers import T0

MS = 1_000_000
TOLERANCE = 2_000 * MS  # the store's gap threshold (default 2 s)


@st.composite
def timelines(draw):
    """A list of writer sessions; each a list of runs separated by long gaps.
    Returns frames in decode order as (ts, keyframe, duration_ns)."""
    frames = []
    t = T0
    interval = draw(st.sampled_from([20, 40, 100])) * MS
    for _ in range(draw(st.integers(1, 3))):  # sessions
        session = []
        for _ in range(draw(st.integers(1, 3))):  # runs inside a session
            gops = draw(st.integers(1, 6))
            for _ in range(gops):
                n = draw(st.integers(1, 12))
                bframes = draw(st.sampled_from([0, 0, 2]))
                pts_order = list(range(n))
                decode = _decode_order(pts_order, bframes)
                for k in decode:
                    session.append((t + k * interval, k == 0, interval))
                t += n * interval
            t += draw(st.integers(5_000, 30_000)) * MS  # a long gap
        frames.append(session)
    return frames


def _decode_order(pts: list[int], bframes: int) -> list[int]:
    """Reorders presentation indices like an encoder with `bframes` B-frames
    between references (closed GOP: index 0 stays first)."""
    if bframes == 0 or len(pts) < 3:
        return pts
    out, i = [0], 1
    while i < len(pts):
        ref = min(i + bframes, len(pts) - 1)
        out.append(ref)
        out.extend(range(i, ref))
        i = ref + 1
    return out


def _write(path, key, sessions):
    store = vidvault.Store.create(path, key=key, roll_after=0.5)
    store.add_camera("cam")
    flat = []
    for session in sessions:
        with store.writer("cam", codec="h264", time_base=(1, 1_000_000_000)) as w:
            for ts, kf, dur in session:
                data = len(flat).to_bytes(4, "little")
                w.append(ts, data, keyframe=kf, duration=dur)
                flat.append((ts, kf, dur, data))
    return store, flat


def _covered_runs(flat):
    """[start, end) of each stretch without a gap > tolerance."""
    runs = []
    for ts, _, dur, _ in sorted(flat):
        if runs and ts - runs[-1][1] <= TOLERANCE:
            runs[-1][1] = max(runs[-1][1], ts + dur)
        else:
            runs.append([ts, ts + dur])
    return runs


def _expected_start(flat, runs, t):
    keys = [(ts, i) for i, (ts, kf, _, _) in enumerate(flat) if kf]
    covered = any(s <= t < e + TOLERANCE for s, e in runs)
    if covered:
        before = [i for ts, i in keys if ts <= t]
        if before:
            return before[-1]
    after = [i for ts, i in keys if ts > t]
    return after[0] if after else None


def _expected_read(flat, runs, start, end):
    if start >= end:
        return []  # [start, end) holds no instant
    s = _expected_start(flat, runs, start)
    if s is None or flat[s][0] >= end:
        return []
    last = max((i for i in range(s, len(flat)) if flat[i][0] < end), default=None)
    return [d for _, _, _, d in flat[s : last + 1]] if last is not None else []


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(sessions=timelines(), data=st.data())
def test_read_seek_and_gaps_match_the_model(tmp_path_factory, sessions, data):
    key = vidvault.generate_key()
    store, flat = _write(tmp_path_factory.mktemp("p") / "s", key, sessions)
    try:
        runs = _covered_runs(flat)
        lo, hi = flat[0][0] - 5_000 * MS, max(ts for ts, *_ in flat) + 10_000 * MS
        for _ in range(8):
            a = data.draw(st.integers(lo, hi), label="start")
            b = data.draw(st.integers(a, hi), label="end")
            got = [f.data for f in store.read("cam", a, b)]
            assert got == _expected_read(flat, runs, a, b)
            s = _expected_start(flat, runs, a)
            kf = store.seek("cam", a)
            assert (kf.data if kf else None) == (flat[s][3] if s is not None else None)
            gaps = store.gaps("cam", a, b)
            # Model gaps: the complement of the runs inside [a, b), >= tolerance.
            want, cursor = [], a
            for rs, re in runs:
                if re <= cursor or rs >= b:
                    continue
                if rs > cursor and rs - cursor >= TOLERANCE:
                    want.append((cursor, rs))
                cursor = max(cursor, re)
            if cursor < b and b - cursor >= TOLERANCE:
                want.append((cursor, b))
            assert [(g.start, g.end) for g in gaps] == want
        # Reads of everything return everything, in decode order.
        assert [f.data for f in store.read("cam", lo, hi)] == [d for *_, d in flat]
    finally:
        store.close()


def test_decode_order_helper():
    assert _decode_order([0, 1, 2, 3, 4, 5, 6], 2) == [0, 3, 1, 2, 6, 4, 5]
    assert sorted(_decode_order(list(range(11)), 2)) == list(range(11))
