"""`vidvault serve`: footage in the browser, over HTTP.

``vidvault.web.app(store)`` is an ASGI application (FastAPI on Starlette)
that a service importing vidvault can mount, and that ``vidvault serve``
runs under uvicorn. Every request authenticates with a grant token
(``Authorization: Bearer <token>``; the principal is the grant's subject)
and runs through a :class:`vidvault.Session`, so it is checked and logged
by the same code as the Python API: one audit entry per request.

    factory.py     the app: routes, error handlers, OpenAPI description
    auth.py        bearer token -> the caller's session (401 when it is refused)
    errors.py      vidvault's errors as JSON a person can read, with HTTP codes
    times.py       instants in query strings
    cameras.py     GET /api/cameras, GET /api/cameras/{id}/timeline
    media_urls.py  short-lived signed URLs for <video>, which sends no header
    raw_clip.py    the bit-exact MP4 of a range (laid out from metadata), byte ranges, ETag
    redacted_stream.py  the desensitized range as fragmented MP4, streamed as encoded
    view.py        GET /api/cameras/{id}/view.mp4, POST /api/media-urls
    export_requests.py  the evidence workflow: request, approval, background build, zip
    request_file.py     export_requests.sqlite: the requests and decisions, kept in the store
    exports.py     /api/exports routes
    verify_upload.py    POST /api/verify: an uploaded zip, verified
    page.py        the web page at / (static/: plain HTML, JS, CSS)
"""

from .factory import app

__all__ = ["app"]
