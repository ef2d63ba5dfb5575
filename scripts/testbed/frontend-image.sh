#!/usr/bin/env bash
# Build the uv-frontend image from a host-built static binary and push it as
# 127.0.0.1:5000/uv-frontend:dev (FRONTEND_IMAGE).
#
#   UV_FRONTEND_BINARY=/path/to/uv-frontend  use this binary (no cargo build)
#   TESTBED_FRONTEND_STANDIN=1               use a tiny static C stand-in
#                                            (to test the image plumbing only)
#   FRONTEND_CAPS="..."                      value of moby.buildkit.frontend.caps
#
# Default: RUSTFLAGS='-C target-feature=+crt-static' cargo build --release
#          --locked --target x86_64-unknown-linux-gnu --bin uv-frontend
#
# Dockerfile.frontend's compile stage (FROM rust:...) is replaced by the named
# build context "prebuilt" (--build-arg BINARY_FROM=prebuilt), so no Rust image
# is ever needed.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

TARGET_TRIPLE=x86_64-unknown-linux-gnu
FRONTEND_CAPS="${FRONTEND_CAPS:-moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts}"
DOCKERFILE="$TESTBED_REPO_ROOT/Dockerfile.frontend"
[ -f "$DOCKERFILE" ] || die "$DOCKERFILE missing"
timeout 10 "$DOCKER" info >/dev/null 2>&1 || die "dockerd not answering: run scripts/testbed/start-daemons.sh first"

work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
mkdir -p "$work/prebuilt" "$work/context"

if [ "${TESTBED_FRONTEND_STANDIN:-0}" = 1 ]; then
  log "building a static C stand-in for uv-frontend (TESTBED_FRONTEND_STANDIN=1)"
  cat > "$work/standin.c" <<'EOF'
#include <stdio.h>
int main(void) { fputs("uv-frontend stand-in: not the real frontend\n", stderr); return 1; }
EOF
  gcc -static -O2 -o "$work/prebuilt/uv-frontend" "$work/standin.c"
  binary="$work/prebuilt/uv-frontend"
elif [ -n "${UV_FRONTEND_BINARY:-}" ]; then
  binary="$UV_FRONTEND_BINARY"
  [ -x "$binary" ] || die "UV_FRONTEND_BINARY=$binary is not an executable file"
  log "using UV_FRONTEND_BINARY=$binary"
else
  log "cargo build --release --locked --target $TARGET_TRIPLE --bin uv-frontend (static)"
  (cd "$TESTBED_REPO_ROOT" && RUSTFLAGS='-C target-feature=+crt-static' \
      cargo build --release --locked --target "$TARGET_TRIPLE" --bin uv-frontend) \
    || die "cargo build failed (set UV_FRONTEND_BINARY=..., or TESTBED_FRONTEND_STANDIN=1 to test the image plumbing)"
  binary="$TESTBED_REPO_ROOT/target/$TARGET_TRIPLE/release/uv-frontend"
fi

# The final image is FROM scratch: the binary must not need a dynamic loader.
if command -v readelf >/dev/null 2>&1 && readelf -lW "$binary" 2>/dev/null | grep -q 'Requesting program interpreter'; then
  die "$binary is dynamically linked (build it with RUSTFLAGS='-C target-feature=+crt-static')"
fi
[ "$binary" = "$work/prebuilt/uv-frontend" ] || cp "$binary" "$work/prebuilt/uv-frontend"
chmod 755 "$work/prebuilt/uv-frontend"

# The release the image is labelled with is the binary's own.
version="$("$binary" --version 2>/dev/null | awk '{print $2}' || true)"
if [ "${TESTBED_FRONTEND_STANDIN:-0}" != 1 ]; then
  [ -n "$version" ] || die "$binary --version printed no version"
else
  version=0.0.0-standin
fi

# The main context is an empty dir: with BINARY_FROM=prebuilt nothing from the
# repo is needed, so nothing (e.g. target/) is sent to the daemon.
log "docker buildx build -f Dockerfile.frontend --build-arg BINARY_FROM=prebuilt --build-context prebuilt=... --push -> $FRONTEND_IMAGE"
"$DOCKER" buildx build --builder default --progress=plain \
  -f "$DOCKERFILE" --target frontend \
  --build-arg BINARY_FROM=prebuilt \
  --build-context "prebuilt=$work/prebuilt" \
  --build-arg "FRONTEND_CAPS=$FRONTEND_CAPS" \
  --build-arg "VERSION=$version" \
  -t "$FRONTEND_IMAGE" --push \
  "$work/context" >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; die "frontend image build failed"; }
if grep -qiE 'rust:|RUST_IMAGE' "$work/build.log"; then
  cat "$work/build.log" >&2
  die "the build touched the Rust image; the prebuilt substitution is broken"
fi

# Check what landed in the registry.
cfg="$("$DOCKER" buildx imagetools inspect --format '{{json .Image.Config}}' "$FRONTEND_IMAGE")"
python3 - "$cfg" "$FRONTEND_CAPS" "$version" <<'EOF' || die "pushed image has unexpected config"
import json, sys
cfg, caps, version = json.loads(sys.argv[1]), sys.argv[2], sys.argv[3]
labels = cfg.get("Labels") or {}
assert cfg.get("Entrypoint") == ["/bin/uv-frontend"], cfg.get("Entrypoint")
assert labels.get("moby.buildkit.frontend.network.none") == "true", labels
assert labels.get("moby.buildkit.frontend.caps") == caps, labels
assert labels.get("org.opencontainers.image.version") == version, labels
EOF
digest="$("$DOCKER" buildx imagetools inspect --format '{{json .Manifest.Digest}}' "$FRONTEND_IMAGE" | tr -d '"')"
log "pushed $FRONTEND_IMAGE@$digest (entrypoint /bin/uv-frontend, caps='${FRONTEND_CAPS}')"
