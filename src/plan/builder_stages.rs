//! The builder stages: phase 1 (the dependencies), phase 2 (the project) and `[build] run`.

use std::collections::BTreeMap;

use super::names::{VENV_CACHE_MOUNT, WRITTEN_MOUNT};
use super::shared_steps::{apt_install, copied_excludes};
use super::{CacheMount, CopyContextStep, FinishVenv, PlannedFile, Step, SyncStep};
use crate::llb::CacheSharing;
use crate::settings::Settings;

/// Phase 1 (and uv's Python, when it installs one): the dependencies alone, into a kept venv.
pub(super) fn deps_steps(s: &Settings, selection: &[String]) -> Vec<Step> {
    // Phase 1: the normalized dependency files only, and never the project itself (or, in a
    // workspace, any member), so no source edit, version bump or [tool.*] edit can invalidate it.
    // --frozen: the normalized files are not what `uv lock` checks; phase 2 checks the real ones.
    let mut deps_args = vec!["sync".to_string(), "--frozen".to_string()];
    deps_args.push(if s.project.path_dependencies {
        // Path dependencies' sources are not there either.
        "--no-install-local".into()
    } else if s.project.workspace {
        "--no-install-workspace".into()
    } else {
        "--no-install-project".into()
    });
    deps_args.extend(selection.iter().cloned());

    let mut deps_steps = match &s.package_units {
        Some(units) => vec![super::units::install_units(s, units)],
        None => kept_venv_sync(s, deps_args),
    };
    if !s.build_apt.is_empty() {
        deps_steps.insert(0, apt_install(s, &s.build_apt));
    }
    if let Some(python) = &s.managed_python {
        let args = vec![
            "python".to_string(),
            "install".into(),
            python.version.clone(),
        ];
        deps_steps.insert(
            0,
            Step::Sync(SyncStep {
                name: format!("uv {}", args.join(" ")),
                args,
                env: BTreeMap::new(),
                venv_cache: None,
                finish: None,
                offline: false,
                tidy: Some(python.install_dir.clone()),
            }),
        );
    }
    deps_steps
}

/// Phase 1 as one `uv sync` of the normalized dependency files, into a venv kept on a cache
/// mount between builds.
fn kept_venv_sync(s: &Settings, deps_args: Vec<String>) -> Vec<Step> {
    let mut deps_steps = vec![
        Step::WriteFiles {
            name: String::new(),
            dir: s.workdir.clone(),
            files: s
                .dependency_files
                .iter()
                .map(|f| PlannedFile {
                    path: f.path.clone(),
                    content: f.content.clone(),
                })
                .collect(),
        },
        Step::Sync(SyncStep {
            name: format!("uv {}", deps_args.join(" ")),
            venv_cache: Some(CacheMount {
                id: venv_cache_id(s, &deps_args),
                target: VENV_CACHE_MOUNT.into(),
                // One build at a time per venv: two syncs into one directory would mix.
                sharing: CacheSharing::Locked,
            }),
            args: deps_args,
            env: BTreeMap::new(),
            finish: None,
            offline: false,
            tidy: None,
        }),
    ];
    if let Step::WriteFiles { name, files, .. } = &mut deps_steps[0] {
        let paths: Vec<&str> = files.iter().map(|f| f.path.as_str()).collect();
        *name = format!("add {} (dependency parts)", paths.join(" "));
    }
    deps_steps
}

/// Phase 2: the project (and workspace members) on top of phase 1, from the build context.
pub(super) fn project_steps(s: &Settings, selection: &[String]) -> Vec<Step> {
    // With the modules copied as they are, the project is installed editable (a `.pth` naming
    // each module's root), from the context without them: a source edit reruns nothing here.
    let editable = !s.editable_modules.is_empty();
    let mut project_args = vec!["sync".to_string(), s.sync.lock.flag().to_string()];
    if !editable {
        project_args.push("--no-editable".into());
    }
    project_args.extend(selection.iter().cloned());
    // uv keys its build of a directory on the files' times, not on the environment: a new
    // pretend version would leave the package built with the old one.
    if !s.scm_pretend_version.is_empty() {
        for package in s.git_versioned.keys() {
            project_args.extend(["--reinstall-package".to_string(), package.clone()]);
        }
    }

    // All uv's build backend asks of a module for an editable install is its __init__.py.
    let stand_ins: Vec<String> = s
        .editable_modules
        .iter()
        .map(|module| format!("{module}/__init__.py"))
        .collect();
    // A virtual project's own code is no input of phase 2 either: it gets only what uv reads.
    let mut name = match s.project_phase_paths.as_slice() {
        [] => format!("copy build context to {}", s.workdir),
        paths => format!(
            "copy {} from the build context to {}",
            crate::plan::short_list(paths, " "),
            s.workdir
        ),
    };
    if editable {
        let (what, stand_in) = match s.editable_modules.len() {
            1 => ("module", "an empty stand-in"),
            _ => ("modules", "empty stand-ins"),
        };
        name.push_str(&format!(
            ", {what} {} as {stand_in}",
            crate::plan::short_list(&s.editable_modules, " ")
        ));
    }
    let mut project_steps = vec![Step::CopyContext(CopyContextStep {
        name,
        dir: s.workdir.clone(),
        include: s.project_phase_paths.clone(),
        // What the runtime image's copy of the context leaves out, too (a checkout's bytecode
        // included): by default both read the very same local source, sent and checked once.
        exclude: copied_excludes(s)
            .into_iter()
            .chain(s.editable_modules.iter().cloned())
            .chain(s.uninstalled_modules.iter().cloned())
            .collect(),
        empty_files: stand_ins,
        separate_layer: s.layered,
    })];
    // Phase 2 installs the project without uv's compiling (which rewrites every .pyc); the same
    // step then compiles only files that lack bytecode, so phase 2 changes nothing of phase 1's
    // venv and the project layer (the changes over phase 1) holds the project's files alone.
    project_steps.push(Step::Sync(SyncStep {
        name: format!(
            "uv {}{}",
            project_args.join(" "),
            if s.sync.compile_bytecode {
                ", then bytecode"
            } else {
                ""
            }
        ),
        args: project_args,
        env: [("UV_COMPILE_BYTECODE".to_string(), "0".to_string())]
            .into_iter()
            .chain(s.scm_pretend_version.clone())
            .collect(),
        venv_cache: None,
        finish: Some(FinishVenv {
            venv: s.venv.clone(),
            compile: s.sync.compile_bytecode,
            collect_into: (!s.layered).then(|| WRITTEN_MOUNT.to_string()),
        }),
        offline: s.project_offline,
        tidy: None,
    }));
    project_steps
}

/// `[build] run`: the whole build context over the project phase (its modules, not stand-ins),
/// then the commands in one step, with the venv active; what they write under the workdir is
/// collected for the runtime image.
pub(super) fn build_steps(s: &Settings) -> Vec<Step> {
    vec![
        Step::CopyContext(CopyContextStep {
            name: format!("copy build context to {} for [build] run", s.workdir),
            dir: s.workdir.clone(),
            include: Vec::new(),
            exclude: s.context_excludes.clone(),
            empty_files: Vec::new(),
            // Onto the project phase: [build] run's commands see the venv and the sources.
            separate_layer: false,
        }),
        Step::Commands {
            name: crate::plan::short_list(&s.build_commands, " && "),
            commands: s.build_commands.clone(),
            cwd: s.run.working_dir.clone(),
            dir: s.workdir.clone(),
            venv: s.venv.clone(),
            collect_into: WRITTEN_MOUNT.into(),
        },
    ]
}

/// The kept venv's cache id: one per uv cache, uv and builder image, platform, project and
/// selection, so that no build ever restores a venv made for another interpreter, platform or
/// package set, or by another uv (its skeleton is the creating uv's);
/// and one with SOURCE_DATE_EPOCH, whose bytecode is hash-checked, apart from one without, whose
/// bytecode records times the image's files do not have.
fn venv_cache_id(s: &Settings, args: &[String]) -> String {
    use sha2::Digest;
    let key = serde_json::json!([
        s.images.uv,
        s.images.builder,
        s.platform.to_string(),
        s.workdir,
        s.project.name,
        args,
        s.sync.compile_bytecode,
        s.source_date_epoch.is_some(),
    ]);
    let digest = hex::encode(sha2::Sha256::digest(key.to_string().as_bytes()));
    format!("{}-venv-{}", s.cache.id, &digest[..16])
}

/// The flags that choose what is installed, shared by both phases.
pub(super) fn selection_args(s: &Settings) -> Vec<String> {
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
