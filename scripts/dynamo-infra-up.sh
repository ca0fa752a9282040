#!/usr/bin/env bash
# What a real-engine multi-node deployment starts beside its engines, for the sweep's tests:
# etcd and NATS (Dynamo's discovery and request planes) and nginx (in front of several Dynamo
# frontends), from Debian's packages. Installed with apt if missing, without starting their
# system services (the tests start their own, on their own ports). Prints the binaries found.
set -euo pipefail
missing=()
command -v etcd >/dev/null || missing+=(etcd-server)
command -v nats-server >/dev/null || missing+=(nats-server)
command -v nginx >/dev/null || [[ -x /usr/sbin/nginx ]] || missing+=(nginx-light)
if ((${#missing[@]})); then
  # policy-rc.d 101: packages install without starting their daemons.
  policy=/usr/sbin/policy-rc.d
  had_policy=0; [[ -e $policy ]] && had_policy=1
  ((had_policy)) || { printf '#!/bin/sh\nexit 101\n' > "$policy"; chmod +x "$policy"; }
  export DEBIAN_FRONTEND=noninteractive
  apt-get update -qq >&2 && apt-get install -y -qq --no-install-recommends "${missing[@]}" >&2
  ((had_policy)) || rm -f "$policy"
fi
for b in etcd nats-server nginx; do
  p=$(command -v "$b" || ls /usr/sbin/"$b" 2>/dev/null) || { echo "dynamo-infra-up.sh: $b not found after install" >&2; exit 1; }
  echo "$b=$p"
done
