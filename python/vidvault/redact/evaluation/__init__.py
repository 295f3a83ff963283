"""Evaluation of desensitized playback: real face and plate photos
composited onto real backgrounds with exact ground truth (scenes, photos)
and the leak rate and over-redaction of a playback against it (metrics).
The harness that encodes, stores and plays them back, for the tracker and
for per-frame detection with the same models in one run, is a benchmark
(vidvault.bench.redaction_harness):

    python -m vidvault.bench.redaction_harness      # prints the table
    ./dev bench -k redaction                        # and writes docs/BENCHMARKS.md

Needs scikit-image (its bundled sample photos) and the test photos
(``vidvault models install --test-photos``).
"""
