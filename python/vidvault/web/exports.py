"""The evidence workflow over HTTP (:mod:`.export_requests`):

    POST /api/exports                     request an export (pending)
    GET  /api/exports                     the caller's requests and those awaiting the caller's decision
    GET  /api/exports/{id}                one of them, with the build's progress
    POST /api/exports/{id}/decision       approve or reject (the approver the grant names; never the requester)
    GET  /api/exports/{id}/package.zip    the package, once built

Requests and decisions are kept in the store and outlive the server (:mod:`.request_file`).
"""

from __future__ import annotations

from typing import Literal

from fastapi import APIRouter, Depends, Request, Response
from pydantic import BaseModel, Field

from .auth import Caller, caller
from .times import TIME_HELP, time_range

router = APIRouter(prefix="/api")



class ExportIn(BaseModel):
    camera: str = Field(min_length=1)
    start: str = Field(description=TIME_HELP)
    end: str = Field(description=TIME_HELP)
    case: str = Field(min_length=1, max_length=200)
    reason: str = Field(min_length=1, max_length=2000)
    kind: Literal["redacted", "raw"] = "redacted"
    watermark: str | None = Field(None, min_length=1, max_length=200,
                                  description="text burned into the copy (e.g. COPY - District 3 court)")


class DecisionIn(BaseModel):
    approve: bool
    note: str = Field("", max_length=2000)


class ExportOut(BaseModel):
    id: str
    camera: str
    start: int
    end: int
    raw: bool
    case: str
    reason: str
    watermark: str | None
    requester: str
    approver: str
    created: int
    state: Literal["pending", "rejected", "building", "ready", "failed"]
    decided_by: str | None
    decision_note: str
    progress: float | None
    error: str | None
    downloads: int
    size: int | None
    waiting: str | None = Field(description="why an approved request is not being built yet (after a restart of "
                                            "the server, until the requester is next signed in)")


def _requests(request: Request):  # noqa: ANN202 - the app's ExportRequests
    return request.app.state.exports


@router.post("/exports", response_model=ExportOut, status_code=201, summary="Request an export (pending approval)")
def create(request: Request, body: ExportIn, who: Caller = Depends(caller)) -> ExportOut:
    s, e = time_range(body.start, body.end)
    req = _requests(request).create(who, camera=body.camera, start=s, end=e, raw=body.kind == "raw",
                                    case=body.case, reason=body.reason, watermark=body.watermark)
    return ExportOut(**req.public())


@router.get("/exports", response_model=list[ExportOut], summary="Export requests the caller made or decides")
def listing(request: Request, who: Caller = Depends(caller)) -> list[ExportOut]:
    request.app.state.store.audit_record(who.principal, "export_list", outcome="allowed",
                                         details={"call": "GET /api/exports"})
    return [ExportOut(**r.public()) for r in _requests(request).mine(who)]


@router.get("/exports/{request_id}", response_model=ExportOut, summary="One export request and its progress")
def one(request: Request, request_id: str, who: Caller = Depends(caller)) -> ExportOut:
    request.app.state.store.audit_record(who.principal, "export_list", outcome="allowed",
                                         details={"call": "GET /api/exports/{id}", "request": request_id})
    return ExportOut(**_requests(request).get(who, request_id).public())


@router.post("/exports/{request_id}/decision", response_model=ExportOut,
             summary="Approve or reject (only the approver the requester's grant names)")
def decide(request: Request, request_id: str, body: DecisionIn, who: Caller = Depends(caller)) -> ExportOut:
    req = _requests(request).decide(who, request_id, approve=body.approve, note=body.note)
    return ExportOut(**req.public())


@router.get("/exports/{request_id}/package.zip", response_class=Response,
            responses={200: {"content": {"application/zip": {}}}}, summary="The built package, one zip")
def download(request: Request, request_id: str, who: Caller = Depends(caller)) -> Response:
    req = _requests(request).download(who, request_id)
    assert req.package is not None
    return Response(req.package, media_type="application/zip", headers={
        "Content-Disposition": f'attachment; filename="export-{req.id}.zip"', "Cache-Control": "private, no-store"})
