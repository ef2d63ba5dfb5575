//! Plan to LLB. Every decision was made by the plan; this module only spells it in ops.

use std::collections::BTreeMap;

use crate::image::env_of;
use crate::llb::{self, pb, Chown, CopyOptions, LocalOptions, Network, Platform, State};
use crate::plan::{Plan, StageBase, Step, UV_MOUNT};

/// The build context's local name, as buildx sends it.
pub const CONTEXT_LOCAL: &str = "context";

/// What lowering needs beyond the plan: facts only the gateway knows.
#[derive(Clone, Debug)]
pub struct LowerInputs<'a> {
    pub platform: Platform,
    /// The client session that owns the build context.
    pub session_id: String,
    /// The local name of the build context (`context` unless overridden).
    pub context_name: String,
    /// Content of the files `Step::WriteFiles` writes, by name.
    pub files: &'a BTreeMap<String, Vec<u8>>,
    /// Image configs of the builder and base images, as ResolveImageConfig returns them.
    pub builder_config: &'a serde_json::Value,
    pub base_config: &'a serde_json::Value,
    /// Proxy settings from the predefined proxy build args.
    pub proxy: Option<pb::ProxyEnv>,
}

/// The LLB of `plan`'s result stage.
pub fn lower(plan: &Plan, inputs: &LowerInputs<'_>) -> Result<State, String> {
    let platform = &inputs.platform;
    let uv = llb::image(
        &plan.images.uv,
        platform,
        &format!("[uv] {}", plan.images.uv),
    );
    let mut builder = llb::image(
        &plan.images.builder,
        platform,
        &format!("[builder] {}", plan.images.builder),
    )
    .env_list(env_of(inputs.builder_config).iter().map(String::as_str));
    for (key, value) in &plan.sync_env {
        builder = builder.env(key, value);
    }
    let builder = builder.user("0");
    let base = llb::image(
        &plan.images.base,
        platform,
        &format!("[base] {}", plan.images.base),
    )
    .env_list(env_of(inputs.base_config).iter().map(String::as_str))
    .user("0");

    let mut stages: BTreeMap<String, State> = BTreeMap::new();
    for stage in &plan.stages {
        let mut state = match &stage.from {
            StageBase::Builder => builder.clone(),
            StageBase::Base => base.clone(),
            StageBase::Stage(name) => stages
                .get(name)
                .cloned()
                .ok_or_else(|| format!("stage {} uses {name} before it is built", stage.name))?,
        };
        for step in &stage.steps {
            state = lower_step(plan, inputs, &uv, &stages, state, step)?;
        }
        stages.insert(stage.name.clone(), state);
    }
    stages
        .remove(&plan.result)
        .ok_or_else(|| format!("the plan has no stage {}", plan.result))
}

fn lower_step(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    uv: &State,
    stages: &BTreeMap<String, State>,
    state: State,
    step: &Step,
) -> Result<State, String> {
    Ok(match step {
        Step::WriteFiles { name, dir, files } => {
            let mut op = state.file().mkdir(dir, 0o755, None);
            for file in files {
                let data = inputs
                    .files
                    .get(file)
                    .ok_or_else(|| format!("{file} was not read from the build context"))?;
                op = op.mkfile(&format!("{dir}/{file}"), 0o644, data, None);
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
            state
                .file()
                .copy(&context, "/", dir, &copy_options(None))
                .done(name)
                .cwd(dir)
        }
        Step::Sync { name, args } => {
            let mut argv = vec![format!("{UV_MOUNT}/uv")];
            argv.extend(args.iter().cloned());
            let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
            state
                .run(&argv, name)
                .bind(uv, "/", UV_MOUNT, true)
                .cache(&plan.cache.id, &plan.cache.target, plan.cache.sharing)
                .proxy(inputs.proxy.clone())
                .root()
        }
        Step::EnsureUser { name, user, uid } => {
            let uid = uid.to_string();
            state
                .run(
                    &["/bin/sh", "-c", ENSURE_USER, "ensure-user", user, &uid],
                    name,
                )
                .network(Network::None)
                .root()
        }
        Step::CopyFromStage {
            name,
            stage,
            path,
            owner,
        } => {
            let from = stages
                .get(stage)
                .ok_or_else(|| format!("{name}: no stage {stage}"))?;
            let owner = owner.as_ref().map(|u| Chown::Names(u.clone(), u.clone()));
            state
                .file()
                .copy(from, path, path, &copy_options(owner))
                .done(name)
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

/// Creates user `$1` with uid and gid `$2` unless it exists: with useradd (Debian, Ubuntu,
/// RHEL), adduser (Alpine, BusyBox), or by appending to /etc/passwd and /etc/group.
const ENSURE_USER: &str = r#"set -eu
if id -u "$1" >/dev/null 2>&1; then exit 0; fi
if command -v useradd >/dev/null 2>&1; then
  useradd --uid "$2" --user-group --no-log-init --create-home --shell /usr/sbin/nologin "$1"
elif command -v adduser >/dev/null 2>&1; then
  addgroup -g "$2" "$1" && adduser -D -u "$2" -G "$1" -s /sbin/nologin "$1"
else
  echo "$1:x:$2:$2::/nonexistent:/sbin/nologin" >> /etc/passwd
  echo "$1:x:$2:" >> /etc/group
fi
"#;
