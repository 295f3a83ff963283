"""The two pictures of an alarm, for a person to look at: the last good
keyframe before it and the first bad one.

They are decoded from the store when asked for and written where the
operator says, like an export: the store itself keeps no picture
unencrypted, so an alarm records times, not thumbnails.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Protocol

from PIL import Image

from ..errors import MediaError, StorageError
from ..timeutil import iso
from .judge import PictureAlarm
from .sampling import keyframe_picture


class _Footage(Protocol):  # a Store: its seek is audited
    def seek(self, camera: str, ts: int) -> Any: ...
    def segment_config(self, segment_id: int) -> Any: ...


def write_alarm_pictures(store: _Footage, alarm: PictureAlarm, directory: Path) -> list[Path]:
    """``<camera>-<kind>-<first bad, UTC>-last-good.png`` and ``...-first-bad.png``
    in `directory` (created if missing); the paths written."""
    directory.mkdir(parents=True, exist_ok=True)
    stem = f"{alarm.camera}-{alarm.kind.value}-{iso(alarm.first_bad).replace(':', '')}"
    written = []
    for label, ts in (("last-good", alarm.last_good), ("first-bad", alarm.first_bad)):
        if ts is None:
            continue
        frame = store.seek(alarm.camera, ts)
        if frame is None or frame.ts != ts:
            raise MediaError(f"camera {alarm.camera!r}: the keyframe at {iso(ts)} of this alarm is no longer "
                             "stored (retention may have deleted it)")
        path = directory / f"{stem}-{label}.png"
        picture = keyframe_picture(store, alarm.camera, frame).to_ndarray(format="rgb24")
        try:
            Image.fromarray(picture).save(path)
        except OSError as e:
            raise StorageError(f"cannot write {path}: {e.strerror or e}; choose a writable directory") from e
        written.append(path)
    return written
