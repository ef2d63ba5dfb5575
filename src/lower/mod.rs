//! Plan to LLB. Every decision was made by the plan; this module only spells it in ops.

use std::collections::BTreeMap;

use crate::image::env_of;
use crate::llb::{self, pb, Network, Platform, State};
use crate::plan::{Check, Plan, Stage, StageBase, Step};
use crate::venv_layout::VenvLayout;

mod copies;
mod scripts;
mod steps;
mod sync;
mod units;

use copies::{copies_of, copy_context, copy_paths};
use steps::lower_step;

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

/// The scripts, as files of their own ([`SCRIPTS_MOUNT`]). A script only some plans use is
/// left out of the others' ([`used_by`]): the file op is an input of every sync step, so adding
/// such a script to the frontend does not rerun every project's syncs.
fn scripts_state(plan: &Plan) -> State {
    let mut op = llb::scratch().file();
    for (name, text) in SCRIPTS.iter().filter(|(name, _)| used_by(name, plan)) {
        op = op.mkfile(&format!("/{name}"), 0o444, text.as_bytes(), None);
    }
    op.done("[internal] uv-frontend's sync scripts")
}

/// Whether `plan` may run the script `name`: those of git sources over HTTP(S) only for a lock
/// that has some; every other script for all.
fn used_by(name: &str, plan: &Plan) -> bool {
    match name {
        "with-git-auth" => !plan.sync_access.git_auth_prefixes.is_empty(),
        _ => true,
    }
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
        scripts: scripts_state(plan),
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
                exec = exec.bind(&scripts_state(plan), "/", SCRIPTS_MOUNT, true);
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

fn flush_layers(state: State, layers: &mut Vec<State>, stage: &str) -> State {
    if layers.is_empty() {
        return state;
    }
    let mut all = vec![state];
    all.append(layers);
    llb::merge(&all, &format!("[{stage}] stack layers"))
}
