"""The default ``redact`` of ``play`` and ``export_clip``: default settings.

A sentinel, so that an explicit ``redact=None`` can be told apart and
refused without ``raw=True``. It lives outside :mod:`vidvault.redact` so
that the signatures of ``Store`` and ``Session`` can name it without
importing the redaction package (PyAV, numpy, the detectors): a process
that only ingests must not pay for them at start-up.
"""

from __future__ import annotations

from typing import Any

DEFAULT_REDACTION: Any = object()
