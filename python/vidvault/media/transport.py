"""RTSP lower transports: TCP interleaved, UDP, or ``auto``.

Cameras speak one or both; a server that offers only UDP (VLC's, many older
cameras) refuses TCP with "461 Unsupported transport", and one behind NAT
may offer only TCP. ``auto`` asks for TCP first (it passes firewalls and
loses nothing) and, only when the server refuses it, for UDP. FFmpeg's own
fallback would try UDP first; the order here is ours.
"""

from __future__ import annotations

from ..errors import InvalidArgumentError

TRANSPORTS = ("tcp", "udp", "auto")


def check_transport(transport: str) -> str:
    if transport not in TRANSPORTS:
        raise InvalidArgumentError(f"transport {transport!r} is not one of {', '.join(TRANSPORTS)}: "
                                   "use 'tcp', 'udp' or 'auto' (TCP, then UDP if the server refuses TCP)")
    return transport


def uses_rtsp(source: str) -> bool:
    return source.lower().startswith(("rtsp://", "rtsps://"))


def transports_to_try(source: str, transport: str, preferred: str | None = None) -> list[str | None]:
    """The lower transports to ask for, in order (None: not RTSP, no choice
    to make). ``preferred``: the one that worked last time, tried first."""
    check_transport(transport)
    if not uses_rtsp(source):
        return [None]
    if transport != "auto":
        return [transport]
    order = ["tcp", "udp"]
    if preferred in order:
        order.remove(preferred)
        order.insert(0, preferred)
    return list(order)
