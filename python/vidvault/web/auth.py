"""Who is asking: the bearer grant token of a request, checked against the
store, becomes a :class:`vidvault.Session` of the grant's subject.

A missing, malformed, altered, expired or other store's token is answered
401 (and logged as a refused authentication, so every request leaves one
entry); what the session then may do is decided, and logged, by the
session's own checks (403 naming the right that is missing).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from fastapi import Depends, Request
from fastapi.security import HTTPBearer

from ..session import Session
from .errors import ApiError

#: The principal refused requests are logged under.
UNAUTHENTICATED = "(unauthenticated)"


@dataclass(frozen=True)
class Caller:
    principal: str
    token: str
    grant: dict[str, Any]
    session: Session


def bearer_token(request: Request) -> str | None:
    header = request.headers.get("authorization")
    if header is None:
        return None
    scheme, _, token = header.partition(" ")
    return token.strip() if scheme.lower() == "bearer" and token.strip() else ""


def purpose_of(request: Request) -> str:
    return f"web: {request.method} {request.url.path}"


def refuse(request: Request, why: str) -> ApiError:
    """Logs a refused authentication and returns the 401 to raise."""
    request.app.state.store.audit_record(
        UNAUTHENTICATED, "authenticate", outcome="denied", reason=why,
        details={"call": purpose_of(request)})
    return ApiError(401, "unauthenticated", why)


def caller_with_token(request: Request, token: str | None) -> Caller:
    """The caller a token names, or the 401 (logged) when it is refused."""
    if token is None:
        raise refuse(request, "no grant token: send 'Authorization: Bearer <token>' (vidvault issue-grant)")
    if not token:
        raise refuse(request, "the Authorization header is not 'Bearer <token>'")
    store = request.app.state.store
    grant, why = store.verify_grant(token)
    if grant is None:
        raise refuse(request, f"the grant token is refused: {why}")
    session = store.session(grant["principal"], [token], purpose=purpose_of(request))
    return Caller(grant["principal"], token, grant, session)


#: Only describes the scheme in the OpenAPI document; :func:`bearer_token` reads the header.
_BEARER = HTTPBearer(auto_error=False, description="a grant token (vidvault issue-grant)")


def caller(request: Request, _: object = Depends(_BEARER)) -> Caller:
    """FastAPI dependency: the authenticated caller of a request."""
    return caller_with_token(request, bearer_token(request))
