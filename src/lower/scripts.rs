//! The shell and Python scripts the builder runs for the frontend: kept apart from the LLB they
//! are lowered into, so each can be read (and tested by hand) as the script it is.

/// The project phase: `$@` (the uv command); with SOURCE_DATE_EPOCH, uv's installer metadata made
/// reproducible (`$3`, [`NORMALIZE_UV_CACHE_INFO`]); then, in the same step, bytecode for the
/// files the sync wrote (phase 1's stay untouched, so the layers stay apart) when `$2` is 1, and
/// no world-writable file (uv leaves its .lock so), touching only those. `$1` is the venv.
pub const SYNC_THEN_FINISH: &str = r#"set -eu
venv="$1"
compile="$2"
normalize="$3"
shift 3
marker="$(mktemp)"
"$@"
if [ -n "${SOURCE_DATE_EPOCH:-}" ]; then
  "$venv/bin/python" -c "$normalize" "$venv"
fi
if [ "$compile" = 1 ]; then
  # Only what this sync wrote: phase 1's files are compiled already, and walking them all costs
  # seconds on a large venv.
  find "$venv/lib" -name '*.py' -cnewer "$marker" |
    "$venv/bin/python" -c 'import compileall, sys; ok = all([compileall.compile_file(p.rstrip("\n"), quiet=1) for p in sys.stdin]); sys.exit(0 if ok else 1)'
fi
rm -f "$marker"
find "$venv" -perm -o+w ! -type l -exec chmod o-w {} +
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
/// changed), compile only what lacks bytecode, and mirror the result back (copying only what
/// changed). Without a kept venv (the first build) uv compiles everything itself, in parallel.
/// `$1` is the kept venv's mount, `$2` the mirror script, the rest the uv command.
pub const KEPT_VENV_SYNC: &str = r#"set -eu
venv="$UV_PROJECT_ENVIRONMENT"
kept="$1"
mirror="$2"
shift 2
if [ -f "$kept/pyvenv.cfg" ]; then
  mkdir -p "$venv"
  cp -a "$kept/." "$venv/"
  if [ "${UV_COMPILE_BYTECODE:-0}" = 1 ]; then
    UV_COMPILE_BYTECODE=0 "$@"
    "$venv/bin/python" -m compileall -q "$venv/lib"
  else
    "$@"
  fi
else
  "$@"
fi
find "$venv" -perm -o+w ! -type l -exec chmod o-w {} +
"$venv/bin/python" -c "$mirror" "$venv" "$kept"
"#;

/// Makes `dst` a copy of `src`: copies what is new or differs (type, mode, size, time, link
/// target) and removes what `src` lacks. Unchanged files cost a stat.
pub const MIRROR_SCRIPT: &str = r#"import os, shutil, stat, sys
src, dst = sys.argv[1:3]

def same(a, b):
    try:
        y = os.lstat(b)
    except FileNotFoundError:
        return False
    x = os.lstat(a)
    if x.st_mode != y.st_mode:
        return False
    if stat.S_ISLNK(x.st_mode):
        return os.readlink(a) == os.readlink(b)
    if stat.S_ISREG(x.st_mode):
        return x.st_size == y.st_size and x.st_mtime_ns == y.st_mtime_ns
    return True

def remove(p):
    if os.path.isdir(p) and not os.path.islink(p):
        shutil.rmtree(p)
    elif os.path.lexists(p):
        os.remove(p)

for dirpath, dirnames, filenames in os.walk(src):
    rel = os.path.relpath(dirpath, src)
    out = os.path.normpath(os.path.join(dst, rel))
    for name in dirnames + filenames:
        a, b = os.path.join(dirpath, name), os.path.join(out, name)
        if stat.S_ISDIR(os.lstat(a).st_mode):
            if not (os.path.isdir(b) and not os.path.islink(b)):
                remove(b)
                os.mkdir(b)
            shutil.copystat(a, b, follow_symlinks=False)
        elif not same(a, b):
            remove(b)
            if os.path.islink(a):
                os.symlink(os.readlink(a), b)
            else:
                shutil.copy2(a, b)
for dirpath, dirnames, filenames in os.walk(dst, topdown=False):
    rel = os.path.relpath(dirpath, dst)
    for name in dirnames + filenames:
        if not os.path.lexists(os.path.join(src, rel, name)):
            remove(os.path.join(dirpath, name))
"#;

/// Where the compare step sees the lower stage, and where it writes what differs.
pub const COMPARE_LOWER: &str = "/uv-frontend/lower";
pub const COMPARE_OUT: &str = "/uv-frontend/changes";

/// Copies what differs under `path` from the same path under `lower` into `out`, keeping paths,
/// modes, times and symlinks. `path` itself is always created in `out`.
pub const CHANGES_SCRIPT: &str = r#"import os, shutil, stat, sys
lower, root, out = sys.argv[1:4]

def changed(new, old):
    try:
        o = os.lstat(old)
    except FileNotFoundError:
        return True
    n = os.lstat(new)
    if stat.S_IFMT(n.st_mode) != stat.S_IFMT(o.st_mode) or n.st_mode != o.st_mode:
        return True
    if stat.S_ISLNK(n.st_mode):
        return os.readlink(new) != os.readlink(old)
    if stat.S_ISREG(n.st_mode):
        if n.st_size != o.st_size:
            return True
        if n.st_mtime_ns == o.st_mtime_ns:
            return False
        with open(new, "rb") as a, open(old, "rb") as b:
            while True:
                x, y = a.read(1 << 20), b.read(1 << 20)
                if x != y:
                    return True
                if not x:
                    return False
    return False

def target(p):
    return os.path.join(out, os.path.relpath(p, "/"))

def make_parents(p):
    parent = os.path.dirname(p)
    if parent != p and not os.path.isdir(target(parent)):
        make_parents(parent)
        os.mkdir(target(parent))
        shutil.copystat(parent, target(parent))

make_parents(os.path.join(root, "x"))
for dirpath, dirnames, filenames in os.walk(root):
    dirnames.sort()
    for name in sorted(dirnames + filenames):
        p = os.path.join(dirpath, name)
        st = os.lstat(p)
        if stat.S_ISDIR(st.st_mode):
            if not os.path.lexists(os.path.join(lower, os.path.relpath(p, "/"))):
                make_parents(os.path.join(p, "x"))
            continue
        if not changed(p, os.path.join(lower, os.path.relpath(p, "/"))):
            continue
        make_parents(p)
        if stat.S_ISLNK(st.st_mode):
            os.symlink(os.readlink(p), target(p))
        else:
            shutil.copy2(p, target(p), follow_symlinks=False)
"#;
