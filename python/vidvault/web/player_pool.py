"""Redacting players kept between part requests: a desensitized part is a few
seconds of footage, and building a player (opening the detectors' ONNX
sessions) costs about half a second, so a player is built once and lent to
one stream at a time.

A lent player comes back only when its stream ended normally; one whose
stream failed (a detector raised) or was abandoned is dropped, and the next
request builds a fresh one, which checks the models again (missing: 503).
"""

from __future__ import annotations

import threading
from typing import Iterable, Iterator, TypeVar

from ..redact.config import DEFAULT_REDACTION, chosen_redaction
from ..redact.player import RedactingPlayer

T = TypeVar("T")

#: Idle players kept (each holds its models' sessions in memory).
KEEP = 2


class PlayerPool:
    def __init__(self, keep: int = KEEP) -> None:
        self.keep = keep
        self._idle: list[RedactingPlayer] = []
        self._lock = threading.Lock()

    def lend(self) -> RedactingPlayer:
        """An idle player with the default redaction, or a new one (which
        raises ModelMissingError when the models are missing)."""
        with self._lock:
            if self._idle:
                return self._idle.pop()
        redaction = chosen_redaction(DEFAULT_REDACTION, False, "play")
        assert redaction is not None
        return RedactingPlayer(redaction)

    def returning(self, player: RedactingPlayer, stream: Iterable[T]) -> Iterator[T]:
        """``stream`` (made with ``player``), giving the player back once it ended normally."""
        yield from stream
        with self._lock:
            if len(self._idle) < self.keep:
                self._idle.append(player)
