"""POST /api/verify: an uploaded package zip, verified as `vidvault verify`
does (:func:`vidvault.verify`), against this store's export key.

The upload is guarded: at most :data:`MAX_UPLOAD_BYTES` are read (the rest
is refused, not buffered), its members may declare at most
:data:`MAX_EXTRACTED_BYTES` (a zip bomb stops there), and a member whose name
is a path (``../x``, ``/etc/x``) or a link is never extracted (the verifier's
own rules, vidvault/export/package_files.py). The zip is spooled to a
private temporary file and removed when verification ends.
"""

from __future__ import annotations

import os
import tempfile
from typing import Any

from fastapi import APIRouter, Depends, Request

from ..export.verify import verify
from .auth import Caller, caller
from .errors import ApiError

router = APIRouter(prefix="/api")

MAX_UPLOAD_BYTES = 1 << 30
MAX_EXTRACTED_BYTES = 2 << 30


@router.post("/verify", summary="Verify an uploaded export package (zip)",
             openapi_extra={"requestBody": {"required": True, "content": {
                 "application/octet-stream": {"schema": {"type": "string", "format": "binary",
                                                         "description": "the package zip"}}}}})
async def verify_upload(request: Request, who: Caller = Depends(caller)) -> dict[str, Any]:
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > MAX_UPLOAD_BYTES:
        raise ApiError(413, "too_large", f"the upload is {declared} bytes; a package up to "
                       f"{MAX_UPLOAD_BYTES >> 20} MiB is verified here (use `vidvault verify` for larger ones)")
    fd, name = tempfile.mkstemp(prefix="vidvault-upload-", suffix=".zip")
    try:
        size = 0
        with os.fdopen(fd, "wb") as f:
            async for chunk in request.stream():
                size += len(chunk)
                if size > MAX_UPLOAD_BYTES:
                    raise ApiError(413, "too_large", f"the upload is more than {MAX_UPLOAD_BYTES >> 20} MiB; "
                                   "use `vidvault verify` for larger packages")
                f.write(chunk)
        if size == 0:
            raise ApiError(400, "invalid_argument", "the request body is empty: send the package zip as the body")
        store = request.app.state.store
        report = verify(name, public_key=store.export_public_key(), max_zip_bytes=MAX_EXTRACTED_BYTES)
    finally:
        os.unlink(name)
    result = report.to_dict()
    result["package"] = "upload"  # not the server's temporary path
    store.audit_record(who.principal, "verify", outcome="done", reason=result["status"],
                       details={"bytes": size, "status": result["status"],
                                "signer": result["signer_fingerprint"]})
    return result
