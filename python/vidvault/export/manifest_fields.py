"""The fields of a manifest the verifier reads, with their types and ranges.

A manifest comes from whoever handed over the package, so before any check
reads a field, :func:`check_fields` confirms that every field the checks use
is there, has the type docs/EXPORT.md gives it, and that numbers and names
are in range: times and counts fit a signed 64-bit integer (what the store
records), hashes are lower-case hex of the right length, and a file name is a
plain name inside the package (no ``/``, ``..`` or absolute path). A field that
fails raises :class:`ManifestFieldError` naming it (``frames[3].ts``), so a
malformed manifest is one clear failed check, never a crash further on.

Fields the checks do not read are not constrained here; the signature covers
them.
"""

from __future__ import annotations

import re
from typing import Any, Callable

from . import manifest

INT64_MIN, INT64_MAX = -(1 << 63), (1 << 63) - 1
_HEX = re.compile(r"[0-9a-f]*")
_RATIONAL = re.compile(r"[1-9][0-9]{0,8}(/[1-9][0-9]{0,8})?")
#: Names a package may hold: a plain file name, no separators, not "." or "..".
_FILE_NAME = re.compile(r"[A-Za-z0-9_][A-Za-z0-9._-]{0,127}")


class ManifestFieldError(ValueError):
    """A field of the manifest is missing, of the wrong type or out of range."""

    def __init__(self, where: str, problem: str) -> None:
        super().__init__(f"{where} {problem}")
        self.where = where


Spec = Callable[[Any, str], None]


def _type_name(value: Any) -> str:
    return "null" if value is None else {bool: "a boolean", int: "an integer", str: "a string", list: "a list",
                                         dict: "an object"}.get(type(value), type(value).__name__)


def integer(lo: int = INT64_MIN, hi: int = INT64_MAX) -> Spec:
    def check(value: Any, where: str) -> None:
        if type(value) is not int:  # bool is an int subclass, and not a number here
            raise ManifestFieldError(where, f"is {_type_name(value)}, expected an integer")
        if not lo <= value <= hi:
            raise ManifestFieldError(where, f"is {value}, outside {lo} .. {hi}")
    return check


def string(max_len: int = 4096, pattern: re.Pattern[str] | None = None, what: str = "") -> Spec:
    def check(value: Any, where: str) -> None:
        if type(value) is not str:
            raise ManifestFieldError(where, f"is {_type_name(value)}, expected a string")
        if len(value) > max_len:
            raise ManifestFieldError(where, f"is {len(value)} characters long, at most {max_len} expected")
        if pattern is not None and not pattern.fullmatch(value):
            raise ManifestFieldError(where, f"is {value[:80]!r}, expected {what}")
    return check


def hex_string(nbytes: int | None = None, max_bytes: int = 1 << 20) -> Spec:
    exact = None if nbytes is None else 2 * nbytes
    inner = string(2 * max_bytes, _HEX, "lower-case hex")

    def check(value: Any, where: str) -> None:
        inner(value, where)
        if (exact is not None and len(value) != exact) or len(value) % 2:
            raise ManifestFieldError(where, f"has {len(value)} hex digits, expected "
                                     + (str(exact) if exact is not None else "an even number"))
    return check


def boolean(value: Any, where: str) -> None:
    if type(value) is not bool:
        raise ManifestFieldError(where, f"is {_type_name(value)}, expected true or false")


def file_name(value: Any, where: str) -> None:
    """A plain name of a file inside the package: never a path that leaves it."""
    string(128)(value, where)
    if not _FILE_NAME.fullmatch(value) or value in (".", ".."):
        raise ManifestFieldError(where, f"is {value[:80]!r}: a package file is named by a plain file name "
                                 "(no '/', '\\', '..' or absolute path), so nothing is read outside the package")


def optional(spec: Spec) -> Spec:
    def check(value: Any, where: str) -> None:
        if value is not None:
            spec(value, where)
    return check


def obj(fields: dict[str, Spec]) -> Spec:
    """An object holding (at least) ``fields``, each checked by its spec."""
    def check(value: Any, where: str) -> None:
        if type(value) is not dict:
            raise ManifestFieldError(where, f"is {_type_name(value)}, expected an object")
        for key, spec in fields.items():
            if key not in value:
                raise ManifestFieldError(f"{where}.{key}", "is missing")
            spec(value[key], f"{where}.{key}")
    return check


def list_of(spec: Spec, max_len: int = 1 << 24) -> Spec:
    def check(value: Any, where: str) -> None:
        if type(value) is not list:
            raise ManifestFieldError(where, f"is {_type_name(value)}, expected a list")
        if len(value) > max_len:
            raise ManifestFieldError(where, f"has {len(value)} entries, at most {max_len} expected")
        for i, item in enumerate(value):
            spec(item, f"{where}[{i}]")
    return check


def map_of(key: Spec, spec: Spec, max_len: int = 64) -> Spec:
    def check(value: Any, where: str) -> None:
        if type(value) is not dict:
            raise ManifestFieldError(where, f"is {_type_name(value)}, expected an object")
        if len(value) > max_len:
            raise ManifestFieldError(where, f"has {len(value)} entries, at most {max_len} expected")
        for k, v in value.items():
            key(k, f"{where} key {k[:80]!r}")
            spec(v, f"{where}.{k}")
    return check


NS = integer()
COUNT = integer(0)
UTC = string(64)
SHA256 = hex_string(32)

_FRAME = {"index": COUNT, "ts": NS, "utc": UTC, "keyframe": boolean, "segment": COUNT, "seq": COUNT,
          "size": COUNT, "sha256": SHA256, "presented": boolean}
_FRAME_BIT_EXACT = {**_FRAME, "sample_dts": NS, "sample_cts": NS}

_COMMON = {
    "camera": string(),
    "store_id": string(),
    "requested": obj({"start": NS, "end": NS, "start_utc": UTC, "end_utc": UTC}),
    "actual": obj({"first_decoded": NS, "first_presented": NS, "last_presented": NS, "frames": COUNT,
                   "presented": COUNT, "first_presented_utc": UTC, "last_presented_utc": UTC}),
    "codec": obj({"codec": string(32), "extradata": hex_string(), "bitstream": string(32)}),
    "files": map_of(file_name, obj({"sha256": SHA256, "bytes": COUNT})),
    "signer": obj({"public_key": hex_string(32)}),
    "audit": optional(obj({"entry": COUNT, "entry_hash": hex_string()})),
    "segments": list_of(obj({"id": COUNT, "content_hash": optional(hex_string())})),
    "c2pa": optional(obj({"files": list_of(file_name, 8)})),
}

_BIT_EXACT = obj({
    **_COMMON,
    "frames": list_of(obj(_FRAME_BIT_EXACT)),
    "clip": obj({"file": file_name, "timescale": integer(1, 1 << 32), "edit_media_time": NS,
                 "edit_duration": NS}),
})

_REDACTED = obj({
    **_COMMON,
    "frames": list_of(obj(_FRAME)),
    "clip": obj({"file": file_name, "bit_exact": boolean, "width": integer(1, 1 << 16),
                 "height": integer(1, 1 << 16), "frames": COUNT,
                 "fps": string(20, _RATIONAL, "a positive rational such as \"25\" or \"30000/1001\"")}),
    "redaction": optional(obj({"method": string(32)})),
})


def _check_start_codes(doc: dict[str, Any]) -> None:
    """Annex B bit-exact packages carry each frame's start code lengths (3 or 4)."""
    if doc["codec"]["bitstream"] != "annexb" or doc["format"] != manifest.FORMAT:
        return
    codes = list_of(integer(3, 4), 1 << 16)
    for i, frame in enumerate(doc["frames"]):
        codes(frame.get("start_codes", []), f"frames[{i}].start_codes")


def check_fields(doc: dict[str, Any]) -> None:
    """Raises :class:`ManifestFieldError` unless every field the verifier
    reads is present, typed and in range (``doc["format"]`` is known)."""
    (_REDACTED if doc["format"] in manifest.REDACTED_FORMATS else _BIT_EXACT)(doc, "manifest")
    _check_start_codes(doc)
    if not doc["frames"]:
        raise ManifestFieldError("manifest.frames", "is empty: a package holds at least one frame")
