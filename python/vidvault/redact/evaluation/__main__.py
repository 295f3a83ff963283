"""python -m vidvault.redact.evaluation [--quick]"""

from __future__ import annotations

import argparse

from .harness import evaluate, machine, table
from .scenes import faces_scene, plates_scene, standard_scenes

parser = argparse.ArgumentParser(prog="python -m vidvault.redact.evaluation")
parser.add_argument("--quick", action="store_true", help="720p scenes only")
args = parser.parse_args()
scenes = [faces_scene(1280, 720), plates_scene(1280, 720)] if args.quick else standard_scenes()
results = evaluate(scenes)
print()
print(machine())
print(table(results))
