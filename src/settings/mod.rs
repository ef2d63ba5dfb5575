//! Resolved settings: the spec with every default filled in from the project and build args.
//!
//! Like uv's own split between options and settings, nothing downstream of this module looks at
//! the raw spec again: the plan is a function of [`Settings`] alone.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::llb::{CacheSharing, Platform};
use crate::project::normalize::{canonical_toml, dependency_lock, dependency_pyproject};
use crate::project::{self, ContextFiles, Project, PyProject};
use crate::spec::{LockMode, Spec, SpecError, SpecFile};
use crate::user::{runtime_user, RuntimeUser};

mod image_contents;
mod packages;
mod python;
mod selection;
mod units;

pub use image_contents::ImageContext;
use packages::{
    editable_modules, project_builds_offline, project_is_virtual, project_phase_paths,
    uninstalled_modules,
};
pub use packages::{own_layer_packages, MODULE_LAYERS_MAX, OWN_LAYERS_MAX, OWN_LAYER_MIN_BYTES};
pub use python::{base_image, builder_image, builder_python_mismatch, uv_image};
use selection::check_selection;
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
pub struct SyncSettings {
    pub package: Option<String>,
    pub extras: Vec<String>,
    pub all_extras: bool,
    pub groups: Vec<String>,
    pub dev: bool,
    pub lock: LockMode,
    pub compile_bytecode: bool,
    /// The sync steps' network: `[build] network`, else `--network`.
    pub network: SyncNetwork,
    /// `--add-host` entries (name, IP) for the sync steps' `/etc/hosts`.
    pub extra_hosts: Vec<(String, String)>,
    /// Environment variables sync steps take from client secrets of the same id, when the
    /// client passes them (`--secret id=UV_INDEX_<NAME>_PASSWORD,env=...`): never in a layer.
    pub secrets: Vec<String>,
    /// Forward the client's SSH agent (`--ssh default`) to sync steps: the lock has git sources.
    pub ssh: bool,
}

/// The `[[index]]` names of `uv.toml` (uv's own configuration file beside the project).
fn uv_toml_index_names(text: Option<&str>) -> Vec<String> {
    let Some(table) = text.and_then(|t| toml::from_str::<toml::Table>(t).ok()) else {
        return Vec::new();
    };
    table
        .get("index")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect()
}

/// uv's variables that may carry index credentials, and that sync steps can take from secrets
/// besides the per-index `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD`.
pub const INDEX_SECRETS: &[&str] = &[
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_INDEX_URL",
];

/// `UV_INDEX_<NAME>_USERNAME` and `_PASSWORD` for every `[[tool.uv.index]]` name, as uv spells
/// them (upper case, anything but a letter or digit as `_`), then [`INDEX_SECRETS`].
pub fn index_secrets(index_names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = index_names
        .iter()
        .flat_map(|name| {
            let upper: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            [
                format!("UV_INDEX_{upper}_USERNAME"),
                format!("UV_INDEX_{upper}_PASSWORD"),
            ]
        })
        .collect();
    names.extend(INDEX_SECRETS.iter().map(|s| s.to_string()));
    names.sort();
    names.dedup();
    names
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

/// The network of the sync steps that need one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncNetwork {
    /// BuildKit's sandbox.
    #[default]
    Default,
    /// The host's (`--allow network.host`).
    Host,
    /// None at all (`--network none`).
    None,
}

#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    pub user: RuntimeUser,
    /// The image's working directory (see [`image_contents::working_dir`]).
    pub working_dir: String,
    /// `[run] apt`: Debian packages installed in the runtime image.
    pub apt: Vec<String>,
    /// `None` keeps the base image's command.
    pub command: Option<Vec<String>>,
    /// `[run] entrypoint`: `None` keeps the base image's (see [`crate::image::runtime_config`]).
    pub entrypoint: Option<Vec<String>>,
    pub code_owner: crate::spec::CodeOwner,
    pub env: BTreeMap<String, String>,
    pub expose: Vec<u16>,
    /// OCI labels from pyproject.toml, then the spec's own, then `--label`'s.
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Vec<String>>,
    pub health: HealthOptions,
}

/// The health check's options, as the image config's `Healthcheck` has them; `None`: Docker's
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthOptions {
    /// Nanoseconds.
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub retries: Option<u32>,
}

impl RunSettings {
    /// The uid and gid that own the venv and the project's files in the runtime image.
    pub fn files_owner(&self) -> (u32, u32) {
        match self.code_owner {
            crate::spec::CodeOwner::User => (self.user.uid, self.user.gid),
            crate::spec::CodeOwner::Root => (0, 0),
        }
    }
}

impl HealthOptions {
    pub fn is_default(&self) -> bool {
        *self == HealthOptions::default()
    }
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
        let s = |v: &Option<toml::Spanned<String>>| v.as_ref().map(|v| v.get_ref().clone());
        let builder = builder_image(spec, project);
        let base = base_image(spec, project);
        let workdir = s(&spec.build.workdir)
            .map(|w| w.trim_end_matches('/').to_string())
            .unwrap_or_else(|| DEFAULT_WORKDIR.into());

        let package = s(&spec.sync.package);
        check_selection(spec_file, spec, project, members)?;

        let virtual_project = project_is_virtual(project, s(&spec.sync.package).as_deref());
        let command = match &spec.run.command {
            Some(c) => Some(c.get_ref().clone()),
            // uv installs no entry points of a project that is not a package.
            None if virtual_project => None,
            None => {
                let scripts = project.scripts_of(package.as_deref(), members);
                (scripts.len() == 1).then(|| vec![scripts.keys().next().expect("one").clone()])
            }
        };

        let normalized = |text: &Option<String>, f: fn(&str) -> Option<String>| {
            text.as_deref()
                .map(|t| f(t).unwrap_or_else(|| t.to_string()))
        };
        let dependency_files = [
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
        .collect();
        // Never sent for the build's steps: any .venv, and the build's own files (an edit of
        // uv.build or of what is ignored must not rerun a sync, nor land in the image).
        let mut context_excludes = project.dockerignore.clone();
        let own_files = [
            spec_file.name.clone(),
            format!("{}.dockerignore", spec_file.name),
            project::DOCKERIGNORE.to_string(),
        ];
        for always in [".venv".to_string(), "**/.venv".to_string()]
            .into_iter()
            .chain(own_files)
        {
            if !context_excludes.contains(&always) {
                context_excludes.push(always);
            }
        }

        let id = |v: &Option<toml::Spanned<i64>>| v.as_ref().map(|v| *v.get_ref() as u32);
        let user = runtime_user(
            &s(&spec.run.user).unwrap_or_else(|| DEFAULT_USER.into()),
            (id(&spec.run.uid).unwrap_or(DEFAULT_UID), id(&spec.run.gid)),
            facts.base_passwd.as_deref(),
            facts.base_group.as_deref(),
        );
        // A user of the base may be root by another name (`toor`).
        if user.add.is_none() && user.uid == 0 {
            return Err(SpecError::at(
                spec_file,
                spec.run.user.as_ref().map_or(0, |u| u.span().start),
                format!(
                    "[run] user {} is root (uid 0) in the base image {base}: the runtime image runs as a non-root user",
                    user.name
                ),
                "name another user, or remove the key to get the default user \"app\"",
            ));
        }
        for (key, wanted, actual) in [
            (&spec.run.uid, id(&spec.run.uid), user.uid),
            (&spec.run.gid, id(&spec.run.gid), user.gid),
        ] {
            if let (Some(v), Some(wanted)) = (key, wanted) {
                if user.add.is_none() && wanted != actual {
                    return Err(SpecError::at(
                        spec_file,
                        v.span().start,
                        format!(
                            "[run] user {} already exists in the base image {base} with id {actual}, not {wanted}",
                            user.name
                        ),
                        "remove uid/gid to use the base image's user, or name a new user",
                    ));
                }
                if user.add.is_some() && wanted != actual {
                    // Only a uid can differ: a taken gid is that group's.
                    return Err(SpecError::at(
                        spec_file,
                        v.span().start,
                        format!(
                            "[run] uid {wanted} belongs to another user of the base image {base}"
                        ),
                        format!(
                            "choose a free uid, or remove uid to get the first free one from {DEFAULT_UID}"
                        ),
                    ));
                }
            }
        }
        // Also `--build-arg UVF_TEST_SKIP=1` (crate::spec::overrides).
        let skip_test = spec.test.skip.unwrap_or(false);
        let test = match (&spec.test.command, skip_test) {
            (Some(command), false) => Some(command.get_ref().clone()),
            _ => None,
        };

        let dev_test = spec.test.dev_command.as_ref().map(|c| c.get_ref().clone());
        if facts.target == Target::Test && dev_test.is_none() {
            return Err(SpecError::at(
                spec_file,
                0,
                "--target test runs [test] dev-command, which this uv.build does not set",
                "add it, e.g. [test] dev-command = [\"python\", \"-m\", \"pytest\"]",
            ));
        }

        let managed_python = spec.build.managed_python.as_ref().map(|v| ManagedPython {
            version: v.get_ref().clone(),
            install_dir: s(&spec.build.python_install_dir)
                .map(|d| d.trim_end_matches('/').to_string())
                .unwrap_or_else(|| DEFAULT_PYTHON_INSTALL_DIR.into()),
            mirror: facts.build_args.get("UV_PYTHON_INSTALL_MIRROR").cloned(),
        });

        let uv_image = uv_image(spec);
        let working_dir = image_contents::working_dir(spec, project, &workdir);
        let editable = editable_modules(
            project,
            members,
            s(&spec.sync.package).as_deref(),
            spec.sync.no_editable.unwrap_or(false),
            facts.target,
        );
        let mut settings = Settings {
            spec_file: spec_file.name.clone(),
            managed_python,
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
            project: ProjectInfo {
                name: project.pyproject.name.clone(),
                version: project.pyproject.version.clone(),
                workspace: project.is_workspace(),
                path_dependencies: project.has_path_dependencies(),
            },
            sync: SyncSettings {
                package,
                extras: spec
                    .sync
                    .extra
                    .iter()
                    .map(|e| e.get_ref().clone())
                    .collect(),
                all_extras: spec.sync.all_extras.unwrap_or(false),
                groups: spec
                    .sync
                    .group
                    .iter()
                    .map(|g| g.get_ref().clone())
                    .collect(),
                // `--group dev` with `--no-dev` installs nothing of it: naming the group is
                // asking for it.
                dev: spec.sync.dev.unwrap_or(false)
                    || facts.target.is_builder()
                    || spec.sync.group.iter().any(|g| g.get_ref() == "dev"),
                lock: spec
                    .sync
                    .lock
                    .as_ref()
                    .map(|l| *l.get_ref())
                    .unwrap_or(LockMode::Locked),
                compile_bytecode: spec.sync.compile_bytecode.unwrap_or(true),
                network: match spec.build.network.as_ref().map(|n| n.get_ref().as_str()) {
                    Some("host") => SyncNetwork::Host,
                    Some(_) => SyncNetwork::Default,
                    None => facts.network.unwrap_or_default(),
                },
                extra_hosts: facts.extra_hosts.clone(),
                secrets: index_secrets(
                    &project
                        .pyproject
                        .index_names
                        .iter()
                        .cloned()
                        .chain(uv_toml_index_names(files.uv_toml.as_deref()))
                        .collect::<Vec<_>>(),
                ),
                ssh: project.lock.git_sources,
            },
            cache: CacheSettings {
                id: s(&spec.cache.id).unwrap_or_else(|| DEFAULT_CACHE_ID.into()),
                dir: s(&spec.cache.dir)
                    .map(|d| d.trim_end_matches('/').to_string())
                    .unwrap_or_else(|| DEFAULT_CACHE_DIR.into()),
                sharing: spec.cache.sharing.unwrap_or(CacheSharing::Shared),
            },
            run: RunSettings {
                user,
                working_dir,
                apt: image_contents::apt_packages(&spec.run.apt),
                command,
                entrypoint: spec.run.entrypoint.as_ref().map(|e| e.get_ref().clone()),
                code_owner: spec.run.code_owner.unwrap_or_default(),
                env: spec
                    .run
                    .env
                    .iter()
                    .map(|(k, v)| (k.clone(), v.get_ref().clone()))
                    .collect(),
                expose: spec
                    .run
                    .expose
                    .iter()
                    .map(|p| *p.get_ref() as u16)
                    .collect(),
                // The image is of the package the sync installs: a `[sync] package` member's
                // name and version, not the workspace root's.
                labels: labels(
                    spec.sync
                        .package
                        .as_ref()
                        .and_then(|name| members.get(name.get_ref()))
                        .unwrap_or(&project.pyproject),
                    &spec.run.labels,
                    &facts.labels,
                ),
                stop_signal: s(&spec.run.stop_signal).map(|v| v.to_ascii_uppercase()),
                healthcheck: spec.run.healthcheck.as_ref().map(|h| h.get_ref().clone()),
                health: {
                    let nanos = |v: &Option<toml::Spanned<String>>| {
                        v.as_ref()
                            .and_then(|v| crate::spec::duration::nanos(v.get_ref()))
                    };
                    HealthOptions {
                        interval: nanos(&spec.run.health_interval),
                        timeout: nanos(&spec.run.health_timeout),
                        start_period: nanos(&spec.run.health_start_period),
                        retries: spec
                            .run
                            .health_retries
                            .as_ref()
                            .and_then(|r| u32::try_from(*r.get_ref()).ok()),
                    }
                },
            },
            dependency_files,
            layered: facts.merge_diff,
            package_units: None,
            one_sync_reason: None,
            own_layers: own_layer_packages(&project.lock.download_sizes),
            // A stale lock makes `uv sync --locked` want to resolve: with a network it says
            // so ("run uv lock"), without one it only fails to find packages.
            project_offline: project_builds_offline(project, members, &uv_image)
                && !matches!(
                    (&files.pyproject, &files.uv_lock),
                    (Some(p), Some(l)) if project::stale_lock(p, l).is_some()
                ),
            context_excludes,
            virtual_project,
            image_context: ImageContext::of(spec),
            build_commands: image_contents::build_commands(spec, facts.target),
            build_apt: image_contents::apt_packages(&spec.build.apt),
            scm_pretend_version: facts
                .build_args
                .iter()
                .filter(|(k, _)| k.starts_with("SETUPTOOLS_SCM_PRETEND_VERSION"))
                .map(|(k, v)| (k.clone(), v.clone()))
                .collect(),
            git_versioned: project
                .lock
                .local_packages
                .iter()
                .filter(|p| !p.is_virtual())
                .filter_map(|p| {
                    let plugin = project::version_from_git(project.pyproject_of(members, p)?)?;
                    Some((p.name.clone(), plugin))
                })
                .collect(),
            project_phase_paths: project_phase_paths(project, files, virtual_project, facts.target),
            editable_modules: editable.clone().unwrap_or_default(),
            wheel_reason: editable.err(),
            uninstalled_modules: uninstalled_modules(
                project,
                members,
                s(&spec.sync.package).as_deref(),
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

/// OCI annotations of the image from `[project]`, overridden by the spec's `[run] labels`, then
/// by `--label` (as `docker buildx build --label` overrides a Dockerfile's `LABEL`).
fn labels(
    p: &PyProject,
    spec: &BTreeMap<String, String>,
    cli: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut put = |key: &str, value: Option<&String>| {
        if let Some(v) = value {
            labels.insert(format!("org.opencontainers.image.{key}"), v.clone());
        }
    };
    put("title", p.name.as_ref());
    put("version", p.version.as_ref());
    put("description", p.description.as_ref());
    put("licenses", p.license.as_ref());
    let source = [
        "Source",
        "Repository",
        "source",
        "repository",
        "Homepage",
        "homepage",
    ]
    .iter()
    .find_map(|k| p.urls.get(*k));
    put("source", source);
    labels.extend(spec.iter().chain(cli).map(|(k, v)| (k.clone(), v.clone())));
    labels
}
