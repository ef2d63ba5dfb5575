//! Whether a package built by a third-party backend (hatchling, setuptools, pdm-backend,
//! flit-core, poetry-core) can be installed editable from stand-ins, with its module copied to
//! the image as it is, as `uv_build` packages are (see [`super::module_dir`]): each of these
//! backends makes its editable install a `.pth` naming the directory that holds the module, or
//! an import finder mapping the module's name to its directory, whatever the module holds. That
//! holds for one module directory with an `__init__.py`, found as the configuration says or as
//! the backend's discovery would (`src/<name>` or `<name>`); not where a build hook, an
//! extension module, an import hook or a remapped file set makes the installed files differ
//! from the module's. Those are installed as wheels, and [`EditableLayout::Wheel`] says why.

use serde::Serialize;

/// How a package built by a third-party backend is installed for the runtime image.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum EditableLayout {
    /// The configuration names this module directory (relative to the package's).
    Module(String),
    /// The backend finds the module itself: the first of these directories the build context
    /// has with an `__init__.py`.
    Discovered(Vec<String>),
    /// Installed as a wheel, for this reason.
    Wheel(String),
}

impl EditableLayout {
    /// The module directories whose `__init__.py` the frontend must find in the context.
    pub fn candidates(&self) -> Vec<String> {
        match self {
            EditableLayout::Module(dir) => vec![dir.clone()],
            EditableLayout::Discovered(dirs) => dirs.clone(),
            EditableLayout::Wheel(_) => Vec::new(),
        }
    }
}

/// The backends this covers, by their `build-backend` value, and the name users know.
const BACKENDS: &[(&str, &str)] = &[
    ("hatchling.build", "hatchling"),
    ("setuptools.build_meta", "setuptools"),
    ("pdm.backend", "pdm-backend"),
    ("flit_core.buildapi", "flit-core"),
    ("poetry.core.masonry.api", "poetry-core"),
];

/// The layout of a package whose `pyproject.toml` is `doc`, built by `backend` (not `uv_build`,
/// which [`super::module_dir`] covers).
pub fn editable_layout(name: &str, backend: &str, doc: &toml::Table) -> EditableLayout {
    let Some((_, known)) = BACKENDS.iter().find(|(b, _)| *b == backend) else {
        return EditableLayout::Wheel(format!(
            "its build backend {backend} is not one whose editable install uv-frontend can make from stand-ins"
        ));
    };
    let package = Package {
        doc,
        known,
        import: name.to_ascii_lowercase().replace(['-', '.'], "_"),
    };
    match *known {
        "hatchling" => hatchling(&package),
        "setuptools" => setuptools(&package),
        "pdm-backend" => pdm_backend(&package),
        "flit-core" => flit_core(&package),
        _ => poetry_core(&package),
    }
}

/// A package built by one of [`BACKENDS`]: its `pyproject.toml`, the backend's known name and
/// the package's import name (`My-App` is `my_app`).
struct Package<'a> {
    doc: &'a toml::Table,
    known: &'a str,
    import: String,
}

impl<'a> Package<'a> {
    /// The value at `[tool.<path>]` of `pyproject.toml`, when it has one.
    fn tool(&self, path: &[&str]) -> Option<&'a toml::Value> {
        path.iter()
            .try_fold(self.doc.get("tool")?, |value, key| value.get(*key))
    }

    /// Installed as a wheel, for `why` (said after the backend's name).
    fn wheel(&self, why: &str) -> EditableLayout {
        EditableLayout::Wheel(format!("{}: {why}", self.known))
    }

    /// The module as the backend discovers it: `<root>/<import>`, or `src/<import>` or
    /// `<import>` without a root.
    fn discovered(&self, root: Option<&str>) -> EditableLayout {
        let import = &self.import;
        match root {
            Some(root) => EditableLayout::Discovered(vec![format!("{root}/{import}")]),
            None => EditableLayout::Discovered(vec![format!("src/{import}"), import.clone()]),
        }
    }
}

/// hatchling's layout: a wheel when `[tool.hatch.build]` (or its wheel target) remaps files,
/// else its one `packages` directory, or the discovered module.
fn hatchling(package: &Package) -> EditableLayout {
    let build = package.tool(&["hatch", "build"]);
    let wheel_target = package.tool(&["hatch", "build", "targets", "wheel"]);
    let remapping = [
        "hooks",
        "dev-mode-dirs",
        "dev-mode-exact",
        "sources",
        "only-include",
        "force-include",
    ];
    for table in [build, wheel_target].into_iter().flatten() {
        if let Some(key) = remapping.iter().find(|k| table.get(**k).is_some()) {
            return package.wheel(&format!(
                "[tool.hatch.build] {key} changes what is installed"
            ));
        }
    }
    let packages = wheel_target
        .and_then(|w| w.get("packages"))
        .or_else(|| build.and_then(|b| b.get("packages")));
    match packages.and_then(|p| p.as_array()).map(Vec::as_slice) {
        None => package.discovered(None),
        Some([one]) => one.as_str().and_then(relative_dir).map_or_else(
            || package.wheel("packages names no directory"),
            EditableLayout::Module,
        ),
        Some(_) => package.wheel("packages names several directories"),
    }
}

/// setuptools' layout: a wheel for compiled extensions or a version file setuptools-scm
/// writes, else the one top-level package `packages` lists, or the module `packages.find` (or
/// `package-dir`) leads to.
fn setuptools(package: &Package) -> EditableLayout {
    let setuptools = package.tool(&["setuptools"]);
    if setuptools.and_then(|s| s.get("ext-modules")).is_some() {
        return package.wheel("ext-modules are compiled");
    }
    if package
        .tool(&["setuptools_scm"])
        .is_some_and(|s| s.get("version_file").is_some() || s.get("write_to").is_some())
    {
        return package.wheel("setuptools-scm writes a version file into the module");
    }
    let root = setuptools
        .and_then(|s| s.get("package-dir"))
        .and_then(|d| d.get(""))
        .and_then(|d| d.as_str())
        .and_then(relative_dir);
    match setuptools.and_then(|s| s.get("packages")) {
        Some(toml::Value::Array(packages)) => {
            let top: Vec<&str> = packages
                .iter()
                .filter_map(|p| p.as_str())
                .filter(|p| !p.contains('.'))
                .collect();
            match top.as_slice() {
                [one] => EditableLayout::Module(match &root {
                    Some(root) => format!("{root}/{one}"),
                    None => one.to_string(),
                }),
                [] => package.wheel("packages names no top-level package"),
                _ => package.wheel("packages names several top-level packages"),
            }
        }
        Some(toml::Value::Table(packages)) => {
            let Some(find) = packages.get("find") else {
                return package.wheel("packages is a table without find");
            };
            let wheres: Vec<&str> = find
                .get("where")
                .and_then(|w| w.as_array())
                .map(|w| w.iter().filter_map(|v| v.as_str()).collect())
                .unwrap_or_default();
            match wheres.as_slice() {
                [] => package.discovered(root.as_deref()),
                [one] => package.discovered(relative_dir(one).as_deref()),
                _ => package.wheel("packages.find looks in several directories"),
            }
        }
        Some(_) => package.wheel("packages is neither a list nor packages.find"),
        None => package.discovered(root.as_deref()),
    }
}

/// pdm-backend's layout: a wheel for its import hook or keys that change the installed files,
/// else the module discovered under `package-dir`.
fn pdm_backend(package: &Package) -> EditableLayout {
    let build = package.tool(&["pdm", "build"]);
    if build
        .and_then(|b| b.get("editable-backend"))
        .and_then(|e| e.as_str())
        == Some("editables")
    {
        return package.wheel("editable-backend = \"editables\" is an import hook");
    }
    for key in [
        "includes",
        "source-includes",
        "custom-hook",
        "run-setuptools",
    ] {
        if build.and_then(|b| b.get(key)).is_some() {
            return package.wheel(&format!("[tool.pdm.build] {key} changes what is installed"));
        }
    }
    let root = build
        .and_then(|b| b.get("package-dir"))
        .and_then(|d| d.as_str())
        .and_then(relative_dir);
    package.discovered(root.as_deref())
}

/// flit-core's layout: the module `[tool.flit.module] name` (or the import name) discovered.
fn flit_core(package: &Package) -> EditableLayout {
    let module = package
        .tool(&["flit", "module", "name"])
        .and_then(|n| n.as_str())
        .unwrap_or(&package.import)
        .to_string();
    EditableLayout::Discovered(vec![format!("src/{module}"), module])
}

/// poetry-core's layout: a wheel for a build script, else its one `packages` directory (no
/// glob), or the discovered module.
fn poetry_core(package: &Package) -> EditableLayout {
    if package.tool(&["poetry", "build"]).is_some() {
        return package.wheel("[tool.poetry.build] runs a build script");
    }
    let packages = package
        .tool(&["poetry", "packages"])
        .and_then(|p| p.as_array());
    match packages.map(Vec::as_slice) {
        None => package.discovered(None),
        Some([one]) => {
            let include = one.get("include").and_then(|i| i.as_str());
            let from = one.get("from").and_then(|f| f.as_str());
            let dir = match (include, from) {
                (Some(include), Some(from)) => format!("{from}/{include}"),
                (Some(include), None) => include.to_string(),
                _ => return package.wheel("packages names no directory"),
            };
            relative_dir(&dir).filter(|d| !d.contains('*')).map_or_else(
                || package.wheel("packages names no directory"),
                EditableLayout::Module,
            )
        }
        Some(_) => package.wheel("packages names several directories"),
    }
}

/// A directory path inside the package's (`src/pkg`, `./pkg/`), normalized; `None` outside it.
fn relative_dir(path: &str) -> Option<String> {
    let dir = path.trim_start_matches("./").trim_end_matches('/');
    let inside = !dir.is_empty()
        && !dir.starts_with('/')
        && !dir.contains('\\')
        && !dir
            .split('/')
            .any(|part| part == ".." || part == "." || part.is_empty());
    inside.then(|| dir.to_string())
}

#[cfg(test)]
mod tests {
    use super::{editable_layout, EditableLayout};

    fn layout(backend: &str, tool: &str) -> EditableLayout {
        let doc: toml::Table = toml::from_str(tool).expect("TOML");
        editable_layout("My-App", backend, &doc)
    }

    #[test]
    fn configured_modules_are_used_and_unconfigured_ones_discovered() {
        assert_eq!(
            layout(
                "hatchling.build",
                "[tool.hatch.build.targets.wheel]\npackages = [\"src/notes_api\"]"
            ),
            EditableLayout::Module("src/notes_api".into())
        );
        assert_eq!(
            layout("hatchling.build", ""),
            EditableLayout::Discovered(vec!["src/my_app".into(), "my_app".into()])
        );
        assert_eq!(
            layout(
                "poetry.core.masonry.api",
                "[tool.poetry]\npackages = [{ include = \"app\", from = \"src\" }]"
            ),
            EditableLayout::Module("src/app".into())
        );
        assert_eq!(
            layout(
                "setuptools.build_meta",
                "[tool.setuptools]\npackage-dir = { \"\" = \"lib\" }"
            ),
            EditableLayout::Discovered(vec!["lib/my_app".into()])
        );
        assert_eq!(
            layout(
                "setuptools.build_meta",
                "[tool.setuptools.packages.find]\nwhere = [\"src\"]"
            ),
            EditableLayout::Discovered(vec!["src/my_app".into()])
        );
        assert_eq!(
            layout("flit_core.buildapi", "[tool.flit.module]\nname = \"myapp\""),
            EditableLayout::Discovered(vec!["src/myapp".into(), "myapp".into()])
        );
        assert_eq!(
            layout("pdm.backend", "[tool.pdm.build]\npackage-dir = \"src\""),
            EditableLayout::Discovered(vec!["src/my_app".into()])
        );
    }

    #[test]
    fn hooks_extensions_import_hooks_and_other_backends_are_wheels() {
        for (backend, tool, why) in [
            (
                "hatchling.build",
                "[tool.hatch.build.hooks.vcs]\nversion-file = \"src/a/_v.py\"",
                "hatchling: [tool.hatch.build] hooks changes what is installed",
            ),
            (
                "hatchling.build",
                "[tool.hatch.build.targets.wheel]\npackages = [\"a\", \"b\"]",
                "hatchling: packages names several directories",
            ),
            (
                "setuptools.build_meta",
                "[tool.setuptools]\next-modules = [{ name = \"a\", sources = [\"a.c\"] }]",
                "setuptools: ext-modules are compiled",
            ),
            (
                "setuptools.build_meta",
                "[tool.setuptools]\npackages = [\"a.b\"]",
                "setuptools: packages names no top-level package",
            ),
            (
                "setuptools.build_meta",
                "[tool.setuptools]\npackages = \"a\"",
                "setuptools: packages is neither a list nor packages.find",
            ),
            (
                "setuptools.build_meta",
                "[tool.setuptools.packages]\nfound = {}",
                "setuptools: packages is a table without find",
            ),
            (
                "pdm.backend",
                "[tool.pdm.build]\neditable-backend = \"editables\"",
                "pdm-backend: editable-backend = \"editables\" is an import hook",
            ),
            (
                "maturin",
                "",
                "its build backend maturin is not one whose editable install uv-frontend can make from stand-ins",
            ),
        ] {
            assert_eq!(layout(backend, tool), EditableLayout::Wheel(why.into()));
        }
    }
}
