//! What the settings decide from the project's packages, as the lock and their
//! `pyproject.toml` files describe them: whether the project phase needs a network, which
//! modules are copied beside an editable install, whether the project is not a package (and
//! what phase 2 then needs of the context), and which third-party packages get a layer of
//! their own.

use std::collections::{BTreeMap, BTreeSet};

use super::Target;
use crate::project::{self, ContextFiles, Project, PyProject};

/// Whether every package of the project that uv builds (the root and the workspace members,
/// not virtual ones) is built by the `uv_build` backend of the uv in `uv_image`, and no package
/// comes from git or a URL: then the project phase needs no network. A package whose
/// `pyproject.toml` was not read counts as needing one.
pub(super) fn project_builds_offline(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    uv_image: &str,
) -> bool {
    let Some(uv) = project::uv_version_of(uv_image) else {
        return false;
    };
    if project.lock.git_sources || project.lock.url_sources {
        return false;
    }
    project
        .lock
        .local_packages
        .iter()
        .filter(|p| !p.is_virtual())
        .all(|p| {
            project
                .pyproject_of(members, p)
                .is_some_and(|py| project::builds_without_network(py, &uv))
        })
}

/// The module directories of the project's packages when the runtime image can have them copied
/// as they are, beside an editable install: the project phase then syncs with empty stand-ins
/// for the modules (uv's build backend only checks that `__init__.py` exists and writes a `.pth`
/// naming the module root), so a source edit reruns no sync at all. That holds when every
/// editable package of the workspace (the project, its members, editable path dependencies) is
/// built by `uv_build` from one module directory, and only for the runtime image: the dev image
/// keeps the whole project, installed as before. Path dependencies that are not editable are
/// built as wheels from the context either way. Only packages the sync installs count (see
/// [`installed_local_packages`]): a service built with `[sync] package` gets its own modules,
/// not its neighbours'.
pub(super) fn editable_modules(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    package: Option<&str>,
    no_editable: bool,
    target: Target,
) -> Result<Vec<String>, String> {
    if no_editable {
        return Err("[sync] no-editable = true".into());
    }
    if target.is_builder() {
        return Ok(Vec::new());
    }
    let installed = installed_local_packages(project, package);
    let modules: Result<Vec<String>, String> = project
        .lock
        .local_packages
        .iter()
        // Path dependencies are always built as wheels, from the context as it is.
        .filter(|p| p.source == project::LocalSource::Editable)
        .filter(|p| {
            installed
                .as_ref()
                .is_none_or(|names| names.contains(&p.name))
        })
        .map(|p| copied_module_dir(project, members, p))
        .collect();
    let mut modules = modules?;
    modules.sort();
    modules.dedup();
    // Each module is a layer of the image: past this many the image would near the storage
    // drivers' layer limit (Docker's overlay2 runs no image of more than 127), so the packages
    // are installed as wheels, in the project's one layer.
    if modules.len() > MODULE_LAYERS_MAX {
        return Err(format!(
            "more than {MODULE_LAYERS_MAX} modules would each be a layer of the image"
        ));
    }
    Ok(modules)
}

/// The module directory of a package (a context path, `packages/greeter/src/greeter`) when
/// it can be copied as it is beside an editable install: built by `uv_build` (see
/// [`uv_build_module_dir`]), or by a third-party backend whose layout allows it and whose
/// module the context has (see [`project::EditableLayout`]); else why it is a wheel.
fn copied_module_dir(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    package: &project::LocalPackage,
) -> Result<String, String> {
    let Some(pyproject) = project.pyproject_of(members, package) else {
        return Err(format!(
            "the pyproject.toml of {} was not read",
            package.name
        ));
    };
    if pyproject.built_by_uv_build() {
        return uv_build_module_dir(project, members, package)
            .ok_or_else(|| format!("{}: its uv_build layout is not one module", package.name));
    }
    let dir = project::package_dir(package);
    let present = |path: &str| {
        project
            .present_layout_files
            .contains(&project::in_dir(&dir, path))
    };
    let layout = pyproject
        .editable_layout
        .clone()
        .unwrap_or_else(|| project::EditableLayout::Wheel("it has no build backend".into()));
    if let project::EditableLayout::Wheel(why) = &layout {
        return Err(format!("{}: {why}", package.name));
    }
    if present("setup.py") {
        return Err(format!(
            "{}: its setup.py may build extensions or more",
            package.name
        ));
    }
    layout
        .candidates()
        .into_iter()
        .find(|module| present(&format!("{module}/__init__.py")))
        .map(|module| project::in_dir(&dir, &module))
        .ok_or_else(|| {
            format!(
                "{}: no module directory with an __init__.py at {}",
                package.name,
                layout.candidates().join(" or ")
            )
        })
}

/// The module directory of a package `uv_build` builds, as a path of the build context
/// (`packages/greeter/src/greeter`); `None` for another backend or a package outside the context.
fn uv_build_module_dir(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    package: &project::LocalPackage,
) -> Option<String> {
    let pyproject = project.pyproject_of(members, package)?;
    if !pyproject.built_by_uv_build() {
        return None;
    }
    let module = pyproject.uv_build_module.as_deref()?;
    let dir = package.path.trim_start_matches("./").trim_end_matches('/');
    if dir.starts_with('/') || dir.split('/').any(|part| part == "..") {
        // Outside the build context: nothing to copy from it.
        return None;
    }
    Some(match dir {
        "" | "." => module.to_string(),
        dir => format!("{dir}/{module}"),
    })
}

/// The module directories of the workspace's `uv_build` packages that this sync does not
/// install (another service's, with `[sync] package`): the project phase of the runtime image
/// does not get them, so editing them reruns nothing. uv reads those packages'
/// `pyproject.toml` files, which it keeps, and builds none of them. Not for the dev image, which
/// has the whole project.
pub(super) fn uninstalled_modules(
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    package: Option<&str>,
    target: Target,
) -> Vec<String> {
    if target.is_builder() {
        return Vec::new();
    }
    let Some(installed) = installed_local_packages(project, package) else {
        return Vec::new();
    };
    let mut modules: Vec<String> = project
        .lock
        .local_packages
        .iter()
        .filter(|p| p.source == project::LocalSource::Editable && !installed.contains(&p.name))
        .filter_map(|p| copied_module_dir(project, members, p).ok())
        .collect();
    modules.sort();
    modules.dedup();
    modules
}

/// At most this many modules get a layer of their own (see [`editable_modules`]).
pub const MODULE_LAYERS_MAX: usize = 32;

/// Whether uv installs nothing of the project itself: its root is virtual in the lock (no
/// `[build-system]`, or `[tool.uv] package = false`: what `uv init` makes of an application) and
/// the sync is for it, not for a `[sync] package`. Such code runs from the project directory
/// (`python main.py`), so the runtime image needs the project's files there, not only the venv.
pub(super) fn project_is_virtual(project: &Project, package: Option<&str>) -> bool {
    package.is_none()
        && project
            .lock
            .local_packages
            .iter()
            .any(|p| project.is_root(p) && p.is_virtual())
}

/// What of the build context the project phase of a virtual project needs for the runtime
/// image: the files uv reads at the root (`pyproject.toml`, `uv.lock`, `.python-version`,
/// `uv.toml`) and the directories of the other local packages (workspace members, path
/// dependencies), which it installs. The root's own code is then no input of any sync: editing
/// `main.py` reruns none. Empty (the whole context) for a package, and for the dev and test
/// images, which run from the project stage and need all of it.
pub(super) fn project_phase_paths(
    project: &Project,
    files: &ContextFiles,
    virtual_project: bool,
    target: Target,
) -> Vec<String> {
    if !virtual_project || target.is_builder() {
        return Vec::new();
    }
    let files = [
        (project::PYPROJECT, &files.pyproject),
        (project::UV_LOCK, &files.uv_lock),
        (project::PYTHON_VERSION, &files.python_version),
        (project::UV_TOML, &files.uv_toml),
    ]
    .into_iter()
    .filter(|(_, text)| text.is_some())
    .map(|(name, _)| name);
    let dirs = project
        .lock
        .local_packages
        .iter()
        .filter(|p| !project.is_root(p))
        .map(|p| {
            p.path
                .trim_start_matches("./")
                .trim_end_matches('/')
                .to_string()
        })
        // Outside the context, nothing can be sent of it.
        .filter(|dir| !dir.starts_with('/') && !dir.split('/').any(|part| part == ".."));
    let mut paths: Vec<String> = files.map(str::to_string).chain(dirs).collect();
    paths.dedup();
    paths
}

/// The workspace's packages that `uv sync` installs: `package` (or the root project) and every
/// local package it depends on, in any extra or group too (a superset: extras and groups not
/// selected are followed as well). `None` when there is no such start in the lock (a workspace
/// root without a project of its own), so every package counts.
fn installed_local_packages(project: &Project, package: Option<&str>) -> Option<BTreeSet<String>> {
    let start = package.or(project.pyproject.name.as_deref())?;
    let start = project.lock.local_package(start)?;
    let mut installed = BTreeSet::new();
    let mut todo = vec![start];
    while let Some(local) = todo.pop() {
        if installed.insert(local.name.clone()) {
            todo.extend(
                local
                    .depends_on
                    .iter()
                    .filter_map(|name| project.lock.local_package(name)),
            );
        }
    }
    Some(installed)
}

/// A package whose largest download is at least this big gets a layer of its own.
pub const OWN_LAYER_MIN_BYTES: u64 = 4 * 1024 * 1024;
/// At most this many packages get a layer of their own (the biggest), so images stay far from
/// the layer limits of storage drivers.
pub const OWN_LAYERS_MAX: usize = 8;

/// The packages that get a layer of their own: the biggest of those whose download is at least
/// [`OWN_LAYER_MIN_BYTES`], at most [`OWN_LAYERS_MAX`], sorted by name. A lock change that
/// leaves them as they are (one small package added) then leaves their layers as they are: the
/// runtime image rewrites and a push uploads only the layer of the rest.
pub fn own_layer_packages(download_sizes: &BTreeMap<String, u64>) -> Vec<String> {
    let mut big: Vec<(&String, u64)> = download_sizes
        .iter()
        .filter(|(_, size)| **size >= OWN_LAYER_MIN_BYTES)
        .map(|(name, size)| (name, *size))
        .collect();
    big.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(b.0)));
    let mut names: Vec<String> = big
        .into_iter()
        .take(OWN_LAYERS_MAX)
        .map(|(name, _)| name.clone())
        .collect();
    names.sort();
    names
}
