"""Writes the seed corpus of fuzz_verify.py: a real (tiny) exported package
and one seed input per mode. Run once; the output is committed under
fuzz/corpus/verify/ (package/ and seeds/)."""

from __future__ import annotations

import shutil
import sys
import tempfile
from pathlib import Path

import vidvault
from vidvault import media

HERE = Path(__file__).resolve().parent
OUT = HERE.parent / "corpus" / "verify"
T0 = 1_763_700_000_000_000_000  # 2025-11-21T04:40:00Z


def main() -> int:
    package, seeds = OUT / "package", OUT / "seeds"
    shutil.rmtree(OUT, ignore_errors=True)
    seeds.mkdir(parents=True)
    with tempfile.TemporaryDirectory() as tmp:
        clip = media.encode_synthetic(Path(tmp) / "clip.mp4", codec="h264", bframes=2, width=128, height=72,
                                      seconds=1.0, fps=10, gop=5, seed=1)
        with vidvault.Store.create(Path(tmp) / "store", key=vidvault.generate_key()) as store:
            vidvault.ingest(store, "cam", str(clip), start=T0, create_camera=True)
            store.export_clip("cam", T0 + 200_000_000, T0 + 800_000_000, package, raw=True, case="FUZZ-1")
    from fuzz_verify import MODE_CLIP, MODE_RAW, MODE_STRUCTURED  # after the package exists
    body = (package / "manifest.json").read_bytes()
    (seeds / "raw-manifest").write_bytes(bytes([MODE_RAW]) + body)
    (seeds / "structured-manifest").write_bytes(bytes([MODE_STRUCTURED]) + body)
    (seeds / "clip").write_bytes(bytes([MODE_CLIP]) + (package / "clip.mp4").read_bytes())
    print(f"wrote {package} ({sum(p.stat().st_size for p in package.iterdir())} bytes) and 3 seeds")
    return 0


if __name__ == "__main__":
    sys.path.insert(0, str(HERE))
    sys.exit(main())
