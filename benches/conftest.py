"""Benchmarks of the Python boundary. Each figure is measured beside its
baseline in the same run; the ratios are printed at the end of the session.

    ./dev bench            (criterion + these)
    .venv/bin/python -m pytest benches --benchmark-enable
"""

from __future__ import annotations

import os
import shutil
import sys
import tempfile
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).resolve().parent.parent / "tests"))

RESULTS: list[tuple[str, str, str, str]] = []


@pytest.fixture
def bench_dir():
    """Benchmarks run on the disk under test: $VIDVAULT_BENCH_DIR, else the
    system temp dir. Removed afterwards (benchmarks write gigabytes)."""
    path = Path(tempfile.mkdtemp(dir=os.environ.get("VIDVAULT_BENCH_DIR"), prefix="vidvault-bench-"))
    yield path
    shutil.rmtree(path, ignore_errors=True)


@pytest.fixture
def report():
    def add(figure: str, value: str, baseline: str, ratio: str) -> None:
        RESULTS.append((figure, value, baseline, ratio))

    return add


def pytest_terminal_summary(terminalreporter):
    if not RESULTS:
        return
    tr = terminalreporter
    tr.section("vidvault figures beside their baselines")
    w = max(len(r[0]) for r in RESULTS)
    tr.write_line(f"{'figure':{w}}  {'vidvault':>16}  {'baseline':>28}  ratio")
    for fig, val, base, ratio in RESULTS:
        tr.write_line(f"{fig:{w}}  {val:>16}  {base:>28}  {ratio}")
