"""The evidence workflow behind POST /api/exports: a request, a decision by a
second principal, the package built in the background, one zip to download.

A request names a camera, a range, a case, a reason and redacted or raw. The
requester's grant must allow that export now (``export``, or ``export_raw``
for raw), checked and logged by the requester's session. The grant names its
approver (every export grant does, docs/SECURITY.md): only that principal,
signed in with a token of this store, may approve or reject, and never the
requester. On approval the package is built by the requester's session
(``Session.export_clip``: checked and logged again, the manifest names that
entry) into a private temporary directory, zipped into memory and the
directory removed. Every step is an audit entry.

Requests live in this server's memory: a restart forgets pending ones (the
log keeps what happened). At most :data:`MAX_READY_BYTES` of finished zips
are held; the oldest downloaded ones go first.
"""

from __future__ import annotations

import io
import shutil
import tempfile
import threading
import time
import uuid
import zipfile
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ..errors import VidvaultError
from .errors import ApiError

MAX_READY_BYTES = 2 << 30
#: Requests kept (decided and done ones beyond this are forgotten, oldest first).
MAX_REQUESTS = 1000

PENDING, REJECTED, BUILDING, READY, FAILED = "pending", "rejected", "building", "ready", "failed"


@dataclass
class ExportRequest:
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
    state: str = PENDING
    decided_by: str | None = None
    decision_note: str = ""
    progress: float | None = None
    error: str | None = None
    package: bytes | None = field(default=None, repr=False)
    downloads: int = 0
    token: str = field(default="", repr=False)

    def public(self) -> dict[str, Any]:
        """What the API shows of it (never the token or the bytes)."""
        return {k: getattr(self, k) for k in (
            "id", "camera", "start", "end", "raw", "case", "reason", "watermark", "requester", "approver", "created", "state",
            "decided_by", "decision_note", "progress", "error", "downloads")} | {
            "size": None if self.package is None else len(self.package)}


class ExportRequests:
    def __init__(self, store: Any) -> None:
        self._store = store
        self._requests: dict[str, ExportRequest] = {}
        self._lock = threading.Lock()

    # ------------------------------------------------------------ steps

    def create(self, who: Any, *, camera: str, start: int, end: int, raw: bool, case: str, reason: str,
               watermark: str | None = None) -> ExportRequest:
        """A pending request; the requester's grant must allow the export (checked and logged)."""
        who.session.authorize("export_raw" if raw else "export", camera, start, end)
        self._store.camera(camera)  # unknown camera: 404 naming it, before anything waits for approval
        req = ExportRequest(uuid.uuid4().hex[:12], camera, start, end, raw, case, reason, watermark, who.principal,
                            who.grant.get("approver") or "", time.time_ns(), token=who.token)
        with self._lock:
            self._forget_old()
            self._requests[req.id] = req
        return req

    def decide(self, who: Any, request_id: str, *, approve: bool, note: str) -> ExportRequest:
        """Approves (and starts the build) or rejects; only the named approver, never the requester."""
        req = self.get(who, request_id)
        action = "export_approve" if approve else "export_reject"
        problem = None
        if who.principal == req.requester:
            problem = f"{req.requester} requested this export and may not decide it; {req.approver} does"
        elif who.principal != req.approver:
            problem = f"only {req.approver} (the approver the requester's grant names) may decide this request"
        elif req.state != PENDING:
            problem = f"the request was already decided ({req.state} by {req.decided_by})"
        self._audit(who.principal, action, req, "denied" if problem else "done", problem or note)
        if problem:
            raise ApiError(409 if req.state != PENDING and who.principal == req.approver else 403,
                           "not_allowed", problem, right="approver")
        with self._lock:
            req.state, req.decided_by, req.decision_note = (BUILDING if approve else REJECTED), who.principal, note
        if approve:
            threading.Thread(target=self._build, args=(req,), name=f"export-{req.id}", daemon=True).start()
        return req

    def download(self, who: Any, request_id: str) -> ExportRequest:
        req = self.get(who, request_id)
        if req.state != READY or req.package is None:
            self._audit(who.principal, "export_download", req, "denied", f"the package is {req.state}")
            raise ApiError(409, "not_ready", f"the package of request {req.id} is {req.state}, not ready"
                           + (f": {req.error}" if req.error else ""))
        self._audit(who.principal, "export_download", req, "done", f"{len(req.package)} bytes")
        with self._lock:
            req.downloads += 1
        return req

    # ------------------------------------------------------------ reading

    def get(self, who: Any, request_id: str) -> ExportRequest:
        """A request the caller is party to (requester or approver); 404 otherwise."""
        with self._lock:
            req = self._requests.get(request_id)
        if req is None or who.principal not in (req.requester, req.approver):
            raise ApiError(404, "unknown_request", f"no export request {request_id!r} of yours or for you to decide")
        return req

    def mine(self, principal: str) -> list[ExportRequest]:
        with self._lock:
            return [r for r in self._requests.values() if principal in (r.requester, r.approver)]

    # ------------------------------------------------------------ inside

    def _audit(self, principal: str, action: str, req: ExportRequest, outcome: str, reason: str) -> None:
        self._store.audit_record(principal, action, outcome=outcome, camera=req.camera, start=req.start,
                                 end=req.end, reason=reason, case=req.case,
                                 details={"request": req.id, "raw": req.raw, "requester": req.requester})

    def _build(self, req: ExportRequest) -> None:
        session = self._store.session(req.requester, [req.token], purpose=f"export request {req.id}: {req.reason}")
        work = Path(tempfile.mkdtemp(prefix="vidvault-export-"))  # mode 700: this user only
        span = max(req.end - req.start, 1)

        def progress(frame: Any, _count: int) -> None:
            req.progress = min(max((frame.ts - req.start) / span, 0.0), 1.0)

        try:
            req.progress = 0.0
            session.export_clip(req.camera, req.start, req.end, work / "package", raw=req.raw, case=req.case,
                                reason=req.reason, watermark=req.watermark, progress=progress)
            req.package = _zipped(work / "package", f"export-{req.id}")
            req.progress, req.state = 1.0, READY
        except VidvaultError as e:
            req.state, req.error = FAILED, str(e)
        except Exception as e:  # noqa: BLE001 - any failure leaves no package and says why
            req.state, req.error = FAILED, f"{type(e).__name__}: {e}"
        finally:
            shutil.rmtree(work, ignore_errors=True)

    def _forget_old(self) -> None:
        done = [r for r in self._requests.values() if r.state in (REJECTED, FAILED, READY)]
        while len(self._requests) >= MAX_REQUESTS and done:
            del self._requests[done.pop(0).id]
        ready = sorted((r for r in self._requests.values() if r.package is not None), key=lambda r: -r.downloads)
        while sum(len(r.package or b"") for r in ready) > MAX_READY_BYTES and ready:
            gone = ready.pop(0)
            gone.package, gone.state, gone.error = None, FAILED, "dropped from memory after download; request again"


def _zipped(directory: Path, folder: str) -> bytes:
    """The package as one zip, its files in one folder (what `vidvault verify` reads)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(directory.iterdir()):
            z.write(path, f"{folder}/{path.name}")
    return out.getvalue()
