#!/bin/bash
# Usage: run_all.sh OUTDIR [CONC ...]   (CONC "joined" = the non-CI whole-list variant)
set -euo pipefail
PY=/root/.pyenv/versions/3.11.7/bin/python3
KEY=dsv4-fp4-mi355x-sglang-disagg-agentic-hicache-mtp
OUT=$1; shift
mkdir -p "$OUT"
cd /tmp/ixamd
for c in "$@"; do
  extra=(); conc=$c
  if [[ $c == joined ]]; then extra=(--joined); conc=1x2x4x8x16x32x48x64; fi
  for pass in clean trap; do
    t=(); [[ $pass == trap ]] && t=(--trap)
    $PY harness/run_case.py --key $KEY --index 0 --conc $conc "${extra[@]}" --pass-dir passes/$c-$pass "${t[@]}" >/dev/null
    # checked-out tree unchanged by the run (apart from the logs/artifacts dirs it creates)
    diff -r -x benchmark_logs -x benchmark_artifacts /tmp/ixamd/ix /tmp/ixamd/gh/_work/InferenceX/InferenceX
  done
  $PY harness/digest.py --clean passes/$c-clean --trap passes/$c-trap --row $KEY --index 0 \
      --scenario agentic-coding --out "$OUT/$KEY-conc$c.json"
  $PY -m json.tool "$OUT/$KEY-conc$c.json" >/dev/null
done
