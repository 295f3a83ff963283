"""The segmented form of a long range: ``GET /api/cameras/{id}/parts`` lists
the parts of ``[start, end)`` (up to a day; :mod:`.part_plan`: whole GOPs, a
few seconds each, with their wall-clock times, and the gaps between them,
which are the store's, as the timeline shows them), and
``GET /api/cameras/{id}/part.mp4`` serves one part as a fragmented MP4 that
starts decoding on its own (its own ``moov``), so a browser feeds a
MediaSource with the parts around the instant it seeks to and never
downloads what lies between.

Raw parts (``view_raw``) are bit-exact remuxes of the stored access units;
desensitized parts are re-encoded from the part's first keyframe through
the redacting player (fail closed: a missing model answers 503, never raw
pictures).

One audit entry per listing: the listing is checked and logged by the
session for its whole range (a :class:`vidvault.viewing.Viewing`), and
answers with a signed query (:mod:`.media_urls`, form ``parts``) that part
requests carry. A part request is refused unless its signature matches the
listing's camera, range, raw flag, principal and expiry, its ticket is live,
the grant token behind it still verifies (expired or revoked: 401), and the
part lies inside the listed range; what it reads is also cut to the grant's
window. So a look at an hour leaves one entry however often the viewer
seeks in it, and re-listing (once the link expires) leaves the next.
"""

from __future__ import annotations

from fractions import Fraction
from typing import Any
from urllib.parse import quote, urlencode

from fastapi import APIRouter, Depends, Query, Request, Response
from pydantic import BaseModel, Field

from ..media import remux
from ..timeutil import NS_PER_SECOND, iso
from ..viewing import Viewing
from . import part_plan
from .auth import Caller, caller, refuse
from .errors import ApiError
from .media_urls import MediaRequest
from .times import TIME_HELP, instant, time_range
from .view import NO_STORE, desensitized_stream

router = APIRouter(prefix="/api")

#: Longest range one listing covers: a day.
MAX_LISTING_NS = 86400 * NS_PER_SECOND
#: Longest part a request may name: the listing's parts are a few seconds (whole GOPs), so a longer
#: "part" is an edited link asking the server to build minutes of video in one answer.
MAX_PART_NS = 300 * NS_PER_SECOND
#: The MSE type of re-encoded (desensitized) parts: H.264 High, as libx264 writes it.
DESENSITIZED_MIME = 'video/mp4; codecs="avc1.640028"'


class PartOut(BaseModel):
    start: str = Field(description="ns since the epoch (a string: exact in JavaScript): its first frame, a keyframe")
    end: str = Field(description="ns since the epoch: where the next part or a gap begins, or after its last frame")
    duration: float = Field(description="seconds")
    frames: int


class GapOut(BaseModel):
    start: str
    end: str


class PartsOut(BaseModel):
    camera: str
    start: str = Field(description="ns: where the listed stretch begins (its first keyframe, when before the range)")
    end: str
    raw: bool
    mime: str = Field(description="the type to give MediaSource.addSourceBuffer")
    part_url: str = Field(description="a part's URL is this with &start=PART.start&end=PART.end appended")
    expires: int = Field(description="s since the epoch: list again after it")
    parts: list[PartOut]
    gaps: list[GapOut]


@router.get("/cameras/{camera}/parts", response_model=PartsOut,
            summary="The parts of [start, end) (up to a day) for a Media Source player")
def list_parts(request: Request, camera: str, start: str = Query(description=TIME_HELP),
               end: str = Query(description=TIME_HELP),
               raw: bool = Query(False, description="bit-exact parts (needs view_raw)"),
               who: Caller = Depends(caller)) -> PartsOut:
    s, e = time_range(start, end, longest=MAX_LISTING_NS)
    viewing = who.session.viewing(camera, s, e, raw=raw)  # checked and logged: the one entry of this look
    infos = viewing.frame_infos(viewing.start, e)
    parts, gaps = part_plan.plan(infos, viewing.start, e, viewing.gaps(viewing.start, e))
    if not parts:
        raise ApiError(404, "no_footage", f"camera {camera!r} has no footage between {iso(s)} and {iso(e)}")
    mime = _raw_mime(viewing, infos[0]) if raw else DESENSITIZED_MIME
    req = MediaRequest(camera, viewing.start, e, raw, form="parts")
    query, expires = request.app.state.media_urls.signed_query(req, who.principal, who.token, viewing)
    link = urlencode({f"listing_{k}" if k in ("start", "end") else k: v for k, v in query.items()})
    return PartsOut(
        camera=camera, start=str(viewing.start), end=str(e), raw=raw, mime=mime, expires=expires,
        part_url=f"/api/cameras/{quote(camera, safe='')}/part.mp4?{link}",
        parts=[PartOut(start=str(p.start), end=str(p.end), duration=p.duration_ns / NS_PER_SECOND, frames=p.frames)
               for p in parts],
        gaps=[GapOut(start=str(g.start), end=str(g.end)) for g in gaps])


def _raw_mime(viewing: Viewing, first: Any) -> str:
    config = viewing.raw_footage().segment_config(first.segment)
    avcc = config.extradata
    if config.codec == "h264" and len(avcc) >= 4 and avcc[0] == 1:
        return f'video/mp4; codecs="avc1.{avcc[1]:02x}{avcc[2]:02x}{avcc[3]:02x}"'
    if config.codec == "h264":
        return 'video/mp4; codecs="avc1.640028"'
    return 'video/mp4; codecs="hvc1.1.6.L120.90"'


@router.get("/cameras/{camera}/part.mp4", summary="One part of a listing, as a fragmented MP4",
            response_class=Response, responses={200: {"content": {"video/mp4": {}}}})
def part(request: Request, camera: str,
         start: str = Query(description="the part's start (from the listing)"),
         end: str = Query(description="the part's end (from the listing)"),
         listing_start: str = Query(description="the listing's signed range"),
         listing_end: str = Query(description="the listing's signed range"),
         raw: bool = Query(False), principal: str = Query(), expires: str = Query(),
         ticket: str = Query(), sig: str = Query()) -> Response:
    ls, le = instant(listing_start, "listing_start"), instant(listing_end, "listing_end")
    ps, pe = instant(start, "start"), instant(end, "end")
    held = request.app.state.media_urls.redeem_ticket(MediaRequest(camera, ls, le, raw, form="parts"),
                                                       principal, expires, ticket, sig)
    grant, why = request.app.state.store.verify_grant(held.token)
    if grant is None:  # expired or revoked since the listing
        raise refuse(request, f"the grant token behind this listing is refused: {why}")
    viewing: Viewing | None = held.viewing
    if viewing is None or viewing.camera != camera or viewing.raw != raw:
        raise ApiError(401, "bad_media_link", "this link is not a listing's: list the parts again")
    if not 0 < pe - ps <= MAX_PART_NS:
        raise ApiError(400, "invalid_argument", f"a part lasts at most {MAX_PART_NS // NS_PER_SECOND} s and ends "
                       "after it starts: take its start and end from the listing")
    if not viewing.covers(ps, pe):
        raise ApiError(403, "outside_listing",
                       f"the part {iso(ps)} .. {iso(pe)} lies outside the listed stretch "
                       f"{iso(viewing.start)} .. {iso(viewing.end)}: list that stretch")
    infos = viewing.frame_infos(ps, pe)
    if not infos or not infos[0].keyframe or infos[0].ts != ps:
        raise ApiError(404, "no_part", f"no part of camera {camera!r} begins at {iso(ps)} (a part begins at a "
                       "keyframe the listing names): list the parts again")
    if raw:
        return Response(_raw_part(viewing, infos, ps, pe), media_type="video/mp4", headers=NO_STORE)
    players = request.app.state.players
    player = players.lend()  # models checked when a player is built: missing -> 503
    return desensitized_stream(viewing.play(ps, pe, player=player), camera, ps, pe, where=f"the part at {iso(ps)}",
                               then=lambda chunks: players.returning(player, chunks))


def _raw_part(viewing: Viewing, infos: list[Any], start: int, end: int) -> bytes:
    """The stored access units of the part, untouched, in a fragmented MP4
    whose first picture is presented at 0."""
    footage = viewing.raw_footage()
    frames = [footage.read_frame(i) for i in infos]
    config = remux.one_config(footage, viewing.camera, frames)
    samples = remux.plan(frames, time_base=Fraction(*config.time_base), start=start, end=end,
                         annexb=remux.annexb_footage(config, frames))
    return remux.to_fragmented_bytes(samples, config, where=f"the part of camera {viewing.camera!r} at {iso(start)}")
