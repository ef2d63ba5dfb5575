//! Which locked third-party packages the venv gets, each to be installed in a step of its own
//! (keyed on its lock entry alone), when the frontend can tell for certain; else `None`, and the
//! dependency phase syncs the venv as one step.
//!
//! The packages are those `uv sync` would install: the lock's graph walked from the synced
//! package, through the extras and dependency groups asked for, each edge's marker evaluated for
//! this venv's Python and platform. Anything the walk cannot decide (a marker it cannot read, a
//! version it cannot pick, a git or path source, another index, uv settings that change how a
//! package installs) gives `None`. The project phase's `uv sync --locked` runs over the result
//! either way, and would install what is missing and remove what is extra.

use std::collections::{BTreeMap, BTreeSet};

use serde::Serialize;

use crate::project::lock_graph::{Edge, LockedPackage};
use crate::project::markers::{evaluate, MarkerEnv, Truth};
use crate::project::Project;

/// The index every unit installs from: other indexes may need credentials a unit does not get.
pub const PYPI: &str = "https://pypi.org/simple";

/// Third-party packages, each installed on its own into an empty venv.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct PackageUnits {
    /// `uv venv --python`'s request: the version the markers were evaluated for.
    pub python: String,
    pub index_url: String,
    /// Sorted by name.
    pub packages: Vec<UnitPackage>,
}

/// One locked package: what decides its files.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitPackage {
    pub name: String,
    pub version: String,
    /// `sha256:...` of each of its files in the lock; uv installs the one that fits.
    pub hashes: Vec<String>,
    /// Its largest download, in bytes.
    pub size: u64,
}

impl UnitPackage {
    /// The requirements-file line that installs exactly this package.
    pub fn requirement(&self) -> String {
        let mut line = format!("{}=={}", self.name, self.version);
        for hash in &self.hashes {
            line.push_str(&format!(" --hash={hash}"));
        }
        line
    }
}

/// What `uv sync` is asked to install: the package (`None`: the workspace root), its extras and
/// the dependency groups.
pub struct Selection<'a> {
    pub package: Option<&'a str>,
    pub all_extras: bool,
    pub extras: &'a [String],
    pub groups: Vec<String>,
}

/// `[tool.uv]` settings that change how a package is built or installed: a unit, which sees no
/// project files, would install it otherwise.
/// (`sources` is not one: the lock records where each package comes from, and the walk reads it.)
const INSTALL_SETTINGS: [&str; 15] = [
    // What the walk would select otherwise.
    "default-groups",
    "conflicts",
    "no-binary",
    "no-binary-package",
    "no-build",
    "no-build-package",
    "config-settings",
    "config-settings-package",
    "no-build-isolation",
    "no-build-isolation-package",
    "extra-build-dependencies",
    "extra-build-variables",
    "dependency-metadata",
    "index",
    "index-url",
];

/// The packages of the venv, when every one of them can be installed as a unit; else why
/// phase 1 is one sync.
pub fn package_units(
    project: &Project,
    pyproject_text: Option<&str>,
    env: &MarkerEnv,
    selection: &Selection<'_>,
) -> Result<PackageUnits, String> {
    let lock = &project.lock;
    // A git source may need the client's SSH agent, which units do not get; another index,
    // credentials.
    if lock.git_sources || lock.url_sources {
        return Err("uv.lock has git or URL sources".into());
    }
    if project.has_uv_toml {
        return Err("uv.toml may change how packages install".into());
    }
    if !project.pyproject.index_names.is_empty() {
        return Err("[[tool.uv.index]]: packages may need an index's credentials".into());
    }
    if let Some(key) = install_setting(pyproject_text.unwrap_or_default()) {
        return Err(format!(
            "[tool.uv] {key} changes what or how packages install"
        ));
    }
    let packages = &lock.packages;
    let picked = walk(packages, selection, env)?;
    let mut units: Vec<UnitPackage> = picked
        .into_iter()
        .map(|index| &packages[index])
        .map(|p| UnitPackage {
            name: p.name.clone(),
            version: p.version.clone(),
            hashes: p.hashes.clone(),
            size: p.size,
        })
        .collect();
    units.sort_by(|a, b| a.name.cmp(&b.name));
    let (major, minor, patch) = env.python;
    Ok(PackageUnits {
        python: match patch {
            Some(patch) => format!("{major}.{minor}.{patch}"),
            None => format!("{major}.{minor}"),
        },
        index_url: PYPI.into(),
        packages: units,
    })
}

/// The first [`INSTALL_SETTINGS`] key `[tool.uv]` sets.
fn install_setting(pyproject: &str) -> Option<&'static str> {
    let doc = toml::from_str::<toml::Table>(pyproject).ok()?;
    let uv = doc.get("tool")?.get("uv")?.as_table()?;
    INSTALL_SETTINGS
        .iter()
        .copied()
        .find(|key| uv.contains_key(*key))
}

fn normalized(name: &str) -> String {
    name.to_ascii_lowercase().replace(['_', '.'], "-")
}

/// The lock's packages by normalized name: indexes into `packages`.
fn by_name(packages: &[LockedPackage]) -> BTreeMap<String, Vec<usize>> {
    let mut names: BTreeMap<String, Vec<usize>> = BTreeMap::new();
    for (index, package) in packages.iter().enumerate() {
        names
            .entry(normalized(&package.name))
            .or_default()
            .push(index);
    }
    names
}

/// The package an edge names: the only one of its name, or the one of its version.
fn target_of(
    names: &BTreeMap<String, Vec<usize>>,
    packages: &[LockedPackage],
    edge: &Edge,
) -> Option<usize> {
    let candidates = names.get(&normalized(&edge.name))?;
    match (candidates.as_slice(), &edge.version) {
        ([only], _) => Some(*only),
        (_, Some(version)) => candidates
            .iter()
            .copied()
            .find(|&i| &packages[i].version == version),
        (_, None) => None,
    }
}

/// A package of the workspace (the project, a member, a path dependency): `uv sync` builds it
/// from the build context, so it is no unit, but its dependencies are.
fn is_local(package: &LockedPackage) -> bool {
    package.local_path.is_some()
}

/// Indexes of the registry packages reachable from the selection, each edge's marker holding;
/// why not, when an edge cannot be decided or a reachable package cannot be a unit.
fn walk(
    packages: &[LockedPackage],
    selection: &Selection<'_>,
    env: &MarkerEnv,
) -> Result<Vec<usize>, String> {
    let names = by_name(packages);
    let root = match selection.package {
        Some(name) => {
            let edge = Edge {
                name: name.into(),
                ..Edge::default()
            };
            target_of(&names, packages, &edge)
                .ok_or_else(|| format!("uv.lock holds no one package {name}"))?
        }
        // A virtual workspace root has no package: `uv sync` there is not this walk.
        None => packages
            .iter()
            .position(|p| p.local_path.as_deref() == Some("."))
            .ok_or("uv.lock has no root project (a virtual workspace root)")?,
    };
    let mut todo = root_edges(&packages[root], selection);
    let mut seen: BTreeSet<(usize, Vec<String>)> = BTreeSet::new();
    let mut units: BTreeSet<usize> = BTreeSet::new();
    while let Some((from, edge)) = todo.pop() {
        match edge.marker.as_deref().map(|m| (m, evaluate(m, env))) {
            None | Some((_, Truth::True)) => {}
            Some((_, Truth::False)) => continue,
            Some((marker, Truth::Unknown)) => {
                return Err(format!(
                    "the marker `{marker}` of {from}'s dependency on {} cannot be decided before the build",
                    edge.name
                ))
            }
        }
        let target = target_of(&names, packages, edge).ok_or_else(|| {
            format!(
                "{from}'s dependency on {} names none of the versions uv.lock holds",
                edge.name
            )
        })?;
        if !seen.insert((target, edge.extras.clone())) {
            continue;
        }
        let package = &packages[target];
        if !is_local(package) {
            // Another index, or nothing to check the download against.
            match &package.registry {
                Some(url) if url == PYPI && !package.hashes.is_empty() => {}
                Some(url) if url != PYPI => {
                    return Err(format!("{} comes from {url}, not PyPI", package.name))
                }
                _ => return Err(format!("uv.lock records no file hash of {}", package.name)),
            }
            units.insert(target);
        }
        let name = package.name.as_str();
        todo.extend(package.dependencies.iter().map(|e| (name, e)));
        for extra in &edge.extras {
            let edges = package.optional.get(extra).into_iter().flatten();
            todo.extend(edges.map(|e| (name, e)));
        }
    }
    Ok(units.into_iter().collect())
}

/// The root's edges `uv sync` follows: its dependencies, its selected extras' and groups'.
fn root_edges<'a>(root: &'a LockedPackage, selection: &Selection<'_>) -> Vec<(&'a str, &'a Edge)> {
    let mut edges: Vec<&Edge> = root.dependencies.iter().collect();
    let extras: Vec<&String> = if selection.all_extras {
        root.optional.keys().collect()
    } else {
        selection.extras.iter().collect()
    };
    for extra in extras {
        edges.extend(root.optional.get(extra).into_iter().flatten());
    }
    for group in &selection.groups {
        edges.extend(root.groups.get(group).into_iter().flatten());
    }
    edges.into_iter().map(|e| (root.name.as_str(), e)).collect()
}

/// The units of resolved settings: for the venv's Python (as far as the spec and project tell)
/// on the build's platform, of what the dependency phase's `uv sync` selects.
pub fn of_settings(
    settings: &super::Settings,
    spec: &crate::spec::Spec,
    project: &Project,
    files: &crate::project::ContextFiles,
) -> Result<PackageUnits, String> {
    let env = MarkerEnv {
        python: super::python::venv_python(spec, project).ok_or(
            "the venv's Python is not known before the build (a [build] builder image, and no \
             .python-version)",
        )?,
        machine: machine_of(&settings.platform.architecture).map(str::to_string),
    };
    let sync = &settings.sync;
    let mut groups = sync.groups.clone();
    if sync.dev {
        groups.push("dev".into());
    }
    let selection = Selection {
        package: sync.package.as_deref(),
        all_extras: sync.all_extras,
        extras: &sync.extras,
        groups,
    };
    package_units(project, files.pyproject.as_deref(), &env, &selection)
}

/// `platform_machine` on Linux for an OCI architecture.
fn machine_of(architecture: &str) -> Option<&'static str> {
    Some(match architecture {
        "amd64" => "x86_64",
        "arm64" => "aarch64",
        "386" => "i686",
        "ppc64le" => "ppc64le",
        "s390x" => "s390x",
        "riscv64" => "riscv64",
        _ => return None,
    })
}
