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
    /// `[build-system]`, when the file has one.
    pub build_system: Option<BuildSystem>,
    /// The one module uv's build backend would package, relative to the package's directory
    /// (`src/hello_uv`), from `[tool.uv.build-backend]` and the name; `None` for layouts
    /// [`super::module_dir`] does not cover, or without a name.
    pub uv_build_module: Option<String>,
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
        let scripts = project
            .and_then(|p| p.get("scripts"))
            .and_then(|s| s.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let uv = doc
            .get("tool")
            .and_then(|t| t.get("uv"))
            .and_then(|u| u.as_table());
        let workspace_members = uv
            .and_then(|u| u.get("workspace"))
            .and_then(|w| w.as_table())
            .map(|w| {
                w.get("members")
                    .and_then(|m| m.as_array())
                    .map(|a| {
                        a.iter()
                            .filter_map(|v| v.as_str().map(str::to_string))
                            .collect()
                    })
                    .unwrap_or_default()
            });
        let index_names = uv
            .and_then(|u| u.get("index"))
            .and_then(|i| i.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|i| i.get("name")?.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let urls = project
            .and_then(|p| p.get("urls"))
            .and_then(|u| u.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(k, v)| Some((k.clone(), v.as_str()?.to_string())))
                    .collect()
            })
            .unwrap_or_default();
        let license = project.and_then(|p| p.get("license")).and_then(|l| {
            l.as_str()
                .or_else(|| l.get("text").and_then(|t| t.as_str()))
                .map(str::to_string)
        });
        let build_system =
            doc.get("build-system")
                .and_then(|b| b.as_table())
                .map(|b| BuildSystem {
                    requires: b
                        .get("requires")
                        .and_then(|r| r.as_array())
                        .map(|a| {
                            a.iter()
                                .filter_map(|v| v.as_str().map(str::to_string))
                                .collect()
                        })
                        .unwrap_or_default(),
                    build_backend: b
                        .get("build-backend")
                        .and_then(|v| v.as_str())
                        .map(str::to_string),
                });
        let uv_build_module = string("name").and_then(|name| {
            super::build_backend::module_dir(
                &name,
                uv.and_then(|u| u.get("build-backend"))
                    .and_then(|b| b.as_table()),
            )
        });
        Ok(PyProject {
            build_system,
            uv_build_module,
            urls,
            license,
            name: string("name"),
            version: string("version"),
            description: string("description"),
            requires_python: string("requires-python"),
            scripts,
            workspace_members,
            index_names,
        })
    }
}
