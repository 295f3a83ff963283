"""A short run of the atheris harness of the manifest / verify path
(fuzz/python/fuzz_verify.py): a few thousand inputs from the committed seed
corpus and every input that once broke verify (regressions/), no crash. The long runs are reported in docs/security/verify.md."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

pytest.importorskip("atheris")

ROOT = Path(__file__).resolve().parent.parent
HARNESS = ROOT / "fuzz" / "python" / "fuzz_verify.py"
SEEDS = ROOT / "fuzz" / "corpus" / "verify" / "seeds"
# Inputs that once broke verify: replayed first, on every run.
REGRESSIONS = ROOT / "fuzz" / "corpus" / "verify" / "regressions"


def test_fuzz_verify_short_run(tmp_path):
    corpus = tmp_path / "corpus"
    corpus.mkdir()
    r = subprocess.run([sys.executable, str(HARNESS), str(corpus), str(SEEDS), str(REGRESSIONS), "-runs=2000", "-seed=1",
                        "-timeout=60", f"-artifact_prefix={tmp_path}/"],
                       capture_output=True, text=True, cwd=tmp_path, timeout=1800)
    assert r.returncode == 0, r.stderr[-4000:]
    assert "Done 2000 runs" in r.stderr
