__log() { { printf '%s' "$(basename "$0")"; printf ' %q' "$@"; printf '\n'; } >> /oracle/cap/stubcalls.log; }
