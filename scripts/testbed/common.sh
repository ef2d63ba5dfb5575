# Shared settings for the uv-frontend test bed scripts. Source it, don't run it.
# shellcheck shell=bash

# The Debian 13 client. /usr/local/bin/docker (a Docker 28 client) shadows it
# on the dev machines and must not be used against our Docker 26 daemon.
export DOCKER="${DOCKER:-/usr/bin/docker}"

TESTBED_CACHE="${TESTBED_CACHE:-/var/cache/uv-frontend-testbed}"
TESTBED_LOG_DIR="${TESTBED_LOG_DIR:-$TESTBED_CACHE/log}"
TESTBED_RUN_DIR="${TESTBED_RUN_DIR:-$TESTBED_CACHE/run}"
REGISTRY="${REGISTRY:-127.0.0.1:5000}"
UV_VERSION="${UV_VERSION:-0.13.9}"
PYTHON_IMAGE="${PYTHON_IMAGE:-$REGISTRY/python:3.11-bookworm}"
UV_IMAGE="${UV_IMAGE:-$REGISTRY/uv:$UV_VERSION}"
NONROOT_PYTHON_IMAGE="${NONROOT_PYTHON_IMAGE:-$REGISTRY/python:3.11-bookworm-nonroot}"
NOPYTHON_IMAGE="${NOPYTHON_IMAGE:-$REGISTRY/debian:bookworm-nopython}"
TRIXIE_PYTHON_IMAGE="${TRIXIE_PYTHON_IMAGE:-$REGISTRY/python:3.13-trixie}"
# No Python, but a local mirror uv installs CPython 3.11 from (`[build] managed-python`).
PYTHON_MIRROR_IMAGE="${PYTHON_MIRROR_IMAGE:-$REGISTRY/debian:bookworm-uv-python-mirror}"
FRONTEND_IMAGE="${FRONTEND_IMAGE:-$REGISTRY/uv-frontend:dev}"
# A Rust toolchain image made from Debian 13 packages (amd64 host, arm64 cross target), and the
# frontend built from Dockerfile.frontend with it for linux/amd64 and linux/arm64
# (scripts/testbed/multiarch-image.sh).
RUST_DEBIAN_IMAGE="${RUST_DEBIAN_IMAGE:-$REGISTRY/rust-debian:trixie}"
MULTIARCH_FRONTEND_IMAGE="${MULTIARCH_FRONTEND_IMAGE:-$REGISTRY/uv-frontend-multiarch:dev}"
# linux/386 images, and manifest lists of amd64 + 386, for multi-platform builds.
PYTHON_386_IMAGE="${PYTHON_386_IMAGE:-$REGISTRY/python:3.11-bookworm-386}"
UV_386_IMAGE="${UV_386_IMAGE:-$REGISTRY/uv:$UV_VERSION-386}"
PYTHON_MULTI_IMAGE="${PYTHON_MULTI_IMAGE:-$REGISTRY/python:3.11-bookworm-multi}"
UV_MULTI_IMAGE="${UV_MULTI_IMAGE:-$REGISTRY/uv:$UV_VERSION-multi}"

# Repository root (scripts/testbed/..).
TESTBED_REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

log() { printf '[testbed %s] %s\n' "$(date +%H:%M:%S)" "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

need_root() {
  [ "$(id -u)" -eq 0 ] || die "must run as root"
}

# Does the local registry already hold REPO:TAG? (plain HTTP, loopback)
registry_has() {
  local repo="$1" tag="$2"
  curl -fsS -o /dev/null \
    -H 'Accept: application/vnd.oci.image.index.v1+json' \
    -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.list.v2+json' \
    -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
    "http://$REGISTRY/v2/$repo/manifests/$tag" 2>/dev/null
}
