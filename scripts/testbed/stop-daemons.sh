#!/usr/bin/env bash
# Stop the dockerd and registry started by start-daemons.sh, and the
# side dockerds of side-daemon.sh (by their pid files only).
# Images and registry storage are kept.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root

stop_pidfile() {
  local name="$1" pidfile="$2" pid i
  [ -s "$pidfile" ] || { log "$name: no pid file ($pidfile)"; return; }
  pid="$(cat "$pidfile")"
  if ! kill -0 "$pid" 2>/dev/null; then
    log "$name: not running (stale pid $pid)"; rm -f "$pidfile"; return
  fi
  log "$name: stopping pid $pid"
  kill -TERM "$pid"
  for i in $(seq 1 30); do
    kill -0 "$pid" 2>/dev/null || { rm -f "$pidfile"; log "$name: stopped"; return; }
    sleep 1
  done
  log "$name: still running after 30s; sending SIGKILL"
  kill -KILL "$pid" 2>/dev/null || true
  rm -f "$pidfile"
}

# The side dockerds (side-daemon.sh: containerd store, Docker 20.10, Docker 28 with its
# containerd), if they run: before the registry.
"$(dirname "${BASH_SOURCE[0]}")/side-daemon.sh" containerd down
"$(dirname "${BASH_SOURCE[0]}")/side-daemon.sh" docker2010 down
"$(dirname "${BASH_SOURCE[0]}")/side-daemon.sh" docker28 down
stop_pidfile registry "$TESTBED_RUN_DIR/registry.pid"
# dockerd stops the containerd it started itself.
stop_pidfile dockerd "$TESTBED_RUN_DIR/dockerd.pid"
