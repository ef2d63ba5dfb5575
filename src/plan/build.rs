//! Settings to plan.

use std::collections::BTreeMap;

use super::builder_stages::{build_steps, deps_steps, project_steps, selection_args};
use super::names::{BUILD_STAGE, DEPS_STAGE, PROJECT_STAGE, RUNTIME_DEPS_STAGE, RUNTIME_STAGE};
use super::runtime_stages::{checks, project_layers, runtime_deps_steps};
use super::{CacheMount, ImageConfig, Plan, PlanImages, Stage, StageBase, Step, SyncAccess};
use crate::settings::Settings;

/// The two-phase `uv sync` in builder stages, `[build] run`'s stage, and the runtime stages: the
/// venv, the project's files and what the build commands wrote, on the base image.
pub fn plan(s: &Settings) -> Plan {
    let selection = selection_args(s);
    let mut env = s.run.env.clone();
    env.insert("VIRTUAL_ENV".into(), s.venv.clone());
    Plan {
        images: PlanImages {
            uv: s.images.uv.clone(),
            builder: s.images.builder.clone(),
            base: s.images.base.clone(),
        },
        cache: CacheMount {
            id: s.cache.id.clone(),
            target: s.cache.dir.clone(),
            sharing: s.cache.sharing,
        },
        sync_env: sync_env(s),
        sync_access: SyncAccess {
            secrets: s.sync.secrets.clone(),
            ssh: s.sync.ssh,
            git_auth_prefixes: s.sync.git_http_prefixes.clone(),
            git_auth_secrets: s.sync.git_auth_secrets.clone(),
            network: s.sync.network,
            extra_hosts: s.sync.extra_hosts.clone(),
        },
        stages: stages(s, &selection),
        result: if s.target.is_builder() {
            PROJECT_STAGE.into()
        } else {
            RUNTIME_STAGE.into()
        },
        image: ImageConfig {
            path_prepend: format!("{}/bin", s.venv),
            env,
            working_dir: s.run.working_dir.clone(),
            // The dev image runs as root, like the sync steps: tests may write anywhere. The
            // runtime image names its user by uid: a name cannot be checked for non-root by
            // Kubernetes (`runAsNonRoot`). Without a gid the runtime takes the primary group
            // from /etc/passwd and adds the user's supplementary groups, as for a name.
            user: if s.target.is_builder() {
                "0".into()
            } else {
                s.run.user.uid.to_string()
            },
            cmd: s.run.command.clone(),
            entrypoint: s.run.entrypoint.clone(),
            exposed_ports: s.run.expose.iter().map(|p| format!("{p}/tcp")).collect(),
            labels: s.run.labels.clone(),
            stop_signal: s.run.stop_signal.clone(),
            healthcheck: s.run.healthcheck.as_ref().map(|h| {
                std::iter::once("CMD".to_string())
                    .chain(h.iter().cloned())
                    .collect()
            }),
            health: s.run.health.clone(),
        },
        checks: checks(s),
        source_date_epoch: s.source_date_epoch,
    }
}

/// The stages in the order they are built: phase 1, phase 2, `[build] run` when there are
/// commands, the runtime image's dependencies, its project.
fn stages(s: &Settings, selection: &[String]) -> Vec<Stage> {
    let mut stages = vec![
        numbered(DEPS_STAGE, StageBase::Builder, deps_steps(s, selection)),
        numbered(
            PROJECT_STAGE,
            StageBase::Stage(DEPS_STAGE.into()),
            project_steps(s, selection),
        ),
    ];
    if !s.build_commands.is_empty() {
        stages.push(numbered(
            BUILD_STAGE,
            StageBase::Stage(PROJECT_STAGE.into()),
            build_steps(s),
        ));
    }
    stages.extend([
        numbered(RUNTIME_DEPS_STAGE, StageBase::Base, runtime_deps_steps(s)),
        numbered(
            RUNTIME_STAGE,
            StageBase::Stage(RUNTIME_DEPS_STAGE.into()),
            project_layers(s),
        ),
    ]);
    stages
}

/// The environment of every sync step, on top of the builder image's own.
fn sync_env(s: &Settings) -> BTreeMap<String, String> {
    let mut sync_env = BTreeMap::new();
    sync_env.insert("UV_CACHE_DIR".to_string(), s.cache.dir.clone());
    sync_env.insert("UV_LINK_MODE".into(), "copy".into());
    sync_env.insert(
        "UV_COMPILE_BYTECODE".into(),
        if s.sync.compile_bytecode { "1" } else { "0" }.into(),
    );
    match &s.managed_python {
        // The builder's own Python, never a download.
        None => {
            sync_env.insert("UV_PYTHON_DOWNLOADS".into(), "never".into());
        }
        // uv's Python, installed once by `uv python install`, its downloads on the uv cache.
        Some(python) => {
            sync_env.insert("UV_PYTHON_DOWNLOADS".into(), "manual".into());
            sync_env.insert("UV_PYTHON_PREFERENCE".into(), "only-managed".into());
            sync_env.insert("UV_PYTHON".into(), python.version.clone());
            sync_env.insert("UV_PYTHON_INSTALL_DIR".into(), python.install_dir.clone());
            sync_env.insert(
                "UV_PYTHON_CACHE_DIR".into(),
                format!("{}/python-downloads", s.cache.dir),
            );
            if let Some(mirror) = &python.mirror {
                sync_env.insert("UV_PYTHON_INSTALL_MIRROR".into(), mirror.clone());
            }
        }
    }
    sync_env.insert("UV_PROJECT_ENVIRONMENT".into(), s.venv.clone());
    sync_env.insert("UV_NO_PROGRESS".into(), "1".into());
    if let Some(epoch) = s.source_date_epoch {
        // Python's compilers write hash-checked bytecode when SOURCE_DATE_EPOCH is set, so the
        // .pyc files do not depend on when the sources were unpacked; uv reads its own variable.
        sync_env.insert("SOURCE_DATE_EPOCH".into(), epoch.to_string());
        sync_env.insert("PYC_INVALIDATION_MODE".into(), "CHECKED_HASH".into());
    }
    sync_env
}

/// A stage whose step names are prefixed `[<stage> i/n]`, as progress output shows them.
fn numbered(name: &str, from: StageBase, steps: Vec<Step>) -> Stage {
    let mut stage = Stage {
        name: name.into(),
        from,
        steps,
    };
    for index in 0..stage.steps.len() {
        let prefix = stage.step_prefix(index);
        stage.steps[index].prefix_name(&prefix);
    }
    stage
}
