#!/usr/bin/env bash
# Start dockerd (Docker 26, embedded BuildKit) and a plain-HTTP registry on
# 127.0.0.1:5000, without systemd. Idempotent: leaves running daemons alone.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root

[ -x /usr/sbin/dockerd ] || die "dockerd missing: run scripts/testbed/install-docker.sh first"
mkdir -p "$TESTBED_LOG_DIR" "$TESTBED_RUN_DIR" "$TESTBED_CACHE/registry"

docker_ok() { timeout 10 "$DOCKER" info >/dev/null 2>&1; }
registry_ok() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null; }

# --- iptables backend -------------------------------------------------------
# dockerd calls whatever `iptables` is on PATH (Debian alternatives). Debian 12
# defaults to iptables-nft. Keep it when the kernel accepts nf_tables NAT rules,
# otherwise switch the alternatives to iptables-legacy. Only when dockerd is not
# yet running, so its rules never end up split between two backends.
choose_iptables() {
  local current
  current="$(readlink -f /etc/alternatives/iptables 2>/dev/null || true)"
  iptables -t nat -X UVFTB_PROBE >/dev/null 2>&1 || true
  if iptables -t nat -S >/dev/null 2>&1 && iptables -t filter -S >/dev/null 2>&1 \
     && iptables -t nat -N UVFTB_PROBE 2>/dev/null && iptables -t nat -X UVFTB_PROBE 2>/dev/null; then
    log "iptables backend: ${current:-iptables} works"
    return
  fi
  log "iptables backend ${current:-?} does not work here; trying iptables-legacy"
  iptables -t nat -X UVFTB_PROBE 2>/dev/null || true
  if iptables-legacy -t nat -S >/dev/null 2>&1; then
    update-alternatives --set iptables /usr/sbin/iptables-legacy >/dev/null
    update-alternatives --set ip6tables /usr/sbin/ip6tables-legacy >/dev/null 2>&1 || true
    log "iptables backend switched to iptables-legacy"
  else
    die "neither iptables-nft nor iptables-legacy can manage the nat table on this kernel"
  fi
}

# --- dockerd ------------------------------------------------------------------
start_dockerd() {
  if docker_ok; then
    log "dockerd already answering ($($DOCKER version -f '{{.Server.Version}}' 2>/dev/null))"
    return
  fi
  choose_iptables

  # Match the bridge MTU to the uplink's (1400 on the dev VMs): otherwise large
  # TLS packets to PyPI from containers/RUN steps can stall.
  local dev mtu
  dev="$(ip route show default 2>/dev/null | awk '{for(i=1;i<=NF;i++) if($i=="dev"){print $(i+1); exit}}')"
  mtu="$(cat "/sys/class/net/${dev:-eth0}/mtu" 2>/dev/null || echo 1500)"
  [ "$mtu" -le 1500 ] || mtu=1500

  local cfg="$TESTBED_CACHE/daemon.json"
  cat > "$cfg" <<EOF
{
  "mtu": $mtu,
  "insecure-registries": ["$REGISTRY"],
  "features": { "buildkit": true },
  "log-driver": "json-file",
  "ip-forward": true,
  "iptables": true
}
EOF
  # A pid file left by a previous boot can name an unrelated process, and
  # dockerd refuses to start while that pid is alive.
  local pidfile="$TESTBED_RUN_DIR/dockerd.pid" oldpid
  if [ -s "$pidfile" ]; then
    oldpid="$(cat "$pidfile")"
    if [ "$(cat "/proc/$oldpid/comm" 2>/dev/null || true)" = dockerd ]; then
      die "dockerd (pid $oldpid) is running but not answering; see $TESTBED_LOG_DIR/dockerd.log or run scripts/testbed/stop-daemons.sh"
    fi
    rm -f "$pidfile"
  fi
  log "starting dockerd (config $cfg, mtu $mtu, log $TESTBED_LOG_DIR/dockerd.log)"
  # dockerd starts and supervises its own containerd.
  setsid nohup /usr/sbin/dockerd --config-file "$cfg" \
      --pidfile "$TESTBED_RUN_DIR/dockerd.pid" \
      </dev/null >>"$TESTBED_LOG_DIR/dockerd.log" 2>&1 &
  local i
  for i in $(seq 1 60); do
    if docker_ok; then
      log "dockerd up after ${i}s: $($DOCKER version -f 'server {{.Server.Version}}' 2>/dev/null)"
      return
    fi
    if ! kill -0 "$!" 2>/dev/null; then
      tail -30 "$TESTBED_LOG_DIR/dockerd.log" >&2
      die "dockerd exited"
    fi
    sleep 1
  done
  tail -30 "$TESTBED_LOG_DIR/dockerd.log" >&2
  die "dockerd did not answer within 60s"
}

# --- registry -----------------------------------------------------------------
start_registry() {
  if registry_ok; then
    log "registry already answering on http://$REGISTRY/v2/"
    return
  fi
  local cfg="$TESTBED_CACHE/registry.yml"
  cat > "$cfg" <<EOF
version: 0.1
log:
  level: warn
  accesslog:
    disabled: true
storage:
  filesystem:
    rootdirectory: $TESTBED_CACHE/registry
  delete:
    enabled: true
  cache:
    blobdescriptor: inmemory
http:
  addr: $REGISTRY
  headers:
    X-Content-Type-Options: [nosniff]
EOF
  log "starting docker-registry on $REGISTRY (storage $TESTBED_CACHE/registry, log $TESTBED_LOG_DIR/registry.log)"
  setsid nohup /usr/bin/docker-registry serve "$cfg" \
      </dev/null >>"$TESTBED_LOG_DIR/registry.log" 2>&1 &
  echo $! > "$TESTBED_RUN_DIR/registry.pid"
  local i
  for i in $(seq 1 30); do
    if registry_ok; then log "registry up after ${i}s"; return; fi
    if ! kill -0 "$(cat "$TESTBED_RUN_DIR/registry.pid")" 2>/dev/null; then
      tail -20 "$TESTBED_LOG_DIR/registry.log" >&2
      die "docker-registry exited"
    fi
    sleep 1
  done
  die "registry did not answer within 30s"
}

# --- host-side network checks -------------------------------------------------
check_network() {
  [ "$(cat /proc/sys/net/ipv4/ip_forward)" = 1 ] || {
    log "enabling net.ipv4.ip_forward"; sysctl -qw net.ipv4.ip_forward=1; }
  local subnet
  subnet="$($DOCKER network inspect bridge -f '{{range .IPAM.Config}}{{.Subnet}}{{end}}' 2>/dev/null || true)"
  if [ -n "$subnet" ] && iptables -t nat -S POSTROUTING 2>/dev/null | grep -q -- "-s $subnet .*MASQUERADE"; then
    log "NAT ok: MASQUERADE for $subnet ($(readlink -f /etc/alternatives/iptables))"
  else
    log "WARNING: no MASQUERADE rule for the docker bridge (${subnet:-?}); containers may not reach PyPI"
  fi
}

start_dockerd
start_registry
check_network
