"""The bit-exact MP4 of a range (``view.mp4?raw=1``): the export's remux
(:func:`vidvault.media.remux.to_bytes`: samples untouched, checked against
the stored frames, ``moov`` first), held in memory only, never written to
disk, and served with ``Content-Length``, an ``ETag`` and byte ranges
(``Range`` -> 206 with ``Content-Range``), so a player seeks in it.

A clip is built once and kept in a small cache for the byte-range requests
that follow (each request is still checked and logged by the session first).
Memory is bounded: one clip at most :data:`MAX_CLIP_BYTES`, the cache at
most :data:`CACHE_BYTES`.
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterable

from fastapi import Request, Response

from ..media import remux
from ..timeutil import iso
from .errors import ApiError

MAX_CLIP_BYTES = 512 << 20
CACHE_BYTES = 1 << 30


@dataclass(frozen=True)
class RawClip:
    data: bytes
    etag: str


def build(store: Any, camera: str, start: int, end: int, frames: Iterable[Any]) -> RawClip:
    """The clip of ``frames`` (what the session's ``read`` handed out)."""
    held, size = [], 0
    for f in frames:
        held.append(f)
        size += len(f)
        if size > MAX_CLIP_BYTES:
            raise ApiError(413, "range_too_large",
                           f"the footage from {iso(start)} to {iso(end)} is more than {MAX_CLIP_BYTES >> 20} MiB; "
                           "ask for a shorter range")
    if not any(start <= f.ts < end for f in held):
        raise ApiError(404, "no_footage", f"camera {camera!r} has no footage between {iso(start)} and {iso(end)}")
    config = remux.one_config(store, camera, held)
    samples = remux.plan(held, time_base=Fraction(*config.time_base), start=start, end=end,
                         annexb=remux.annexb_footage(config, held))
    data, _ = remux.to_bytes(samples, config)
    return RawClip(data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


class ClipCache:
    """Recently built clips by (grant, camera, start, end), least recent out first."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._clips: OrderedDict[tuple[Any, ...], RawClip] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> RawClip | None:
        with self._lock:
            clip = self._clips.get(key)
            if clip is not None:
                self._clips.move_to_end(key)
            return clip

    def put(self, key: tuple[Any, ...], clip: RawClip) -> None:
        with self._lock:
            self._clips[key] = clip
            while sum(len(c.data) for c in self._clips.values()) > self.max_bytes and len(self._clips) > 1:
                self._clips.popitem(last=False)


_RANGE = re.compile(r"bytes=(\d*)-(\d*)")


def byte_range(header: str | None, size: int) -> tuple[int, int] | None:
    """``[first, last]`` of a single ``Range: bytes=`` header; None for the
    whole file (no header, or a form this server does not serve: several
    ranges); 416 when it lies outside the file."""
    if header is None:
        return None
    m = _RANGE.fullmatch(header.strip())
    if m is None:
        return None
    first, last = m.groups()
    if first == "" and last == "":
        return None
    if first == "":  # the last N bytes
        n = int(last)
        if n == 0:
            raise _unsatisfiable(header, size)
        return max(0, size - n), size - 1
    a = int(first)
    b = size - 1 if last == "" else min(int(last), size - 1)
    if a >= size or b < a:
        raise _unsatisfiable(header, size)
    return a, b


def _unsatisfiable(header: str, size: int) -> ApiError:
    return ApiError(416, "range_not_satisfiable", f"{header} lies outside the clip ({size} bytes)",
                    headers={"Content-Range": f"bytes */{size}"}, size=size)


def response(request: Request, clip: RawClip) -> Response:
    size = len(clip.data)
    headers = {"Accept-Ranges": "bytes", "ETag": clip.etag, "Cache-Control": "private, no-store"}
    if_range = request.headers.get("if-range")
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is None or (if_range is not None and if_range != clip.etag):
        return Response(clip.data, status_code=200, media_type="video/mp4",
                        headers={**headers, "Content-Length": str(size)})
    a, b = wanted
    return Response(clip.data[a : b + 1], status_code=206, media_type="video/mp4",
                    headers={**headers, "Content-Range": f"bytes {a}-{b}/{size}", "Content-Length": str(b - a + 1)})
