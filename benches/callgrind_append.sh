#!/usr/bin/env bash
# Instructions per appended MB on the store's append path (seal, encrypt,
# hash, index, group commit), counted by valgrind's callgrind: a regression
# figure that does not move with the machine's load, unlike a timing.
#   benches/callgrind_append.sh [SMALL_MB] [LARGE_MB]     (default 8 and 40)
# Prints both totals and (large - small) / (large - small MB), so store
# creation, start-up and the final sync cancel out. Needs valgrind
# (apt-get install valgrind). Under valgrind the CPU reports fewer features
# (no AVX-512, SHA-NI or VAES), so ring takes its portable AES-GCM and SHA-256
# code: compare counts from run to run, not with native speed.
set -euo pipefail
cd "$(dirname "$0")/.."
small=${1:-8}
large=${2:-40}
command -v valgrind >/dev/null || { echo "valgrind is not installed: apt-get install valgrind" >&2; exit 2; }
bin=$(cargo bench --bench append_instructions --no-run --message-format=json 2>/dev/null |
      python3 -c 'import json,sys
for line in sys.stdin:
    m = json.loads(line)
    if m.get("reason") == "compiler-artifact" and m["target"]["name"] == "append_instructions" and m.get("executable"):
        print(m["executable"])')
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
count() {
    mkdir -p "$work/$1"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$1" "$bin" "$1" "$work/$1" >/dev/null 2>"$work/log.$1"
    grep -E '^(summary|totals):' "$work/cg.$1" | head -1 | awk '{print $2}'
}
a=$(count "$small")
b=$(count "$large")
echo "append ${small} MB: $a instructions"
echo "append ${large} MB: $b instructions"
python3 -c "print(f'per appended MB: {($b - $a) / ($large - $small) / 1e6:.1f} M instructions')"
