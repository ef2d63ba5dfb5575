#!/usr/bin/env bash
# Build and push the base images the tests use, into the local registry:
#   127.0.0.1:5000/python:3.11-bookworm  debootstrap'ed Debian 12 + python3
#   127.0.0.1:5000/python:3.11-bookworm-nonroot  the same with USER builder (uid 1000)
#   127.0.0.1:5000/debian:bookworm-nopython      the same without Python
#   127.0.0.1:5000/debian:bookworm-uv-python-mirror  no Python; a local mirror for uv python install
#   127.0.0.1:5000/python:3.13-trixie            debootstrap'ed Debian 13 + python3 (3.13)
#   127.0.0.1:5000/uv:$UV_VERSION         FROM scratch, /uv and /uvx from the PyPI wheel
#   127.0.0.1:5000/python:3.11-bookworm-386  the Debian 12 image for linux/386 (debootstrap --arch=i386)
#   127.0.0.1:5000/uv:$UV_VERSION-386        uv's i686 wheel, for linux/386
#   127.0.0.1:5000/python:3.11-bookworm-multi and uv:$UV_VERSION-multi: manifest lists of the
#                                            amd64 and 386 images, for multi-platform builds
# Each is skipped when the registry already has its tag (FORCE=1 rebuilds).
set -euo pipefail
# shellcheck source=common.sh
. "$(dirname "${BASH_SOURCE[0]}")/common.sh"
need_root

FORCE="${FORCE:-0}"
DEBIAN_MIRROR="${DEBIAN_MIRROR:-http://deb.debian.org/debian}"
HOST_CA="${HOST_CA:-/etc/ssl/certs/ca-certificates.crt}"
IMAGE_PATH_ENV="/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

registry_ok() { curl -fsS -o /dev/null --max-time 3 "http://$REGISTRY/v2/" 2>/dev/null; }
registry_ok || die "registry $REGISTRY not answering: run scripts/testbed/start-daemons.sh first"
timeout 10 "$DOCKER" info >/dev/null 2>&1 || die "dockerd not answering: run scripts/testbed/start-daemons.sh first"
[ -s "$HOST_CA" ] || die "host CA bundle $HOST_CA missing"

TMPDIRS=()
cleanup() { local d; for d in "${TMPDIRS[@]}"; do rm -rf "$d"; done; }
trap cleanup EXIT

# repo:tag -> "repo" "tag" without the registry prefix
split_ref() { local r="${1#"$REGISTRY"/}"; echo "${r%%:*}" "${r##*:}"; }

# --- python:3.11-bookworm (and python:3.13-trixie) --------------------------------
# build_python [SUITE IMAGE [ARCH]]: Debian SUITE's minbase with its python3, as IMAGE, for the
# Debian architecture ARCH (amd64 or i386; an i386 root filesystem runs natively here).
build_python() {
  local suite="${1:-bookworm}" image="${2:-$PYTHON_IMAGE}" arch="${3:-amd64}"
  local platform="linux/amd64"
  [ "$arch" = i386 ] && platform="linux/386"
  local PYTHON_IMAGE="$image"
  local repo tag
  read -r repo tag < <(split_ref "$PYTHON_IMAGE")
  if [ "$FORCE" != 1 ] && registry_has "$repo" "$tag"; then
    log "$PYTHON_IMAGE already in the registry; skipping"
    return
  fi
  local rootfs_dir="$TESTBED_CACHE/rootfs"
  local tarball="$rootfs_dir/$suite-minbase-python3.tar"
  [ "$arch" = amd64 ] || tarball="$rootfs_dir/$suite-$arch-minbase-python3.tar"
  mkdir -p "$rootfs_dir"
  if [ ! -s "$tarball" ]; then
    local root="$rootfs_dir/$suite-$arch.tmp"
    rm -rf "$root"
    log "debootstrap --variant=minbase --arch=$arch $suite + python3 (takes a minute or two; log $TESTBED_LOG_DIR/debootstrap.log)"
    mkdir -p "$TESTBED_LOG_DIR"
    if ! debootstrap --variant=minbase --arch="$arch" --include=python3,passwd \
          "$suite" "$root" "$DEBIAN_MIRROR" >"$TESTBED_LOG_DIR/debootstrap.log" 2>&1; then
      tail -30 "$TESTBED_LOG_DIR/debootstrap.log" >&2
      die "debootstrap failed"
    fi
    # Clean: apt lists and caches, logs that make the tar differ run to run.
    rm -rf "$root"/var/lib/apt/lists/* "$root"/var/cache/apt/*.bin \
           "$root"/var/cache/apt/archives/*.deb "$root"/var/cache/apt/archives/partial/* \
           "$root"/var/log/apt/* "$root"/var/log/dpkg.log "$root"/var/log/bootstrap.log \
           "$root"/var/cache/debconf/*-old "$root"/var/lib/dpkg/*-old
    mkdir -p "$root"/var/lib/apt/lists/partial
    [ -e "$root/usr/bin/python" ] || ln -s python3 "$root/usr/bin/python"
    : > "$root/etc/resolv.conf" || true
    echo uv-testbed > "$root/etc/hostname"
    tar --numeric-owner -C "$root" -cf "$tarball.tmp" .
    mv "$tarball.tmp" "$tarball"
    rm -rf "$root"
    log "cached rootfs tarball $tarball ($(du -h "$tarball" | cut -f1))"
  else
    log "using cached rootfs tarball $tarball"
  fi

  # Add the host's CA bundle (TLS-intercepting proxy CA) as a second layer of
  # the tar stream: import only takes one tarball, so append it to a copy.
  local work; work="$(mktemp -d)"; TMPDIRS+=("$work")
  cp "$tarball" "$work/rootfs.tar"
  mkdir -p "$work/ca/etc/ssl/certs"
  cp "$HOST_CA" "$work/ca/etc/ssl/certs/ca-certificates.crt"
  chmod 644 "$work/ca/etc/ssl/certs/ca-certificates.crt"
  tar --numeric-owner --owner=0 --group=0 -C "$work/ca" -rf "$work/rootfs.tar" ./etc/ssl/certs/ca-certificates.crt

  log "docker import -> $PYTHON_IMAGE"
  "$DOCKER" import --platform "$platform" \
    --change "ENV PATH=$IMAGE_PATH_ENV" \
    --change "ENV SSL_CERT_FILE=/etc/ssl/certs/ca-certificates.crt" \
    --change 'CMD ["python3"]' \
    "$work/rootfs.tar" "$PYTHON_IMAGE" >/dev/null
  log "python in image: $("$DOCKER" run --rm --network none --platform "$platform" "$PYTHON_IMAGE" python3 -c 'import struct, sys; print(sys.version.split()[0], struct.calcsize("P") * 8, "bit")' 2>&1)"
  log "docker push $PYTHON_IMAGE"
  "$DOCKER" push -q "$PYTHON_IMAGE" >/dev/null
}

# --- uv:$UV_VERSION -----------------------------------------------------------
fetch_uv_wheel() {
  # Prints the path of the cached manylinux wheel of uv==$UV_VERSION for the wheel
  # architecture $1 (x86_64, the default, or i686).
  local warch="${1:-x86_64}"
  local dir="$TESTBED_CACHE/wheels"
  mkdir -p "$dir"
  local existing
  existing="$(ls "$dir"/uv-"$UV_VERSION"-*manylinux*"$warch"*.whl 2>/dev/null | head -n1 || true)"
  if [ -n "$existing" ]; then echo "$existing"; return; fi
  log "looking up uv==$UV_VERSION on PyPI (simple API, PEP 691 JSON)"
  local meta url sha name pick
  meta="$(curl -fsSL --retry 3 -H 'Accept: application/vnd.pypi.simple.v1+json' \
          "${PYPI_SIMPLE_URL:-https://pypi.org/simple}/uv/")" || die "PyPI lookup failed"
  pick="$(python3 -c '
import json, sys
ver, arch = sys.argv[1:3]
d = json.loads(sys.stdin.read())
for f in d["files"]:
    n = f["filename"]
    if n.startswith("uv-%s-" % ver) and n.endswith(".whl") and "manylinux" in n \
            and arch in n and "musllinux" not in n and not f.get("yanked"):
        print(n, f["url"], f["hashes"]["sha256"]); break
else:
    sys.exit("no manylinux %s wheel for uv==%s" % (arch, ver))
' "$UV_VERSION" "$warch" <<<"$meta")" || die "no usable uv==$UV_VERSION $warch wheel found"
  read -r name url sha <<<"$pick"
  log "downloading $name"
  curl -fsSL --retry 3 -o "$dir/$name.part" "$url"
  echo "$sha  $dir/$name.part" | sha256sum -c --quiet - >&2 || die "sha256 mismatch for $name"
  mv "$dir/$name.part" "$dir/$name"
  echo "$dir/$name"
}

# build_uv [IMAGE PLATFORM WHEEL_ARCH]: the uv image (default: $UV_IMAGE, linux/amd64, x86_64).
build_uv() {
  local UV_IMAGE="${1:-$UV_IMAGE}" platform="${2:-linux/amd64}" warch="${3:-x86_64}"
  local repo tag
  read -r repo tag < <(split_ref "$UV_IMAGE")
  if [ "$FORCE" != 1 ] && registry_has "$repo" "$tag"; then
    log "$UV_IMAGE already in the registry; skipping"
    return
  fi
  local wheel; wheel="$(fetch_uv_wheel "$warch")"
  local ctx; ctx="$(mktemp -d)"; TMPDIRS+=("$ctx")
  python3 - "$wheel" "$ctx" "$UV_VERSION" <<'EOF'
import sys, zipfile, os
whl, out, ver = sys.argv[1:]
with zipfile.ZipFile(whl) as z:
    for b in ("uv", "uvx"):
        data = z.read(f"uv-{ver}.data/scripts/{b}")
        p = os.path.join(out, b)
        with open(p, "wb") as f:
            f.write(data)
        os.chmod(p, 0o755)
EOF
  if [ "$platform" = linux/amd64 ]; then
    "$ctx/uv" --version >&2
  else
    # i686's uv needs a 32-bit libc: check it in the image of its platform.
    "$DOCKER" run --rm --network none --platform "$platform" -v "$ctx:/x:ro" \
      "$PYTHON_386_IMAGE" /x/uv --version >&2
  fi
  cat > "$ctx/Dockerfile" <<'EOF'
FROM scratch
COPY uv uvx /
ENTRYPOINT ["/uv"]
EOF
  log "docker buildx build --platform $platform --push -> $UV_IMAGE"
  "$DOCKER" buildx build --builder default --progress=quiet --platform "$platform" --push \
    -t "$UV_IMAGE" "$ctx" >/dev/null
}

# --- images derived from python:3.11-bookworm -----------------------------------
# build_derived IMAGE: builds IMAGE from the Dockerfile on stdin (FROM $PYTHON_IMAGE ...) and
# pushes it, unless the registry has it.
build_derived() {
  local image="$1" repo tag
  read -r repo tag < <(split_ref "$image")
  if [ "$FORCE" != 1 ] && registry_has "$repo" "$tag"; then
    log "$image already in the registry; skipping"
    cat >/dev/null
    return
  fi
  local ctx; ctx="$(mktemp -d)"; TMPDIRS+=("$ctx")
  cat > "$ctx/Dockerfile"
  log "docker buildx build --push -> $image"
  "$DOCKER" buildx build --builder default --progress=quiet --push -t "$image" "$ctx" >/dev/null
}

# A non-root default USER and HOME: a builder image on which a naive Dockerfile's uv cache lands
# in /home/builder/.cache, not in the cache mount.
build_nonroot() {
  build_derived "$NONROOT_PYTHON_IMAGE" <<EOF
FROM $PYTHON_IMAGE
RUN useradd --uid 1000 --create-home builder
USER builder
ENV HOME=/home/builder
EOF
}

# No Python at all: a runtime base the interpreter check must refuse.
build_nopython() {
  build_derived "$NOPYTHON_IMAGE" <<EOF
FROM $PYTHON_IMAGE
RUN rm -rf /usr/bin/python* /usr/lib/python3* /usr/local/lib/python3*
CMD ["/bin/sh"]
EOF
}

# No Python, and a local mirror uv installs one from, for `[build] managed-python`:
# python-build-standalone's archives (uv's source) are on GitHub, which these machines do not
# reach, so the image carries Debian 12's own CPython 3.11 repackaged in their `install_only`
# layout (python/bin/python3.11, python/lib/python3.11: Debian's interpreter finds its standard
# library relative to itself) and a downloads list naming it, which uv reads from
# UV_PYTHON_DOWNLOADS_JSON_URL. The libraries that interpreter links (libexpat, libz, ...) stay
# in the image as they are in the nopython one; only Python itself is gone.
build_python_mirror() {
  build_derived "$PYTHON_MIRROR_IMAGE" <<EOF
FROM $PYTHON_IMAGE AS pack
RUN <<'PACK'
set -eu
version="\$(python3 -c 'import platform; print(platform.python_version())')"
stage=/mirror/stage/python
mkdir -p "\$stage/bin" "\$stage/lib" /mirror/out
cp -a /usr/bin/python3.11 "\$stage/bin/"
ln -s python3.11 "\$stage/bin/python3"
ln -s python3 "\$stage/bin/python"
cp -a /usr/lib/python3.11 "\$stage/lib/"
# Debian links a few files to /etc (sitecustomize.py); an archive holds no absolute links.
find "\$stage" -type l | while read -r link; do
  case "\$(readlink "\$link")" in
    /*) target="\$(readlink -f "\$link")"; rm "\$link"
        if [ -f "\$target" ]; then cp "\$target" "\$link"; fi ;;
  esac
done
archive="cpython-\$version-x86_64-unknown-linux-gnu-install_only.tar.gz"
tar -C /mirror/stage -czf "/mirror/out/\$archive" python
python3 - "\$version" "\$archive" <<'JSON'
import hashlib, json, sys
version, archive = sys.argv[1:3]
major, minor, patch = (int(p) for p in version.split("."))
digest = hashlib.sha256(open(f"/mirror/out/{archive}", "rb").read()).hexdigest()
entry = {
    "name": "cpython", "arch": {"family": "x86_64", "variant": None}, "os": "linux",
    "libc": "gnu", "major": major, "minor": minor, "patch": patch, "prerelease": "",
    "url": f"file:///opt/uv-python-mirror/{archive}", "sha256": digest, "variant": None,
    "build": "debian",
}
with open("/mirror/out/downloads.json", "w") as f:
    json.dump({f"cpython-{version}-linux-x86_64-gnu": entry}, f, indent=2)
JSON
PACK
FROM $NOPYTHON_IMAGE
COPY --from=pack /mirror/out /opt/uv-python-mirror
ENV UV_PYTHON_DOWNLOADS_JSON_URL=/opt/uv-python-mirror/downloads.json
EOF
}

# --- multi-platform: linux/amd64 + linux/386 -------------------------------------
# make_index INDEX REF...: pushes to INDEX (same repository) a manifest list of the REFs'
# manifests, each with the platform of its image config. Rebuilt from the registry's current
# manifests every run (cheap), so it never points at stale ones.
make_index() {
  local index="$1"; shift
  log "manifest list $index <- $*"
  python3 "$TESTBED_REPO_ROOT/scripts/testbed/manifest-list.py" "$REGISTRY" "$index" "$@" >&2 \
    || die "could not push the manifest list $index"
}

build_python
build_uv
build_nonroot
build_nopython
build_python_mirror
build_python trixie "$TRIXIE_PYTHON_IMAGE"
build_python bookworm "$PYTHON_386_IMAGE" i386
build_uv "$UV_386_IMAGE" linux/386 i686
make_index "$PYTHON_MULTI_IMAGE" "$PYTHON_IMAGE" "$PYTHON_386_IMAGE"
make_index "$UV_MULTI_IMAGE" "$UV_IMAGE" "$UV_386_IMAGE"
log "base images ready: $PYTHON_IMAGE $UV_IMAGE $NONROOT_PYTHON_IMAGE $NOPYTHON_IMAGE $PYTHON_MIRROR_IMAGE $TRIXIE_PYTHON_IMAGE $PYTHON_MULTI_IMAGE $UV_MULTI_IMAGE"
