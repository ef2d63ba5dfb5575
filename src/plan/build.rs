//! Settings to plan.

use std::collections::BTreeMap;

use super::{CacheMount, ImageConfig, Plan, PlanImages, Stage, StageBase, Step};
use crate::settings::Settings;

pub const DEPS_STAGE: &str = "deps";
pub const PROJECT_STAGE: &str = "project";
pub const RUNTIME_STAGE: &str = "runtime";

/// The two-phase `uv sync` in a builder stage and a runtime stage holding only the venv.
pub fn plan(s: &Settings) -> Plan {
    let selection = selection_args(s);

    // Phase 1: only the dependency files; the project itself (or, in a workspace, every member)
    // is not installed, so no source file can invalidate this step.
    let mut deps_args = vec!["sync".to_string()];
    if s.project.workspace {
        // --locked would need every member's pyproject.toml; --frozen needs only the root's.
        deps_args.extend(["--frozen".into(), "--no-install-workspace".into()]);
    } else {
        deps_args.extend([
            s.sync.lock.flag().to_string(),
            "--no-install-project".into(),
        ]);
    }
    deps_args.extend(selection.iter().cloned());

    let mut project_args = vec![
        "sync".to_string(),
        s.sync.lock.flag().to_string(),
        "--no-editable".into(),
    ];
    project_args.extend(selection.iter().cloned());

    let deps = Stage {
        name: DEPS_STAGE.into(),
        from: StageBase::Builder,
        steps: vec![
            Step::WriteFiles {
                name: format!("[{DEPS_STAGE} 1/2] add {}", s.dependency_files.join(" ")),
                dir: s.workdir.clone(),
                files: s.dependency_files.clone(),
            },
            Step::Sync {
                name: format!("[{DEPS_STAGE} 2/2] uv {}", deps_args.join(" ")),
                args: deps_args,
            },
        ],
    };
    let project = Stage {
        name: PROJECT_STAGE.into(),
        from: StageBase::Stage(DEPS_STAGE.into()),
        steps: vec![
            Step::CopyContext {
                name: format!("[{PROJECT_STAGE} 1/2] copy build context to {}", s.workdir),
                dir: s.workdir.clone(),
                exclude: s.context_excludes.clone(),
            },
            Step::Sync {
                name: format!("[{PROJECT_STAGE} 2/2] uv {}", project_args.join(" ")),
                args: project_args,
            },
        ],
    };
    let user = &s.run.user;
    let runtime = Stage {
        name: RUNTIME_STAGE.into(),
        from: StageBase::Base,
        steps: vec![
            Step::EnsureUser {
                name: format!("[{RUNTIME_STAGE} 1/2] ensure user {user}"),
                user: user.clone(),
                uid: s.run.uid,
            },
            Step::CopyFromStage {
                name: format!("[{RUNTIME_STAGE} 2/2] copy {} from {PROJECT_STAGE}", s.venv),
                stage: PROJECT_STAGE.into(),
                path: s.venv.clone(),
                owner: Some(user.clone()),
            },
        ],
    };

    let mut sync_env = BTreeMap::new();
    sync_env.insert("UV_CACHE_DIR".to_string(), s.cache.dir.clone());
    sync_env.insert("UV_LINK_MODE".into(), "copy".into());
    sync_env.insert(
        "UV_COMPILE_BYTECODE".into(),
        if s.sync.compile_bytecode { "1" } else { "0" }.into(),
    );
    sync_env.insert("UV_PYTHON_DOWNLOADS".into(), "never".into());
    sync_env.insert("UV_PROJECT_ENVIRONMENT".into(), s.venv.clone());
    sync_env.insert("UV_NO_PROGRESS".into(), "1".into());

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
        sync_env,
        stages: vec![deps, project, runtime],
        result: RUNTIME_STAGE.into(),
        image: ImageConfig {
            path_prepend: format!("{}/bin", s.venv),
            env,
            working_dir: s.workdir.clone(),
            user: user.clone(),
            cmd: s.run.command.clone(),
            exposed_ports: s.run.expose.iter().map(|p| format!("{p}/tcp")).collect(),
            labels: BTreeMap::new(),
        },
    }
}

/// The flags that choose what is installed, shared by both phases.
fn selection_args(s: &Settings) -> Vec<String> {
    let mut args = Vec::new();
    if let Some(package) = &s.sync.package {
        args.extend(["--package".to_string(), package.clone()]);
    }
    if s.sync.all_extras {
        args.push("--all-extras".into());
    }
    for extra in &s.sync.extras {
        args.extend(["--extra".to_string(), extra.clone()]);
    }
    for group in &s.sync.groups {
        args.extend(["--group".to_string(), group.clone()]);
    }
    if !s.sync.dev {
        args.push("--no-dev".into());
    }
    args
}
