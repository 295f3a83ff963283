"""The web page at ``/``: plain HTML, JavaScript and CSS from ``static/``
(no build step). It holds no secret: the token comes from the sign-in form
(kept in the tab's sessionStorage) or the URL fragment ``#token=...``, which
the browser never sends to the server."""

from __future__ import annotations

from pathlib import Path

from fastapi import APIRouter, HTTPException
from fastapi.responses import FileResponse

STATIC = Path(__file__).with_name("static")
#: The files the page is made of, by the name it asks for them; nothing else is served.
FILES = {"app.js": "text/javascript", "parts_player.js": "text/javascript", "style.css": "text/css"}
#: The page loads only its own script and style, and video from this server.
SECURITY_HEADERS = {
    "Content-Security-Policy": "default-src 'self'; img-src 'self' data:; media-src 'self' blob:; "
                               "object-src 'none'; base-uri 'none'; frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
}

router = APIRouter(include_in_schema=False)


@router.get("/")
def index() -> FileResponse:
    return FileResponse(STATIC / "index.html", media_type="text/html", headers=SECURITY_HEADERS)


@router.get("/static/{name}")
def static(name: str) -> FileResponse:
    if name not in FILES:
        raise HTTPException(404)
    return FileResponse(STATIC / name, media_type=FILES[name], headers=SECURITY_HEADERS)
