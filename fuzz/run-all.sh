#!/usr/bin/env bash
# Runs every fuzz target for RUNS inputs each, one after the other, one job
# at a time, and prints libFuzzer's final count line per target.
#   fuzz/run-all.sh 10000000            # the issue's 10^7 per target
#   fuzz/run-all.sh 100000 segment      # one target
# Needs `cargo install cargo-fuzz` and a nightly toolchain. New inputs go to
# fuzz/work/<target>/ (ignored by git); findings to fuzz/artifacts/<target>/.
# MAX_TIME=SECONDS also stops each target after that long (a time-boxed run).
# SANITIZER=address to build with ASan (slower; the default `none` still
# catches panics, hangs via -timeout and memory blow-ups via -rss_limit_mb).
set -euo pipefail
cd "$(dirname "$0")"
RUNS=${1:?usage: fuzz/run-all.sh RUNS [target...]}
shift
TARGETS=("$@")
[ ${#TARGETS[@]} -gt 0 ] || TARGETS=(segment recovery keystore grant)
SANITIZER=${SANITIZER:-none}
# Findings not fixed yet are skipped so a run can find the others.
VIDVAULT_FUZZ_KNOWN_OPEN=$(sed -e 's/#.*//' known-open.txt | xargs | tr ' ' ',')
export VIDVAULT_FUZZ_KNOWN_OPEN
NICE=${NICE:-15}
LIMIT=()
[ -z "${MAX_TIME:-}" ] || LIMIT=(-max_total_time="$MAX_TIME")

max_len() {
    case "$1" in
        segment | recovery) echo 65536 ;;   # a few hundred records; the corpus files are <= 9 KiB
        keystore) echo 16384 ;;
        grant) echo 4096 ;;
    esac
}

mkdir -p logs
for t in "${TARGETS[@]}"; do
    mkdir -p "work/$t"
    log="logs/$t.log"
    echo "== $t: $RUNS runs (log: fuzz/$log)"
    nice -n "$NICE" cargo +nightly fuzz run -s "$SANITIZER" "$t" "work/$t" "corpus/$t" -- \
        -runs="$RUNS" -rss_limit_mb=2048 -timeout=10 -max_len="$(max_len "$t")" -print_final_stats=1 "${LIMIT[@]}" \
        >"$log" 2>&1 || { echo "$t: FAILED, see fuzz/$log and fuzz/artifacts/$t/"; tail -40 "$log"; exit 1; }
    # libFuzzer exits without running destructors: drop the scratch files.
    rm -rf "${VIDVAULT_FUZZ_SCRATCH:-/dev/shm}/vidvault-fuzz-$t-"*
    grep -E '^Done [0-9]+ runs' "$log" || tail -3 "$log"
    grep -E 'stat::(number_of_executed_units|average_exec_per_sec|peak_rss_mb)' "$log" || true
done
