"""Child process for test_crash.py: appends frames as fast as it can (with a
little pacing), calls sync() every few frames and prints the index of the
last frame each sync acknowledged. The parent kills it with SIGKILL."""

from __future__ import annotations

import sys
import time

import vidvault

from helpers import FRAME_NS, T0, payload


def main() -> None:
    path, key_hex, first = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = vidvault.Store.open(path, key=bytes.fromhex(key_hex), roll_after=0.5, sync_interval=0.01)
    w = store.writer("cam", codec="h264", time_base=(1, 90_000))
    i = first
    while True:
        w.append(T0 + i * FRAME_NS, payload(i), keyframe=i % 25 == 0, pts=i * 3600, dts=i * 3600, duration=3600)
        if i % 7 == 0:
            w.sync()
            print(i, flush=True)
        if i % 4 == 0:
            time.sleep(0.001)
        i += 1


if __name__ == "__main__":
    main()
