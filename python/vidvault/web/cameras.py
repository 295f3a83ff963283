"""GET /api/cameras and GET /api/cameras/{id}/timeline: what exists, for the
camera list and the scrub bar (metadata, no pictures)."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel

from .auth import Caller, caller
from .times import TIME_HELP, time_range

router = APIRouter(prefix="/api")


class CameraOut(BaseModel):
    id: str
    labels: dict[str, str]
    created: int


class Span(BaseModel):
    start: int
    end: int | None


class SegmentOut(Span):
    id: int
    frames: int | None
    state: str


class HoldOut(BaseModel):
    id: int
    start: int
    end: int
    case: str
    until: int | None
    active: bool


class TimelineOut(BaseModel):
    camera: str
    start: int
    end: int
    segments: list[SegmentOut]
    gaps: list[Span]
    holds: list[HoldOut]


@router.get("/cameras", response_model=list[CameraOut], summary="Every camera with its labels")
def cameras(who: Caller = Depends(caller)) -> list[CameraOut]:
    return [CameraOut(id=c.id, labels=dict(c.labels), created=c.created) for c in who.session.cameras()]


@router.get("/cameras/{camera}/timeline", response_model=TimelineOut,
            summary="Segments, gaps and holds of a camera over [start, end)")
def timeline(camera: str, start: str = Query(description=TIME_HELP),
             end: str = Query(description=TIME_HELP),
             who: Caller = Depends(caller)) -> TimelineOut:
    s, e = time_range(start, end)
    t = who.session.timeline(camera, s, e)
    return TimelineOut(
        camera=t.camera, start=t.start, end=t.end,
        segments=[SegmentOut(**asdict(seg)) for seg in t.segments],
        gaps=[Span(start=g.start, end=g.end) for g in t.gaps],
        holds=[HoldOut(**asdict(h)) for h in t.holds],
    )
