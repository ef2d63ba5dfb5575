//! Settings to plan.

use std::collections::BTreeMap;

use super::{
    AptInstallStep, CacheMount, Check, CheckKind, CopyContextStep, DiffMethod, FinishVenv,
    ImageConfig, PathSource, Plan, PlanImages, PlannedFile, Stage, StageBase, Step, SyncAccess,
    SyncStep,
};
use crate::llb::CacheSharing;
use crate::settings::{ImageContext, Settings, Target};

pub const DEPS_STAGE: &str = "deps";
pub const PROJECT_STAGE: &str = "project";
pub const RUNTIME_STAGE: &str = "runtime";
/// `[build] run`'s commands, on top of the project phase.
pub const BUILD_STAGE: &str = "build";
/// The runtime image without the project's own files: what the interpreter check runs in.
pub const RUNTIME_DEPS_STAGE: &str = "runtime-deps";
/// What uv's build backend leaves out of a wheel by default: bytecode a developer's checkout
/// may hold, never copied with the modules (Python writes none in the image either).
pub const STALE_BYTECODE: [&str; 3] = ["**/__pycache__", "**/*.pyc", "**/*.pyo"];
/// Where phase 2 collects the files it wrote, where DiffOp is missing.
pub const WRITTEN_MOUNT: &str = "/uv-frontend/written";

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

/// Phase 1 (and uv's Python, when it installs one): the dependencies alone, into a kept venv.
fn deps_steps(s: &Settings, selection: &[String]) -> Vec<Step> {
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
fn project_steps(s: &Settings, selection: &[String]) -> Vec<Step> {
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

/// The runtime image without the project's own files: the user, uv's Python when it installed
/// one, and the dependency venv.
fn runtime_deps_steps(s: &Settings) -> Vec<Step> {
    let user = &s.run.user;
    let owner = s.run.files_owner();
    let mut runtime_steps = Vec::new();
    if let Some(add) = &user.add {
        runtime_steps.push(Step::AddUser {
            name: format!("add user {} ({}:{})", user.name, user.uid, user.gid),
            passwd: add.passwd.clone(),
            group: add.group.clone(),
            home: user.home.clone(),
            uid: user.uid,
            gid: user.gid,
        });
    }
    if !s.run.apt.is_empty() {
        runtime_steps.push(apt_install(s, &s.run.apt));
    }
    if let Some(python) = &s.managed_python {
        // The interpreter the venv links to, at the same path; owned by root, read-only to all.
        runtime_steps.push(Step::CopyPath {
            name: format!("copy Python {} from {DEPS_STAGE}", python.version),
            from: PathSource::Stage(DEPS_STAGE.into()),
            path: python.install_dir.clone(),
            uid: 0,
            gid: 0,
            separate_layer: s.layered,
        });
    }
    if s.package_units.is_some() {
        runtime_steps.push(Step::StackUnits {
            name: format!("stack the layers of {} from {DEPS_STAGE}", s.venv),
            from: DEPS_STAGE.into(),
        });
        return runtime_steps;
    }
    runtime_steps.push(Step::CopyVenv {
        name: format!("copy {} dependencies from {DEPS_STAGE}", s.venv),
        from: DEPS_STAGE.into(),
        venv: s.venv.clone(),
        // The dev and test images are the builder: no runtime layers to lay out, nothing to read.
        own_layers: if s.target.is_builder() {
            Vec::new()
        } else {
            s.own_layers.clone()
        },
        uid: owner.0,
        gid: owner.1,
        separate_layer: s.layered,
    });
    runtime_steps
}

/// The project's own files on top: what phase 2 added to the venv, and each module copied as it
/// is beside an editable install.
fn project_layers(s: &Settings) -> Vec<Step> {
    let (uid, gid) = s.run.files_owner();
    // Dependencies and the project's own files in separate layers: a source edit changes only
    // the second. With MergeOp and DiffOp the layers are made apart and stacked, so even a new
    // base image keeps the dependency layer; elsewhere they are copied one after the other.
    let diff_method = if s.layered {
        DiffMethod::DiffOp
    } else {
        DiffMethod::Written
    };
    let mut project_layers = vec![Step::CopyPath {
        name: format!("copy {} project files from {PROJECT_STAGE}", s.venv),
        from: PathSource::Diff {
            lower: DEPS_STAGE.into(),
            upper: PROJECT_STAGE.into(),
            method: diff_method,
        },
        path: s.venv.clone(),
        uid,
        gid,
        separate_layer: s.layered,
    }];
    project_layers.extend(context_layer(s));
    if !s.build_commands.is_empty() {
        project_layers.push(Step::CopyPath {
            name: format!(
                "copy what [build] run wrote under {} from {BUILD_STAGE}",
                s.workdir
            ),
            from: PathSource::Diff {
                lower: PROJECT_STAGE.into(),
                upper: BUILD_STAGE.into(),
                method: DiffMethod::Written,
            },
            path: s.workdir.clone(),
            uid,
            gid,
            separate_layer: s.layered,
        });
    }
    // Each module a layer of its own, straight from the context: a source edit changes that one.
    for module in &s.editable_modules {
        let path = format!("{}/{module}", s.workdir);
        project_layers.push(Step::CopyPath {
            name: format!("copy {module} from the build context to {path}"),
            from: PathSource::Context {
                dir: s.workdir.clone(),
                include: Vec::new(),
                exclude: copied_excludes(s),
            },
            path,
            uid,
            gid,
            separate_layer: s.layered,
        });
    }
    project_layers
}

/// `apt-get install` of `packages`, apt's lists and archives on cache mounts whose ids are the
/// uv cache's with a suffix: they cannot be the uv cache, and are shared by every build.
fn apt_install(s: &Settings, packages: &[String]) -> Step {
    let cache = |what: &str, target: &str| CacheMount {
        id: format!("{}-apt-{what}", s.cache.id),
        target: target.into(),
        // apt locks its lists and archives; concurrent builds would fail on the lock.
        sharing: CacheSharing::Locked,
    };
    Step::AptInstall(AptInstallStep {
        name: format!("apt-get install {}", crate::plan::short_list(packages, " ")),
        packages: packages.to_vec(),
        caches: [
            cache("lists", "/var/lib/apt/lists"),
            cache("archives", "/var/cache/apt"),
        ],
    })
}

/// The build context at the workdir, as uv's guide copies the project (commands run from
/// there: `alembic.ini`, `scripts/`, `manage.py`), narrowed by `[run] include`; less the modules
/// that have layers of their own and those of packages the build does not install. `None` when
/// the image gets nothing of it.
fn context_layer(s: &Settings) -> Option<Step> {
    let (uid, gid) = s.run.files_owner();
    let (include, what) = match &s.image_context {
        ImageContext::All => (Vec::new(), "build context".to_string()),
        ImageContext::Paths(paths) if paths.is_empty() => return None,
        ImageContext::Paths(paths) => (
            paths.clone(),
            format!(
                "{} from the build context",
                crate::plan::short_list(paths, " ")
            ),
        ),
    };
    Some(Step::CopyPath {
        name: format!("copy {what} to {}", s.workdir),
        from: PathSource::Context {
            dir: s.workdir.clone(),
            include,
            exclude: copied_excludes(s)
                .into_iter()
                .chain(s.editable_modules.iter().cloned())
                .chain(s.uninstalled_modules.iter().cloned())
                .collect(),
        },
        path: s.workdir.clone(),
        uid,
        gid,
        separate_layer: s.layered,
    })
}

/// `[build] run`: the whole build context over the project phase (its modules, not stand-ins),
/// then the commands in one step, with the venv active; what they write under the workdir is
/// collected for the runtime image.
fn build_steps(s: &Settings) -> Vec<Step> {
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

/// What is never copied from the build context into the runtime image: what the build's steps
/// never get ([`Settings::context_excludes`]), bytecode a checkout may hold (a wheel never has it
/// either) and a git checkout's `.git` (phase 2 keeps it: a version may come from it).
fn copied_excludes(s: &Settings) -> Vec<String> {
    s.context_excludes
        .iter()
        .map(String::as_str)
        .chain(
            STALE_BYTECODE
                .iter()
                .copied()
                .chain([".git"])
                .filter(|p| !s.context_excludes.iter().any(|e| e == p)),
        )
        .map(str::to_string)
        .collect()
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

/// What runs in the finished image before it is returned (or in the dev image, for `test`).
fn checks(s: &Settings) -> Vec<Check> {
    // As the image's `User` names it: by uid, the groups from the account files.
    let as_user = s.run.user.uid.to_string();
    let mut checks = vec![Check {
        name: format!("[check] {}/bin/python starts in the runtime image", s.venv),
        kind: CheckKind::Interpreter,
        stage: RUNTIME_DEPS_STAGE.into(),
        args: vec![format!("{}/bin/python", s.venv)],
        user: as_user.clone(),
        script: Some(INTERPRETER_CHECK_SCRIPT.into()),
    }];
    if s.target.is_builder() {
        // The dev image is the builder itself: there is no copied venv to check.
        checks.clear();
        if let (Target::Test, Some(command)) = (s.target, &s.dev_test) {
            checks.push(Check {
                name: format!("[test] {}", command.join(" ")),
                kind: CheckKind::DevTests,
                stage: PROJECT_STAGE.into(),
                args: command.clone(),
                user: "0:0".into(),
                script: None,
            });
        }
    } else if let Some(command) = &s.test {
        checks.push(Check {
            name: format!("[test] {}", command.join(" ")),
            kind: CheckKind::SmokeTest,
            stage: RUNTIME_STAGE.into(),
            args: command.clone(),
            user: as_user,
            script: None,
        });
    }
    checks
}

/// The interpreter check's script (a file of the frontend's scripts), run by the venv's
/// `bin/python` in the runtime image: the interpreter starts with its standard library and is
/// the Python version the venv was made with, or it exits non-zero saying which it is.
pub const INTERPRETER_CHECK_SCRIPT: &str = "interpreter-check.py";

/// Where the kept venv is mounted during phase 1.
pub const VENV_CACHE_MOUNT: &str = "/uv-frontend/venv-cache";

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
