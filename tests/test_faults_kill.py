"""A few kill -9 trials of each path of benches/kill_trials.py (the bench
runs 1,000 per path): after SIGKILL at a random point, reopening the store
keeps every frame `sync()`/`close()` acknowledged, bit-exact."""

from __future__ import annotations

import importlib.util
import io
from pathlib import Path

import pytest

BENCH = Path(__file__).resolve().parent.parent / "benches" / "kill_trials.py"


def _bench():
    spec = importlib.util.spec_from_file_location("kill_trials", BENCH)
    mod = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(mod)
    return mod


@pytest.mark.parametrize("path", ["ingest", "seal", "sweep"])
def test_kill_trials_lose_no_acknowledged_frame(tmp_path, path):
    out = io.StringIO()
    failures = _bench().run(path, trials=4, base=tmp_path, seed=7, max_delay=0.5, out=out)
    assert failures == 0, out.getvalue()
