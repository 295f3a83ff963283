"""``vidvault.web.app(store)``: the ASGI application."""

from __future__ import annotations

import contextlib
from typing import Any, AsyncIterator

from fastapi import FastAPI

from .. import __version__
from . import cameras, errors, exports, page, parts, verify_upload, view
from .export_requests import ExportRequests
from .media_urls import DEFAULT_TTL_SECONDS, MediaUrls
from .player_pool import PlayerPool
from .raw_clip import ClipCache


def app(store: Any, *, media_secret: bytes | None = None, media_url_ttl: int = DEFAULT_TTL_SECONDS) -> FastAPI:
    """The web API and page over an open :class:`vidvault.Store` (which the
    caller keeps open while the app serves, and closes). ``media_secret``:
    the HMAC key of signed media URLs (default: random per app, so links
    die with the server); ``media_url_ttl``: how long a link works (s).
    Export requests are kept in the store (``export_requests.sqlite``); a
    request file that is damaged or of an unknown version raises
    :class:`vidvault.StoreDamagedError` naming it, before anything is served."""
    api = FastAPI(
        lifespan=_lifespan,
        title="vidvault",
        version=__version__,
        description="Footage of an encrypted vidvault store. Authenticate with `Authorization: Bearer <grant token>` "
                    "(`vidvault issue-grant`); every request is checked against the grant and audited.",
        docs_url=None, redoc_url=None,
    )
    api.state.store = store
    api.state.media_urls = MediaUrls(media_secret, media_url_ttl)
    api.state.raw_clips = ClipCache()
    api.state.players = PlayerPool()
    api.state.exports = ExportRequests(store)
    errors.install(api)
    api.include_router(cameras.router)
    api.include_router(view.router)
    api.include_router(parts.router)
    api.include_router(exports.router)
    api.include_router(verify_upload.router)
    api.include_router(page.router)
    return api


@contextlib.asynccontextmanager
async def _lifespan(api: FastAPI) -> AsyncIterator[None]:
    _warm_up_redaction()
    try:
        yield
    finally:
        api.state.exports.close()  # the request file closed whole (its WAL folded back)


def _warm_up_redaction() -> None:
    """Loads the detector runtime and models once when the server starts, so
    the first desensitized view does not pay for it. Missing models are not
    an error here: each desensitized request checks them again and answers
    503 (fail closed)."""
    from ..errors import ModelMissingError, RedactionError
    from ..redact.config import Redaction
    from ..redact.player import RedactingPlayer

    with contextlib.suppress(ModelMissingError, RedactionError):
        RedactingPlayer(Redaction())
