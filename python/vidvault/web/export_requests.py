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

Requests and decisions are kept in the store (:mod:`.request_file`), each
step written before it is answered, so a restart keeps pending requests
pending and decided ones decided. Two things live in memory only: the zips
(no plaintext video on disk) and the requester's grant token (no credential
on disk). So an approved request whose package a restart lost (it was being
built, or ready) is built again by the requester's session as soon as the
requester is next signed in (any call of theirs to the export routes; the
page makes one each second), under the grant that token carries; one whose
grant expired meanwhile fails at start, saying why (logged). At most
:data:`MAX_READY_BYTES` of finished zips are held; the oldest downloaded
ones go first.
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
from ..timeutil import iso
from .errors import ApiError
from .request_file import FIELDS, RequestFile

MAX_READY_BYTES = 2 << 30

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
    #: The requester's grant when they asked (its id and end: no token).
    grant_id: str
    grant_valid_until: int
    created: int
    state: str = PENDING
    decided_by: str | None = None
    decision_note: str = ""
    decided: int | None = None
    error: str | None = None
    downloads: int = 0
    # In memory only:
    progress: float | None = None
    package: bytes | None = field(default=None, repr=False)
    token: str = field(default="", repr=False)
    building_now: bool = False

    def stored(self) -> dict[str, Any]:
        """The fields kept in the request file."""
        return {f: getattr(self, f) for f in FIELDS}

    def waiting(self) -> str | None:
        """Why an approved request is not being built (after a restart: no token in memory)."""
        if self.state != BUILDING or self.building_now:
            return None
        return (f"approved; built once {self.requester} is next signed in with a grant that names {self.approver} "
                f"and allows the export (the server restarted since the request, and keeps no credential on disk)")

    def public(self) -> dict[str, Any]:
        """What the API shows of it (never the token or the bytes)."""
        return {k: getattr(self, k) for k in (
            "id", "camera", "start", "end", "raw", "case", "reason", "watermark", "requester", "approver", "created", "state",
            "decided_by", "decision_note", "progress", "error", "downloads")} | {
            "size": None if self.package is None else len(self.package), "waiting": self.waiting()}


class ExportRequests:
    """The requests of one store. Opening it reads the request file (a
    damaged or unknown one is refused: StoreDamagedError naming it) and
    settles what a restart interrupted."""

    def __init__(self, store: Any) -> None:
        self._store = store
        self._file = RequestFile(store.path, store.store_id)
        self._lock = threading.Lock()
        self._requests = {row["id"]: ExportRequest(**row) for row in self._file.rows()}
        self._after_restart()

    def close(self) -> None:
        with self._lock:
            self._file.close()

    # ------------------------------------------------------------ steps

    def create(self, who: Any, *, camera: str, start: int, end: int, raw: bool, case: str, reason: str,
               watermark: str | None = None) -> ExportRequest:
        """A pending request; the requester's grant must allow the export (checked and logged)."""
        who.session.authorize("export_raw" if raw else "export", camera, start, end)
        self._store.camera(camera)  # unknown camera: 404 naming it, before anything waits for approval
        req = ExportRequest(uuid.uuid4().hex[:12], camera, start, end, raw, case, reason, watermark, who.principal,
                            who.grant.get("approver") or "", who.grant["id"], who.grant["valid_until"],
                            time.time_ns(), token=who.token)
        with self._lock:
            self._file.insert(req.stored())
            self._requests[req.id] = req
        return req

    def decide(self, who: Any, request_id: str, *, approve: bool, note: str) -> ExportRequest:
        """Approves (and starts the build) or rejects; only the named approver, never the requester.
        The decision is in the request file before this returns."""
        req = self.get(who, request_id)
        action = "export_approve" if approve else "export_reject"
        with self._lock:  # one decision per request, however many arrive at once
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
            self._change(req, state=BUILDING if approve else REJECTED, decided_by=who.principal,
                         decision_note=note, decided=time.time_ns())
            if approve and req.token:
                self._start_build(req)
        return req

    def download(self, who: Any, request_id: str) -> ExportRequest:
        req = self.get(who, request_id)
        if req.state != READY or req.package is None:
            self._audit(who.principal, "export_download", req, "denied", f"the package is {req.state}")
            raise ApiError(409, "not_ready", f"the package of request {req.id} is {req.state}, not ready"
                           + (f": {req.error or req.waiting()}" if req.error or req.waiting() else ""))
        self._audit(who.principal, "export_download", req, "done", f"{len(req.package)} bytes")
        with self._lock:
            self._change(req, downloads=req.downloads + 1)
        return req

    # ------------------------------------------------------------ reading

    def get(self, who: Any, request_id: str) -> ExportRequest:
        """A request the caller is party to (requester or approver); 404 otherwise."""
        with self._lock:
            req = self._requests.get(request_id)
        if req is None or who.principal not in (req.requester, req.approver):
            raise ApiError(404, "unknown_request", f"no export request {request_id!r} of yours or for you to decide")
        self._take_token(who)
        return req

    def mine(self, who: Any) -> list[ExportRequest]:
        self._take_token(who)
        with self._lock:
            return [r for r in self._requests.values() if who.principal in (r.requester, r.approver)]

    # ------------------------------------------------------------ inside

    def _after_restart(self) -> None:
        """A package lost with the last process is built again later (no token now); unless the
        requester's grant has expired since: then the request fails, saying so (logged)."""
        now = time.time_ns()
        for req in self._requests.values():
            if req.state not in (BUILDING, READY):
                continue
            if req.grant_valid_until <= now:
                why = (f"the requester's grant {req.grant_id} expired at {iso(req.grant_valid_until)}, before the "
                       f"package lost in a restart of the server could be built again; request the export again "
                       f"under a valid grant")
                self._audit(req.requester, "export_build", req, "denied", why)
                self._change(req, state=FAILED, error=why)
            elif req.state == READY:
                self._change(req, state=BUILDING)

    def _take_token(self, who: Any) -> None:
        """Keeps a signed-in requester's token for their requests that have none since a restart
        (in memory only), and starts the builds that waited for it. Only a grant with the right
        the request needs and naming the same approver carries it (so a narrower grant signed in
        first does not fail a request a later one could build); whether it covers the camera and
        range is the build's check, logged, and a refusal fails the request saying why."""
        with self._lock:
            for req in self._requests.values():
                if (req.requester == who.principal and not req.token and req.state in (PENDING, BUILDING)
                        and _carries(who.grant, req)):
                    req.token = who.token
                    if req.state == BUILDING:
                        self._start_build(req)

    def _change(self, req: ExportRequest, **values: Any) -> None:
        """Writes a step to the request file, then to the request (callers hold the lock)."""
        self._file.update(req.id, **values)
        for name, value in values.items():
            setattr(req, name, value)

    def _audit(self, principal: str, action: str, req: ExportRequest, outcome: str, reason: str) -> None:
        self._store.audit_record(principal, action, outcome=outcome, camera=req.camera, start=req.start,
                                 end=req.end, reason=reason, case=req.case,
                                 details={"request": req.id, "raw": req.raw, "requester": req.requester})

    def _start_build(self, req: ExportRequest) -> None:
        req.building_now, req.progress = True, 0.0
        threading.Thread(target=self._build, args=(req,), name=f"export-{req.id}", daemon=True).start()

    def _build(self, req: ExportRequest) -> None:
        session = self._store.session(req.requester, [req.token], purpose=f"export request {req.id}: {req.reason}")
        work = Path(tempfile.mkdtemp(prefix="vidvault-export-"))  # mode 700: this user only
        span = max(req.end - req.start, 1)
        package, outcome = None, {}

        def progress(frame: Any, _count: int) -> None:
            req.progress = min(max((frame.ts - req.start) / span, 0.0), 1.0)

        try:
            session.export_clip(req.camera, req.start, req.end, work / "package", raw=req.raw, case=req.case,
                                reason=req.reason, watermark=req.watermark, progress=progress)
            package, outcome = _zipped(work / "package", f"export-{req.id}"), {"state": READY}
        except VidvaultError as e:
            outcome = {"state": FAILED, "error": str(e)}
        except Exception as e:  # noqa: BLE001 - any failure leaves no package and says why
            outcome = {"state": FAILED, "error": f"{type(e).__name__}: {e}"}
        finally:
            shutil.rmtree(work, ignore_errors=True)
        with self._lock:
            req.package, req.building_now = package, False  # before the state: "ready" always has its bytes
            if package is not None:
                req.progress = 1.0
            try:
                self._change(req, **outcome)
            except VidvaultError as e:  # the file still says building: the next start builds it again
                req.package, req.state, req.error = None, FAILED, f"the outcome could not be written: {e}"
            self._drop_packages_over_cap()

    def _drop_packages_over_cap(self) -> None:
        ready = sorted((r for r in self._requests.values() if r.package is not None), key=lambda r: -r.downloads)
        while sum(len(r.package or b"") for r in ready) > MAX_READY_BYTES and ready:
            gone = ready.pop(0)
            self._change(gone, state=FAILED, error="dropped from memory after download; request again")
            gone.package = None


def _carries(grant: dict[str, Any], req: ExportRequest) -> bool:
    """Whether ``grant`` names the request's approver and has the right its export needs
    (``export_raw`` implies ``export``, access/grants.rs)."""
    rights = {"export_raw"} if req.raw else {"export", "export_raw"}
    return (grant.get("approver") or "") == req.approver and bool(rights & set(grant.get("actions") or ()))


def _zipped(directory: Path, folder: str) -> bytes:
    """The package as one zip, its files in one folder (what `vidvault verify` reads)."""
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for path in sorted(directory.iterdir()):
            z.write(path, f"{folder}/{path.name}")
    return out.getvalue()
