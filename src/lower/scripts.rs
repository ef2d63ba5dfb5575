//! The shell and Python scripts the builder runs for the frontend: kept apart from the LLB they
//! are lowered into, so each can be read (and tested by hand) as the script it is. They reach
//! the sync steps as files of a read-only mount ([`SCRIPTS_MOUNT`]), not as arguments, so that
//! a failed step's command line (which BuildKit prints whole) stays one readable line.

/// Where sync steps find the scripts, each under its name in [`SCRIPTS`].
pub const SCRIPTS_MOUNT: &str = "/uv-frontend/scripts";

/// Every script, by its file name.
pub const SCRIPTS: [(&str, &str); 11] = [
    (crate::plan::INTERPRETER_CHECK_SCRIPT, INTERPRETER_CHECK),
    ("sync-then-finish", SYNC_THEN_FINISH),
    ("finish.py", FINISH_SCRIPT),
    ("normalize-uv-cache-info.py", NORMALIZE_UV_CACHE_INFO),
    ("then-tidy", THEN_TIDY),
    ("with-secrets", WITH_SECRETS),
    ("with-git-auth", WITH_GIT_AUTH),
    ("kept-venv-sync", KEPT_VENV_SYNC),
    ("mirror.py", MIRROR_SCRIPT),
    ("run-then-collect", RUN_THEN_COLLECT),
    ("apt-install", APT_INSTALL),
];

/// Exit status of [`APT_INSTALL`] when the image has no `apt-get`.
pub const APT_NO_APT_GET: i32 = 3;
/// Exit status of [`APT_INSTALL`] when a package is not in the image's apt sources.
pub const APT_NO_SUCH_PACKAGE: i32 = 4;

/// The interpreter check, run by the venv's `bin/python` in the runtime image (as the image's
/// user, without a network): the interpreter starts with its standard library (`encodings`,
/// `site`) and is the Python version the venv was made with (`pyvenv.cfg`), or it exits non-zero
/// saying which it is.
pub const INTERPRETER_CHECK: &str = r#"import encodings, os, site, sys
cfg = {}
for line in open(os.path.join(sys.prefix, "pyvenv.cfg")):
    key, _, value = line.partition("=")
    cfg[key.strip()] = value.strip()
made = (cfg.get("version_info") or cfg.get("version") or "").split(".")[:2]
runs = [str(n) for n in sys.version_info[:2]]
if made != runs:
    sys.exit("the venv was made with Python %s, its interpreter is %s" % (".".join(made), ".".join(runs)))
print(sys.executable, sys.version)
"#;

/// The project phase: the rest (the uv command); with SOURCE_DATE_EPOCH, uv's installer metadata
/// made reproducible ([`NORMALIZE_UV_CACHE_INFO`]); then, in the same step and one pass over
/// what the sync wrote, [`FINISH_SCRIPT`]: bytecode for those files when `$2` is 1 (phase 1's
/// stay untouched, so the layers stay apart), no world-writable file (uv leaves its .lock so),
/// and, when `$3` names a directory, a copy of all of it there at its own path: the project
/// layer, without a second step walking the venv. `$1` is the venv.
pub const SYNC_THEN_FINISH: &str = r#"set -eu
here="${0%/*}"
venv="$1"
compile="$2"
collect="$3"
shift 3
work="$(mktemp -d)"
touch "$work/marker"
# File times are as coarse as the kernel clock tick: the sync starts a tick after the marker,
# so that what it writes is newer.
sleep 0.01 2>/dev/null || sleep 1
"$@"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  "$venv/bin/python" "$here/normalize-uv-cache-info.py" "$venv"
fi
find "$venv" -cnewer "$work/marker" -print0 > "$work/written"
"$venv/bin/python" -I -S "$here/finish.py" "$venv" "$compile" "$collect" "$work/written"
rm -rf "$work"
"#;

/// Finishes what a sync wrote under a venv, given as a NUL-separated list of absolute paths
/// (`find <venv> -cnewer <marker> -print0`: new and changed files, and the directories whose
/// entries changed): compiles its `.py` files under `lib/` when `compile` is 1 (one that does not
/// compile is left without bytecode, as uv does), takes the
/// world-write bit off its files, and when `out` is not empty copies all of it, bytecode
/// included, to `out` at its own path (`/app/.venv/x` to `<out>/app/.venv/x`), keeping modes,
/// times and symlinks; the venv itself is always there, so a copy out of `out` never misses its
/// source. The list is rewritten with the bytecode added. A deleted file is not represented
/// (phase 2 only adds the project).
pub const FINISH_SCRIPT: &str = r#"import glob, os, shutil, stat, sys
venv, compile, out, listing = sys.argv[1:5]
with open(listing, "rb") as f:
    paths = [os.fsdecode(n) for n in f.read().split(b"\0") if n]
# uv leaves the bytecode of a single-module package it removes (six.py goes, __pycache__/six.*.pyc
# stays): in a kept venv that would reach the image.
for cache in glob.glob(os.path.join(venv, "lib", "python*", "site-packages", "__pycache__")):
    for name in os.listdir(cache):
        module = os.path.join(os.path.dirname(cache), name.split(".", 1)[0] + ".py")
        if name.endswith(".pyc") and not os.path.exists(module):
            os.remove(os.path.join(cache, name))
if compile == "1":
    import compileall, importlib.util
    lib = os.path.join(venv, "lib") + os.sep
    for p in list(paths):
        if p.endswith(".py") and p.startswith(lib) and os.path.isfile(p):
            # Like uv's and pip's compile step, a file that does not compile is left as is.
            compileall.compile_file(p, quiet=2)
            pyc = importlib.util.cache_from_source(p)
            if os.path.exists(pyc):
                paths += [os.path.dirname(pyc), pyc]
paths = sorted(set(paths))
for p in paths:
    st = os.lstat(p)
    if not stat.S_ISLNK(st.st_mode) and st.st_mode & 0o002:
        os.chmod(p, stat.S_IMODE(st.st_mode) & ~0o002)
with open(listing, "wb") as f:
    f.write(b"".join(os.fsencode(p) + b"\0" for p in paths))
if out:
    made = []

    def make_dir(p):
        t = os.path.join(out, os.path.relpath(p, "/"))
        if os.path.isdir(t):
            return
        parent = os.path.dirname(p)
        if parent != p:
            make_dir(parent)
        os.mkdir(t)
        made.append(p)

    make_dir(venv)
    for p in paths:
        if os.path.isdir(p) and not os.path.islink(p):
            make_dir(p)
            continue
        make_dir(os.path.dirname(p))
        t = os.path.join(out, os.path.relpath(p, "/"))
        if os.path.islink(p):
            os.symlink(os.readlink(p), t)
        else:
            shutil.copy2(p, t)
    # Directory times last, deepest first: adding entries changes them.
    for p in sorted(made, key=len, reverse=True):
        shutil.copystat(p, os.path.join(out, os.path.relpath(p, "/")), follow_symlinks=False)
"#;

/// `[build] run`: each argument after the first three is a shell command line, run in turn by
/// `/bin/sh -c` (the first that fails stops the step, named on stderr); then every file they
/// wrote under `$1`, the project's directory, but not in `$2`, the venv, is copied with
/// [`FINISH_SCRIPT`] (no bytecode, no world-writable file) into `$3` at its own path: the layer
/// of what the commands made (`collectstatic`'s files), apart from the build context's. A file
/// they deleted is not represented.
pub const RUN_THEN_COLLECT: &str = r#"set -eu
here="${0%/*}"
dir="$1"
venv="$2"
collect="$3"
shift 3
work="$(mktemp -d)"
touch "$work/marker"
# File times are as coarse as the kernel clock tick: the commands start a tick after the marker.
sleep 0.01 2>/dev/null || sleep 1
n=0
for command in "$@"; do
  n=$((n + 1))
  echo "[build] run, command $n: $command" >&2
  if ! /bin/sh -c "$command"; then
    echo "[build] run: command $n failed: $command" >&2
    exit 1
  fi
done
find "$dir" -path "$venv" -prune -o -cnewer "$work/marker" -print0 > "$work/written"
"$venv/bin/python" -I -S "$here/finish.py" "$dir" 0 "$collect" "$work/written"
rm -rf "$work"
"#;

/// `[build] apt` and `[run] apt`: installs the packages given as arguments with apt-get, its
/// lists and archives on cache mounts (so `docker-clean`, which empties the archives after
/// every install, is set aside for the step and put back), without recommended packages.
/// Exits 3 on an image without apt-get and 4 naming the packages its sources lack, before
/// installing anything, so the error can say which it was.
pub const APT_INSTALL: &str = r#"set -eu
if ! command -v apt-get >/dev/null 2>&1; then
  echo "uv-frontend: apt packages need a Debian or Ubuntu image: this one has no apt-get" >&2
  exit 3
fi
clean=/etc/apt/apt.conf.d/docker-clean
if [ -f "$clean" ]; then
  mv "$clean" /tmp/uv-frontend-docker-clean
fi
apt-get update -qq
missing=""
for package in "$@"; do
  name="${package%%=*}"
  if ! apt-cache show "$name" >/dev/null 2>&1; then
    missing="$missing $name"
  fi
done
if [ -n "$missing" ]; then
  echo "uv-frontend: not in this image's apt sources:$missing" >&2
  exit 4
fi
apt-get install -y -qq --no-install-recommends -o APT::Keep-Downloaded-Packages=true "$@"
if [ -f /tmp/uv-frontend-docker-clean ]; then
  mv /tmp/uv-frontend-docker-clean "$clean"
fi
rm -f /var/log/apt/history.log /var/log/apt/term.log /var/log/dpkg.log /var/cache/debconf/*-old
"#;

/// Runs the rest (`uv python install`), then tidies `$1`, a directory copied into the runtime
/// image as it is: uv's lock file (created world-writable) and its empty temporary directory
/// go, and nothing in it stays world-writable.
pub const THEN_TIDY: &str = r#"set -eu
dir="$1"
shift
"$@"
rm -rf "$dir/.lock" "$dir/.temp"
chmod -R o-w "$dir"
"#;

/// Exports every secret file in `$1` as the environment variable its name spells (the files
/// are there only for the secrets the client passed), then runs the rest: credentials reach uv
/// in its environment and never touch a layer.
pub const WITH_SECRETS: &str = r#"dir="$1"
shift
for f in "$dir"/*; do
  if [ -f "$f" ]; then
    name="${f##*/}"
    value="$(cat "$f")"
    export "$name=$value"
  fi
done
exec "$@"
"#;

/// Gives git a token for each URL prefix among the arguments before `--` (`https://host/`), from
/// the secret files in `$1` the client passed, read as BuildKit reads them for git sources of
/// its own: `GIT_AUTH_HEADER.<host>`, `GIT_AUTH_TOKEN.<host>`, then (over HTTPS only; the frontend
/// mounts them only when the lock's HTTPS sources are on one host) `GIT_AUTH_HEADER` and
/// `GIT_AUTH_TOKEN`; the first there wins. A header is sent as it is, a token as basic
/// authentication of `x-access-token`. git takes them from its environment (`GIT_CONFIG_COUNT`,
/// git 2.31 or later: an older git is named in the log, as it would ignore them), so they never
/// reach a file. Then runs the rest. (`set -f`: a host such as `[::1]:8080` is no glob.)
pub const WITH_GIT_AUTH: &str = r#"set -f
dir="$1"
shift
n="${GIT_CONFIG_COUNT:-0}"
while [ "$1" != "--" ]; do
  prefix="$1"
  shift
  host="${prefix#*://}"
  host="${host%/}"
  ids="GIT_AUTH_HEADER.$host GIT_AUTH_TOKEN.$host"
  case "$prefix" in
    https://*) ids="$ids GIT_AUTH_HEADER GIT_AUTH_TOKEN" ;;
  esac
  for id in $ids; do
    if [ -f "$dir/$id" ]; then
      value="$(tr -d '\r' < "$dir/$id")"
      case "$id" in
        GIT_AUTH_TOKEN*)
          if ! command -v base64 >/dev/null 2>&1; then
            echo "uv-frontend: $id needs base64 in the builder image to reach git" >&2
            exit 1
          fi
          value="basic $(printf 'x-access-token:%s' "$value" | base64 | tr -d '\n')"
          ;;
      esac
      export "GIT_CONFIG_KEY_$n=http.$prefix.extraheader"
      export "GIT_CONFIG_VALUE_$n=Authorization: $value"
      n=$((n + 1))
      break
    fi
  done
done
shift
export GIT_CONFIG_COUNT="$n"
if [ "$n" -gt 0 ]; then
  version="$(git --version 2>/dev/null | sed -n 's/^git version \([0-9]*\.[0-9]*\).*/\1/p')"
  case "$version" in
    1.* | 2.[0-9] | 2.[12][0-9] | 2.30)
      echo "uv-frontend: git $version is older than 2.31 and ignores the token it is given (GIT_CONFIG_COUNT): use a builder image with a newer git" >&2
      ;;
  esac
fi
exec "$@"
"#;

/// uv records, for packages installed from a directory, the change times of their sources in
/// `<dist-info>/uv_cache.json`; those cannot be set, so with SOURCE_DATE_EPOCH they are replaced
/// by it, and the file's line in RECORD updated.
pub const NORMALIZE_UV_CACHE_INFO: &str = r#"import base64, glob, hashlib, json, os, sys
epoch = int(os.environ["SOURCE_DATE_EPOCH"])

def fix(value):
    if isinstance(value, dict):
        if "secs_since_epoch" in value:
            return {**value, "secs_since_epoch": epoch, "nanos_since_epoch": 0}
        return {k: fix(v) for k, v in value.items()}
    if isinstance(value, list):
        return [fix(v) for v in value]
    return value

for info in glob.glob(os.path.join(sys.argv[1], "lib", "python*", "site-packages", "*.dist-info", "uv_cache.json")):
    with open(info) as f:
        data = json.dumps(fix(json.load(f)), separators=(",", ":")).encode()
    with open(info, "wb") as f:
        f.write(data)
    dist_info = os.path.dirname(info)
    name = os.path.basename(dist_info) + "/uv_cache.json"
    digest = base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()
    record = os.path.join(dist_info, "RECORD")
    with open(record) as f:
        lines = f.read().splitlines()
    lines = [f"{name},sha256={digest},{len(data)}" if l.split(",")[0] == name else l for l in lines]
    with open(record, "w") as f:
        f.write("\n".join(lines) + "\n")
"#;

/// Phase 1 with a kept venv: restore it from its cache mount, sync (installing only what
/// changed), finish only what the sync wrote ([`FINISH_SCRIPT`]: bytecode, no world-writable
/// files), and mirror the result back (copying only what the sync wrote, removing what it
/// removed). Without a complete kept venv (the first build, or one stopped while mirroring), or
/// with one another uv made (uv writes the venv's skeleton only when it creates it, and its
/// `pyvenv.cfg` says `uv = <version>`; a moving uv image tag keeps the kept venv's id), uv
/// builds the venv from scratch and compiles everything itself. `$1` is the kept venv's mount
/// (the venv in `venv/`, and `complete` once it is whole), the rest the uv command;
/// [`FINISH_SCRIPT`] and [`MIRROR_SCRIPT`] are beside it.
pub const KEPT_VENV_SYNC: &str = r#"set -eu
here="${0%/*}"
venv="$UV_PROJECT_ENVIRONMENT"
kept="$1"
shift
work="$(mktemp -d)"
# The marker that what the sync writes is newer than. File times are as coarse as the kernel
# clock tick, so the sync starts a tick later.
mark() { touch "$work/marker"; sleep 0.01 2>/dev/null || sleep 1; }
compile=0
uv_version="$("$1" --version 2>/dev/null || true)"
uv_version="${uv_version#uv }"
uv_version="${uv_version%% *}"
same_uv=0
if [ -f "$kept/complete" ] && [ -f "$kept/venv/pyvenv.cfg" ] && [ -n "$uv_version" ]; then
  while IFS= read -r line; do
    if [ "$line" = "uv = $uv_version" ]; then same_uv=1; fi
  done < "$kept/venv/pyvenv.cfg"
fi
if [ "$same_uv" = 1 ]; then
  mkdir -p "$venv"
  cp -a "$kept/venv/." "$venv/"
  mark
  # The kept files have their bytecode; only what this sync writes lacks it.
  compile="${UV_COMPILE_BYTECODE:-0}"
  UV_COMPILE_BYTECODE=0 "$@"
else
  find "$kept" -mindepth 1 -maxdepth 1 -exec rm -rf {} +
  mkdir -p "$kept/venv"
  mark
  "$@"
fi
find "$venv" -cnewer "$work/marker" -print0 > "$work/written"
"$venv/bin/python" -I -S "$here/finish.py" "$venv" "$compile" "" "$work/written"
rm -f "$kept/complete"
find "$venv" -print0 > "$work/venv"
find "$kept/venv" -print0 > "$work/kept"
"$venv/bin/python" -I -S "$here/mirror.py" "$venv" "$kept/venv" "$work/venv" "$work/kept" "$work/written"
touch "$kept/complete"
rm -rf "$work"
"#;

/// Makes `dst` a copy of `src`, given that it was one before `src` was synced: removes what
/// `src` no longer has, then copies what the sync wrote, keeping modes, times and symlinks.
/// The three lists are `find <tree> -print0` output (`written`: of `src`, what changed), so
/// nothing is walked twice.
pub const MIRROR_SCRIPT: &str = r#"import os, shutil, stat, sys
src, dst, src_list, dst_list, written = sys.argv[1:6]

def names(path, root):
    with open(path, "rb") as f:
        return [os.path.relpath(os.fsdecode(n), root) for n in f.read().split(b"\0") if n]

def remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)

have = set(names(src_list, src))
for rel in sorted(set(names(dst_list, dst)) - have, key=len, reverse=True):
    remove(os.path.join(dst, rel))
dirs = []
for rel in sorted(names(written, src)):
    a, b = os.path.join(src, rel), os.path.join(dst, rel)
    if stat.S_ISDIR(os.lstat(a).st_mode):
        if not (os.path.isdir(b) and not os.path.islink(b)):
            remove(b)
            os.makedirs(b)
        dirs.append((a, b))
        continue
    remove(b)
    os.makedirs(os.path.dirname(b), exist_ok=True)
    if os.path.islink(a):
        os.symlink(os.readlink(a), b)
    else:
        shutil.copy2(a, b)
for a, b in reversed(dirs):
    shutil.copystat(a, b, follow_symlinks=False)
"#;

#[cfg(test)]
mod tests {
    use super::{FINISH_SCRIPT, KEPT_VENV_SYNC, MIRROR_SCRIPT};

    /// A uv that says it is 0.13.9, logs whether it found a venv (restored) or not (fresh), and
    /// makes a venv as uv does: `pyvenv.cfg` naming its version, `bin/python`.
    const FAKE_UV: &str = r#"#!/bin/sh
if [ "$1" = --version ]; then echo "uv 0.13.9 (x86_64-unknown-linux-gnu)"; exit 0; fi
if [ -f "$UV_PROJECT_ENVIRONMENT/pyvenv.cfg" ]; then echo restored >> "$LOG"; else echo fresh >> "$LOG"; fi
mkdir -p "$UV_PROJECT_ENVIRONMENT/bin"
[ -e "$UV_PROJECT_ENVIRONMENT/bin/python" ] || ln -s /usr/bin/python3 "$UV_PROJECT_ENVIRONMENT/bin/python"
printf 'home = /usr/bin\nuv = 0.13.9\n' > "$UV_PROJECT_ENVIRONMENT/pyvenv.cfg"
"#;

    #[test]
    fn a_kept_venv_another_uv_made_is_not_restored() {
        use std::os::unix::fs::PermissionsExt;
        let root = std::env::temp_dir().join(format!("uvf-kept-{}", std::process::id()));
        let _ = std::fs::remove_dir_all(&root);
        std::fs::create_dir_all(root.join("kept/venv")).expect("mkdir");
        for (name, text) in [
            ("kept-venv-sync", KEPT_VENV_SYNC),
            ("finish.py", FINISH_SCRIPT),
            ("mirror.py", MIRROR_SCRIPT),
            ("uv", FAKE_UV),
        ] {
            std::fs::write(root.join(name), text).expect("write");
        }
        std::fs::set_permissions(root.join("uv"), std::fs::Permissions::from_mode(0o755))
            .expect("chmod");
        // Complete, but made by uv 0.11.0.
        std::fs::write(
            root.join("kept/venv/pyvenv.cfg"),
            "home = /usr/bin\nuv = 0.11.0\n",
        )
        .expect("write");
        std::fs::write(root.join("kept/complete"), "").expect("write");
        let sync = || {
            let _ = std::fs::remove_dir_all(root.join("venv"));
            let status = std::process::Command::new("/bin/sh")
                .arg(root.join("kept-venv-sync"))
                .arg(root.join("kept"))
                .arg(root.join("uv"))
                .arg("sync")
                .env("UV_PROJECT_ENVIRONMENT", root.join("venv"))
                .env("LOG", root.join("log"))
                .status()
                .expect("sh runs");
            assert!(status.success());
        };
        sync();
        // Now the kept venv is 0.13.9's: the next sync restores it.
        sync();
        let log = std::fs::read_to_string(root.join("log")).expect("log");
        assert_eq!(log, "fresh\nrestored\n");
        std::fs::remove_dir_all(&root).expect("cleanup");
    }

    /// Runs the finishing script with the builder's kind of interpreter (Debian's python3).
    #[test]
    fn finishing_removes_bytecode_uv_left_of_a_removed_single_module_package() {
        let root = std::env::temp_dir().join(format!("uvf-finish-{}", std::process::id()));
        let site = root.join("venv/lib/python3.11/site-packages");
        std::fs::create_dir_all(site.join("__pycache__")).expect("mkdir");
        for (path, text) in [
            ("typing_extensions.py", "x = 1\n"),
            ("__pycache__/typing_extensions.cpython-311.pyc", "kept"),
            ("__pycache__/six.cpython-311.pyc", "six.py is gone"),
        ] {
            std::fs::write(site.join(path), text).expect("write");
        }
        let script = root.join("finish.py");
        std::fs::write(&script, FINISH_SCRIPT).expect("write");
        let listing = root.join("written");
        std::fs::write(&listing, "").expect("write");
        let status = std::process::Command::new("/usr/bin/python3")
            .arg("-I")
            .arg(&script)
            .arg(root.join("venv"))
            .args(["0", ""])
            .arg(&listing)
            .status()
            .expect("python3 runs");
        assert!(status.success());
        assert!(site
            .join("__pycache__/typing_extensions.cpython-311.pyc")
            .exists());
        assert!(!site.join("__pycache__/six.cpython-311.pyc").exists());
        std::fs::remove_dir_all(&root).expect("cleanup");
    }
}
