"""Desensitized playback: leak rate, over-redaction and fps of the tracker
beside per-frame detection with the same models, on test videos built from
real face and plate photos with exact ground truth (720p and 1080p, libx264).
Writes the table into docs/BENCHMARKS.md between the redaction markers.

    .venv/bin/python -m pytest benches/test_redaction_eval.py -s
    VIDVAULT_REDACT_EVAL_QUICK=1 ...   (720p only)
"""

from __future__ import annotations

import datetime
import os
import re
from pathlib import Path

from vidvault.bench.redaction_harness import STANDARD_CONFIGS, evaluate, machine, table
from vidvault.redact.evaluation.scenes import faces_scene, plates_scene, standard_scenes

DOC = Path(__file__).resolve().parent.parent / "docs" / "BENCHMARKS.md"
BEGIN, END = "<!-- redaction-eval:begin -->", "<!-- redaction-eval:end -->"


def test_redaction_leaks_and_speed_vs_per_frame_detection(report):
    quick = bool(os.environ.get("VIDVAULT_REDACT_EVAL_QUICK"))
    scenes = [faces_scene(1280, 720), plates_scene(1280, 720)] if quick else standard_scenes()
    results = evaluate(scenes)
    baseline_name = next(iter(STANDARD_CONFIGS))
    baseline = {r.scene: r for r in results if r.config == baseline_name}
    for r in results:
        if r.config == baseline_name:
            continue
        b = baseline[r.scene]
        report(f"redaction {r.scene}: {r.config}", f"{r.fps:.1f} fps, leak {r.object_leak_rate:.1%}",
               f"per-frame {b.fps:.1f} fps, leak {b.object_leak_rate:.1%}",
               f"fps x{r.fps / b.fps:.2f}, leaks x{r.object_leak_rate / max(b.object_leak_rate, 1e-9):.2f}")
    generated = "\n".join([
        BEGIN,
        f"Measured {datetime.date.today().isoformat()} on {machine()}, by "
        "`.venv/bin/python -m pytest benches/test_redaction_eval.py -s`"
        f"{' (VIDVAULT_REDACT_EVAL_QUICK=1)' if quick else ''}:",
        "",
        table(results),
        END,
    ])
    text = DOC.read_text()
    if BEGIN in text:
        text = re.sub(re.escape(BEGIN) + ".*?" + re.escape(END), lambda _: generated, text, flags=re.S)
    else:
        text = text.rstrip("\n") + "\n\n## Desensitized playback\n\n" + generated + "\n"
    DOC.write_text(text)
    assert all(r.frames == 100 for r in results)
