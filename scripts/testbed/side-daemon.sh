#!/usr/bin/env bash
# Second and third dockerds for the test bed, beside the main Docker 26 (classic image store):
#
#   containerd  Docker 26 with the containerd image store ("containerd-snapshotter"): its
#               BuildKit has the LLB caps mergeop and diffop, and its docker driver can export
#               build caches (--cache-to type=registry). tests/e2e_containerd_store.rs.
#   docker2010  Debian 12's own Docker 20.10 (BuildKit 0.8), unpacked from its .deb into
#               /opt/uvf-docker-20.10 (never installed: the system keeps Docker 26), driven with
#               its own client and `DOCKER_BUILDKIT=1 docker build`. tests/e2e_docker2010.rs.
#
#   scripts/testbed/side-daemon.sh KIND up     start it (idempotent); prints DOCKER_HOST=unix://...
#   scripts/testbed/side-daemon.sh KIND down   stop it (by its pid file), remove its bridge and rules
#   scripts/testbed/side-daemon.sh KIND env    print DOCKER_HOST=... if it answers
#   scripts/testbed/side-daemon.sh KIND reset  down, delete its data root, up: a builder as new as
#                                               a fresh CI runner's (no images, no build cache,
#                                               no cache mounts, no cache keys)
#   CTRD_DEBUG=1 ... up                         dockerd --debug, BuildKit scheduler debug in its log
#
# Each has its own managed containerd (dockerd starts one under its own --exec-root, with its
# root under its own --data-root), pid file, socket, bridge and subnet, and reuses the test bed's
# registry (127.0.0.1:5000, which must be up). Root only.
#
# Networking: the test bed's dockerd owns iptables (its DOCKER chains and the FORWARD DROP
# policy); these run with --iptables=false on a bridge this script creates, and the script
# adds exactly three rules for that bridge (MASQUERADE for its subnet, FORWARD accept out of it
# and for replies into it), removed again by `down`. The test bed's dockerd, its chains and its
# containers are never touched.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

KIND="${1:-}"
shift || true
DOCKER2010_ROOT="${DOCKER2010_ROOT:-/opt/uvf-docker-20.10}"
DOCKER2010_VERSION="${DOCKER2010_VERSION:-20.10.24+dfsg1-1+deb12u1+b6}"
case "$KIND" in
  containerd)
    NAME=containerd-store
    DOCKERD=/usr/sbin/dockerd
    CLIENT="$DOCKER"
    CTRD_DATA_ROOT="${CTRD_DATA_ROOT:-/var/lib/uv-frontend-testbed/containerd-store}"
    CTRD_EXEC_ROOT="${CTRD_EXEC_ROOT:-/run/uvf-containerd}"
    CTRD_SOCK="${CTRD_SOCK:-/run/uvf-containerd.sock}"
    CTRD_BRIDGE="${CTRD_BRIDGE:-uvfctrd0}"
    CTRD_BRIDGE_CIDR="${CTRD_BRIDGE_CIDR:-172.30.214.1/24}"
    CTRD_SUBNET="${CTRD_SUBNET:-172.30.214.0/24}"
    CTRD_CGROUP_PARENT="${CTRD_CGROUP_PARENT:-/uvf-containerd}"
    FEATURES='"buildkit": true, "containerd-snapshotter": true'
    ;;
  docker2010)
    NAME=docker-20.10
    DOCKERD="$DOCKER2010_ROOT/usr/sbin/dockerd"
    CLIENT="$DOCKER2010_ROOT/usr/bin/docker"
    CTRD_DATA_ROOT="${CTRD_DATA_ROOT:-/var/lib/uv-frontend-testbed/docker-20.10}"
    CTRD_EXEC_ROOT="${CTRD_EXEC_ROOT:-/run/uvf-docker2010}"
    CTRD_SOCK="${CTRD_SOCK:-/run/uvf-docker2010.sock}"
    CTRD_BRIDGE="${CTRD_BRIDGE:-uvfd2010}"
    CTRD_BRIDGE_CIDR="${CTRD_BRIDGE_CIDR:-172.30.215.1/24}"
    CTRD_SUBNET="${CTRD_SUBNET:-172.30.215.0/24}"
    CTRD_CGROUP_PARENT="${CTRD_CGROUP_PARENT:-/uvf-docker2010}"
    FEATURES='"buildkit": true'
    ;;
  *) echo "usage: $0 containerd|docker2010 up|down|env|reset" >&2; exit 2 ;;
esac
CTRD_STATE="$TESTBED_CACHE/$NAME"
PIDFILE="$TESTBED_RUN_DIR/$NAME-dockerd.pid"
LOG="$TESTBED_LOG_DIR/$NAME-dockerd.log"
CONFIG="$CTRD_STATE/daemon.json"

# Debian 12's docker.io 20.10, unpacked (not installed) from its .deb; its dockerd starts the
# system's containerd and runc (Docker 26's), which it works with.
install_docker2010() {
  [ -x "$DOCKERD" ] && [ -x "$CLIENT" ] && return 0
  local debs="$TESTBED_CACHE/debs-20.10" deb
  mkdir -p "$debs"
  chown _apt "$debs" 2>/dev/null || true
  log "downloading docker.io=$DOCKER2010_VERSION (Debian 12) into $debs"
  (cd "$debs" && apt-get -qq download "docker.io=$DOCKER2010_VERSION") \
    || { apt-get update -qq && (cd "$debs" && apt-get -qq download "docker.io=$DOCKER2010_VERSION"); } \
    || die "apt-get download docker.io=$DOCKER2010_VERSION failed"
  deb="$(ls "$debs"/docker.io_*.deb | head -1)"
  rm -rf "$DOCKER2010_ROOT"
  mkdir -p "$DOCKER2010_ROOT"
  dpkg-deb -x "$deb" "$DOCKER2010_ROOT"
  [ -x "$DOCKERD" ] && [ -x "$CLIENT" ] || die "$deb has no dockerd/docker"
  log "unpacked $(basename "$deb") into $DOCKER2010_ROOT"
}

dk() { DOCKER_HOST="unix://$CTRD_SOCK" "$CLIENT" "$@"; }
daemon_ok() { timeout 10 env DOCKER_HOST="unix://$CTRD_SOCK" "$CLIENT" info >/dev/null 2>&1; }
registry_ok() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null; }
# The pid in the pid file, if it names a live dockerd.
live_pid() {
  local pid
  [ -s "$PIDFILE" ] || return 1
  pid="$(cat "$PIDFILE")"
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = dockerd ] || return 1
  echo "$pid"
}

uplink_mtu() {
  local dev mtu
  dev="$(ip route show default 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="dev"){print $(i+1); exit}}')"
  mtu="$(cat "/sys/class/net/${dev:-eth0}/mtu" 2>/dev/null || echo 1500)"
  [ "$mtu" -le 1500 ] || mtu=1500
  echo "$mtu"
}

rules() {
  # one rule per line: table<TAB>chain<TAB>spec
  printf 'nat\tPOSTROUTING\t-s %s ! -o %s -j MASQUERADE\n' "$CTRD_SUBNET" "$CTRD_BRIDGE"
  printf 'filter\tFORWARD\t-i %s -j ACCEPT\n' "$CTRD_BRIDGE"
  printf 'filter\tFORWARD\t-o %s -m conntrack --ctstate RELATED,ESTABLISHED -j ACCEPT\n' "$CTRD_BRIDGE"
}

add_rules() {
  local table chain spec
  while IFS=$'\t' read -r table chain spec; do
    # shellcheck disable=SC2086
    if ! iptables -w -t "$table" -C "$chain" $spec 2>/dev/null; then
      if [ "$chain" = FORWARD ]; then
        # before the test bed dockerd's DOCKER-USER / isolation jumps and its DROP policy
        iptables -w -t "$table" -I "$chain" 1 $spec
      else
        iptables -w -t "$table" -A "$chain" $spec
      fi
    fi
  done < <(rules)
}

del_rules() {
  local table chain spec
  while IFS=$'\t' read -r table chain spec; do
    # shellcheck disable=SC2086
    while iptables -w -t "$table" -C "$chain" $spec 2>/dev/null; do
      iptables -w -t "$table" -D "$chain" $spec
    done
  done < <(rules)
}

up() {
  need_root
  [ "$KIND" != docker2010 ] || install_docker2010
  [ -x "$DOCKERD" ] || die "$DOCKERD missing: run scripts/testbed-up first"
  mkdir -p "$CTRD_STATE" "$CTRD_DATA_ROOT" "$TESTBED_RUN_DIR" "$TESTBED_LOG_DIR"
  if daemon_ok; then
    log "$NAME dockerd already answering on $CTRD_SOCK"
  else
    registry_ok || die "registry $REGISTRY not answering: run scripts/testbed-up first"
    if ! ip link show "$CTRD_BRIDGE" >/dev/null 2>&1; then
      # Another interface already routing the subnet would make the bridge unreachable.
      if ip -4 route show "$CTRD_SUBNET" | grep -q .; then
        die "subnet $CTRD_SUBNET is already routed ($(ip -4 route show "$CTRD_SUBNET")); set CTRD_SUBNET/CTRD_BRIDGE_CIDR"
      fi
      ip link add name "$CTRD_BRIDGE" type bridge
      ip addr add "$CTRD_BRIDGE_CIDR" dev "$CTRD_BRIDGE"
    fi
    local mtu; mtu="$(uplink_mtu)"
    ip link set "$CTRD_BRIDGE" mtu "$mtu" up
    [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || sysctl -qw net.ipv4.ip_forward=1
    add_rules
    cat > "$CONFIG" <<EOF
{
  "features": { $FEATURES },
  "insecure-registries": ["$REGISTRY"],
  "log-driver": "json-file"
}
EOF
    local pid
    if pid="$(live_pid)"; then
      die "$NAME dockerd (pid $pid) runs but does not answer; see $LOG or run $0 $KIND down"
    fi
    rm -f "$PIDFILE"
    log "starting $NAME dockerd (config $CONFIG, data root $CTRD_DATA_ROOT, exec root $CTRD_EXEC_ROOT, socket $CTRD_SOCK, bridge $CTRD_BRIDGE $CTRD_SUBNET, log $LOG)"
    # dockerd starts and supervises its own containerd under --exec-root (socket
    # $CTRD_EXEC_ROOT/containerd/containerd.sock) with its root under --data-root.
    local debug=()
    # CTRD_DEBUG=1: debug log, with BuildKit's scheduler (cache keys, cache matches) in it.
    [ "${CTRD_DEBUG:-0}" != 1 ] || debug=(env BUILDKIT_SCHEDULER_DEBUG=1)
    setsid nohup "${debug[@]}" "$DOCKERD" --config-file "$CONFIG" \
      --data-root "$CTRD_DATA_ROOT" --exec-root "$CTRD_EXEC_ROOT" \
      --pidfile "$PIDFILE" -H "unix://$CTRD_SOCK" \
      --bridge "$CTRD_BRIDGE" --mtu "$mtu" --iptables=false --ip6tables=false \
      --ip-forward=false --cgroup-parent "$CTRD_CGROUP_PARENT" \
      ${debug[0]:+--debug} </dev/null >>"$LOG" 2>&1 &
    local started=$! i
    for i in $(seq 1 60); do
      daemon_ok && break
      kill -0 "$started" 2>/dev/null || { tail -30 "$LOG" >&2; die "$NAME dockerd exited"; }
      sleep 1
    done
    daemon_ok || { tail -30 "$LOG" >&2; die "$NAME dockerd did not answer within 60s"; }
    log "$NAME dockerd up after ${i}s: $(dk version -f 'server {{.Server.Version}}')"
  fi
  # The point of each daemon: refuse to pass for it when it is not what it should be.
  if [ "$KIND" = containerd ]; then
    local driver
    driver="$(dk info -f '{{range .DriverStatus}}{{index . 0}}={{index . 1}} {{end}}')"
    case "$driver" in
      *io.containerd.snapshotter.v1*) ;;
      *) die "the daemon on $CTRD_SOCK does not use the containerd image store (driver status: $driver)" ;;
    esac
  else
    local version
    version="$(dk version -f '{{.Server.Version}}')"
    case "$version" in
      20.10.*) ;;
      *) die "the daemon on $CTRD_SOCK is Docker $version, not 20.10" ;;
    esac
  fi
  echo "DOCKER_HOST=unix://$CTRD_SOCK"
}

down() {
  need_root
  local pid i
  if pid="$(live_pid)"; then
    log "stopping $NAME dockerd pid $pid (it stops its own containerd)"
    kill -TERM "$pid"
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then log "still running after 30s; SIGKILL"; kill -KILL "$pid"; fi
  fi
  rm -f "$PIDFILE"
  del_rules
  if ip link show "$CTRD_BRIDGE" >/dev/null 2>&1; then ip link del "$CTRD_BRIDGE"; fi
  log "$NAME dockerd down (data kept in $CTRD_DATA_ROOT)"
}

# Unmounts everything mounted at or under $1, deepest first. dockerd bind-mounts its data root
# onto itself (to make its propagation private) and undoes that only on a clean shutdown; a
# daemon killed with its session leaves the mount behind, and `rm -rf` of a mount point fails
# with "Device or resource busy".
unmount_under() {
  local root="$1" mp
  awk -v root="$root" '$5 == root || index($5, root "/") == 1 { print length($5) "\t" $5 }' \
    /proc/self/mountinfo | sort -rn | cut -f2- | while IFS= read -r mp; do
    log "unmounting leftover mount $mp"
    umount "$mp" 2>/dev/null || umount -l "$mp"
  done
}

case "${1:-}" in
  client) echo "$CLIENT" ;;
  up) up ;;
  down) down ;;
  reset)
    down
    case "$CTRD_DATA_ROOT" in /var/lib/*/*) ;; *) die "refusing to delete $CTRD_DATA_ROOT" ;; esac
    unmount_under "$CTRD_DATA_ROOT"
    rm -rf "$CTRD_DATA_ROOT"
    log "deleted $CTRD_DATA_ROOT"
    up
    ;;
  env)
    if daemon_ok; then echo "DOCKER_HOST=unix://$CTRD_SOCK"; else die "$NAME dockerd not up: run $0 $KIND up (or scripts/testbed-up)"; fi
    ;;
  *) echo "usage: $0 $KIND up|down|env|reset|client" >&2; exit 2 ;;
esac
