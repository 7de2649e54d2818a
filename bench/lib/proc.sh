# shellcheck shell=bash
# Shared by the bench scripts (sourced): errors, port checks, and processes started in the background,
# remembered by pid and stopped only by pid. Needs `stop_timeout` (seconds) set by the caller.

die() { echo "bench: $*" >&2; exit 2; }

busy_ports() { # port...: prints those of the ports something on 127.0.0.1 already accepts connections on
  local p taken=()
  for p in "$@"; do
    if (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then taken+=("$p"); fi
  done
  echo "${taken[*]}"
}

alive() { # pid: running (an exited child stays a zombie until waited for; that is not running)
  local state
  state="$(ps -o stat= -p "$1" 2>/dev/null)" || return 1
  [[ -n $state && $state != Z* ]]
}

stop_pids() { # pid...: TERM, then KILL what still runs after stop_timeout; reap
  (($#)) || return 0
  kill -TERM "$@" 2>/dev/null || true
  local deadline=$((SECONDS + ${stop_timeout:?})) pid
  for pid in "$@"; do
    while alive "$pid" && ((SECONDS < deadline)); do sleep 0.1; done
    if alive "$pid"; then
      echo "bench: pid $pid did not stop within ${stop_timeout}s of TERM: KILL" >&2
      kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true
  done
}

log_tail() { # file
  echo "---- last lines of $1:" >&2
  tail -n 30 "$1" >&2 || true
  echo "----" >&2
}
