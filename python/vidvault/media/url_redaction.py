"""Credentials out of every text a source URL can reach.

A camera URL often carries its password (``rtsp://admin:PASSWORD@host/...``).
Whatever is printed reaches a terminal, and whatever reaches a terminal
reaches a log file; so the password stays in the URL that is opened and in
nothing else: progress and status lines, error and exception text, outage
reasons, status files and the audit log all see the redacted form
``rtsp://admin:***@host/...``.

FFmpeg's own messages quote the URL they failed on, so errors coming out of
it are rewritten with :func:`redact_text` (every URL in the text, and the
password wherever else it may appear, raw or percent-decoded).
"""

from __future__ import annotations

import re
from urllib.parse import unquote, urlsplit

MASK = "***"

# scheme://user:password@  (the password may contain anything but "@" and "/"
# before the host; the last "@" before the path ends the userinfo).
_USERINFO = re.compile(r"(?P<head>[A-Za-z][A-Za-z0-9+.\-]*://[^:/@\s]*):(?P<password>[^\s/]*)@(?=[^\s@]*(?:[/\s]|$))")


def url_password(url: str) -> str | None:
    """The password inside ``url``'s userinfo, decoded, or None."""
    try:
        return urlsplit(url).password
    except ValueError:
        return None


def redact_url(url: str) -> str:
    """``url`` with its password replaced by ``***`` (the user name is kept:
    it tells the operator which account was used)."""
    return redact_text(url, url)


def redact_text(text: str, *urls: str) -> str:
    """``text`` with every ``scheme://user:password@`` masked, and the
    passwords of ``urls`` (raw and percent-decoded) masked wherever else they
    appear: FFmpeg may quote a URL in pieces."""
    masked = _USERINFO.sub(lambda m: f"{m['head']}:{MASK}@", text)
    for url in urls:
        for secret in _secrets(url):
            masked = masked.replace(secret, MASK)
    return masked


def _secrets(url: str) -> list[str]:
    m = _USERINFO.search(url)
    raw = m["password"] if m else None
    decoded = url_password(url)
    found = {s for s in (raw, decoded, unquote(raw) if raw else None) if s}
    # Longest first, so that a password containing another one is masked whole.
    return sorted(found, key=len, reverse=True)
