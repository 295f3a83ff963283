"""atheris fuzz target: the manifest / verify path (`vidvault.verify`).

Each input is one package, built from the real package in
fuzz/corpus/verify/package/ with one part replaced by the fuzzer's bytes;
its first byte chooses which:

- MODE_RAW: the rest is manifest.json as it is (parser, canonical form,
  field checks);
- MODE_STRUCTURED: the rest, when it parses as JSON, is re-encoded
  canonically and signed with the pinned key, so mutated *content* reaches
  every check behind the signature (files, clip, frames, time range, C2PA);
- MODE_CLIP: the rest is clip.mp4, under the package's own manifest (the MP4
  sample-table reader and the frame checks).

The oracle: `verify` returns a report and never raises, and no check ends in
"could not be checked" (an exception a check did not foresee). Run:

    python fuzz/python/fuzz_verify.py WORK_CORPUS fuzz/corpus/verify/seeds -runs=N
"""

from __future__ import annotations

import atexit
import json
import os
import shutil
import sys
import tempfile
from pathlib import Path

import atheris

with atheris.instrument_imports():
    import vidvault
    from vidvault.export import manifest, verify as verify_mod

from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

MODE_RAW, MODE_STRUCTURED, MODE_CLIP = 0, 1, 2
TEMPLATE = Path(__file__).resolve().parent.parent / "corpus" / "verify" / "package"

_key = Ed25519PrivateKey.generate()
_public = _key.public_key().public_bytes(serialization.Encoding.Raw, serialization.PublicFormat.Raw)
_scratch = Path(tempfile.mkdtemp(prefix="fuzz-verify-", dir="/dev/shm" if os.path.isdir("/dev/shm") else None))
_pkg = _scratch / "pkg"


def _template_manifest() -> bytes:
    """The real manifest, naming the harness's key as signer."""
    doc = json.loads((TEMPLATE / manifest.MANIFEST).read_bytes())
    doc["signer"]["public_key"] = _public.hex()
    return manifest.canonical_json(doc)


_MANIFEST = _template_manifest()
_CLIP = (TEMPLATE / manifest.CLIP).read_bytes()


def _write(name: str, data: bytes) -> None:
    (_pkg / name).write_bytes(data)


def _reset() -> None:
    shutil.rmtree(_pkg, ignore_errors=True)
    _pkg.mkdir()
    _write(manifest.CLIP, _CLIP)
    _write(manifest.SIGNER_KEY, (TEMPLATE / manifest.SIGNER_KEY).read_bytes())


def _structured(data: bytes) -> bytes:
    try:
        doc = json.loads(data.decode("utf-8"))
        return manifest.canonical_json(doc) if isinstance(doc, dict) else data
    except (ValueError, RecursionError, TypeError):
        return data  # not JSON, or holds floats: use the bytes as they are


def TestOneInput(data: bytes) -> None:
    if not data:
        return
    mode, rest = data[0] % 3, data[1:]
    _reset()
    if mode == MODE_CLIP:
        body = _MANIFEST
        _write(manifest.CLIP, rest)
    else:
        body = _structured(rest) if mode == MODE_STRUCTURED else rest
    _write(manifest.MANIFEST, body)
    _write(manifest.SIGNATURE, _key.sign(body))
    report = vidvault.verify(_pkg, public_key=_public)
    for check in report.checks:
        if check.ok is False and check.detail.startswith(verify_mod.UNEXPECTED):
            raise AssertionError(f"{check.name}: {check.detail}")
    report.to_dict()


def main() -> None:
    atexit.register(shutil.rmtree, _scratch, ignore_errors=True)  # libFuzzer ends the process with exit()
    atheris.Setup(sys.argv, TestOneInput)
    atheris.Fuzz()


if __name__ == "__main__":
    main()
