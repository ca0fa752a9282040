# Installed via BASH_ENV in the container. Active only in the server.sh process.
# It assigns no shell variable; it only writes files under /oracle/cap.
if [[ "$0" == */server.sh ]]; then
  set -T
  __oracle_cap() {
    case "$BASH_COMMAND" in
      'source $SGLANG_WS_PATH/setup_deps.sh')
        [[ -e /oracle/cap/pre_setup_deps.env ]] && echo pre_setup_deps >> /oracle/cap/dup
        env -0 > /oracle/cap/pre_setup_deps.env ;;
      'source $SGLANG_WS_PATH/env.sh')
        [[ -e /oracle/cap/pre_env_sh.env ]] && echo pre_env_sh >> /oracle/cap/dup
        env -0 > /oracle/cap/pre_env_sh.env ;;
      "host_ip=\$(ip route get 1.1.1.1 | awk '/src/ {print \$7}')")
        [[ -e /oracle/cap/post_env_sh.env ]] && echo post_env_sh >> /oracle/cap/dup
        env -0 > /oracle/cap/post_env_sh.env ;;
      'echo "DRY RUN: $PREFILL_CMD"')
        [[ -e /oracle/cap/prefill.cmd ]] && echo prefill >> /oracle/cap/dup
        env -0 > /oracle/cap/prefill.env; printf '%s' "$PREFILL_CMD" > /oracle/cap/prefill.cmd ;;
      'echo "DRY RUN: $DECODE_CMD"')
        [[ -e /oracle/cap/decode.cmd ]] && echo decode >> /oracle/cap/dup
        env -0 > /oracle/cap/decode.env; printf '%s' "$DECODE_CMD" > /oracle/cap/decode.cmd ;;
      'echo "DRY RUN: $ROUTER_CMD"')
        [[ -e /oracle/cap/router.cmd ]] && echo router >> /oracle/cap/dup
        env -0 > /oracle/cap/router.env; printf '%s' "$ROUTER_CMD" > /oracle/cap/router.cmd ;;
    esac
  }
  trap '__oracle_cap' DEBUG
fi
