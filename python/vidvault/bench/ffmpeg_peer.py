"""The ffmpeg command line the recording and ingest benchmarks measure
vidvault beside (ffmpeg is a system tool of the project: ./dev setup)."""

from __future__ import annotations

import shutil

from ..errors import DependencyMissingError


def require_ffmpeg() -> str:
    """The path of ffmpeg, or a clear error saying how to install it."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise DependencyMissingError("ffmpeg is not installed (the baseline of this benchmark); run ./dev setup "
                                     "or apt-get install ffmpeg")
    return ffmpeg
