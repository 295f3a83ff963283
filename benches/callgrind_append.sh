#!/usr/bin/env bash
# Instructions per appended MB on the store's append path (seal, encrypt,
# hash, index, group commit), counted by valgrind's callgrind: a regression
# figure that does not move with the machine's load, unlike a timing.
#   benches/callgrind_append.sh [SMALL_MB] [LARGE_MB]     (default 8 and 40)
# Prints both totals and (large - small) / (large - small MB), so store
# creation, start-up and the final sync cancel out. Needs valgrind
# (apt-get install valgrind). Under valgrind the CPU reports fewer features
# (no SHA-NI), so the sha2 crate hashes every stored byte with its portable
# code, about 54 instructions a byte and 90% of the total; the script prints
# that part apart. Compare counts from run to run, not with native speed.
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
count() {  # MB [seal-only] -> "total sha256" (instructions in all, and in SHA-256's compression)
    local tag="$1${2:-}"
    mkdir -p "$work/$tag"
    valgrind --tool=callgrind --callgrind-out-file="$work/cg.$tag" "$bin" "$1" "$work/$tag" ${2:-} >/dev/null 2>"$work/log.$tag"
    total=$(grep -E '^(summary|totals):' "$work/cg.$tag" | head -1 | awk '{print $2}')
    sha=$(callgrind_annotate --inclusive=yes "$work/cg.$tag" 2>/dev/null |
          awk '!done && /sha2-[0-9.]+\/src\/sha256.rs:sha2::sha256::compress256/ {gsub(",", "", $1); print $1; done = 1}')
    echo "$total ${sha:-0}"
}
read -r a asha < <(count "$small")
read -r b bsha < <(count "$large")
read -r sa _ < <(count "$small" seal-only)
read -r sb _ < <(count "$large" seal-only)
echo "append ${small} MB: $a instructions ($asha in SHA-256); sealing alone: $sa"
echo "append ${large} MB: $b instructions ($bsha in SHA-256); sealing alone: $sb"
python3 -c "
mb = $large - $small
store, sha, seal = ($b - $a) / mb / 1e6, ($bsha - $asha) / mb / 1e6, ($sb - $sa) / mb / 1e6
print(f'per appended MB: {store:.1f} M instructions, of which {sha:.1f} M portable SHA-256 (segment content hash)')
print(f'per appended MB without SHA-256: {store - sha:.2f} M; sealing alone (baseline): {seal:.2f} M; ratio {(store - sha) / seal:.2f}')"
