"""The bit-exact MP4 of a range (``view.mp4?raw=1``): the export's remux
(samples untouched, ``moov`` first), served with ``Content-Length``, an
``ETag`` and byte ranges (``Range`` -> 206 with ``Content-Range``), so a
player seeks in it.

Length-prefixed footage is a virtual file (:mod:`vidvault.media.virtual_mp4`):
its layout comes from the frames' metadata without decrypting any payload,
and a request decrypts only the frames its byte range covers, streamed as
they are read: the first byte of an hour leaves at once and memory does not
grow with the range. Annex B footage (whose MP4 sample sizes only its bytes
tell) is remuxed in memory as before, at most :data:`MAX_CLIP_BYTES`. Never
written to disk either way.

A clip's layout is kept in a small cache for the byte-range requests that
follow (each request is still checked and logged by the session first).
"""

from __future__ import annotations

import hashlib
import re
import threading
from collections import OrderedDict
from dataclasses import dataclass
from fractions import Fraction
from typing import Any, Iterator, Sequence

from fastapi import Request, Response
from fastapi.responses import StreamingResponse

from ..media import remux, virtual_mp4
from ..timeutil import iso
from .errors import ApiError

MAX_CLIP_BYTES = 512 << 20
CACHE_BYTES = 1 << 30
#: What the cache counts per sample of a virtual clip (its info, offset and size).
BYTES_PER_LISTED_SAMPLE = 200


@dataclass(frozen=True)
class RawClip:
    """A clip held whole in memory."""

    data: bytes
    etag: str

    @property
    def size(self) -> int:
        return len(self.data)

    @property
    def held_bytes(self) -> int:
        return len(self.data)

    def read(self, first: int, last: int, footage: Any) -> Iterator[bytes]:
        yield self.data[first : last + 1]


@dataclass(frozen=True)
class VirtualClip:
    """A clip laid out from metadata; its samples are decrypted per request."""

    mp4: virtual_mp4.VirtualMp4
    etag: str

    @property
    def size(self) -> int:
        return self.mp4.size

    @property
    def held_bytes(self) -> int:
        return len(self.mp4.head) + BYTES_PER_LISTED_SAMPLE * len(self.mp4.infos)

    def read(self, first: int, last: int, footage: Any) -> Iterator[bytes]:
        return self.mp4.read(first, last, footage.read_frame)


Clip = RawClip | VirtualClip


def build(footage: Any, camera: str, start: int, end: int, infos: Sequence[Any]) -> Clip:
    """The clip of ``infos`` (what the session's ``raw_footage`` listed),
    read through ``footage`` (the session's window on the store)."""
    if not any(start <= f.ts < end for f in infos):
        raise ApiError(404, "no_footage", f"camera {camera!r} has no footage between {iso(start)} and {iso(end)}")
    try:
        mp4 = virtual_mp4.layout(footage, camera, infos, start=start, end=end)
    except virtual_mp4.NotLayable:
        return _in_memory(footage, camera, start, end, infos)
    identity = hashlib.sha256(mp4.head)
    for f in mp4.infos:
        identity.update(b"%d:%d;" % (f.segment, f.seq))
    return VirtualClip(mp4, '"' + identity.hexdigest()[:32] + '"')


def _in_memory(footage: Any, camera: str, start: int, end: int, infos: Sequence[Any]) -> RawClip:
    if sum(f.size for f in infos) > MAX_CLIP_BYTES:
        raise ApiError(413, "range_too_large",
                       f"the footage from {iso(start)} to {iso(end)} is more than {MAX_CLIP_BYTES >> 20} MiB "
                       "of Annex B access units, which are remuxed in memory; ask for a shorter range")
    held = [footage.read_frame(f) for f in infos]
    config = remux.one_config(footage, camera, held)
    samples = remux.plan(held, time_base=Fraction(*config.time_base), start=start, end=end,
                         annexb=remux.annexb_footage(config, held))
    data, _ = remux.to_bytes(samples, config)
    return RawClip(data, '"' + hashlib.sha256(data).hexdigest()[:32] + '"')


class ClipCache:
    """Recently built clips by (grant, camera, start, end), least recent out first."""

    def __init__(self, max_bytes: int = CACHE_BYTES) -> None:
        self.max_bytes = max_bytes
        self._clips: OrderedDict[tuple[Any, ...], Clip] = OrderedDict()
        self._lock = threading.Lock()

    def get(self, key: tuple[Any, ...]) -> Clip | None:
        with self._lock:
            clip = self._clips.get(key)
            if clip is not None:
                self._clips.move_to_end(key)
            return clip

    def put(self, key: tuple[Any, ...], clip: Clip) -> None:
        with self._lock:
            self._clips[key] = clip
            while sum(c.held_bytes for c in self._clips.values()) > self.max_bytes and len(self._clips) > 1:
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


def response(request: Request, clip: Clip, footage: Any) -> Response:
    """The whole clip (200) or the one byte range asked for (206), streamed:
    the samples of a virtual clip are decrypted as the body is sent."""
    size = clip.size
    headers = {"Accept-Ranges": "bytes", "ETag": clip.etag, "Cache-Control": "private, no-store"}
    if_range = request.headers.get("if-range")
    wanted = byte_range(request.headers.get("range"), size)
    if wanted is None or (if_range is not None and if_range != clip.etag):
        return StreamingResponse(clip.read(0, size - 1, footage), status_code=200, media_type="video/mp4",
                                 headers={**headers, "Content-Length": str(size)})
    a, b = wanted
    return StreamingResponse(clip.read(a, b, footage), status_code=206, media_type="video/mp4",
                             headers={**headers, "Content-Range": f"bytes {a}-{b}/{size}",
                                      "Content-Length": str(b - a + 1)})
