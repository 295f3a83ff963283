"""Why a source did not open, in the operator's terms.

FFmpeg reports an RTSP server that refuses the transport as "Protocol not
supported" and a wrong password as an HTTP error; left as they are, those
messages send the operator looking for a missing file. :func:`explain`
names the real cause (refused transport, 401, nothing listening, no answer,
no such stream) and what to do about it, and :data:`Cause` gives the same
as a word a program can act on (``MediaError.cause``), e.g. ``auto``
transport trying UDP after TCP was refused.
"""

from __future__ import annotations

import errno

import av


class Cause:
    TRANSPORT_REFUSED = "transport-refused"
    UNAUTHORIZED = "unauthorized"
    FORBIDDEN = "forbidden"
    NOT_FOUND = "not-found"
    REFUSED = "connection-refused"
    UNREACHABLE = "unreachable"
    NO_ANSWER = "no-answer"
    SERVER_ERROR = "server-error"
    NO_VIDEO = "no-video"
    UNREADABLE = "unreadable"


_UNREACHABLE = {errno.EHOSTUNREACH, errno.ENETUNREACH, errno.EHOSTDOWN, errno.ENETDOWN}


def classify(error: BaseException, *, live: bool, timed_out: bool = False) -> str:
    """The :class:`Cause` of an ``av.open`` failure."""
    code = getattr(error, "errno", None)
    if isinstance(error, av.error.HTTPUnauthorizedError):
        return Cause.UNAUTHORIZED
    if isinstance(error, av.error.HTTPForbiddenError):
        return Cause.FORBIDDEN
    if isinstance(error, av.error.HTTPNotFoundError) or (not live and code == errno.ENOENT):
        return Cause.NOT_FOUND
    if isinstance(error, av.error.HTTPServerError):
        return Cause.SERVER_ERROR
    if live and code == errno.EPROTONOSUPPORT:
        return Cause.TRANSPORT_REFUSED  # RTSP 461 Unsupported transport, as FFmpeg words it
    if code == errno.ECONNREFUSED:
        return Cause.REFUSED
    if code in _UNREACHABLE:
        return Cause.UNREACHABLE
    if live and (timed_out or code in (errno.ETIMEDOUT, errno.EAGAIN)):
        return Cause.NO_ANSWER
    return Cause.UNREADABLE


def explain(cause: str, source: str, error_text: str, *, transport: str | None, timeout: float | None) -> str:
    """One line: what failed, where, and what to do. ``source`` must already
    be redacted; so must ``error_text``."""
    where = f"cannot open {source}"
    if cause == Cause.TRANSPORT_REFUSED:
        other = "udp" if transport == "tcp" else "tcp"
        return (f"{where}: the server refused RTSP over {transport or 'this transport'} (461 Unsupported "
                f"transport); use transport {other!r} or 'auto'")
    if cause == Cause.UNAUTHORIZED:
        return (f"{where}: the server answered 401 Unauthorized: the user name or password is wrong or "
                "missing; check the camera's credentials")
    if cause == Cause.FORBIDDEN:
        return f"{where}: the server answered 403 Forbidden: this account may not view the stream"
    if cause == Cause.NOT_FOUND:
        if source.lower().startswith(("rtsp://", "rtsps://", "http://", "https://")):
            return f"{where}: the server has no stream at this path (404 Not Found); check the URL's path"
        return f"{where}: no such file; check the path"
    if cause == Cause.SERVER_ERROR:
        return (f"{where}: the server failed to serve the stream ({error_text}); it may be starting up or "
                "overloaded: try again, or restart the camera if it persists")
    if cause == Cause.REFUSED:
        return f"{where}: connection refused: nothing listens at that host and port; check both, and that the camera is on"
    if cause == Cause.UNREACHABLE:
        return f"{where}: no route to the host ({error_text}); check the address and the network"
    if cause == Cause.NO_ANSWER:
        waited = f" within {timeout:g} s" if timeout else ""
        return f"{where}: no answer{waited}; check the address, the network and any firewall (UDP needs its ports open)"
    return f"{where}: {error_text}; check that it exists and is a video file or stream FFmpeg can read"
