"""The recorder's status as a JSON file that monitoring reads: written
whole to a temporary file beside it, synced and renamed over it, so a
reader never sees half of one. It holds no password (sources are shown
redacted)."""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any

from ..fsutil import fsync_dir


def write_status(path: Path, status: dict[str, Any]) -> None:
    path = Path(path)
    text = json.dumps(status, indent=2, sort_keys=True) + "\n"
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            f.write(text)
            f.flush()
            os.fsync(f.fileno())
        os.chmod(tmp, 0o644)  # monitoring runs as another user; nothing secret is in it
        os.replace(tmp, path)
    except BaseException:
        try:
            os.unlink(tmp)
        except FileNotFoundError:
            pass
        raise
    fsync_dir(path.parent)
