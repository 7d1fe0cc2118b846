#!/usr/bin/env bash
# Runs one fuzz target for a given time on stable Rust: builds it with libFuzzer's coverage
# instrumentation (the flags cargo-fuzz passes, none of them nightly-only), then fuzzes from the
# seed corpus kept in fuzz/seeds/<target>. New inputs go to fuzz/corpus-local/<target> (not
# committed); a crash, leak or timeout is written to fuzz/artifacts/<target>/ and fails the run.
#
#   fuzz/run.sh <target> <seconds> [extra libFuzzer flags...]
#   fuzz/run.sh list                # the targets
#   fuzz/run.sh build               # build every target only
#
# The run is niced; FUZZ_JOBS (default 1) sets parallel libFuzzer jobs.
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
cd "$here"
triple="$(rustc -vV | sed -n 's/^host: //p')"
targets=$(sed -n 's/^name = "\(.*\)"$/\1/p' Cargo.toml | grep -v '^ml-connector-fuzz$')

usage() {
    echo "usage: fuzz/run.sh <target> <seconds> [libFuzzer flags...] | list | build" >&2
    echo "targets: $(echo $targets)" >&2
    exit 2
}

build() {
    # --target keeps the instrumentation off build scripts and proc macros.
    RUSTFLAGS="-Cpasses=sancov-module \
        -Cllvm-args=-sanitizer-coverage-level=4 \
        -Cllvm-args=-sanitizer-coverage-inline-8bit-counters \
        -Cllvm-args=-sanitizer-coverage-pc-table \
        -Cllvm-args=-sanitizer-coverage-trace-compares \
        -Cllvm-args=-sanitizer-coverage-stack-depth \
        --cfg fuzzing -Cdebug-assertions -Coverflow-checks" \
    CARGO_INCREMENTAL=0 nice -n 19 cargo build --release --locked --target "$triple" "$@"
}

case "${1:-}" in
    list) echo "$targets"; exit 0 ;;
    build) build --bins; exit 0 ;;
    "") usage ;;
esac
target="$1"
seconds="${2:-}"
shift 2 || usage
echo "$targets" | grep -qx "$target" || usage
[[ "$seconds" =~ ^[0-9]+$ ]] || usage

build --bin "$target"
mkdir -p "corpus-local/$target" "seeds/$target" "artifacts/$target"
parallel=()
if [[ "${FUZZ_JOBS:-1}" -gt 1 ]]; then
    # libFuzzer then writes each job's log to fuzz-<n>.log here.
    parallel=(-jobs="$FUZZ_JOBS" -workers="$FUZZ_JOBS")
fi
# -timeout: an input taking over 10 s is a hang; -rss_limit_mb: over 2 GiB is a memory bomb.
exec nice -n 19 "target/$triple/release/$target" \
    -max_total_time="$seconds" -timeout=10 -rss_limit_mb=2048 -max_len=65536 \
    -print_final_stats=1 -artifact_prefix="artifacts/$target/" \
    "${parallel[@]}" "$@" "corpus-local/$target" "seeds/$target"
