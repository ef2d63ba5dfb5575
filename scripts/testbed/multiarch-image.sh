#!/usr/bin/env bash
# The multi-platform frontend image (linux/amd64 + linux/arm64), built the way a platform team
# publishes it: one `docker buildx build --platform linux/amd64,linux/arm64` of
# Dockerfile.frontend's compile stage, cross-compiling on the build platform. Three pieces:
#
#   1. QEMU user emulation for arm64 binaries (Debian 12's qemu-user-static, registered in
#      binfmt_misc with the F flag so it works inside containers), to run the arm64 binary.
#   2. 127.0.0.1:5000/rust-debian:trixie (RUST_DEBIAN_IMAGE): no Rust image can be pulled here,
#      so one is made from Debian 13 packages on top of the test bed's trixie image: rustc-web and
#      cargo-web (Rust 1.96; trixie's `rustc` is 1.85, too old for tonic 0.14.9's
#      rust-version 1.88), the arm64 standard library (libstd-rust-web-dev:arm64, Multi-Arch:
#      same), the cross linker gcc-aarch64-linux-gnu and libc6-dev-arm64-cross, a cargo config
#      naming that linker, and the host's CA bundle (crates.io is reached through a
#      TLS-intercepting proxy: SSL_CERT_FILE, CARGO_HTTP_CAINFO). Test-bed plumbing only;
#      Dockerfile.frontend itself needs none of it.
#   3. 127.0.0.1:5000/uv-frontend-multiarch:dev (MULTIARCH_FRONTEND_IMAGE): Dockerfile.frontend
#      built with --platform linux/amd64,linux/arm64 --build-arg RUST_IMAGE=<2., by digest> on the
#      containerd-store dockerd (the classic store's docker driver cannot build several
#      platforms), pushed, and checked: both platforms in the index, each config's entrypoint
#      and labels, the arm64 binary a static aarch64 ELF that answers --version under QEMU.
#
# Idempotent: the rust image is skipped when the registry has it from the same recipe (its
# Dockerfile below and the host CA, a label of the image; FORCE=1 rebuilds it anyway); the
# frontend build is BuildKit-cached (seconds when nothing changed, on a daemon that kept its cache).
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root

FORCE="${FORCE:-0}"
HOST_CA="${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}"
CTRD_HOST="${UVF_CONTAINERD_DOCKER_HOST:-unix:///run/uvf-containerd.sock}"
FRONTEND_CAPS="${FRONTEND_CAPS:-moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts}"
PLATFORMS=linux/amd64,linux/arm64
IMAGE_PATH_ENV="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

TMPDIRS=()
cleanup() { local d; for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

split_ref() { local r="${1#"$REGISTRY"/}"; echo "${r%%:*}" "${r##*:}"; }

# --- 1. QEMU for arm64 -------------------------------------------------------------
ensure_qemu() {
  if [ ! -x /usr/bin/qemu-aarch64-static ]; then
    log "apt-get install qemu-user-static (Debian 12)"
    export DEBIAN_FRONTEND=noninteractive
    apt-get install -y --no-install-recommends qemu-user-static >&2 \
      || { apt-get update >&2 && apt-get install -y --no-install-recommends qemu-user-static >&2; } \
      || die "could not install qemu-user-static"
  fi
  local bm=/proc/sys/fs/binfmt_misc
  if [ ! -e "$bm/register" ]; then
    log "mount -t binfmt_misc binfmt_misc $bm"
    mount -t binfmt_misc binfmt_misc "$bm" || die "cannot mount binfmt_misc"
  fi
  if [ ! -e "$bm/qemu-aarch64" ]; then
    # Debian's registration: magic/mask of an aarch64 ELF, flags OPF. F opens the interpreter
    # now, so a container (BuildKit's frontend container) need not have it in its filesystem.
    local conf=/usr/lib/binfmt.d/qemu-aarch64.conf
    [ -s "$conf" ] || die "$conf missing (qemu-user-static)"
    log "registering qemu-aarch64 in binfmt_misc from $conf"
    cat "$conf" > "$bm/register" || die "binfmt_misc registration failed"
  fi
  grep -qx enabled "$bm/qemu-aarch64" || die "binfmt_misc qemu-aarch64 is disabled (echo 1 > $bm/qemu-aarch64)"
  grep -q '^flags: .*F' "$bm/qemu-aarch64" \
    || die "binfmt_misc qemu-aarch64 lacks the F flag: $(grep flags "$bm/qemu-aarch64"); it would not work in containers"
  log "binfmt_misc qemu-aarch64: $(grep -E '^(interpreter|flags)' "$bm/qemu-aarch64" | tr '\n' ' ')"
}

# --- 2. the Rust image ---------------------------------------------------------------
build_rust_image() {
  local ctx; ctx="$(mktemp -d)"; TMPDIRS+=("$ctx")
  cp "$HOST_CA" "$ctx/ca-certificates.crt"
  cat > "$ctx/Dockerfile" <<EOF
# Debian 13's minbase (debootstrap, scripts/testbed/base-images.sh) + Rust from Debian packages.
FROM $TRIXIE_PYTHON_IMAGE
COPY ca-certificates.crt /etc/ssl/certs/ca-certificates.crt
ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt \\
    CARGO_HTTP_CAINFO=/etc/ssl/certs/ca-certificates.crt \\
    CARGO_HOME=/usr/local/cargo \\
    PATH=/usr/local/cargo/bin:$IMAGE_PATH_ENV
RUN dpkg --add-architecture arm64 \\
 && apt-get update \\
 && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends \\
      rustc-web cargo-web libstd-rust-web-dev:arm64 \\
      gcc libc6-dev gcc-aarch64-linux-gnu libc6-dev-arm64-cross \\
 && rm -rf /var/lib/apt/lists/* /var/cache/apt/*.bin
RUN mkdir -p /usr/local/cargo \\
 && printf '[target.aarch64-unknown-linux-gnu]\nlinker = "aarch64-linux-gnu-gcc"\n' > /usr/local/cargo/config.toml \\
 && rustc --version && cargo --version \\
 && ls "\$(rustc --print target-libdir --target aarch64-unknown-linux-gnu)"/libstd-*.rlib \\
 && ls /usr/aarch64-linux-gnu/lib/libc.a
EOF
  # The recipe (this Dockerfile and the CA) is a label of the image: an edit here or a new proxy
  # CA rebuilds it, an unchanged one is skipped.
  local recipe; recipe="$(cat "$ctx/Dockerfile" "$ctx/ca-certificates.crt" | sha256sum | cut -c1-16)"
  local repo tag
  read -r repo tag < <(split_ref "$RUST_DEBIAN_IMAGE")
  if [ "$FORCE" != 1 ] && registry_has "$repo" "$tag" \
     && "$DOCKER" buildx imagetools inspect --format '{{json .Image.Config.Labels}}' "$RUST_DEBIAN_IMAGE" \
        | tr -d ' \n' | grep -q "\"uv-frontend-testbed.recipe\":\"$recipe\""; then
    log "$RUST_DEBIAN_IMAGE (recipe $recipe) already in the registry; skipping"
    return
  fi
  registry_has "$(split_ref "$TRIXIE_PYTHON_IMAGE" | cut -d' ' -f1)" "${TRIXIE_PYTHON_IMAGE##*:}" \
    || die "$TRIXIE_PYTHON_IMAGE missing: run scripts/testbed/base-images.sh first"
  log "docker buildx build --push -> $RUST_DEBIAN_IMAGE (recipe $recipe; apt-get of rustc-web, cargo-web, the arm64 std and the cross gcc)"
  "$DOCKER" buildx build --builder default --progress=plain --push -t "$RUST_DEBIAN_IMAGE" \
    --label "uv-frontend-testbed.recipe=$recipe" "$ctx" \
    >"$ctx/build.log" 2>&1 || { tail -40 "$ctx/build.log" >&2; die "building $RUST_DEBIAN_IMAGE failed"; }
  grep -E '^#[0-9]+ [0-9.]+ (rustc|cargo) [0-9]' "$ctx/build.log" | sed 's/^#[0-9]* [0-9.]* /  /' >&2 || true
}
# --- 3. the multi-platform frontend --------------------------------------------------
# digest_of REF: the registry's digest of REF's (top) manifest.
digest_of() {
  "$DOCKER" buildx imagetools inspect --format '{{json .Manifest.Digest}}' "$1" | tr -d '"'
}

build_frontend() {
  "$TESTBED_REPO_ROOT/scripts/testbed/side-daemon.sh" containerd up >&2
  local rust_digest; rust_digest="$(digest_of "$RUST_DEBIAN_IMAGE")"
  [ -n "$rust_digest" ] || die "no digest for $RUST_DEBIAN_IMAGE"
  local rust_ref="${RUST_DEBIAN_IMAGE%:*}@$rust_digest"
  local version
  version="$(sed -n 's/^version = "\(.*\)"/\1/p' "$TESTBED_REPO_ROOT/Cargo.toml" | head -n1)"
  local work; work="$(mktemp -d)"; TMPDIRS+=("$work")
  log "docker buildx build --platform $PLATFORMS -f Dockerfile.frontend --build-arg RUST_IMAGE=$rust_ref --push -> $MULTIARCH_FRONTEND_IMAGE (containerd-store dockerd; log $TESTBED_LOG_DIR/multiarch-build.log)"
  mkdir -p "$TESTBED_LOG_DIR"
  local s; s=$(date +%s)
  DOCKER_HOST="$CTRD_HOST" "$DOCKER" buildx build --builder default --progress=plain \
    --platform "$PLATFORMS" --provenance=false \
    -f "$TESTBED_REPO_ROOT/Dockerfile.frontend" --target frontend \
    --build-arg "RUST_IMAGE=$rust_ref" \
    --build-arg "FRONTEND_CAPS=$FRONTEND_CAPS" \
    --build-arg "VERSION=$version" \
    -t "$MULTIARCH_FRONTEND_IMAGE" --push \
    "$TESTBED_REPO_ROOT" >"$TESTBED_LOG_DIR/multiarch-build.log" 2>&1 \
    || { tail -60 "$TESTBED_LOG_DIR/multiarch-build.log" >&2; die "multi-platform frontend build failed"; }
  log "built and pushed in $(( $(date +%s) - s ))s"
  check_frontend "$version"
}

check_frontend() {
  local version="$1"
  local work; work="$(mktemp -d)"; TMPDIRS+=("$work")
  "$DOCKER" buildx imagetools inspect --raw "$MULTIARCH_FRONTEND_IMAGE" > "$work/index.json"
  local arch digest
  for arch in amd64 arm64; do
    digest="$(python3 - "$work/index.json" "$arch" <<'EOF'
import json, sys
index, arch = json.load(open(sys.argv[1])), sys.argv[2]
found = [m["digest"] for m in index.get("manifests", [])
         if m.get("platform", {}).get("os") == "linux" and m["platform"].get("architecture") == arch]
if len(found) != 1:
    sys.exit(f"index has {len(found)} linux/{arch} manifests: {index}")
print(found[0])
EOF
)" || die "pushed index lacks linux/$arch"
    local ref="${MULTIARCH_FRONTEND_IMAGE%:*}@$digest"
    local cfg; cfg="$("$DOCKER" buildx imagetools inspect --format '{{json .Image}}' "$ref")"
    python3 - "$cfg" "$FRONTEND_CAPS" "$version" "$arch" <<'EOF' || die "linux/$arch image has unexpected config"
import json, sys
img, caps, version, arch = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3], sys.argv[4]
cfg = img.get("config") or img.get("Config") or {}
labels = cfg.get("Labels") or {}
assert img.get("architecture") == arch, img.get("architecture")
assert cfg.get("Entrypoint") == ["/bin/uv-frontend"], cfg.get("Entrypoint")
assert labels.get("moby.buildkit.frontend.network.none") == "true", labels
assert labels.get("moby.buildkit.frontend.caps") == caps, labels
assert labels.get("org.opencontainers.image.version") == version, labels
EOF
    # The binary itself, straight from the registry: the image's one layer.
    local layer
    layer="$(curl -fsS -H 'Accept: application/vnd.oci.image.manifest.v1+json' \
               -H 'Accept: application/vnd.docker.distribution.manifest.v2+json' \
               "http://$REGISTRY/v2/$(split_ref "$MULTIARCH_FRONTEND_IMAGE" | cut -d' ' -f1)/manifests/$digest" \
             | python3 -c 'import json,sys; print(json.load(sys.stdin)["layers"][-1]["digest"])')"
    mkdir -p "$work/$arch"
    curl -fsS "http://$REGISTRY/v2/$(split_ref "$MULTIARCH_FRONTEND_IMAGE" | cut -d' ' -f1)/blobs/$layer" \
      | tar -xzf - -C "$work/$arch" bin/uv-frontend || die "could not extract linux/$arch's /bin/uv-frontend"
    local bin="$work/$arch/bin/uv-frontend" want
    [ "$arch" = arm64 ] && want=AArch64 || want='Advanced Micro Devices X86-64'
    readelf -h "$bin" | grep -q "Machine: *$want" || die "linux/$arch binary is not $want: $(readelf -h "$bin" | grep Machine)"
    if readelf -lW "$bin" | grep -q 'Requesting program interpreter'; then
      die "linux/$arch binary is dynamically linked"
    fi
    local out; out="$("$bin" --version)" || die "linux/$arch binary does not run here"
    [ "$out" = "uv-frontend $version" ] || die "linux/$arch binary --version says '$out'"
    log "linux/$arch: $MULTIARCH_FRONTEND_IMAGE@$digest; $(readelf -h "$bin" | sed -n 's/^ *Machine: *//p'), static, '$out'"
  done
}

ensure_qemu
build_rust_image
build_frontend
