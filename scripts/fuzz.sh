#!/usr/bin/env bash
# Coverage-guided fuzzing of servebench's parsers of outside bytes (fuzz/, cargo-fuzz).
#
# Builds and runs each fuzz target in turn for a bounded time, starting from its
# committed seed corpus (fuzz/corpus/<target>, read only) and a working corpus kept under
# fuzz/target/corpus/<target> (not committed), with fuzz/dicts/<target>.dict as libFuzzer's
# dictionary where there is one. Prints per target the executions done and
# whether it crashed; exits non-zero if any target crashed (panic, failed invariant, timeout,
# out of memory). Crashing inputs are written to fuzz/artifacts/<target>/.
#
#   bash scripts/fuzz.sh                  # every target, FUZZ_SECONDS each (default 20)
#   FUZZ_SECONDS=300 bash scripts/fuzz.sh sse chunk
#   FUZZ_SECONDS=0 bash scripts/fuzz.sh   # replay the corpora only (no new inputs)
#
# Environment:
#   FUZZ_SECONDS     seconds per target (libFuzzer -max_total_time); 0 replays the corpus only
#   FUZZ_TIMEOUT     seconds one input may take before it counts as a hang (default 10)
#   FUZZ_RSS_MB      memory limit of a target, MiB (default 2048)
#   FUZZ_TARGET_DIR  cargo target directory (default fuzz/target)
#   FUZZ_REPLAY_CRASHES=1  also replay fuzz/crashes-found/<target> (known, reported crashes)
#
# Needs: a nightly Rust toolchain (cargo-fuzz's -Zsanitizer flags), a C compiler (sqlite, ring
# and oniguruma are built from source), and cargo-fuzz, installed here from crates.io if
# missing. One fuzz process at a time, on one core (-jobs/-workers are not used).
set -euo pipefail

root="$(cd "$(dirname "$0")/.." && pwd)"
cd "$root"

seconds="${FUZZ_SECONDS:-20}"
hang="${FUZZ_TIMEOUT:-10}"
rss="${FUZZ_RSS_MB:-2048}"
target_dir="${FUZZ_TARGET_DIR:-$root/fuzz/target}"
cargo_fuzz_version="0.13.2"

# Every target and its -max_len (bytes): enough for realistic inputs, small enough to keep
# executions fast.
declare -A max_len=(
  [sse]=4096
  [chunk]=4096
  [http1_head]=4096
  [http1_chunked]=4096
  [response]=8192
  [recipes]=16384
  [store_sweep_point]=8192
  [store_agg_row]=8192
  [published]=8192
  [dataset_jsonl]=4096
  [dataset_sharegpt]=4096
  [eval_extract]=4096
  [eval_task]=4096
  [power]=4096
  [prometheus]=4096
  [srt_recipe]=16384
  [ix_launchers]=32768
  [trace]=16384
  [sharegpt_sessions]=8192
)
all_targets=(sse chunk http1_head http1_chunked response recipes store_sweep_point store_agg_row
  published dataset_jsonl dataset_sharegpt eval_extract eval_task power prometheus srt_recipe
  ix_launchers trace sharegpt_sessions)

if [ "$#" -gt 0 ]; then
  targets=("$@")
  for t in "${targets[@]}"; do
    [ -n "${max_len[$t]:-}" ] || { echo "fuzz.sh: unknown target '$t' (have: ${all_targets[*]})" >&2; exit 2; }
  done
else
  targets=("${all_targets[@]}")
fi

# --- what the build needs ---------------------------------------------------------------------
if ! command -v cc >/dev/null 2>&1; then
  echo "fuzz.sh: no C compiler; installing build-essential" >&2
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends build-essential >/dev/null
fi
if ! rustup toolchain list 2>/dev/null | grep -q '^nightly'; then
  echo "fuzz.sh: no nightly toolchain; trying 'rustup toolchain install nightly --profile minimal'" >&2
  rustup toolchain install nightly --profile minimal || {
    echo "fuzz.sh: cargo-fuzz needs a nightly Rust toolchain and none could be installed" >&2
    exit 2
  }
fi
if ! cargo fuzz --version >/dev/null 2>&1; then
  echo "fuzz.sh: installing cargo-fuzz $cargo_fuzz_version from crates.io" >&2
  cargo install cargo-fuzz --locked --version "$cargo_fuzz_version"
fi

# --- build ------------------------------------------------------------------------------------
# Optimised, with debug assertions and overflow checks (cargo-fuzz's defaults), without
# AddressSanitizer: the code fuzzed is safe Rust, and ASan would halve the executions.
# One target at a time, its binary deleted once it ran clean: each is 40-90 MB of line tables,
# and all of them at once (about 1.1 GB beside 0.6 GB of libraries) once filled a CI disk
# mid-link. The libraries are built with the first target and shared by the rest.
build() {
  cargo +nightly fuzz build --fuzz-dir fuzz -s none --target-dir "$target_dir" "$1"
}
bin_dir="$target_dir/x86_64-unknown-linux-gnu/release"
t0=$(date +%s)
build "${targets[0]}"
t1=$(date +%s)
echo "fuzz.sh: built the fuzz libraries and ${targets[0]} in $((t1 - t0)) s"

# --- run --------------------------------------------------------------------------------------
logs="$target_dir/fuzz-logs"
mkdir -p "$logs"
failed=()
summary=()
for t in "${targets[@]}"; do
  work="$target_dir/corpus/$t"
  artifacts="$root/fuzz/artifacts/$t"
  mkdir -p "$work" "$artifacts" "fuzz/corpus/$t"
  build "$t" 2>"$logs/$t.build.log" || { cat "$logs/$t.build.log" >&2; exit 1; }
  dirs=("$work" "fuzz/corpus/$t")
  if [ "${FUZZ_REPLAY_CRASHES:-0}" = 1 ] && [ -d "fuzz/crashes-found/$t" ]; then
    dirs+=("fuzz/crashes-found/$t")
  fi
  dict=()
  if [ -f "fuzz/dicts/$t.dict" ]; then
    dict=(-dict="fuzz/dicts/$t.dict")
  fi
  if [ "$seconds" = 0 ]; then
    mode=(-runs=0)
  else
    mode=(-max_total_time="$seconds")
  fi
  before=$(find "$artifacts" -type f | wc -l)
  start=$(date +%s)
  set +e
  "$bin_dir/$t" "${mode[@]}" "${dict[@]}" -max_len="${max_len[$t]}" -timeout="$hang" -rss_limit_mb="$rss" \
    -artifact_prefix="$artifacts/" -print_final_stats=1 "${dirs[@]}" >"$logs/$t.log" 2>&1 &
  pid=$!
  wait "$pid"
  rc=$?
  set -e
  # The targets' scratch files (servebench_fuzz::scratch).
  rm -rf "/dev/shm/servebench-fuzz-$pid" "${TMPDIR:-/tmp}/servebench-fuzz-$pid"
  took=$(($(date +%s) - start))
  # A crash on the first seed leaves no "corp:" line: no match must not end the script.
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$logs/$t.log" | tail -1)
  corpus=$({ grep -Eo 'corp: [0-9]+/[0-9a-zA-Z]+' "$logs/$t.log" || true; } | tail -1 | cut -d' ' -f2)
  after=$(find "$artifacts" -type f | wc -l)
  if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
    verdict="CRASH (exit $rc; see $logs/$t.log and fuzz/artifacts/$t/)"
    failed+=("$t")
    grep -m3 -E "panicked at|ERROR: libFuzzer|SUMMARY" "$logs/$t.log" | sed 's/^/    /' || true
  else
    verdict="ok"
    # Kept where it crashed, to reproduce the crash with.
    rm -f "$bin_dir/$t" "$bin_dir/deps/$t"-*
  fi
  line=$(printf '%-18s %10s execs %5ss  corpus %-12s %s' "$t" "${execs:-?}" "$took" "${corpus:-?}" "$verdict")
  echo "$line"
  summary+=("$line")
done

echo
echo "fuzz.sh: ${#targets[@]} targets, ${seconds} s each (first build $((t1 - t0)) s, total $(($(date +%s) - t0)) s)"
printf '%s\n' "${summary[@]}"
if [ "${#failed[@]}" -gt 0 ]; then
  echo "fuzz.sh: crashed: ${failed[*]}" >&2
  exit 1
fi
echo "fuzz.sh: no crashes"
