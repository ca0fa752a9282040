# shared: append a call record to the current pass's host call log
__P=$(cat /tmp/ixamd/run/current)
__log() { { printf '%s' "$(basename "$0")"; printf ' %q' "$@"; printf '\n'; } >> "$__P/hostcalls.log"; }
