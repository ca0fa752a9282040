#!/usr/bin/env bash
# The whole test suite, as a newcomer and CI run it. Installs nothing yet: the current tests
# need only the Rust toolchain (the load generator is tested against servebench's own server
# over real loopback HTTP). Later issues add PostgreSQL, SLURM, Chromium and llama-server here.
set -euo pipefail
cd "$(dirname "$0")/.."
cargo build --locked --workspace --all-targets
cargo test --locked --workspace --no-fail-fast
