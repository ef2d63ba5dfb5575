//! The parts of `pyproject.toml` the build uses.

use std::collections::BTreeMap;

use crate::spec::SpecError;

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct PyProject {
    pub name: Option<String>,
    pub version: Option<String>,
    pub description: Option<String>,
    pub requires_python: Option<String>,
    /// `[project.scripts]`, name to entry point.
    pub scripts: BTreeMap<String, String>,
    /// `[tool.uv.workspace] members`, when this is a workspace root.
    pub workspace_members: Option<Vec<String>>,
    /// Names of `[[tool.uv.index]]` entries.
    pub index_names: Vec<String>,
    /// `[project.urls]`.
    pub urls: std::collections::BTreeMap<String, String>,
    /// `license` as an SPDX expression (PEP 639), or the old `{ text = ... }` form's text.
    pub license: Option<String>,
    /// The `readme` file (`readme = "README.md"` or `{ file = ... }`), which building the
    /// package reads.
    pub readme: Option<String>,
    /// `[build-system]`, when the file has one.
    pub build_system: Option<BuildSystem>,
    /// The one module uv's build backend would package, relative to the package's directory
    /// (`src/hello_uv`), from `[tool.uv.build-backend]` and the name; `None` for layouts
    /// [`super::module_dir`] does not cover, or without a name.
    pub uv_build_module: Option<String>,
    /// How a package built by a third-party backend can be installed for the runtime image
    /// (see [`super::editable_layout`]); `None` for `uv_build` and without a build system.
    pub editable_layout: Option<super::EditableLayout>,
    /// Names of `[project.optional-dependencies]` extras, normalized (PEP 685).
    pub extras: Vec<String>,
    /// Names of `[dependency-groups]` (and `dev` for `[tool.uv] dev-dependencies`), normalized.
    pub groups: Vec<String>,
}

/// The distribution name a PEP 508 requirement starts with, normalized.
pub fn requirement_name(requirement: &str) -> String {
    let requirement = requirement.trim_start();
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    normalize_name(&requirement[..end])
}

/// PEP 503/685 normalization of a package, extra or group name: lower case, runs of `-`, `_`
/// and `.` as one `-`.
pub fn normalize_name(name: &str) -> String {
    let mut out = String::new();
    for c in name.trim().chars() {
        if matches!(c, '-' | '_' | '.') {
            if !out.ends_with('-') {
                out.push('-');
            }
        } else {
            out.push(c.to_ascii_lowercase());
        }
    }
    out
}

/// `[build-system]`: what building the package needs.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct BuildSystem {
    pub requires: Vec<String>,
    pub build_backend: Option<String>,
}

impl PyProject {
    /// Whether uv's own build backend builds it (`build-backend = "uv_build"`).
    pub fn built_by_uv_build(&self) -> bool {
        self.build_system
            .as_ref()
            .is_some_and(|b| b.build_backend.as_deref() == Some("uv_build"))
    }

    /// Reads the parts of the file the build uses; invalid TOML is an error on its line.
    pub fn parse(text: &str) -> Result<PyProject, SpecError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| SpecError {
            file: super::PYPROJECT.into(),
            line: crate::spec::line_of(text, e.span().map(|s| s.start).unwrap_or(0)),
            message: format!("invalid TOML: {}", e.message().trim().replace('\n', " ")),
            fix: "fix pyproject.toml so that `uv lock` accepts it".into(),
        })?;
        let project = doc.get("project").and_then(|p| p.as_table());
        let string = |key: &str| {
            project
                .and_then(|p| p.get(key))
                .and_then(|v| v.as_str())
                .map(str::to_string)
        };
        let uv = doc
            .get("tool")
            .and_then(|t| t.get("uv"))
            .and_then(|u| u.as_table());
        let build_system = build_system(&doc);
        let editable_layout = match (&build_system, string("name")) {
            (
                Some(BuildSystem {
                    build_backend: Some(backend),
                    ..
                }),
                Some(name),
            ) if backend != "uv_build" => Some(super::editable_layout(&name, backend, &doc)),
            _ => None,
        };
        let uv_build_module = string("name").and_then(|name| {
            super::build_backend::module_dir(
                &name,
                uv.and_then(|u| u.get("build-backend"))
                    .and_then(|b| b.as_table()),
            )
        });
        Ok(PyProject {
            readme: string_or_field(project, "readme", "file"),
            extras: table_keys(project.and_then(|p| p.get("optional-dependencies"))),
            groups: groups(&doc, uv),
            build_system,
            uv_build_module,
            editable_layout,
            urls: string_table(project, "urls"),
            license: string_or_field(project, "license", "text"),
            name: string("name"),
            version: string("version"),
            description: string("description"),
            requires_python: string("requires-python"),
            scripts: string_table(project, "scripts"),
            workspace_members: workspace_members(uv),
            index_names: index_names(uv),
        })
    }
}

/// `[project] key`'s table of strings (`[project.scripts]`, `[project.urls]`), without the
/// entries whose value is not a string.
fn string_table(project: Option<&toml::Table>, key: &str) -> BTreeMap<String, String> {
    project
        .and_then(|p| p.get(key))
        .and_then(|s| s.as_table())
        .map(|t| {
            t.iter()
                .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                .collect()
        })
        .unwrap_or_default()
}

/// `[project] key` when it is a string, or its table's `field` (`readme = { file = ... }`,
/// `license = { text = ... }`).
fn string_or_field(project: Option<&toml::Table>, key: &str, field: &str) -> Option<String> {
    project.and_then(|p| p.get(key)).and_then(|v| {
        v.as_str()
            .or_else(|| v.get(field).and_then(|f| f.as_str()))
            .map(str::to_string)
    })
}

/// The strings of an array, without its other values; none if it is not an array.
fn strings(array: Option<&toml::Value>) -> Vec<String> {
    array
        .and_then(|a| a.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `[tool.uv.workspace] members`: empty in a workspace without members, `None` outside one.
fn workspace_members(uv: Option<&toml::Table>) -> Option<Vec<String>> {
    uv.and_then(|u| u.get("workspace"))
        .and_then(|w| w.as_table())
        .map(|w| strings(w.get("members")))
}

/// The names of `[[tool.uv.index]]` entries that have one.
fn index_names(uv: Option<&toml::Table>) -> Vec<String> {
    uv.and_then(|u| u.get("index"))
        .and_then(|i| i.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|i| i.get("name")?.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// `[build-system]`'s requirements and backend, when the file has the table.
fn build_system(doc: &toml::Table) -> Option<BuildSystem> {
    doc.get("build-system")
        .and_then(|b| b.as_table())
        .map(|b| BuildSystem {
            requires: strings(b.get("requires")),
            build_backend: b
                .get("build-backend")
                .and_then(|v| v.as_str())
                .map(str::to_string),
        })
}

/// A table's keys, normalized; none if it is not a table.
fn table_keys(table: Option<&toml::Value>) -> Vec<String> {
    table
        .and_then(|t| t.as_table())
        .map(|t| t.keys().map(|k| normalize_name(k)).collect())
        .unwrap_or_default()
}

/// The `[dependency-groups]`, and `dev` for `[tool.uv] dev-dependencies` unless a group has
/// that name.
fn groups(doc: &toml::Table, uv: Option<&toml::Table>) -> Vec<String> {
    let mut groups = table_keys(doc.get("dependency-groups"));
    if uv.and_then(|u| u.get("dev-dependencies")).is_some() && !groups.iter().any(|g| g == "dev") {
        groups.push("dev".into());
    }
    groups
}
