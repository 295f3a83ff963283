"""The export manifest and its canonical JSON form.

``manifest.json`` is signed byte for byte, so it has exactly one encoding
(docs/EXPORT.md, "Canonical JSON"):

- UTF-8 JSON text of one object, no whitespace between tokens, no trailing
  newline;
- object keys sorted by Unicode code point, each key once;
- strings with every non-ASCII character escaped as ``\\uXXXX`` (lower-case
  hex; surrogate pairs beyond the BMP), ``"`` ``\\`` and control characters
  escaped as in Python's ``json`` module (``\\n``, ``\\"``, ``\\u001f``...);
- numbers are integers only (no floats, no exponents): times are ns,
  rationals are strings like ``"1/90000"``;
- ``true``, ``false``, ``null`` as usual.

Python's ``json.dumps(obj, sort_keys=True, separators=(",", ":"),
ensure_ascii=True)`` produces exactly this for such objects, and a verifier
checks that the file is in this form (re-encoding what it parsed gives the
same bytes) before it checks the signature.
"""

from __future__ import annotations

import json
from typing import Any

#: The value of a manifest's "format" field; bump it with any change of meaning.
FORMAT = "vidvault-export/1"
#: A redacted package: its video is re-encoded with faces and plates hidden,
#: not bit-exact. A distinct format, so that a verifier that knows only
#: bit-exact packages refuses it instead of misreading it.
#: /2 adds the review report (review.json, listed in "files" and "review"),
#: which a /1 verifier would refuse as other video beside the redacted copy.
FORMAT_REDACTED = "vidvault-export-redacted/2"
#: Redacted packages written before the review report; still verified.
FORMAT_REDACTED_V1 = "vidvault-export-redacted/1"
REDACTED_FORMATS = (FORMAT_REDACTED_V1, FORMAT_REDACTED)
FORMATS = (FORMAT, *REDACTED_FORMATS)

MANIFEST = "manifest.json"
SIGNATURE = "manifest.sig"
SIGNER_KEY = "signer.pub"
CLIP = "clip.mp4"
WATERMARKED = "clip.watermarked.mp4"
REDACTED = "clip.redacted.mp4"


class NotCanonicalError(ValueError):
    """The JSON is valid but not in canonical form (or holds a float)."""


def _check_values(value: Any, where: str) -> None:
    if isinstance(value, float):
        raise NotCanonicalError(f"{where} is a float ({value!r}); canonical manifests hold integers only")
    if isinstance(value, dict):
        for k, v in value.items():
            if not isinstance(k, str):
                raise NotCanonicalError(f"{where} has a non-string key {k!r}")
            _check_values(v, f"{where}.{k}")
    elif isinstance(value, list):
        for i, v in enumerate(value):
            _check_values(v, f"{where}[{i}]")


def canonical_json(obj: dict[str, Any]) -> bytes:
    """The canonical bytes of ``obj`` (see the module docstring)."""
    _check_values(obj, "manifest")
    return json.dumps(obj, sort_keys=True, separators=(",", ":"), ensure_ascii=True,
                      allow_nan=False).encode("ascii")


def parse_canonical(data: bytes) -> dict[str, Any]:
    """Parses a manifest and checks it is canonical; raises ``ValueError``
    (``NotCanonicalError`` for valid JSON in another form)."""

    def no_duplicates(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
        keys = [k for k, _ in pairs]
        if len(keys) != len(set(keys)):
            raise NotCanonicalError(f"duplicate key among {sorted(keys)}")
        return dict(pairs)

    obj = json.loads(data.decode("utf-8"), object_pairs_hook=no_duplicates)
    if not isinstance(obj, dict):
        raise NotCanonicalError("a manifest is a JSON object")
    if canonical_json(obj) != data:
        raise NotCanonicalError("the bytes are not the canonical encoding of their content")
    return obj
