//! Plan to LLB. Every decision was made by the plan; this module only spells it in ops.

use std::collections::BTreeMap;

use crate::image::env_of;
use crate::llb::{self, pb, Chown, CopyOptions, LocalOptions, Network, Platform, State};
use crate::plan::{Check, DiffMethod, PathSource, Plan, StageBase, Step, UV_MOUNT};

/// What lowering needs beyond the plan: facts only the gateway knows.
#[derive(Clone, Debug)]
pub struct LowerInputs<'a> {
    pub platform: Platform,
    /// The client session that owns the build context.
    pub session_id: String,
    /// The local name of the build context (`context` unless overridden).
    pub context_name: String,
    /// Image configs of the builder and base images, as ResolveImageConfig returns them.
    pub builder_config: &'a serde_json::Value,
    pub base_config: &'a serde_json::Value,
    /// Proxy settings from the predefined proxy build args.
    pub proxy: Option<pb::ProxyEnv>,
}

/// The images every stage starts from.
struct Images {
    uv: State,
    builder: State,
    base: State,
}

/// The LLB of `plan`'s result stage.
pub fn lower(plan: &Plan, inputs: &LowerInputs<'_>) -> Result<State, String> {
    let platform = &inputs.platform;
    let image = |role: &str, reference: &str| {
        llb::image(reference, platform, &format!("[{role}] {reference}"))
    };
    let mut builder = image("builder", &plan.images.builder)
        .env_list(env_of(inputs.builder_config).iter().map(String::as_str));
    for (key, value) in &plan.sync_env {
        builder = builder.env(key, value);
    }
    let images = Images {
        uv: image("uv", &plan.images.uv),
        builder: builder.user("0"),
        base: image("base", &plan.images.base)
            .env_list(env_of(inputs.base_config).iter().map(String::as_str))
            .user("0"),
    };

    let mut stages: BTreeMap<String, State> = BTreeMap::new();
    for stage in &plan.stages {
        let mut state = match &stage.from {
            StageBase::Builder => images.builder.clone(),
            StageBase::Base => images.base.clone(),
            StageBase::Stage(name) => stage_state(&stages, name)?,
        };
        // Layers made on their own, stacked onto the stage with one MergeOp.
        let mut layers: Vec<State> = Vec::new();
        for step in &stage.steps {
            match step {
                Step::CopyPath {
                    separate_layer: true,
                    name,
                    from,
                    path,
                    uid,
                    gid,
                } => {
                    let source = path_source(&stages, from, path)?;
                    layers.push(copy_path(
                        &llb::scratch(),
                        &source,
                        (path, *uid, *gid),
                        plan.source_date_epoch,
                        name,
                    ));
                }
                _ => {
                    state = flush_layers(state, &mut layers, &stage.name);
                    state = lower_step(plan, inputs, &images, &stages, state, step)?;
                }
            }
        }
        state = flush_layers(state, &mut layers, &stage.name);
        stages.insert(stage.name.clone(), state);
    }
    stage_state(&stages, &plan.result)
}

/// The plan's checks, each as a state that runs its command on `image` (the result) with the
/// image's environment, working directory and user. Nothing of them ends up in the image.
pub fn lower_checks(
    plan: &Plan,
    image: &State,
    base_config: &serde_json::Value,
) -> Vec<(Check, State)> {
    let mut on = image.clone().cwd(&plan.image.working_dir);
    for (key, value) in crate::image::runtime_env(base_config, &plan.image) {
        on = on.env(&key, &value);
    }
    plan.checks
        .iter()
        .map(|check| {
            let args: Vec<&str> = check.args.iter().map(String::as_str).collect();
            let state = on
                .clone()
                .user(&check.user)
                .run(&args, &check.name)
                .network(Network::None)
                .root();
            (check.clone(), state)
        })
        .collect()
}

fn stage_state(stages: &BTreeMap<String, State>, name: &str) -> Result<State, String> {
    stages
        .get(name)
        .cloned()
        .ok_or_else(|| format!("the plan uses stage {name} before it is built"))
}

fn path_source(
    stages: &BTreeMap<String, State>,
    from: &PathSource,
    path: &str,
) -> Result<State, String> {
    Ok(match from {
        PathSource::Stage(stage) => stage_state(stages, stage)?,
        PathSource::Diff {
            lower,
            upper,
            method: DiffMethod::DiffOp,
        } => llb::diff(
            &stage_state(stages, lower)?,
            &stage_state(stages, upper)?,
            &format!("[{upper}] changes over {lower}"),
        ),
        PathSource::Diff {
            lower,
            upper,
            method: DiffMethod::Compare,
        } => {
            let python = format!("{path}/bin/python");
            stage_state(stages, upper)?
                .run(
                    &[
                        &python,
                        "-c",
                        CHANGES_SCRIPT,
                        COMPARE_LOWER,
                        path,
                        COMPARE_OUT,
                    ],
                    &format!("[{upper}] changes over {lower}: compare {path}"),
                )
                .bind(&stage_state(stages, lower)?, "/", COMPARE_LOWER, true)
                .bind(&llb::scratch(), "/", COMPARE_OUT, false)
                .network(Network::None)
                .mount_output(COMPARE_OUT)
        }
    })
}

/// The project phase: `$@` (the uv command); with SOURCE_DATE_EPOCH, uv's installer metadata made
/// reproducible (`$3`, [`NORMALIZE_UV_CACHE_INFO`]); then, in the same step, bytecode for the
/// files the sync wrote (phase 1's stay untouched, so the layers stay apart) when `$2` is 1, and
/// no world-writable file (uv leaves its .lock so), touching only those. `$1` is the venv.
const SYNC_THEN_FINISH: &str = r#"set -eu
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
const NORMALIZE_UV_CACHE_INFO: &str = r#"import base64, glob, hashlib, json, os, sys
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
const KEPT_VENV_SYNC: &str = r#"set -eu
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
const MIRROR_SCRIPT: &str = r#"import os, shutil, stat, sys
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
const COMPARE_LOWER: &str = "/uv-frontend/lower";
const COMPARE_OUT: &str = "/uv-frontend/changes";

/// Copies what differs under `path` from the same path under `lower` into `out`, keeping paths,
/// modes, times and symlinks. `path` itself is always created in `out`.
const CHANGES_SCRIPT: &str = r#"import os, shutil, stat, sys
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

fn flush_layers(state: State, layers: &mut Vec<State>, stage: &str) -> State {
    if layers.is_empty() {
        return state;
    }
    let mut all = vec![state];
    all.append(layers);
    llb::merge(&all, &format!("[{stage}] stack layers"))
}

fn copy_path(
    onto: &State,
    from: &State,
    (path, uid, gid): (&str, u32, u32),
    created: Option<i64>,
    name: &str,
) -> State {
    onto.file()
        .created_at(created)
        .copy(from, path, path, &copy_options(Some(Chown::Ids(uid, gid))))
        .done(name)
}

fn lower_step(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    stages: &BTreeMap<String, State>,
    state: State,
    step: &Step,
) -> Result<State, String> {
    Ok(match step {
        Step::WriteFiles { name, dir, files } => {
            let mut op = state
                .file()
                .created_at(plan.source_date_epoch)
                .mkdir(dir, 0o755, None);
            for file in files {
                op = op.mkfile(
                    &format!("{dir}/{}", file.path),
                    0o644,
                    file.content.as_bytes(),
                    None,
                );
            }
            op.done(name).cwd(dir)
        }
        Step::CopyContext { name, dir, exclude } => {
            let context = llb::local(
                &inputs.context_name,
                &LocalOptions {
                    session_id: inputs.session_id.clone(),
                    shared_key_hint: inputs.context_name.clone(),
                    exclude_patterns: exclude.clone(),
                    ..Default::default()
                },
                Some(&inputs.platform),
                "load build context",
            );
            // With SOURCE_DATE_EPOCH the sources get that time too: uv records the project's
            // directory times in its installer metadata (uv_cache.json).
            state
                .file()
                .created_at(plan.source_date_epoch)
                .copy(&context, "/", dir, &copy_options(None))
                .done(name)
                .cwd(dir)
        }
        Step::Sync {
            name,
            args,
            env,
            venv_cache,
            finish,
        } => {
            let uv = format!("{UV_MOUNT}/uv");
            let mut argv: Vec<&str> = Vec::new();
            if let Some(finish) = finish {
                argv.extend([
                    "/bin/sh",
                    "-c",
                    SYNC_THEN_FINISH,
                    "sync-then-finish",
                    &finish.venv,
                    if finish.compile { "1" } else { "0" },
                    NORMALIZE_UV_CACHE_INFO,
                ]);
            }
            if let Some(kept) = venv_cache {
                argv.extend([
                    "/bin/sh",
                    "-c",
                    KEPT_VENV_SYNC,
                    "kept-venv-sync",
                    &kept.target,
                    MIRROR_SCRIPT,
                ]);
            }
            argv.push(&uv);
            argv.extend(args.iter().map(String::as_str));
            let mut on = state.clone();
            for (key, value) in env {
                on = on.env(key, value);
            }
            let mut exec = on
                .run(&argv, name)
                .bind(&images.uv, "/", UV_MOUNT, true)
                .cache(&plan.cache.id, &plan.cache.target, plan.cache.sharing)
                .proxy(inputs.proxy.clone());
            if let Some(kept) = venv_cache {
                exec = exec.cache(&kept.id, &kept.target, kept.sharing);
            }
            // The next steps run with the stage's own environment again.
            exec.root().with_env_of(&state)
        }
        Step::AddUser {
            name,
            passwd,
            group,
            home,
            uid,
            gid,
        } => state
            .file()
            .created_at(plan.source_date_epoch)
            .mkfile("/etc/passwd", 0o644, passwd.as_bytes(), None)
            .mkfile("/etc/group", 0o644, group.as_bytes(), None)
            .mkdir(home, 0o755, Some(Chown::Ids(*uid, *gid)))
            .done(name),
        Step::CopyPath {
            name,
            from,
            path,
            uid,
            gid,
            ..
        } => {
            let source = path_source(stages, from, path)?;
            copy_path(
                &state,
                &source,
                (path, *uid, *gid),
                plan.source_date_epoch,
                name,
            )
        }
    })
}

/// `COPY`'s defaults: a directory's contents, destination created, symlinks kept as links.
fn copy_options(owner: Option<Chown>) -> CopyOptions {
    CopyOptions {
        owner,
        contents_only: true,
        create_dest_path: true,
        allow_wildcard: true,
        allow_empty_wildcard: true,
        follow_symlinks: true,
        ..Default::default()
    }
}
