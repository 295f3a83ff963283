"""`Store.play`: stored footage -> decoded pictures -> the redacting player.

Decoding starts at the keyframe at or before ``start`` (the store reads from
there); pictures presented before ``start`` or at/after ``end`` are decoded
as references but never reach the player, so they cost no detection and
are never yielded.
"""

from __future__ import annotations

from typing import Any, Iterable, Iterator

from ..media.decode import StoredFootage, decoded_pictures
from .config import Redaction
from .player import PlayedFrame, RedactingPlayer


def play(
    footage: StoredFootage,
    camera: str,
    start: int,
    end: int,
    redaction: Redaction | None,
    *,
    player: RedactingPlayer | None = None,
    frames: Iterable[Any] | None = None,
) -> Iterator[PlayedFrame]:
    """Pictures of ``[start, end)`` (ns) in presentation order; redacted
    unless ``redaction`` is None (raw footage, which the caller asked for).
    ``footage``: the store's core handle (or a :class:`vidvault.Store`);
    ``frames``: already-read stored frames (see
    :func:`vidvault.media.decode.decoded_pictures`).

    Not a generator itself: the detectors are built here, so a missing
    model raises at the call, before any footage is read."""
    pictures = decoded_pictures(footage, camera, start, end, frames)
    if redaction is None:
        return (PlayedFrame(ts, image, (), False) for ts, image in pictures)
    player = player or RedactingPlayer(redaction)
    return player.run(pictures, where=f" of camera {camera!r}")
