"""One status line on stderr for long runs (ingest, export, playback,
benchmarks): rewritten in place on a terminal, a plain line per update
otherwise, so that logs stay readable.

Updates come as often as the work makes progress; ``every`` (terminal) and
``log_every`` (logs) seconds bound how often one is written, and an update
marked ``force`` (a change of state, the final figures) always is.
"""

from __future__ import annotations

import sys
import time
from typing import TextIO

#: Longest line written on a terminal: wider ones would wrap and break "\r".
WIDTH = 200


class StatusLine:
    def __init__(self, stream: TextIO | None = None, *, enabled: bool = True, every: float = 0.0,
                 log_every: float = 0.0) -> None:
        self.stream = sys.stderr if stream is None else stream
        self.enabled = enabled
        self.tty = self.stream.isatty()
        self.every = every if self.tty else log_every
        self._last = -1e18
        self._open = False  # a line on the terminal not yet ended

    def __call__(self, text: str, *, force: bool = False) -> None:
        if not self.enabled:
            return
        now = time.monotonic()
        if not force and now - self._last < self.every:
            return
        self._last = now
        if self.tty:
            self.stream.write("\r\x1b[2K" + text[:WIDTH])
            self._open = True
        else:
            self.stream.write(text + "\n")
        self.stream.flush()

    def done(self, text: str | None = None) -> None:
        """Writes ``text`` (if any) and ends the line."""
        if text is not None:
            self(text, force=True)
        if self.enabled and self._open:
            self.stream.write("\n")
            self.stream.flush()
            self._open = False
