#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it. Installs nothing yet: the current tests
# need only the Rust toolchain (the load generator is tested against servebench's own server
# over real loopback HTTP). Later issues add PostgreSQL, SLURM, Chromium and llama-server here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --workspace --all-targets
# One test at a time: many tests run a server and a client and check their timing against
# each other; on 2 cores, parallel tests only add noise (the whole suite takes ~30 s anyway).
cargo test --locked --workspace --no-fail-fast -- --test-threads=1
