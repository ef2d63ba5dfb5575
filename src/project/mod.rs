//! What the build context says about the project: `pyproject.toml`, `uv.lock`,
//! `.python-version`, `uv.toml` and `.dockerignore`, read once by the gateway and parsed here.

mod build_backend;
mod dockerignore;
mod editable_layout;
mod file_checks;
mod lock;
pub mod lock_graph;
pub mod markers;
pub mod normalize;
mod pyproject;
mod requires_python;
mod stale;

use std::collections::BTreeMap;

pub use build_backend::{builds_without_network, module_dir, uv_version_of, version_from_git};
pub use dockerignore::{excluding_pattern, parse_dockerignore};
pub use editable_layout::{editable_layout, EditableLayout};
pub use lock::{LocalPackage, LocalSource, Lock};
pub use pyproject::{normalize_name, requirement_name, BuildSystem, PyProject};
pub use stale::stale_lock;

use crate::spec::SpecError;

/// The files of the build context that settings are derived from, as read from the client.
#[derive(Clone, Debug, Default)]
pub struct ContextFiles {
    pub pyproject: Option<String>,
    pub uv_lock: Option<String>,
    pub python_version: Option<String>,
    pub uv_toml: Option<String>,
    pub dockerignore: Option<String>,
}

/// Names of the context files read for settings, relative to the context root.
pub const PYPROJECT: &str = "pyproject.toml";
pub const UV_LOCK: &str = "uv.lock";
pub const PYTHON_VERSION: &str = ".python-version";
pub const UV_TOML: &str = "uv.toml";
pub const DOCKERIGNORE: &str = ".dockerignore";

/// A local package's directory as a context path (`""` for the root); `None`-like paths
/// outside the context come back as they are and are found in no listing.
pub fn package_dir(package: &LocalPackage) -> String {
    match package.path.trim_start_matches("./").trim_end_matches('/') {
        "." => String::new(),
        dir => dir.to_string(),
    }
}

/// `path` under the context directory `dir` (`""`: the context's root).
pub fn in_dir(dir: &str, path: &str) -> String {
    if dir.is_empty() {
        path.to_string()
    } else {
        format!("{dir}/{path}")
    }
}

/// The project, as far as the build needs to know it.
#[derive(Clone, Debug)]
pub struct Project {
    pub pyproject: PyProject,
    pub lock: Lock,
    /// `.python-version`'s first version, e.g. `3.12`.
    pub python_version: Option<String>,
    pub has_uv_toml: bool,
    pub has_python_version: bool,
    /// `.dockerignore` patterns, cleaned as BuildKit's Dockerfile frontend cleans them.
    pub dockerignore: Vec<String>,
    /// Which of the files that decide third-party packages' editable layouts (their module
    /// directories' `__init__.py`, a `setup.py`) the build context has, as context paths (see
    /// [`Project::layout_files`]); read after the project's files.
    pub present_layout_files: std::collections::BTreeSet<String>,
}

impl Project {
    /// Parses the context files. `spec_file` is named in errors about files that are missing.
    pub fn from_files(files: &ContextFiles, spec_file: &str) -> Result<Project, SpecError> {
        let missing = |name: &str, fix: &str| SpecError {
            file: spec_file.into(),
            line: 1,
            message: format!("{name} is missing from the build context"),
            fix: fix.into(),
        };
        let pyproject_text = files.pyproject.as_deref().ok_or_else(|| {
            missing(
                PYPROJECT,
                "run the build from the project root (the directory holding pyproject.toml), or pass it as the context",
            )
        })?;
        let pyproject = PyProject::parse(pyproject_text)?;
        file_checks::check_pyproject(pyproject_text)?;
        let lock_text = files.uv_lock.as_deref().ok_or_else(|| {
            missing(
                UV_LOCK,
                "run `uv lock` and commit uv.lock; check that .dockerignore does not exclude it",
            )
        })?;
        let lock = Lock::parse(lock_text)?;
        file_checks::check_lock(lock_text)?;
        let python_version = files.python_version.as_deref().and_then(|text| {
            text.lines()
                .map(str::trim)
                .find(|l| !l.is_empty() && !l.starts_with('#'))
                .map(str::to_string)
        });
        Ok(Project {
            pyproject,
            lock,
            python_version,
            has_uv_toml: files.uv_toml.is_some(),
            has_python_version: files.python_version.is_some(),
            dockerignore: files
                .dockerignore
                .as_deref()
                .map(parse_dockerignore)
                .unwrap_or_default(),
            present_layout_files: Default::default(),
        })
    }

    /// Whether `package` is the project itself (the workspace root), not a member: its
    /// `pyproject.toml` is the one already read.
    pub fn is_root(&self, package: &LocalPackage) -> bool {
        package.path == "." || Some(package.name.as_str()) == self.pyproject.name.as_deref()
    }

    /// The `pyproject.toml` of a local package: the project's own for the root, else the one
    /// read for it into `members` (`None` when it was not read).
    pub fn pyproject_of<'a>(
        &'a self,
        members: &'a BTreeMap<String, PyProject>,
        package: &LocalPackage,
    ) -> Option<&'a PyProject> {
        if self.is_root(package) {
            Some(&self.pyproject)
        } else {
            members.get(&package.name)
        }
    }

    /// Whether the lock installs local packages that are neither the project nor a workspace
    /// member: path dependencies (`[tool.uv.sources] x = { path = "libs/x" }`), which
    /// `--no-install-project` and `--no-install-workspace` do not skip.
    pub fn has_path_dependencies(&self) -> bool {
        self.lock
            .local_packages
            .iter()
            .any(|p| !p.is_virtual() && !self.is_root(p) && !self.lock.members.contains(&p.name))
    }

    /// The context paths whose presence decides the editable layouts of the packages built by
    /// third-party backends: each candidate module's `__init__.py`, and `setup.py`.
    pub fn layout_files(&self, members: &BTreeMap<String, PyProject>) -> Vec<String> {
        let mut files = Vec::new();
        for package in self.lock.local_packages.iter().filter(|p| !p.is_virtual()) {
            let Some(layout) = self
                .pyproject_of(members, package)
                .and_then(|p| p.editable_layout.as_ref())
            else {
                continue;
            };
            let dir = package_dir(package);
            for module in layout.candidates() {
                files.push(in_dir(&dir, &format!("{module}/__init__.py")));
            }
            files.push(in_dir(&dir, "setup.py"));
        }
        files.sort();
        files.dedup();
        files
    }

    /// Whether this project is (the root of) a uv workspace.
    pub fn is_workspace(&self) -> bool {
        self.pyproject.workspace_members.is_some() || self.lock.members.len() > 1
    }

    /// The console scripts of the package that will be installed: the root project's, unless
    /// `package` names a member (then the member's, when its pyproject was read).
    pub fn scripts_of(
        &self,
        package: Option<&str>,
        members: &BTreeMap<String, PyProject>,
    ) -> BTreeMap<String, String> {
        match package {
            Some(name) if Some(name) != self.pyproject.name.as_deref() => members
                .get(name)
                .map(|p| p.scripts.clone())
                .unwrap_or_default(),
            _ => self.pyproject.scripts.clone(),
        }
    }
}
