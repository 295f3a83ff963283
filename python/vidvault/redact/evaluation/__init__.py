"""Evaluation harness of desensitized playback: real face and plate photos
composited onto real backgrounds with exact ground truth, encoded with
libx264, stored, played back; leak rate, over-redaction and fps measured for
the tracker and for per-frame detection with the same models, in one run.

    python -m vidvault.redact.evaluation            # prints the table
    ./dev bench -k redaction                        # and writes docs/BENCHMARKS.md

Needs scikit-image (its bundled sample photos) and the test photos
(``vidvault models install --test-photos``).
"""
