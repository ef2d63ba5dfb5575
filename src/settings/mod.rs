//! Resolved settings: the spec with every default filled in from the project and build args.
//!
//! Like uv's own split between options and settings, nothing downstream of this module looks at
//! the raw spec again: the plan is a function of [`Settings`] alone.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llb::{CacheSharing, Platform};
use crate::project::normalize::{canonical_toml, dependency_lock, dependency_pyproject};
use crate::project::{self, ContextFiles, Project, PyProject};
use crate::spec::{Spec, SpecError, SpecFile};

mod image_contents;
mod packages;
mod python;
mod run;
mod selection;
mod sync;
mod units;

pub use image_contents::ImageContext;
use packages::{
    editable_modules, project_builds_offline, project_is_virtual, project_phase_paths,
    uninstalled_modules,
};
pub use packages::{own_layer_packages, MODULE_LAYERS_MAX, OWN_LAYERS_MAX, OWN_LAYER_MIN_BYTES};
pub use python::{base_image, builder_image, builder_python_mismatch, uv_image};
use run::{run_settings, RunInputs};
pub use run::{HealthOptions, RunSettings};
use selection::check_selection;
use sync::sync_settings;
pub use sync::{
    git_auth_for_any_host, index_secrets, SshAgent, SyncNetwork, SyncSettings, INDEX_SECRETS,
};
pub use units::{PackageUnits, UnitPackage, PYPI};

/// The uv image used when the spec names none: the uv release this frontend is tested with.
pub const DEFAULT_UV_IMAGE: &str = "ghcr.io/astral-sh/uv:0.13.9";
/// Python used for the default builder image when nothing in the project names a version.
pub const DEFAULT_PYTHON: &str = "3.12";
pub const DEFAULT_WORKDIR: &str = "/app";
pub const DEFAULT_CACHE_ID: &str = "uv";
pub const DEFAULT_CACHE_DIR: &str = "/root/.cache/uv";
pub const DEFAULT_USER: &str = "app";
pub const DEFAULT_UID: u32 = 10001;

#[derive(Clone, Debug, Serialize)]
pub struct Settings {
    /// Name of the spec file, for messages.
    pub spec_file: String,
    /// The platform the image is built for.
    pub platform: Platform,
    pub target: Target,
    pub images: Images,
    /// Python installed by uv, when the spec asks for it.
    pub managed_python: Option<ManagedPython>,
    pub workdir: String,
    /// `<workdir>/.venv`, the same path in the builder and the runtime image.
    pub venv: String,
    pub project: ProjectInfo,
    pub sync: SyncSettings,
    pub cache: CacheSettings,
    pub run: RunSettings,
    /// `--build-arg SOURCE_DATE_EPOCH`: builds are made reproducible (image times and bytecode).
    pub source_date_epoch: Option<i64>,
    /// The smoke test command, unless there is none or it is skipped.
    pub test: Option<Vec<String>>,
    /// The project's tests, run in the dev image for `--target test`.
    pub dev_test: Option<Vec<String>>,
    /// The files the dependency phase sees, with their content: `pyproject.toml` and `uv.lock`
    /// normalized to what decides the dependencies, `.python-version` and `uv.toml` as they are.
    pub dependency_files: Vec<DependencyFile>,
    /// Whether the runtime image gets the dependencies and the project as separate layers
    /// (MergeOp and DiffOp), or the venv as one layer where BuildKit lacks them.
    pub layered: bool,
    /// With MergeOp and DiffOp, the third-party packages each installed in a step of its own,
    /// when the frontend can tell which the venv gets ([`units`]); else one sync installs them.
    pub package_units: Option<PackageUnits>,
    /// Why phase 1 is one sync, when there are no units.
    pub one_sync_reason: Option<String>,
    /// Whether the project phase builds every package of the project with uv's own backend, so
    /// that it runs without a network (`uv sync --offline`): it installs nothing from an index.
    pub project_offline: bool,
    /// Third-party packages big enough for a layer of their own in the runtime image (see
    /// [`own_layer_packages`]), sorted by name.
    pub own_layers: Vec<String>,
    /// Patterns excluded from the build context: `.dockerignore` and always any `.venv`.
    pub context_excludes: Vec<String>,
    /// The modules of the project's packages, as directories of the build context
    /// (`src/hello_uv`), when the runtime image gets them as they are, beside an editable
    /// install that the project phase makes from everything else (see [`editable_modules`]);
    /// empty when the project is installed as wheels (`--no-editable`).
    pub editable_modules: Vec<String>,
    /// Why the project is installed as wheels rather than editable beside its modules, when it
    /// is (a build hook, `[sync] no-editable`, ...): for `--call=outline`.
    pub wheel_reason: Option<String>,
    /// The module directories of the workspace's packages this build does not install (see
    /// [`uninstalled_modules`]): the project phase does not get them.
    pub uninstalled_modules: Vec<String>,
    /// The project is not a package (see [`project_is_virtual`]): uv installs only its
    /// dependencies, and its code runs from the workdir, so the runtime image gets the build
    /// context there too.
    pub virtual_project: bool,
    /// What of the build context the runtime image gets at the workdir (`[run] include`).
    pub image_context: ImageContext,
    /// `[build] run`: shell commands run in the builder after the project phase; what they
    /// write under the workdir is a layer of the runtime image (none for the dev image).
    pub build_commands: Vec<String>,
    /// `[build] apt`: Debian packages installed in the builder before phase 1.
    pub build_apt: Vec<String>,
    /// The paths of the build context the project phase gets (see [`project_phase_paths`]);
    /// empty: all of it.
    pub project_phase_paths: Vec<String>,
    /// `SETUPTOOLS_SCM_PRETEND_VERSION` and `..._FOR_<PACKAGE>` build args: the version a
    /// git-versioned package gets when the build has no git (setuptools-scm, hatch-vcs), for the
    /// project phase's environment.
    pub scm_pretend_version: BTreeMap<String, String>,
    /// The project's packages whose version comes from git, with the build requirement that
    /// reads it (hatch-vcs, setuptools-scm, ...).
    pub git_versioned: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct Images {
    pub uv: String,
    pub builder: String,
    pub base: String,
}

/// A Python installed by uv, in the builder and copied to the runtime image.
#[derive(Clone, Debug, Serialize)]
pub struct ManagedPython {
    /// The version request given to `uv python install`.
    pub version: String,
    pub install_dir: String,
    /// `UV_PYTHON_INSTALL_MIRROR`, from the build arg of that name.
    pub mirror: Option<String>,
}

/// The image used for builder and base when uv installs Python: Debian without Python.
pub const MANAGED_PYTHON_IMAGE: &str = "debian:bookworm-slim";
pub const DEFAULT_PYTHON_INSTALL_DIR: &str = "/opt/uv-python";

#[derive(Clone, Debug, Serialize)]
pub struct ProjectInfo {
    pub name: Option<String>,
    pub version: Option<String>,
    pub workspace: bool,
    /// The lock has path dependencies ([`Project::has_path_dependencies`]): phase 1, which has
    /// no sources, skips them with every other local package (`--no-install-local`).
    pub path_dependencies: bool,
}

#[derive(Clone, Debug, Serialize)]
pub struct CacheSettings {
    pub id: String,
    /// The mount target and `UV_CACHE_DIR`: one value, so they can never disagree.
    pub dir: String,
    pub sharing: CacheSharing,
}

/// What `--target` asks for.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum Target {
    /// The slim runtime image (the default).
    Runtime,
    /// The builder with the project, its source and a venv with the dev group: for running the
    /// project's tests in CI.
    Dev,
    /// The dev image, on which `[test] dev-command` (the project's tests) must pass.
    Test,
}

impl Target {
    pub const ALL: &[(&str, Target, &str)] = &[
        (
            "runtime",
            Target::Runtime,
            "the runtime image: base image, runtime user and the project's venv",
        ),
        (
            "dev",
            Target::Dev,
            "the builder image with the project's source and a venv with the dev group, for tests",
        ),
        (
            "test",
            Target::Test,
            "the dev image, after [test] dev-command (the project's tests) passed in it",
        ),
    ];

    /// Whether the result is the builder stage (dev and test) rather than the runtime image.
    pub fn is_builder(self) -> bool {
        matches!(self, Target::Dev | Target::Test)
    }

    /// The target named `name` (empty: the default).
    pub fn named(name: &str) -> Option<Target> {
        if name.is_empty() {
            return Some(Target::Runtime);
        }
        Target::ALL
            .iter()
            .find(|(n, _, _)| *n == name)
            .map(|(_, t, _)| *t)
    }
}

#[derive(Clone, Debug, Serialize)]
pub struct DependencyFile {
    pub path: String,
    pub content: String,
}

/// What the gateway found out before settings are resolved.
#[derive(Clone, Debug)]
pub struct BuildFacts {
    /// The base image's `/etc/passwd` and `/etc/group`, when it has them.
    pub base_passwd: Option<String>,
    pub base_group: Option<String>,
    /// BuildKit has MergeOp and DiffOp.
    pub merge_diff: bool,
    pub platform: Platform,
    /// `--build-arg` values.
    pub build_args: BTreeMap<String, String>,
    pub target: Target,
    /// `--label` values: the image's labels, over the project's and the spec's.
    pub labels: BTreeMap<String, String>,
    /// `--network`, when given.
    pub network: Option<SyncNetwork>,
    /// `--add-host` entries.
    pub extra_hosts: Vec<(String, String)>,
}

impl Settings {
    /// Resolves `spec` against the project. `members` holds the pyproject of workspace members
    /// that were read (only needed when `[sync] package` names one).
    pub fn resolve(
        spec_file: &SpecFile,
        spec: &Spec,
        files: &ContextFiles,
        project: &Project,
        members: &BTreeMap<String, PyProject>,
        facts: &BuildFacts,
    ) -> Result<Settings, SpecError> {
        let builder = builder_image(spec, project);
        let base = base_image(spec, project);
        let workdir = spec_path(&spec.build.workdir).unwrap_or_else(|| DEFAULT_WORKDIR.into());
        let package = spec_string(&spec.sync.package);
        check_selection(spec_file, spec, project, members)?;
        let virtual_project = project_is_virtual(project, package.as_deref());
        let command = default_command(spec, project, members, virtual_project);
        let run_inputs = RunInputs {
            spec_file,
            spec,
            project,
            members,
            base: &base,
            base_passwd: facts.base_passwd.as_deref(),
            base_group: facts.base_group.as_deref(),
            cli_labels: &facts.labels,
        };
        let working_dir = image_contents::working_dir(spec, project, &workdir);
        let run = run_settings(&run_inputs, working_dir, command)?;
        let TestCommands { test, dev_test } = test_commands(spec_file, spec, facts.target)?;
        let uv_image = uv_image(spec);
        let editable = editable_modules(
            project,
            members,
            package.as_deref(),
            spec.sync.no_editable.unwrap_or(false),
            facts.target,
        );
        let mut settings = Settings {
            spec_file: spec_file.name.clone(),
            managed_python: managed_python(spec, facts),
            target: facts.target,
            dev_test,
            source_date_epoch: facts
                .build_args
                .get("SOURCE_DATE_EPOCH")
                .and_then(|v| v.trim().parse().ok()),
            test,
            platform: facts.platform.clone(),
            images: Images {
                uv: uv_image.clone(),
                builder,
                base,
            },
            venv: format!("{workdir}/.venv"),
            workdir,
            project: project_info(project),
            sync: sync_settings(spec, package.clone(), files, project, facts),
            cache: cache_settings(spec),
            run,
            dependency_files: dependency_files(files),
            layered: facts.merge_diff,
            package_units: None,
            one_sync_reason: None,
            own_layers: own_layer_packages(&project.lock.download_sizes),
            project_offline: project_offline(project, members, files, &uv_image),
            context_excludes: context_excludes(spec_file, project),
            virtual_project,
            image_context: ImageContext::of(spec),
            build_commands: image_contents::build_commands(spec, facts.target),
            build_apt: image_contents::apt_packages(&spec.build.apt),
            scm_pretend_version: scm_pretend_version(&facts.build_args),
            git_versioned: git_versioned(project, members),
            project_phase_paths: project_phase_paths(project, files, virtual_project, facts.target),
            editable_modules: editable.clone().unwrap_or_default(),
            wheel_reason: editable.err(),
            uninstalled_modules: uninstalled_modules(
                project,
                members,
                package.as_deref(),
                facts.target,
            ),
        };
        let units = match facts.merge_diff {
            true => units::of_settings(&settings, spec, project, files),
            false => Err("BuildKit lacks MergeOp and DiffOp (the classic image store)".into()),
        };
        match units {
            Ok(units) => settings.package_units = Some(units),
            Err(why) => settings.one_sync_reason = Some(why),
        }
        Ok(settings)
    }
}

/// Whether the project phase can run without a network: uv's own backend builds every package
/// of the project, and the lock is not stale.
fn project_offline(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    files: &ContextFiles,
    uv_image: &str,
) -> bool {
    // A stale lock makes `uv sync --locked` want to resolve: with a network it says so ("run
    // uv lock"), without one it only fails to find packages.
    project_builds_offline(project, members, uv_image)
        && !matches!(
            (&files.pyproject, &files.uv_lock),
            (Some(p), Some(l)) if project::stale_lock(p, l).is_some()
        )
}

fn spec_string(v: &Option<toml::Spanned<String>>) -> Option<String> {
    v.as_ref().map(|v| v.get_ref().clone())
}

/// A directory the spec names, without a trailing `/`.
fn spec_path(v: &Option<toml::Spanned<String>>) -> Option<String> {
    spec_string(v).map(|d| d.trim_end_matches('/').to_string())
}

/// `[run] command`, else the project's one script, if it has exactly one and is a package.
fn default_command(
    spec: &Spec,
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    virtual_project: bool,
) -> Option<Vec<String>> {
    match &spec.run.command {
        Some(c) => Some(c.get_ref().clone()),
        // uv installs no entry points of a project that is not a package.
        None if virtual_project => None,
        None => {
            let package = spec_string(&spec.sync.package);
            let scripts = project.scripts_of(package.as_deref(), members);
            (scripts.len() == 1).then(|| vec![scripts.keys().next().expect("one").clone()])
        }
    }
}

/// `[test] command` (unless skipped) and `[test] dev-command`, which `--target test` needs.
fn test_commands(
    spec_file: &SpecFile,
    spec: &Spec,
    target: Target,
) -> Result<TestCommands, SpecError> {
    // Also `--build-arg UVF_TEST_SKIP=1` (crate::spec::overrides).
    let skip_test = spec.test.skip.unwrap_or(false);
    let test = match (&spec.test.command, skip_test) {
        (Some(command), false) => Some(command.get_ref().clone()),
        _ => None,
    };
    let dev_test = spec.test.dev_command.as_ref().map(|c| c.get_ref().clone());
    if target == Target::Test && dev_test.is_none() {
        return Err(SpecError::at(
            spec_file,
            0,
            "--target test runs [test] dev-command, which this uv.build does not set",
            "add it, e.g. [test] dev-command = [\"python\", \"-m\", \"pytest\"]",
        ));
    }
    Ok(TestCommands { test, dev_test })
}

/// The smoke test and the project's tests, as [`Settings`] has them.
struct TestCommands {
    test: Option<Vec<String>>,
    dev_test: Option<Vec<String>>,
}

fn managed_python(spec: &Spec, facts: &BuildFacts) -> Option<ManagedPython> {
    spec.build.managed_python.as_ref().map(|v| ManagedPython {
        version: v.get_ref().clone(),
        install_dir: spec_path(&spec.build.python_install_dir)
            .unwrap_or_else(|| DEFAULT_PYTHON_INSTALL_DIR.into()),
        mirror: facts.build_args.get("UV_PYTHON_INSTALL_MIRROR").cloned(),
    })
}

fn project_info(project: &Project) -> ProjectInfo {
    ProjectInfo {
        name: project.pyproject.name.clone(),
        version: project.pyproject.version.clone(),
        workspace: project.is_workspace(),
        path_dependencies: project.has_path_dependencies(),
    }
}

fn cache_settings(spec: &Spec) -> CacheSettings {
    CacheSettings {
        id: spec_string(&spec.cache.id).unwrap_or_else(|| DEFAULT_CACHE_ID.into()),
        dir: spec_path(&spec.cache.dir).unwrap_or_else(|| DEFAULT_CACHE_DIR.into()),
        sharing: spec.cache.sharing.unwrap_or(CacheSharing::Shared),
    }
}

/// The files the dependency phase sees: `pyproject.toml`, `uv.lock` and `uv.toml` normalized
/// to what decides the dependencies, `.python-version` as it is.
fn dependency_files(files: &ContextFiles) -> Vec<DependencyFile> {
    let normalized = |text: &Option<String>, f: fn(&str) -> Option<String>| {
        text.as_deref()
            .map(|t| f(t).unwrap_or_else(|| t.to_string()))
    };
    [
        (
            project::PYPROJECT,
            normalized(&files.pyproject, dependency_pyproject),
        ),
        (
            project::UV_LOCK,
            normalized(&files.uv_lock, dependency_lock),
        ),
        (project::PYTHON_VERSION, files.python_version.clone()),
        (project::UV_TOML, normalized(&files.uv_toml, canonical_toml)),
    ]
    .into_iter()
    .filter_map(|(path, content)| {
        Some(DependencyFile {
            path: path.into(),
            content: content?,
        })
    })
    .collect()
}

/// `.dockerignore`'s patterns, then what is never sent for the build's steps: any .venv, and
/// the build's own files (an edit of uv.build or of what is ignored must not rerun a sync, nor
/// land in the image).
fn context_excludes(spec_file: &SpecFile, project: &Project) -> Vec<String> {
    let mut excludes = project.dockerignore.clone();
    let own_files = [
        spec_file.name.clone(),
        format!("{}.dockerignore", spec_file.name),
        project::DOCKERIGNORE.to_string(),
    ];
    for always in [".venv".to_string(), "**/.venv".to_string()]
        .into_iter()
        .chain(own_files)
    {
        if !excludes.contains(&always) {
            excludes.push(always);
        }
    }
    excludes
}

fn scm_pretend_version(build_args: &BTreeMap<String, String>) -> BTreeMap<String, String> {
    build_args
        .iter()
        .filter(|(k, _)| k.starts_with("SETUPTOOLS_SCM_PRETEND_VERSION"))
        .map(|(k, v)| (k.clone(), v.clone()))
        .collect()
}

/// The project's packages whose version comes from git, with the build requirement that reads
/// it.
fn git_versioned(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
) -> BTreeMap<String, String> {
    project
        .lock
        .local_packages
        .iter()
        .filter(|p| !p.is_virtual())
        .filter_map(|p| {
            let plugin = project::version_from_git(project.pyproject_of(members, p)?)?;
            Some((p.name.clone(), plugin))
        })
        .collect()
}
