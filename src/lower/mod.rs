//! Plan to LLB. Every decision was made by the plan; this module only spells it in ops.

use std::collections::BTreeMap;

use crate::image::env_of;
use crate::llb::{self, pb, Chown, CopyOptions, LocalOptions, Network, Platform, State};
use crate::plan::{
    AptInstallStep, Check, CopyContextStep, DiffMethod, PathSource, Plan, Stage, StageBase, Step,
    SECRETS_DIR,
};
use crate::settings::SyncNetwork;
use crate::venv_layout::VenvLayout;

mod scripts;
mod sync;
mod units;

use scripts::SCRIPTS;
pub use scripts::{APT_NO_APT_GET, APT_NO_SUCH_PACKAGE, SCRIPTS_MOUNT};

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
    /// BuildKit's image resolve mode for every image (`pull` with `--pull`).
    pub resolve_mode: String,
    /// Image names pinned to the digests their configs resolved to (`name@sha256:...`): the
    /// images are loaded by digest, and named in progress as the spec names them.
    pub pins: BTreeMap<String, String>,
    /// `--no-cache` (every stage) or `--no-cache-filter` (the named ones), with a value unique to
    /// this build: sync steps of those stages take it into their environment, so they rerun
    /// without being marked to ignore the cache, which would empty the uv cache mount.
    pub rerun: Option<(String, Vec<String>)>,
    /// Where the files of the dependency stage's venv go, read from its result; `None` copies
    /// the venv as one layer.
    pub venv_layout: Option<&'a VenvLayout>,
}

/// The images every stage starts from, and the scripts sync steps mount.
struct Images {
    uv: State,
    builder: State,
    base: State,
    scripts: State,
}

/// The scripts, as files of their own ([`SCRIPTS_MOUNT`]).
fn scripts_state() -> State {
    let mut op = llb::scratch().file();
    for (name, text) in SCRIPTS {
        op = op.mkfile(&format!("/{name}"), 0o444, text.as_bytes(), None);
    }
    op.done("[internal] uv-frontend's sync scripts")
}

/// Set to a value unique to the build in the sync steps `--no-cache` reruns.
pub const RERUN_ENV: &str = "UVF_NO_CACHE_RUN";

/// Every stage of a plan, lowered.
#[derive(Clone, Debug)]
pub struct Lowered {
    pub stages: BTreeMap<String, State>,
    /// The result stage: the image.
    pub result: State,
}

/// The LLB of `plan`'s stages; `result` is the image.
pub fn lower(plan: &Plan, inputs: &LowerInputs<'_>) -> Result<Lowered, String> {
    let images = images_of(plan, inputs);
    let mut built = Built::default();
    for stage in &plan.stages {
        let state = lower_stage(plan, inputs, &images, &mut built, stage)?;
        built.stages.insert(stage.name.clone(), state);
    }
    let result = stage_state(&built.stages, &plan.result)?;
    Ok(Lowered {
        stages: built.stages,
        result,
    })
}

/// The images of `plan`, each at its pinned digest where there is one, named as the plan
/// names it; the builder with its environment and the sync environment, the base with its own.
fn images_of(plan: &Plan, inputs: &LowerInputs<'_>) -> Images {
    let image = |role: &str, reference: &str| {
        crate::image_source::image_source(
            role,
            reference,
            inputs.pins.get(reference).map_or(reference, String::as_str),
            &inputs.platform,
            &inputs.resolve_mode,
        )
    };
    let mut builder = image("builder", &plan.images.builder)
        .env_list(env_of(inputs.builder_config).iter().map(String::as_str));
    for (key, value) in &plan.sync_env {
        builder = builder.env(key, value);
    }
    Images {
        uv: image("uv", &plan.images.uv),
        builder: builder.user("0"),
        base: image("base", &plan.images.base)
            .env_list(env_of(inputs.base_config).iter().map(String::as_str))
            .user("0"),
        scripts: scripts_state(),
    }
}

/// Where `stage` starts: its base, and the layers its base stage ended with, not yet stacked
/// (so that one MergeOp stacks them with the stage's own). But a stage a check runs on is
/// stacked on its own and built on as it is: the check needs that merge anyway, and inside the
/// image's graph it is a result a registry cache (`--cache-to mode=max`) holds.
fn stage_start(
    plan: &Plan,
    stage: &Stage,
    images: &Images,
    built: &Built,
) -> Result<(State, Vec<State>), String> {
    Ok(match &stage.from {
        StageBase::Builder => (images.builder.clone(), Vec::new()),
        StageBase::Base => (images.base.clone(), Vec::new()),
        StageBase::Stage(name) => match built.open.get(name) {
            Some((state, layers)) if !plan.checks.iter().any(|c| &c.stage == name) => {
                (state.clone(), layers.clone())
            }
            _ => (stage_state(&built.stages, name)?, Vec::new()),
        },
    })
}

/// The state of `stage`, its steps lowered in turn; what they leave for later stages goes
/// into `built`.
fn lower_stage(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    built: &mut Built,
    stage: &Stage,
) -> Result<State, String> {
    // Layers made on their own, stacked onto the stage with one MergeOp.
    let (mut state, mut layers) = stage_start(plan, stage, images, built)?;
    let rerun = inputs
        .rerun
        .as_ref()
        .filter(|(_, stages)| stages.is_empty() || stages.contains(&stage.name))
        .map(|(nonce, _)| nonce.as_str());
    for (index, step) in stage.steps.iter().enumerate() {
        match step {
            Step::InstallUnits(units_step) => {
                state = flush_layers(state, &mut layers, &stage.name);
                let prefix = stage.step_prefix(index);
                let made =
                    units::unit_layers(plan, inputs, images, &state, (units_step, &prefix), rerun)?;
                layers.extend(made.iter().cloned());
                built.unit_layers.insert(stage.name.clone(), made);
            }
            Step::StackUnits { from, .. } => {
                let made = built.unit_layers.get(from).ok_or_else(|| {
                    format!("the plan stacks the units of {from}, which installs none")
                })?;
                layers.extend(made.iter().cloned());
            }
            Step::CopyPath { .. } | Step::CopyVenv { .. } => {
                let prefix = stage.step_prefix(index);
                let copies = copies_of(step, &prefix, inputs, built)?;
                for (paths, name) in &copies.parts {
                    let copy = |onto: &State| {
                        copy_paths(
                            onto,
                            &copies.source,
                            (&copies.root, &copies.dest),
                            paths,
                            copies.owner,
                            plan.source_date_epoch,
                            name,
                        )
                    };
                    if copies.separate_layer {
                        layers.push(copy(&llb::scratch()));
                    } else {
                        state = flush_layers(state, &mut layers, &stage.name);
                        state = copy(&state);
                    }
                }
            }
            Step::CopyContext(copy) if copy.separate_layer => {
                layers.push(copy_context(plan, inputs, &llb::scratch(), copy));
                state = state.cwd(&copy.dir);
            }
            _ => {
                state = flush_layers(state, &mut layers, &stage.name);
                built
                    .ran_on
                    .entry(stage.name.clone())
                    .or_insert_with(|| state.clone());
                let (next, collected) = lower_step(plan, inputs, images, state, step, rerun)?;
                state = next;
                if let Some(collected) = collected {
                    built.written.insert(stage.name.clone(), collected);
                }
            }
        }
    }
    if !layers.is_empty() {
        built
            .open
            .insert(stage.name.clone(), (state.clone(), layers.clone()));
    }
    Ok(flush_layers(state, &mut layers, &stage.name))
}

/// The plan's checks, each as a state that runs its command in its stage with the image's
/// environment, working directory and user. Nothing of them ends up in the image.
pub fn lower_checks(
    plan: &Plan,
    lowered: &Lowered,
    base_config: &serde_json::Value,
) -> Result<Vec<(Check, State)>, String> {
    let env = crate::image::runtime_env(base_config, &plan.image);
    plan.checks
        .iter()
        .map(|check| {
            let mut on = stage_state(&lowered.stages, &check.stage)?.cwd(&plan.image.working_dir);
            for (key, value) in &env {
                on = on.env(key, value);
            }
            let script = check
                .script
                .as_ref()
                .map(|name| format!("{SCRIPTS_MOUNT}/{name}"));
            let args: Vec<&str> = check
                .args
                .iter()
                .chain(&script)
                .map(String::as_str)
                .collect();
            let mut exec = on
                .user(&check.user)
                .run(&args, &check.name)
                .network(Network::None);
            if script.is_some() {
                exec = exec.bind(&scripts_state(), "/", SCRIPTS_MOUNT, true);
            }
            let state = exec.root();
            Ok((check.clone(), state))
        })
        .collect()
}

/// The stages lowered so far, and what their steps left for later stages.
#[derive(Default)]
struct Built {
    stages: BTreeMap<String, State>,
    /// What each stage's collecting sync step wrote ([`DiffMethod::Written`]).
    written: BTreeMap<String, State>,
    /// The venv layers each stage's package units made.
    unit_layers: BTreeMap<String, Vec<State>>,
    /// Each stage's state and the layers it ended with, before they were stacked: a stage built
    /// on it stacks its own layers with those in one MergeOp (the project phase's copy of the
    /// context beside the dependency layers, not a step after their MergeOp).
    open: BTreeMap<String, (State, Vec<State>)>,
    /// What each stage's first step that runs or writes something ran on: its DiffOp's lower,
    /// so the diff holds what the stage's steps changed and none of the layers stacked first.
    ran_on: BTreeMap<String, State>,
}

fn stage_state(stages: &BTreeMap<String, State>, name: &str) -> Result<State, String> {
    stages
        .get(name)
        .cloned()
        .ok_or_else(|| format!("the plan uses stage {name} before it is built"))
}

/// Where a copied `path` comes from: the source's state, and the path's place in it (the same
/// path, but for the build context, which holds it relative to `dir`).
fn path_source(
    inputs: &LowerInputs<'_>,
    built: &Built,
    from: &PathSource,
    path: &str,
) -> Result<(State, String), String> {
    let state = match from {
        PathSource::Stage(stage) => stage_state(&built.stages, stage)?,
        PathSource::Context {
            dir,
            include,
            exclude,
        } => {
            if path == dir {
                // The whole context (or the paths it includes), as `dir`.
                let progress = format!("load the build context for {dir}");
                let source = filtered_context(inputs, (include, exclude), &progress);
                return Ok((source, "/".to_string()));
            }
            let relative = path
                .strip_prefix(dir.as_str())
                .and_then(|p| p.strip_prefix('/'))
                .ok_or_else(|| format!("{path} is not under {dir}, the build context's place"))?;
            // Only this path is sent, and only it is checksummed.
            let source = context(
                inputs,
                &LocalOptions {
                    include_patterns: vec![relative.to_string()],
                    follow_paths: vec![relative.to_string()],
                    exclude_patterns: exclude.clone(),
                    ..Default::default()
                },
                &format!("load {relative} from the build context"),
            );
            return Ok((source, format!("/{relative}")));
        }
        // Over what the upper stage's steps ran on (the lower stage, and the layers the upper
        // stacked onto it first, such as the context's copy), else over the lower stage.
        PathSource::Diff {
            lower,
            upper,
            method: DiffMethod::DiffOp,
        } => llb::diff(
            &match built.ran_on.get(upper) {
                Some(ran_on) => ran_on.clone(),
                None => stage_state(&built.stages, lower)?,
            },
            &stage_state(&built.stages, upper)?,
            &format!("[{upper}] changes over {lower}"),
        ),
        PathSource::Diff {
            upper,
            method: DiffMethod::Written,
            ..
        } => built.written.get(upper).cloned().ok_or_else(|| {
            format!("the plan takes what stage {upper} wrote, but no sync step there collects it")
        })?,
    };
    Ok((state, path.to_string()))
}

fn flush_layers(state: State, layers: &mut Vec<State>, stage: &str) -> State {
    if layers.is_empty() {
        return state;
    }
    let mut all = vec![state];
    all.append(layers);
    llb::merge(&all, &format!("[{stage}] stack layers"))
}

/// A [`CopyContextStep`] onto `onto` (the stage, or scratch for a layer of its own).
fn copy_context(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    onto: &State,
    step: &CopyContextStep,
) -> State {
    let CopyContextStep {
        name,
        dir,
        include,
        exclude,
        empty_files,
        ..
    } = step;
    let context = filtered_context(inputs, (include, exclude), "load build context");
    // With SOURCE_DATE_EPOCH the sources get that time too: uv records the project's
    // directory times in its installer metadata (uv_cache.json).
    let mut op = onto.file().created_at(plan.source_date_epoch).copy(
        &context,
        "/",
        dir,
        &copy_options(None),
    );
    for path in empty_files {
        if let Some((parent, _)) = path.rsplit_once('/') {
            op = op.mkdir(&format!("{dir}/{parent}"), 0o755, None);
        }
        op = op.mkfile(&format!("{dir}/{path}"), 0o644, b"", None);
    }
    op.done(name)
}

/// A copy step, lowered: what it copies from, under which path, to whom, and its layers.
struct Copies {
    source: State,
    /// The path copied, as the source holds it; each part's paths are relative to it.
    root: String,
    /// Where it goes in the image.
    dest: String,
    owner: (u32, u32),
    /// Each layer: its paths (the empty path: all of `root`) and progress name.
    parts: Vec<(Vec<String>, String)>,
    /// Made on its own and stacked with MergeOp, or copied onto the stage in turn.
    separate_layer: bool,
}

/// The layers of a [`Step::CopyPath`] (one, of its path) or a [`Step::CopyVenv`] (one per
/// own-layer package and the rest, given the venv's layout; else one).
fn copies_of(
    step: &Step,
    prefix: &str,
    inputs: &LowerInputs<'_>,
    built: &Built,
) -> Result<Copies, String> {
    Ok(match step {
        Step::CopyPath {
            name,
            from,
            path,
            uid,
            gid,
            separate_layer,
        } => {
            let (source, root) = path_source(inputs, built, from, path)?;
            Copies {
                source,
                root,
                dest: path.clone(),
                owner: (*uid, *gid),
                parts: vec![(vec![String::new()], name.clone())],
                separate_layer: *separate_layer,
            }
        }
        Step::CopyVenv {
            name,
            from,
            venv,
            uid,
            gid,
            separate_layer,
            ..
        } => Copies {
            source: stage_state(&built.stages, from)?,
            root: venv.clone(),
            dest: venv.clone(),
            owner: (*uid, *gid),
            parts: venv_parts(inputs.venv_layout, prefix, name, venv, from),
            separate_layer: *separate_layer,
        },
        other => return Err(format!("{} is not a copy step", other.name())),
    })
}

/// The copies that make up a venv's layers, each its paths (relative to the venv) and progress
/// name: one per own-layer package that is installed, then the rest; without a layout, the
/// whole venv (the empty path) under the step's own name.
fn venv_parts(
    layout: Option<&VenvLayout>,
    prefix: &str,
    name: &str,
    venv: &str,
    from: &str,
) -> Vec<(Vec<String>, String)> {
    let Some(layout) = layout else {
        return vec![(vec![String::new()], name.to_string())];
    };
    // Every part keeps the step's progress prefix (`[runtime-deps 2/2] `).
    let mut parts: Vec<(Vec<String>, String)> = layout
        .own
        .iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(package, paths)| {
            (
                paths.clone(),
                format!("{prefix}copy {package} into {venv} from {from} (a layer of its own)"),
            )
        })
        .collect();
    if !layout.rest.is_empty() {
        parts.push((
            layout.rest.clone(),
            format!("{prefix}copy the rest of {venv} from {from}"),
        ));
    }
    parts
}

/// `paths` under `root` of `from` (the empty path: `root` itself), each copied to the same
/// path under `dest`, owned by `uid:gid`, in one file op: one layer.
fn copy_paths(
    onto: &State,
    from: &State,
    (root, dest): (&str, &str),
    paths: &[String],
    (uid, gid): (u32, u32),
    created: Option<i64>,
    name: &str,
) -> State {
    let mut op = onto.file().created_at(created);
    for path in paths {
        if path.is_empty() {
            op = op.copy(from, root, dest, &copy_options(Some(Chown::Ids(uid, gid))));
        } else {
            // Exact paths, so BuildKit checksums just them, and a symlink (lib64) stays one.
            let exact = format!("{root}/{path}");
            let to = format!("{dest}/{path}");
            let options = CopyOptions {
                allow_wildcard: false,
                allow_empty_wildcard: false,
                follow_symlinks: false,
                ..copy_options(Some(Chown::Ids(uid, gid)))
            };
            op = op.copy(from, &exact, &to, &options);
        }
    }
    op.done(name)
}

/// The build context, `include`d paths (all of it when empty) minus `exclude`. The project
/// phase's copy and the image's copy of the context both come from here: with the same
/// patterns they are one source, which BuildKit sends and checks once.
fn filtered_context(
    inputs: &LowerInputs<'_>,
    (include, exclude): (&[String], &[String]),
    progress: &str,
) -> State {
    let options = LocalOptions {
        include_patterns: include.to_vec(),
        exclude_patterns: exclude.to_vec(),
        ..Default::default()
    };
    context(inputs, &options, progress)
}

/// The build context, as `options` filter it, from the client's session.
fn context(inputs: &LowerInputs<'_>, options: &LocalOptions, progress: &str) -> State {
    let options = LocalOptions {
        session_id: inputs.session_id.clone(),
        shared_key_hint: inputs.context_name.clone(),
        ..options.clone()
    };
    llb::local(
        &inputs.context_name,
        &options,
        Some(&inputs.platform),
        progress,
    )
}

/// A step's result state, and for a sync step that collects what it wrote, that collection.
fn lower_step(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: State,
    step: &Step,
    rerun: Option<&str>,
) -> Result<(State, Option<State>), String> {
    Ok(match step {
        Step::WriteFiles { name, dir, files } => {
            (write_files(plan, &state, name, dir, files).cwd(dir), None)
        }
        Step::CopyContext(copy) => (
            copy_context(plan, inputs, &state, copy).cwd(&copy.dir),
            None,
        ),
        Step::Sync(sync) => sync::lower_sync(plan, inputs, images, &state, sync, rerun),
        Step::Commands {
            name,
            commands,
            cwd,
            dir,
            venv,
            collect_into,
        } => {
            let (run, collected) = lower_commands(
                plan,
                inputs,
                images,
                &state,
                (name, commands),
                (cwd, dir, venv, collect_into),
            );
            (run, Some(collected))
        }
        Step::AptInstall(apt) => (apt_install(plan, inputs, images, &state, apt), None),
        Step::AddUser {
            name,
            passwd,
            group,
            home,
            uid,
            gid,
        } => (
            state
                .file()
                .created_at(plan.source_date_epoch)
                // A scratch-like base has no /etc; an existing one is left as it is.
                .mkdir("/etc", 0o755, None)
                .mkfile("/etc/passwd", 0o644, passwd.as_bytes(), None)
                .mkfile("/etc/group", 0o644, group.as_bytes(), None)
                .mkdir(home, 0o755, Some(Chown::Ids(*uid, *gid)))
                .done(name),
            None,
        ),
        Step::CopyPath { .. }
        | Step::CopyVenv { .. }
        | Step::InstallUnits(_)
        | Step::StackUnits { .. } => {
            return Err(format!(
                "{} is lowered with its stage's layers",
                step.name()
            ))
        }
    })
}

/// [`Step::WriteFiles`]: `dir`, and `files` in it, written onto `state`.
fn write_files(
    plan: &Plan,
    state: &State,
    name: &str,
    dir: &str,
    files: &[crate::plan::PlannedFile],
) -> State {
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
    op.done(name)
}

/// An [`AptInstallStep`]: the packages installed by the apt-install script, apt's caches
/// mounted, as root, with the sync steps' network.
fn apt_install(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    step: &AptInstallStep,
) -> State {
    let AptInstallStep {
        name,
        packages,
        caches,
    } = step;
    let mut argv = vec![
        "/bin/sh".to_string(),
        format!("{SCRIPTS_MOUNT}/apt-install"),
    ];
    argv.extend(packages.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    // Every stage runs its steps as root (the images' states are made so).
    let mut exec = state
        .clone()
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run(&argv, name)
        .bind(&images.scripts, "/", SCRIPTS_MOUNT, true)
        .proxy(inputs.proxy.clone())
        .network(network_of(plan.sync_access.network))
        .extra_hosts(&plan.sync_access.extra_hosts);
    for cache in caches {
        exec = exec.cache(&cache.id, &cache.target, cache.sharing);
    }
    exec.root().with_env_of(state)
}

/// The network a step that downloads gets.
fn network_of(network: SyncNetwork) -> Network {
    match network {
        SyncNetwork::Default => Network::Sandbox,
        SyncNetwork::Host => Network::Host,
        SyncNetwork::None => Network::None,
    }
}

/// `[build] run`'s step: the commands in turn from `cwd` with the runtime image's environment
/// over the builder's (the venv first on PATH), no bytecode written beside the sources, secrets
/// and network as for sync steps; then what they wrote under `dir` (not `venv`) collected into
/// a mount at `collect_into`. The stage's state, and that collection.
fn lower_commands(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    (name, commands): (&str, &[String]),
    (cwd, dir, venv, collect_into): (&str, &str, &str, &str),
) -> (State, State) {
    let access = &plan.sync_access;
    let mut argv: Vec<String> = Vec::new();
    if !access.secrets.is_empty() {
        argv.extend([
            "/bin/sh".into(),
            format!("{SCRIPTS_MOUNT}/with-secrets"),
            SECRETS_DIR.into(),
        ]);
    }
    argv.extend([
        "/bin/sh".to_string(),
        format!("{SCRIPTS_MOUNT}/run-then-collect"),
        dir.to_string(),
        venv.to_string(),
        collect_into.to_string(),
    ]);
    argv.extend(commands.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut on = state.clone().cwd(cwd);
    for (key, value) in crate::image::runtime_env(inputs.builder_config, &plan.image) {
        on = on.env(&key, &value);
    }
    on = on.env("PYTHONDONTWRITEBYTECODE", "1");
    let mut exec = on
        .run(&argv, name)
        .bind(&images.scripts, "/", SCRIPTS_MOUNT, true)
        .bind(&llb::scratch(), "/", collect_into, false)
        .proxy(inputs.proxy.clone());
    for id in &access.secrets {
        exec = exec.secret(id, &format!("{SECRETS_DIR}/{id}"), true);
    }
    exec = exec.network(match access.network {
        SyncNetwork::Default => Network::Sandbox,
        SyncNetwork::Host => Network::Host,
        SyncNetwork::None => Network::None,
    });
    exec = exec.extra_hosts(&access.extra_hosts);
    let collected = exec.clone().mount_output(collect_into);
    (exec.root().with_env_of(state).cwd(dir), collected)
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
