//! Dependency-only copies of `pyproject.toml` and `uv.lock` for the dependency phase.
//!
//! Phase 1 is keyed on the bytes written into it, so those bytes keep only what decides which
//! third-party packages get installed: editing `[tool.ruff]`, the description, or bumping the
//! project's own version leaves them, and so phase 1, unchanged. Phase 2 still syncs with the
//! real files and the spec's lock mode, so a stale lock is still caught there.

use toml::{Table, Value};

/// The version local packages get in the normalized files.
const PLACEHOLDER_VERSION: &str = "0.0.0";

/// `[project]` keys that decide what is installed.
const PROJECT_KEYS: &[&str] = &[
    "name",
    "version",
    "requires-python",
    "dependencies",
    "optional-dependencies",
    "dynamic",
];

/// `pyproject.toml` reduced to what uv needs to install the dependencies. `None` if the text is
/// not TOML (the real file is then reported by the settings step).
pub fn dependency_pyproject(text: &str) -> Option<String> {
    let doc: Table = toml::from_str(text).ok()?;
    let mut out = Table::new();
    if let Some(Value::Table(project)) = doc.get("project") {
        let mut kept = Table::new();
        for key in PROJECT_KEYS {
            if let Some(value) = project.get(*key) {
                kept.insert(key.to_string(), value.clone());
            }
        }
        if kept.contains_key("version") {
            kept.insert("version".into(), Value::String(PLACEHOLDER_VERSION.into()));
        }
        out.insert("project".into(), Value::Table(kept));
    }
    for key in ["dependency-groups", "build-system"] {
        if let Some(value) = doc.get(key) {
            out.insert(key.into(), value.clone());
        }
    }
    if let Some(Value::Table(uv)) = doc.get("tool").and_then(|t| t.get("uv")) {
        // How uv's backend builds the project: phase 1 builds no local package.
        let mut uv = uv.clone();
        uv.remove("build-backend");
        let mut tool = Table::new();
        tool.insert("uv".into(), Value::Table(uv));
        out.insert("tool".into(), Value::Table(tool));
    }
    toml::to_string(&out).ok()
}

/// A TOML file (`uv.toml`) as its values alone, without comments or layout: phase 1 is keyed on
/// what it says, not on how. `None` if the text is not TOML.
pub fn canonical_toml(text: &str) -> Option<String> {
    let doc: Table = toml::from_str(text).ok()?;
    toml::to_string(&doc).ok()
}

/// `uv.lock` with the versions of the workspace's own packages replaced by a placeholder.
pub fn dependency_lock(text: &str) -> Option<String> {
    let mut doc: Table = toml::from_str(text).ok()?;
    if let Some(Value::Array(packages)) = doc.get_mut("package") {
        for package in packages.iter_mut() {
            let Some(table) = package.as_table_mut() else {
                continue;
            };
            let local = table
                .get("source")
                .and_then(Value::as_table)
                .is_some_and(|s| {
                    ["editable", "virtual", "directory"]
                        .iter()
                        .any(|k| s.contains_key(*k))
                });
            if local && table.contains_key("version") {
                table.insert("version".into(), Value::String(PLACEHOLDER_VERSION.into()));
            }
        }
    }
    toml::to_string(&doc).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    const PYPROJECT: &str = r#"[project]
name = "hello"
version = "0.1.0"
description = "Says hello"
readme = "README.md"
requires-python = ">=3.11"
dependencies = ["idna>=3.7"]

[project.scripts]
hello = "hello:main"

[dependency-groups]
dev = ["pytest"]

[build-system]
requires = ["uv_build>=0.9,<0.14"]
build-backend = "uv_build"

[tool.ruff]
line-length = 100

[tool.uv]
package = true
"#;

    #[test]
    fn irrelevant_edits_leave_the_dependency_pyproject_unchanged() {
        let base = dependency_pyproject(PYPROJECT).expect("TOML");
        for edited in [
            PYPROJECT.replace("line-length = 100", "line-length = 88"),
            PYPROJECT.replace("Says hello", "Says hello loudly"),
            PYPROJECT.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
            PYPROJECT.replace("hello = \"hello:main\"", "hi = \"hello:main\""),
            // How the project is built: phase 1 builds nothing of its own.
            PYPROJECT.replace(
                "package = true",
                "package = true\n\n[tool.uv.build-backend]\nmodule-root = \"\"",
            ),
        ] {
            assert_eq!(
                dependency_pyproject(&edited).expect("TOML"),
                base,
                "{edited}"
            );
        }
    }

    #[test]
    fn dependency_edits_change_it() {
        let base = dependency_pyproject(PYPROJECT).expect("TOML");
        for edited in [
            PYPROJECT.replace("idna>=3.7", "idna>=3.8"),
            PYPROJECT.replace("dev = [\"pytest\"]", "dev = [\"pytest\", \"ruff\"]"),
            PYPROJECT.replace(">=3.11", ">=3.12"),
            PYPROJECT.replace("package = true", "package = false"),
        ] {
            assert_ne!(
                dependency_pyproject(&edited).expect("TOML"),
                base,
                "{edited}"
            );
        }
    }

    #[test]
    fn uv_toml_is_keyed_on_its_values_not_its_comments() {
        let uv_toml = "index-strategy = \"unsafe-best-match\"\n";
        let commented = format!("# our mirror settings\n{uv_toml}\n# end\n");
        assert_eq!(canonical_toml(uv_toml), canonical_toml(&commented));
        assert_ne!(
            canonical_toml(uv_toml),
            canonical_toml("index-strategy = \"first-index\"\n")
        );
    }

    #[test]
    fn lock_versions_of_local_packages_are_replaced() {
        let lock = r#"version = 1
revision = 3

[[package]]
name = "hello"
version = "0.1.0"
source = { editable = "." }
dependencies = [{ name = "idna" }]

[[package]]
name = "idna"
version = "3.20"
source = { registry = "https://pypi.org/simple" }
"#;
        let bumped = lock.replace("version = \"0.1.0\"", "version = \"0.2.0\"");
        assert_eq!(dependency_lock(lock), dependency_lock(&bumped));
        let upgraded = lock.replace("3.20", "3.21");
        assert_ne!(dependency_lock(lock), dependency_lock(&upgraded));
        let normalized = dependency_lock(lock).expect("TOML");
        assert!(normalized.contains("version = \"3.20\""));
        assert!(!normalized.contains("0.1.0"));
    }
}
