"""Start-up of the command line: `vidvault --help` and `vidvault verify
--help`, beside `python -c pass` in the same run, optionally beside another
checkout of the package (before/after a change).

    .venv/bin/python benches/cli_startup.py [--rounds 15] [--before OLD_CHECKOUT/python]

Each round runs every command once per variant, interleaved (so a load
change on the machine hits both variants alike), each a new interpreter
timed with ``time.perf_counter`` around ``subprocess.run``; medians are
printed. A pip-installed wheel has compiled bytecode; an editable checkout
under ``PYTHONDONTWRITEBYTECODE`` has none: run ``python -m compileall -q
python/vidvault`` (and on the other checkout) first to time the former.
"""

from __future__ import annotations

import argparse
import os
import statistics
import subprocess
import sys
import time
from pathlib import Path

COMMANDS = {
    "python -c pass": ["-c", "pass"],
    "vidvault --help": ["-m", "vidvault.cli", "--help"],
    "vidvault verify --help": ["-m", "vidvault.cli", "verify", "--help"],
}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=15)
    parser.add_argument("--before", type=Path, help="the python/ directory of another checkout to compare with")
    args = parser.parse_args()
    here = Path(__file__).resolve().parent.parent / "python"
    variants = {"this checkout": here} | ({"before": args.before.resolve()} if args.before else {})
    times: dict[tuple[str, str], list[float]] = {(v, c): [] for v in variants for c in COMMANDS}
    for _ in range(args.rounds):
        for command, argv in COMMANDS.items():
            for variant, path in variants.items():
                env = dict(os.environ, PYTHONPATH=str(path))
                t = time.perf_counter()
                subprocess.run([sys.executable, *argv], env=env, stdout=subprocess.DEVNULL, check=True)
                times[(variant, command)].append((time.perf_counter() - t) * 1000)
    for command in COMMANDS:
        now = statistics.median(times[("this checkout", command)])
        line = f"{command:24s} {now:7.1f} ms"
        if args.before:
            before = statistics.median(times[("before", command)])
            line += f"   before {before:7.1f} ms   ratio {now / before:.2f}"
        print(line)


if __name__ == "__main__":
    main()
