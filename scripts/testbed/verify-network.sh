#!/usr/bin/env bash
# End-to-end check that BuildKit RUN steps (docker driver) reach PyPI through
# the bridge/NAT: installs idna with uv from the test bed's base images, then
# runs the result. Leaves no image behind.
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"

work="$(mktemp -d)"
tag="uv-frontend-testbed-netcheck:$$"
trap '"$DOCKER" rmi -f "$tag" >/dev/null 2>&1 || true; rm -rf "$work"' EXIT
cat > "$work/Dockerfile" <<DOCKERFILE
FROM $PYTHON_IMAGE
RUN --mount=from=$UV_IMAGE,source=/uv,target=/bin/uv \\
    --mount=type=cache,target=/root/.cache/uv \\
    UV_LINK_MODE=copy uv pip install --system --break-system-packages idna \\
 && python3 -c "import idna; print(idna.__version__)"
CMD ["python3", "-c", "import idna; print('idna', idna.__version__)"]
DOCKERFILE
log "verify: buildx build (RUN step installs idna from PyPI with uv)"
if ! "$DOCKER" buildx build --builder default --progress=plain --no-cache -t "$tag" "$work" >"$work/build.log" 2>&1; then
  cat "$work/build.log" >&2
  die "verify: the build could not install from PyPI (see above; dockerd log: $TESTBED_LOG_DIR/dockerd.log)"
fi
out="$("$DOCKER" run --rm "$tag")"
case "$out" in
  idna\ *) log "verify: ok, RUN steps reach PyPI; docker run printed '$out'" ;;
  *) die "verify: unexpected output from docker run: $out" ;;
esac
