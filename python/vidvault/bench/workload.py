"""Simulated cameras: access-unit sizes of a constant-bitrate stream with
large keyframes, small P-frames and jitter, without encoding any video."""

from __future__ import annotations

import os
import random
from dataclasses import dataclass


@dataclass(frozen=True)
class CameraProfile:
    bitrate: int  # bits per second
    fps: int
    gop: int
    #: keyframe size / P-frame size (typical H.264 surveillance: 5-15)
    keyframe_ratio: float = 10.0
    #: +- relative jitter of every frame's size
    jitter: float = 0.3

    @property
    def frame_interval_ns(self) -> int:
        return 1_000_000_000 // self.fps

    def sizes(self, frames: int, seed: int) -> list[int]:
        per_gop = self.bitrate / 8 * self.gop / self.fps
        p = per_gop / (self.keyframe_ratio + self.gop - 1)
        rng = random.Random(seed)
        out = []
        for i in range(frames):
            base = p * (self.keyframe_ratio if i % self.gop == 0 else 1.0)
            out.append(max(64, int(base * rng.uniform(1 - self.jitter, 1 + self.jitter))))
        return out


def payload_pool(max_frame: int) -> memoryview:
    """Random bytes to slice access units from (contents do not matter to
    AES-GCM; slicing a memoryview costs no copy)."""
    return memoryview(os.urandom(max(max_frame * 2, 1 << 20)))


def parse_bitrate(text: str | int) -> int:
    """"4M", "512k", "4000000" -> bits per second."""
    if isinstance(text, int):
        return text
    t = text.strip().lower().rstrip("bps").rstrip("/")
    mult = {"k": 1_000, "m": 1_000_000, "g": 1_000_000_000}.get(t[-1:], 1)
    return int(float(t[:-1] if t[-1:] in "kmg" else t) * mult)
