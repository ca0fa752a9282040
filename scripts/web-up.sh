#!/usr/bin/env bash
# web-up.sh - what the dashboard's browser tests need, idempotently: Chromium and Node.js
# (installed with apt if missing), the front end's npm packages (dashboard/node_modules,
# pinned by package-lock.json; playwright-core drives the system Chromium, no browser
# download), and a check that the committed front-end bundle is what its sources build.
#
# Usage:  bash scripts/web-up.sh   -> prints SERVEBENCH_TEST_CHROMIUM=/usr/bin/chromium
set -euo pipefail
cd "$(dirname "$0")/.."
missing=()
command -v chromium >/dev/null 2>&1 || missing+=(chromium)
command -v node >/dev/null 2>&1 || missing+=(nodejs)
command -v npm >/dev/null 2>&1 || missing+=(npm)
if ((${#missing[@]})); then
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2
  apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
fi
(cd dashboard && npm ci --no-audit --no-fund --loglevel=error >&2)
# The bundle is committed (cargo builds without Node); it must be what the sources build.
(cd dashboard && npm run --silent build >&2)
if git rev-parse --is-inside-work-tree >/dev/null 2>&1; then
  if ! git diff --quiet -- crates/servebench-dashboard/assets; then
    git diff --stat -- crates/servebench-dashboard/assets >&2
    echo "web-up.sh: crates/servebench-dashboard/assets differ from what dashboard/ builds: run (cd dashboard && npm run build) and commit" >&2
    exit 1
  fi
fi
echo "SERVEBENCH_TEST_CHROMIUM=$(command -v chromium)"
