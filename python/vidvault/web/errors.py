"""vidvault's errors as HTTP answers: JSON ``{"error": kind, "message": text}``
with a message a person understands (what failed, where, what to do), never a
traceback."""

from __future__ import annotations

from typing import Any

from fastapi import Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from .. import errors

#: vidvault error class -> (HTTP status, error kind), most specific first.
STATUS: tuple[tuple[type[Exception], int, str], ...] = (
    (errors.AccessDenied, 403, "forbidden"),
    (errors.UnknownCameraError, 404, "unknown_camera"),
    (errors.ModelMissingError, 503, "redaction_unavailable"),
    (errors.RedactionError, 503, "redaction_failed"),
    (errors.InvalidArgumentError, 400, "invalid_argument"),
    (errors.MediaError, 422, "media_error"),
    (errors.StorageFullError, 507, "storage_full"),
    (errors.StoreClosedError, 503, "store_closed"),
)


class ApiError(Exception):
    """An answer other than success, decided by the web layer itself."""

    def __init__(self, status: int, kind: str, message: str, *, headers: dict[str, str] | None = None,
                 **extra: Any) -> None:
        super().__init__(message)
        self.status, self.kind, self.message, self.extra = status, kind, message, extra
        self.headers = headers or {}


def error_response(status: int, kind: str, message: str, *, headers: dict[str, str] | None = None,
                   **extra: Any) -> JSONResponse:
    headers = dict(headers or {})
    if status == 401:
        headers["WWW-Authenticate"] = 'Bearer realm="vidvault"'
    return JSONResponse({"error": kind, "message": message, **extra}, status_code=status, headers=headers)


async def _api_error(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, ApiError)
    return error_response(e.status, e.kind, e.message, headers=e.headers, **e.extra)


async def _vidvault_error(_: Request, e: Exception) -> JSONResponse:
    for cls, status, kind in STATUS:
        if isinstance(e, cls):
            extra: dict[str, Any] = {}
            if isinstance(e, errors.AccessDenied):
                extra["right"] = getattr(e, "action", None)
                return error_response(status, kind, f"{extra['right']} is needed: {e}", **extra)
            return error_response(status, kind, str(e))
    return error_response(500, "server_error", f"{type(e).__name__}: {e}")


async def _validation_error(_: Request, e: Exception) -> JSONResponse:
    assert isinstance(e, RequestValidationError)
    problems = "; ".join(f"{'.'.join(str(p) for p in err['loc'])}: {err['msg']}" for err in e.errors())
    return error_response(422, "invalid_request", problems or "the request does not match the API description")


def install(app: Any) -> None:
    app.add_exception_handler(ApiError, _api_error)
    app.add_exception_handler(errors.VidvaultError, _vidvault_error)
    app.add_exception_handler(RequestValidationError, _validation_error)
