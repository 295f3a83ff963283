"""SHA-256 of a file's bytes, as export manifests, the verifier and the
pinned model files record it (lower-case hex)."""

from __future__ import annotations

import hashlib
from pathlib import Path


def sha256_file(path: Path) -> str:
    with open(path, "rb") as f:
        return hashlib.file_digest(f, "sha256").hexdigest()
