"""The desensitized view's stream (vidvault.media.encode.fragmented_mp4):
its first fragment leaves after a few pictures, not after a second of them,
and every fragment starts with a keyframe a player can start from."""

from __future__ import annotations

import io
from dataclasses import dataclass

import av
import numpy as np

from vidvault.media.encode import FIRST_FRAGMENT_PICTURES, fragmented_mp4

from helpers import NS, T0


@dataclass(frozen=True)
class Picture:
    ts: int
    image: np.ndarray


def test_the_first_fragment_leaves_after_a_few_pictures_and_each_fragment_decodes():
    given = 0
    ramp = np.add.outer(np.arange(240), np.arange(320)).astype(np.uint8)

    def pictures():
        nonlocal given
        for i in range(60):
            given += 1
            # A slowly moving ramp: no scene cut makes libx264 add keyframes of its own.
            yield Picture(T0 + i * NS // 25, np.repeat((ramp + i)[:, :, None], 3, axis=2))

    chunks, given_at_first_moof = [], None
    for chunk in fragmented_mp4(pictures()):
        if given_at_first_moof is None and b"moof" in chunk:
            given_at_first_moof = given
        chunks.append(chunk)
    # The fragment is written when the next one's keyframe is encoded: one picture later.
    assert given_at_first_moof == FIRST_FRAGMENT_PICTURES + 1, given_at_first_moof
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        packets = [p for p in container.demux(video=0) if p.size]
        assert len(packets) == 60
        keys = [i for i, p in enumerate(packets) if p.is_keyframe]
        assert keys[:3] == [0, FIRST_FRAGMENT_PICTURES, FIRST_FRAGMENT_PICTURES + 25]
    with av.open(io.BytesIO(b"".join(chunks))) as container:
        assert sum(1 for _ in container.decode(video=0)) == 60
