"""Short-lived signed media URLs: a ``<video>`` element sends no
Authorization header, so an authenticated call mints a URL for exactly one
camera, range and raw flag, for one principal, valid for a few minutes.

The URL carries ``expires``, ``principal``, a random ``ticket`` and
``sig`` = HMAC-SHA256 under a secret this server drew at start, over all of
them and the camera, range and raw flag: changing any of them (another
camera, a longer range, ``raw=1`` added) breaks the signature. The grant
token stays on the server, under the ticket, so the URL never carries it,
and every request made with the URL is still checked and logged by the
principal's session, as a request with the token would be.

A listing of parts (:mod:`.parts`) is signed the same way for its whole
range, with the form ``parts`` in the signature (so a view link is no part
link and back); its ticket also holds the listing's checked, logged
:class:`vidvault.viewing.Viewing`, which the part requests read through.
"""

from __future__ import annotations

import base64
import hashlib
import hmac
import os
import secrets
import threading
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import quote, urlencode

from .errors import ApiError

#: How long a minted URL works.
DEFAULT_TTL_SECONDS = 300
#: Tickets held at once (the tokens behind live URLs); beyond, minting waits for expiry.
MAX_TICKETS = 10_000


@dataclass(frozen=True)
class MediaRequest:
    camera: str
    start: int
    end: int
    raw: bool
    form: str = "view"  # "view": view.mp4; "parts": the parts of a listing


@dataclass(frozen=True)
class Ticket:
    """What the server holds for a live link: the token stays here."""

    principal: str
    token: str
    expires: int
    viewing: Any = None  # a listing's vidvault.viewing.Viewing


def _sign(secret: bytes, req: MediaRequest, principal: str, expires: int, ticket: str) -> str:
    message = "\n".join(["vidvault-media-url/2", req.form, req.camera, str(req.start), str(req.end),
                         "1" if req.raw else "0", principal, str(expires), ticket]).encode()
    digest = hmac.new(secret, message, hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest).rstrip(b"=").decode()


class MediaUrls:
    def __init__(self, secret: bytes | None = None, ttl_seconds: int = DEFAULT_TTL_SECONDS) -> None:
        self._secret = secret if secret is not None else os.urandom(32)
        self.ttl_seconds = ttl_seconds
        self._tickets: dict[str, Ticket] = {}
        self._lock = threading.Lock()

    def mint(self, req: MediaRequest, principal: str, token: str) -> tuple[str, int]:
        """The URL (path and query) for ``req`` and when it expires (s since the epoch)."""
        query, expires = self.signed_query(req, principal, token)
        return f"/api/cameras/{quote(req.camera, safe='')}/view.mp4?{urlencode(query)}", expires

    def signed_query(self, req: MediaRequest, principal: str, token: str,
                     viewing: Any = None) -> tuple[dict[str, Any], int]:
        """The signed query parameters of ``req`` (its range as ``start`` and
        ``end``) and when they expire; ``viewing`` is kept with the ticket."""
        now = int(time.time())
        expires = now + self.ttl_seconds
        ticket = secrets.token_urlsafe(16)
        with self._lock:
            for t in [t for t, held in self._tickets.items() if held.expires <= now]:
                del self._tickets[t]
            if len(self._tickets) >= MAX_TICKETS:
                raise ApiError(503, "busy", "too many media links are live; try again in a few minutes")
            self._tickets[ticket] = Ticket(principal, token, expires, viewing)
        query = {"start": req.start, "end": req.end, **({"raw": 1} if req.raw else {}),
                 "principal": principal, "expires": expires, "ticket": ticket,
                 "sig": _sign(self._secret, req, principal, expires, ticket)}
        return query, expires

    def redeem(self, req: MediaRequest, principal: str, expires: str, ticket: str, sig: str) -> str:
        """The grant token behind a signed URL, or a 401 saying what is wrong with it."""
        return self.redeem_ticket(req, principal, expires, ticket, sig).token

    def redeem_ticket(self, req: MediaRequest, principal: str, expires: str, ticket: str, sig: str) -> Ticket:
        """What the server holds for a signed URL, or a 401 saying what is wrong with it."""
        try:
            exp = int(expires)
        except ValueError:
            raise ApiError(401, "bad_media_link", "the media link's expiry is not a number: mint a new link") from None
        expected = _sign(self._secret, req, principal, exp, ticket)
        if not hmac.compare_digest(expected.encode(), sig.encode()):
            raise ApiError(401, "bad_media_link",
                           "the media link's signature does not match its camera, range, raw flag, principal "
                           "and expiry (altered, or minted by another server): mint a new link")
        if exp <= int(time.time()):
            raise ApiError(401, "expired_media_link", f"the media link expired at {exp} (s since the epoch): "
                           "mint a new link")
        with self._lock:
            held = self._tickets.get(ticket)
        if held is None or held.principal != principal:
            raise ApiError(401, "expired_media_link", "the media link is no longer known to this server "
                           "(restarted, or expired): mint a new link")
        return held
