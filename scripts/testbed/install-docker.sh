#!/usr/bin/env bash
# Install Docker Engine 26 + docker-cli + docker-buildx 0.13 (+ containerd)
# from Debian 13 (trixie) .debs, fetched through a private apt configuration,
# plus docker-registry, debootstrap and helpers from Debian 12 itself.
# The system's own /etc/apt sources are never touched.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root

export DEBIAN_FRONTEND=noninteractive

# Packages taken from trixie. runc and tini are NOT among them: trixie's builds
# need libc6 >= 2.38 and bookworm has 2.36; bookworm's runc 1.1.5 and tini
# 0.19 satisfy docker.io's dependencies.
TRIXIE_PKGS=(docker.io docker-cli docker-buildx containerd)
# Packages from the system's own (bookworm) sources.
# git, openssh-server and openssh-client: the e2e test of git sources over SSH runs a git
# server (sshd) and an ssh-agent on the host.
BOOKWORM_PKGS=(runc tini iptables docker-registry debootstrap
  curl ca-certificates iproute2 procps xz-utils python3 adduser
  sysvinit-utils libseccomp2 git openssh-server openssh-client)

installed_version() {
  dpkg-query -W -f='${db:Status-Abbrev} ${Version}' "$1" 2>/dev/null | awk '$1=="ii"{print $2}'
}

is_ok() {
  local v
  v="$(installed_version docker.io)";     [[ "$v" == 26.* ]] || return 1
  v="$(installed_version docker-cli)";    [[ "$v" == 26.* ]] || return 1
  v="$(installed_version docker-buildx)"; [[ "$v" == 0.13.* ]] || return 1
  v="$(installed_version containerd)";    [[ -n "$v" ]] || return 1
  local p
  for p in "${BOOKWORM_PKGS[@]}"; do
    [ -n "$(installed_version "$p")" ] || return 1
  done
  [ -x /usr/bin/docker ] && [ -x /usr/sbin/dockerd ] && [ -x /usr/libexec/docker/cli-plugins/docker-buildx ]
}

if is_ok; then
  log "docker.io $(installed_version docker.io), docker-buildx $(installed_version docker-buildx), containerd $(installed_version containerd) already installed; nothing to do"
  exit 0
fi

APT_DIR="$TESTBED_CACHE/apt"
DEB_DIR="$TESTBED_CACHE/debs"
mkdir -p "$APT_DIR/state/lists/partial" "$APT_DIR/cache/archives/partial" \
  "$APT_DIR/etc/sources.list.d" "$APT_DIR/etc/preferences.d" "$DEB_DIR"
cat > "$APT_DIR/etc/sources.list" <<'EOF'
deb [signed-by=/usr/share/keyrings/debian-archive-keyring.gpg] http://deb.debian.org/debian trixie main
EOF
# Dir::State::status=/dev/null: resolve as if nothing were installed; we only
# download with this configuration, never install.
TRIXIE_APT=(
  -o "Dir::State=$APT_DIR/state"
  -o "Dir::State::status=/dev/null"
  -o "Dir::Cache=$APT_DIR/cache"
  -o "Dir::Etc::sourcelist=$APT_DIR/etc/sources.list"
  -o "Dir::Etc::sourceparts=$APT_DIR/etc/sources.list.d"
  -o "Dir::Etc::preferencesparts=$APT_DIR/etc/preferences.d"
  -o "APT::Architecture=amd64"
  -o "APT::Architectures=amd64"
)

[ -s /usr/share/keyrings/debian-archive-keyring.gpg ] || {
  log "installing debian-archive-keyring"
  apt-get update -qq && apt-get install -y -qq debian-archive-keyring >/dev/null
}

log "updating the private trixie package lists ($APT_DIR)"
apt-get "${TRIXIE_APT[@]}" -qq update

log "downloading trixie packages: ${TRIXIE_PKGS[*]}"
rm -f "$DEB_DIR"/*.deb
chown _apt "$DEB_DIR" 2>/dev/null || true  # let apt download as _apt (no "unsandboxed" warning)
(cd "$DEB_DIR" && apt-get "${TRIXIE_APT[@]}" -qq download "${TRIXIE_PKGS[@]}")
ls -1 "$DEB_DIR"/*.deb | sed 's/^/    /' >&2

log "apt-get update (system sources, bookworm)"
apt-get update -qq

# Keep maintainer scripts from starting services (no init system here; we
# start the daemons ourselves in start-daemons.sh).
POLICY=/usr/sbin/policy-rc.d
CREATED_POLICY=0
if [ ! -e "$POLICY" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$POLICY"; chmod 755 "$POLICY"; CREATED_POLICY=1
fi
cleanup() { if [ "$CREATED_POLICY" = 1 ]; then rm -f "$POLICY"; fi; }
trap cleanup EXIT

log "installing trixie .debs + bookworm dependencies: ${BOOKWORM_PKGS[*]}"
apt-get install -y -qq --no-install-recommends \
  -o Dpkg::Options::=--force-confdef -o Dpkg::Options::=--force-confold \
  "$DEB_DIR"/*.deb "${BOOKWORM_PKGS[@]}" >"$TESTBED_CACHE/apt-install.log" 2>&1 || {
    tail -40 "$TESTBED_CACHE/apt-install.log" >&2
    die "apt-get install failed (full log: $TESTBED_CACHE/apt-install.log)"
  }

is_ok || die "installation finished but versions are not the expected ones"
log "installed: docker.io $(installed_version docker.io), docker-cli $(installed_version docker-cli), docker-buildx $(installed_version docker-buildx), containerd $(installed_version containerd), runc $(installed_version runc), docker-registry $(installed_version docker-registry)"
