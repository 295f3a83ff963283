"""GET /api/cameras/{id}/view.mp4 and POST /api/media-urls: footage to watch.

Desensitized by default: the session's ``play`` (faces, plates and heads
hidden by the redacting player, which fails closed), re-encoded to H.264
and streamed as fragmented MP4 while it is produced; a missing model
answers 503 before any footage is read, never raw pictures. ``raw=1``
(``view_raw``): the bit-exact remux, with byte ranges.

A request authenticates with its bearer token, or with a signed media URL
(:mod:`.media_urls`) minted by POST /api/media-urls for a ``<video>``.
"""

from __future__ import annotations

import itertools
from typing import Callable, Iterator

from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.responses import StreamingResponse
from pydantic import BaseModel, Field

from ..media.encode import fragmented_mp4
from ..redact.player import PlayedFrame, only_redacted
from ..timeutil import iso
from . import raw_clip
from .auth import Caller, bearer_token, caller, caller_with_token
from .errors import ApiError
from .media_urls import MediaRequest
from .times import TIME_HELP, time_range

router = APIRouter(prefix="/api")

NO_STORE = {"Cache-Control": "private, no-store", "X-Content-Type-Options": "nosniff"}
#: Longest range one view request plays (longer: the page asks piece by piece).
MAX_VIEW_NS = 3600 * 10**9


def _viewer(request: Request, media: MediaRequest, principal: str | None, expires: str | None,
            ticket: str | None, sig: str | None) -> Caller:
    """The bearer token's caller, else the signed URL's."""
    token = bearer_token(request)
    if token is not None or sig is None:
        return caller_with_token(request, token)
    if principal is None or expires is None or ticket is None:
        raise ApiError(401, "bad_media_link", "the media link lacks principal, expires or ticket: mint a new link")
    return caller_with_token(request, request.app.state.media_urls.redeem(media, principal, expires, ticket, sig))


@router.get("/cameras/{camera}/view.mp4", summary="The footage of [start, end) as MP4",
            response_class=Response,
            responses={200: {"content": {"video/mp4": {}}}, 206: {"content": {"video/mp4": {}}}})
def view(request: Request, camera: str, start: str = Query(description=TIME_HELP),
         end: str = Query(description=TIME_HELP),
         raw: bool = Query(False, description="the bit-exact footage (needs view_raw)"),
         principal: str | None = Query(None, description="signed media URL: its principal"),
         expires: str | None = Query(None, description="signed media URL: expiry, s since the epoch"),
         ticket: str | None = Query(None, description="signed media URL: its ticket"),
         sig: str | None = Query(None, description="signed media URL: its signature")) -> Response:
    s, e = time_range(start, end, longest=MAX_VIEW_NS)
    who = _viewer(request, MediaRequest(camera, s, e, raw), principal, expires, ticket, sig)
    if raw:
        footage = who.session.raw_footage(camera, s, e)  # checked (view_raw) and logged: one entry
        key = (who.grant["id"], camera, s, e)
        clip = request.app.state.raw_clips.get(key)
        if clip is None:
            clip = raw_clip.build(footage, camera, s, e, footage.frame_infos(camera, s, e))
            request.app.state.raw_clips.put(key, clip)
        return raw_clip.response(request, clip, footage)
    return desensitized_stream(who.session.play(camera, s, e), camera, s, e, where="the stream")


def desensitized_stream(played: Iterator[PlayedFrame], camera: str, start: int, end: int, *, where: str,
                        then: Callable[[Iterator[bytes]], Iterator[bytes]] = iter) -> StreamingResponse:
    """``played`` (a session's redacted pictures of camera's ``[start, end)``) as a fragmented MP4 streamed
    while it is encoded, every picture through the "was it redacted" guard; ``then`` wraps the bytes."""
    checked = only_redacted(played, f"{where} of camera {camera!r}")
    first = next(checked, None)  # the models are loaded and the first picture checked before answering
    if first is None:
        raise ApiError(404, "no_footage", f"camera {camera!r} has no footage between {iso(start)} and {iso(end)}")
    return StreamingResponse(then(fragmented_mp4(itertools.chain([first], checked))), media_type="video/mp4",
                             headers=NO_STORE)


class MediaUrlIn(BaseModel):
    camera: str = Field(min_length=1)
    start: str = Field(description=TIME_HELP)
    end: str = Field(description=TIME_HELP)
    raw: bool = False


class MediaUrlOut(BaseModel):
    url: str
    expires: int = Field(description="s since the epoch")


@router.post("/media-urls", response_model=MediaUrlOut, summary="A short-lived URL for a <video> element")
def mint(request: Request, body: MediaUrlIn, who: Caller = Depends(caller)) -> MediaUrlOut:
    s, e = time_range(body.start, body.end, longest=MAX_VIEW_NS)
    # The right the URL will need, checked (and logged) now: no link is minted for what would be refused.
    who.session.authorize("view_raw" if body.raw else "view_redacted", body.camera, s, e)
    url, expires = request.app.state.media_urls.mint(MediaRequest(body.camera, s, e, body.raw), who.principal,
                                                      who.token)
    return MediaUrlOut(url=url, expires=expires)


