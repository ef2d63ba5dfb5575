#!/usr/bin/env bash
# Second and third dockerds for the test bed, beside the main Docker 26 (classic image store):
#
#   containerd  Docker 26 with the containerd image store ("containerd-snapshotter"): its
#               BuildKit has the LLB caps mergeop and diffop, and its docker driver can export
#               build caches (--cache-to type=registry). tests/e2e_containerd_store.rs.
#   docker2010  Debian 12's own Docker 20.10 (BuildKit 0.8), unpacked from its .deb into
#               /opt/uvf-docker-20.10 (never installed: the system keeps Docker 26), driven with
#               its own client and `DOCKER_BUILDKIT=1 docker build`. tests/e2e_docker2010.rs.
#   docker28    Docker 28.5 with buildx 0.29 and containerd 2.1 from Debian's unstable suite (sid),
#               unpacked from their .debs into $TESTBED_CACHE/docker-28/sid (never installed),
#               on the containerd image store, with a containerd 2.1 process of its own that this
#               script starts and stops, and driven with its own client and buildx 0.29 (its own
#               DOCKER_CONFIG, $TESTBED_CACHE/docker-28/client). tests/e2e_docker28.rs.
#
#   scripts/testbed/side-daemon.sh KIND up     start it (idempotent); prints DOCKER_HOST=unix://...
#   scripts/testbed/side-daemon.sh KIND down   stop it (by its pid file), remove its bridge and rules
#   scripts/testbed/side-daemon.sh KIND env    print DOCKER_HOST=... if it answers (docker28: and
#                                               DOCKER_CONFIG=..., the client's own config dir)
#   scripts/testbed/side-daemon.sh KIND client print the path of the client to use with it
#   scripts/testbed/side-daemon.sh KIND reset  down, delete its data root, up: a builder as new as
#                                               a fresh CI runner's (no images, no build cache,
#                                               no cache mounts, no cache keys)
#   CTRD_DEBUG=1 ... up                         dockerd --debug, BuildKit scheduler debug in its log
#
# Each has its own managed containerd (dockerd starts one under its own --exec-root, with its
# root under its own --data-root; docker28's is started by this script instead, so that it is
# sid's containerd 2.1 and not the system's 1.7), pid file, socket, bridge and subnet, and reuses
# the test bed's registry (127.0.0.1:5000, which must be up). Root only.
#
# Networking: the test bed's dockerd owns iptables (its DOCKER chains and the FORWARD DROP
# policy); these run with --iptables=false on a bridge this script creates, and the script
# adds exactly three rules for that bridge (MASQUERADE for its subnet, FORWARD accept out of it
# and for replies into it), removed again by `down`. The test bed's dockerd, its chains and its
# containers are never touched.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# Waits up to $1 seconds for the check command $2 to pass while process $3 lives; when it
# exits or the time is up, shows the end of log $4 and dies naming $5. Sets `waited`.
waited=0
wait_answering() {
  local seconds="$1" check="$2" pid="$3" logfile="$4" what="$5" i
  for i in $(seq 1 "$seconds"); do
    if "$check"; then waited=$i; return 0; fi
    kill -0 "$pid" 2>/dev/null || { tail -30 "$logfile" >&2; die "$what exited"; }
    sleep 1
  done
  "$check" || { tail -30 "$logfile" >&2; die "$what did not answer within ${seconds}s"; }
  waited=$seconds
}

KIND="${1:-}"
shift || true
DOCKER2010_ROOT="${DOCKER2010_ROOT:-/opt/uvf-docker-20.10}"
DOCKER2010_VERSION="${DOCKER2010_VERSION:-20.10.24+dfsg1-1+deb12u1+b6}"
DOCKER28_DIR="${DOCKER28_DIR:-$TESTBED_CACHE/docker-28}"
DOCKER28_ROOT="${DOCKER28_ROOT:-$DOCKER28_DIR/sid}"
DOCKER28_CONFIG="${DOCKER28_CONFIG:-$DOCKER28_DIR/client}"
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
  docker28)
    NAME=docker-28
    DOCKERD="$DOCKER28_ROOT/usr/sbin/dockerd"
    CLIENT="$DOCKER28_ROOT/usr/bin/docker"
    # The 28 client's own config dir: its cli-plugins/ holds buildx 0.29 (the CLI looks there
    # before the system's /usr/libexec/docker/cli-plugins, where Docker 26's buildx 0.13 stays),
    # and its buildx/ keeps that buildx's state apart from the other clients'.
    export DOCKER_CONFIG="$DOCKER28_CONFIG"
    CTRD_DATA_ROOT="${CTRD_DATA_ROOT:-/var/lib/uv-frontend-testbed/docker-28}"
    CTRD_EXEC_ROOT="${CTRD_EXEC_ROOT:-/run/uvf-docker28}"
    CTRD_SOCK="${CTRD_SOCK:-/run/uvf-docker28.sock}"
    CTRD_BRIDGE="${CTRD_BRIDGE:-uvfd28}"
    CTRD_BRIDGE_CIDR="${CTRD_BRIDGE_CIDR:-172.30.216.1/24}"
    CTRD_SUBNET="${CTRD_SUBNET:-172.30.216.0/24}"
    CTRD_CGROUP_PARENT="${CTRD_CGROUP_PARENT:-/uvf-docker28}"
    FEATURES='"buildkit": true, "containerd-snapshotter": true'
    # containerd 2.1's own process: root under the data root (so `reset` deletes it with the
    # rest), state and sockets under /run.
    C28_ROOT="$CTRD_DATA_ROOT/containerd"
    C28_STATE="${C28_STATE:-/run/uvf-docker28-containerd}"
    C28_SOCK="$C28_STATE/containerd.sock"
    ;;
  *) echo "usage: $0 containerd|docker2010|docker28 up|down|env|reset|client" >&2; exit 2 ;;
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

# Docker 28.5, its client, buildx 0.29 and containerd 2.1 from Debian's unstable suite (sid),
# fetched with `apt-get download` through a private apt configuration listing sid (as
# install-docker.sh does for trixie; the system's /etc/apt is never touched) and unpacked, not
# installed: the system keeps Docker 26. They need glibc 2.34 and run on Debian 12's 2.36. sid's
# runc needs glibc 2.38 (`GLIBC_2.38' not found), so the system's runc 1.1.5 (Debian 12) runs the
# containers, and sid's docker-init link is pointed at Debian 12's tini-static.
# sid moves on: each package must match its pattern, or this fails naming what sid has now.
DOCKER28_PKGS=("docker.io=28.5.*" "docker-cli=28.5.*" "docker-buildx=0.29.*" "containerd=2.1.*")
install_docker28() {
  local stamp="$DOCKER28_ROOT/.uvf-debs"
  if [ -s "$stamp" ] && [ -x "$DOCKERD" ] && [ -x "$CLIENT" ] \
     && [ -x "$DOCKER28_ROOT/usr/bin/containerd" ] \
     && [ -x "$DOCKER28_CONFIG/cli-plugins/docker-buildx" ]; then
    return 0
  fi
  local apt="$TESTBED_CACHE/apt-sid" debs="$TESTBED_CACHE/debs-28" spec pkg pattern version
  local updated=0 want=() deb bin
  mkdir -p "$apt/state/lists/partial" "$apt/cache/archives/partial" \
    "$apt/etc/sources.list.d" "$apt/etc/preferences.d" "$debs" "$DOCKER28_DIR"
  echo 'deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian sid main' \
    > "$apt/etc/sources.list"
  # Dir::State::status=/dev/null: resolve as if nothing were installed; it only downloads.
  local sid=(
    -o "Dir::State=$apt/state"
    -o "Dir::State::status=/dev/null"
    -o "Dir::Cache=$apt/cache"
    -o "Dir::Etc::sourcelist=$apt/etc/sources.list"
    -o "Dir::Etc::sourceparts=$apt/etc/sources.list.d"
    -o "Dir::Etc::preferencesparts=$apt/etc/preferences.d"
    -o "APT::Architecture=amd64"
    -o "APT::Architectures=amd64"
  )
  [ -s /usr/share/keyrings/debian-archive-keyring.gpg ] \
    || die "/usr/share/keyrings/debian-archive-keyring.gpg missing (install-docker.sh installs it)"
  for spec in "${DOCKER28_PKGS[@]}"; do
    pkg="${spec%%=*}" pattern="${spec#*=}"
    # A .deb kept from an earlier run is used as it is (sid may have moved on since).
    if compgen -G "$debs/${pkg}_*.deb" >/dev/null; then continue; fi
    if [ "$updated" = 0 ]; then
      log "updating the private sid package lists ($apt)"
      apt-get "${sid[@]}" -qq update || die "apt-get update of the private sid lists failed"
      updated=1
    fi
    version="$(apt-cache "${sid[@]}" policy "$pkg" | awk '/Candidate:/ {print $2}')"
    # shellcheck disable=SC2254
    case "$version" in
      $pattern) want+=("$pkg=$version") ;;
      *) die "sid has $pkg ${version:-(none)}, not $pattern, which the docker28 daemon is for (update DOCKER28_PKGS, tests/e2e_docker28.rs and docs/testbed.md)" ;;
    esac
  done
  if [ "${#want[@]}" -gt 0 ]; then
    chown _apt "$debs" 2>/dev/null || true  # apt downloads as _apt (no "unsandboxed" warning)
    log "downloading from sid into $debs: ${want[*]}"
    (cd "$debs" && apt-get "${sid[@]}" -qq download "${want[@]}") \
      || die "apt-get download ${want[*]} (sid) failed"
  fi
  rm -rf "$DOCKER28_ROOT"
  mkdir -p "$DOCKER28_ROOT"
  : > "$DOCKER28_DIR/debs.tmp"
  for spec in "${DOCKER28_PKGS[@]}"; do
    pkg="${spec%%=*}"
    deb="$(ls "$debs/${pkg}_"*.deb | sort -V | tail -1)"
    dpkg-deb -x "$deb" "$DOCKER28_ROOT"
    basename "$deb" >> "$DOCKER28_DIR/debs.tmp"
  done
  ln -sfn /usr/bin/tini-static "$DOCKER28_ROOT/usr/bin/docker-init"
  # Fail here, with the loader's words (a missing GLIBC_x symbol or library), if a binary
  # cannot run on this system.
  local check
  while read -r bin check; do
    bin="$DOCKER28_ROOT/$bin"
    [ -x "$bin" ] || die "$bin missing after unpacking $(tr '\n' ' ' < "$DOCKER28_DIR/debs.tmp")"
    "$bin" "$check" >/dev/null 2>"$DOCKER28_DIR/version-check.err" \
      || die "$bin does not run here: $(cat "$DOCKER28_DIR/version-check.err")"
  done <<'BINS'
usr/sbin/dockerd --version
usr/bin/docker --version
usr/bin/containerd --version
usr/bin/containerd-shim-runc-v2 -v
usr/libexec/docker/cli-plugins/docker-buildx version
BINS
  mkdir -p "$DOCKER28_CONFIG/cli-plugins"
  ln -sfn "$DOCKER28_ROOT/usr/libexec/docker/cli-plugins/docker-buildx" \
    "$DOCKER28_CONFIG/cli-plugins/docker-buildx"
  mv "$DOCKER28_DIR/debs.tmp" "$stamp"
  log "unpacked $(tr '\n' ' ' < "$stamp")into $DOCKER28_ROOT; client config $DOCKER28_CONFIG"
}

dk() { DOCKER_HOST="unix://$CTRD_SOCK" "$CLIENT" "$@"; }
daemon_ok() { timeout 10 env DOCKER_HOST="unix://$CTRD_SOCK" "$CLIENT" info >/dev/null 2>&1; }
registry_ok() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null; }
# The pid in the pid file ($1, default the dockerd's), if it names a live process called $2
# (default dockerd).
live_pid() {
  local pidfile="${1:-$PIDFILE}" comm="${2:-dockerd}" pid
  [ -s "$pidfile" ] || return 1
  pid="$(cat "$pidfile")"
  [ "$(cat "/proc/$pid/comm" 2>/dev/null || true)" = "$comm" ] || return 1
  echo "$pid"
}

# Stops the process of pid file $1 named $2 (TERM, then KILL after 30 s) and removes the file.
stop_pid() {
  local pidfile="$1" comm="$2" what="$3" pid i
  if pid="$(live_pid "$pidfile" "$comm")"; then
    log "stopping $what pid $pid"
    kill -TERM "$pid"
    for i in $(seq 1 30); do kill -0 "$pid" 2>/dev/null || break; sleep 1; done
    if kill -0 "$pid" 2>/dev/null; then log "still running after 30s; SIGKILL"; kill -KILL "$pid"; fi
  fi
  rm -f "$pidfile"
}

# docker28's binaries come first; runc (and nothing else) from the system, Debian 12's.
DOCKER28_PATH="${DOCKER28_ROOT}/usr/sbin:${DOCKER28_ROOT}/usr/bin:/usr/sbin:/usr/bin:/sbin:/bin"
C28_PIDFILE="$TESTBED_RUN_DIR/$NAME-containerd.pid"
C28_LOG="$TESTBED_LOG_DIR/$NAME-containerd.log"
c28_ok() {
  timeout 10 "$DOCKER28_ROOT/usr/bin/ctr" --address "$C28_SOCK" version >/dev/null 2>&1
}

# docker28's containerd 2.1: its own process, config, root, state and sockets, started before
# its dockerd (which is given its socket with --containerd) and stopped after it.
start_containerd28() {
  if c28_ok; then
    log "$NAME containerd already answering on $C28_SOCK"
    return
  fi
  local pid
  if pid="$(live_pid "$C28_PIDFILE" containerd)"; then
    die "$NAME containerd (pid $pid) runs but does not answer; see $C28_LOG or run $0 $KIND down"
  fi
  rm -f "$C28_PIDFILE"
  mkdir -p "$C28_ROOT" "$C28_STATE"
  # The CRI plugins are off (no Kubernetes here), as in the containerd dockerd manages itself.
  cat > "$CTRD_STATE/containerd.toml" <<EOF
version = 3
root = "$C28_ROOT"
state = "$C28_STATE"
disabled_plugins = ["io.containerd.grpc.v1.cri"]

[grpc]
  address = "$C28_SOCK"

[ttrpc]
  address = "$C28_SOCK.ttrpc"
EOF
  log "starting $NAME containerd $("$DOCKER28_ROOT/usr/bin/containerd" --version | awk '{print $3}') (config $CTRD_STATE/containerd.toml, root $C28_ROOT, state $C28_STATE, socket $C28_SOCK, log $C28_LOG)"
  setsid nohup env PATH="$DOCKER28_PATH" "$DOCKER28_ROOT/usr/bin/containerd" \
    --config "$CTRD_STATE/containerd.toml" </dev/null >>"$C28_LOG" 2>&1 &
  local started=$!
  echo "$started" > "$C28_PIDFILE"
  wait_answering 30 c28_ok "$started" "$C28_LOG" "$NAME containerd"
  log "$NAME containerd up after ${waited}s"
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
  [ "$KIND" != docker28 ] || install_docker28
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
    # What differs for docker28: sid's binaries first on PATH (docker-proxy, docker-init), and
    # the containerd 2.1 this script runs instead of one dockerd would start itself.
    local env=() extra=()
    if [ "$KIND" = docker28 ]; then
      start_containerd28
      env=(env PATH="$DOCKER28_PATH")
      extra=(--containerd "$C28_SOCK")
    fi
    log "starting $NAME dockerd (config $CONFIG, data root $CTRD_DATA_ROOT, exec root $CTRD_EXEC_ROOT, socket $CTRD_SOCK, bridge $CTRD_BRIDGE $CTRD_SUBNET, log $LOG)"
    # dockerd starts and supervises its own containerd under --exec-root (socket
    # $CTRD_EXEC_ROOT/containerd/containerd.sock) with its root under --data-root.
    local debug=()
    # CTRD_DEBUG=1: debug log, with BuildKit's scheduler (cache keys, cache matches) in it.
    [ "${CTRD_DEBUG:-0}" != 1 ] || debug=(env BUILDKIT_SCHEDULER_DEBUG=1)
    setsid nohup "${env[@]}" "${debug[@]}" "$DOCKERD" --config-file "$CONFIG" \
      --data-root "$CTRD_DATA_ROOT" --exec-root "$CTRD_EXEC_ROOT" \
      --pidfile "$PIDFILE" -H "unix://$CTRD_SOCK" "${extra[@]}" \
      --bridge "$CTRD_BRIDGE" --mtu "$mtu" --iptables=false --ip6tables=false \
      --ip-forward=false --cgroup-parent "$CTRD_CGROUP_PARENT" \
      ${debug[0]:+--debug} </dev/null >>"$LOG" 2>&1 &
    local started=$!
    wait_answering 60 daemon_ok "$started" "$LOG" "$NAME dockerd"
    log "$NAME dockerd up after ${waited}s: $(dk version -f 'server {{.Server.Version}}')"
  fi
  # The point of each daemon: refuse to pass for it when it is not what it should be.
  if [ "$KIND" != docker2010 ]; then
    local driver
    driver="$(dk info -f '{{range .DriverStatus}}{{index . 0}}={{index . 1}} {{end}}')"
    case "$driver" in
      *io.containerd.snapshotter.v1*) ;;
      *) die "the daemon on $CTRD_SOCK does not use the containerd image store (driver status: $driver)" ;;
    esac
  fi
  if [ "$KIND" = docker28 ]; then
    local version buildx
    version="$(dk version -f '{{.Server.Version}} {{.Client.Version}}')"
    buildx="$(dk buildx version)"
    case "$version" in
      "28.5."*" 28.5."*) ;;
      *) die "the daemon on $CTRD_SOCK and its client are Docker $version, not 28.5" ;;
    esac
    case "$buildx" in
      *" 0.29."*) ;;
      *) die "the docker28 client's buildx is $buildx, not 0.29 (DOCKER_CONFIG=$DOCKER_CONFIG)" ;;
    esac
    log "$NAME: server and client $version, $buildx, $("$DOCKER28_ROOT/usr/bin/containerd" --version | awk '{print "containerd " $3}'), runc $(runc --version | awk 'NR==1 {print $3}')"
  elif [ "$KIND" = docker2010 ]; then
    local version
    version="$(dk version -f '{{.Server.Version}}')"
    case "$version" in
      20.10.*) ;;
      *) die "the daemon on $CTRD_SOCK is Docker $version, not 20.10" ;;
    esac
  fi
  print_env
}

print_env() {
  echo "DOCKER_HOST=unix://$CTRD_SOCK"
  [ "$KIND" != docker28 ] || echo "DOCKER_CONFIG=$DOCKER_CONFIG"
}

down() {
  need_root
  if [ "$KIND" = docker28 ]; then
    stop_pid "$PIDFILE" dockerd "$NAME dockerd"
    stop_pid "$C28_PIDFILE" containerd "$NAME containerd"
  else
    stop_pid "$PIDFILE" dockerd "$NAME dockerd (it stops its own containerd)"
  fi
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
    if daemon_ok; then print_env; else die "$NAME dockerd not up: run $0 $KIND up (or scripts/testbed-up)"; fi
    ;;
  *) echo "usage: $0 $KIND up|down|env|reset|client" >&2; exit 2 ;;
esac
