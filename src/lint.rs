//! `--call=check`: findings about a project and its `uv.build` that do not stop a build but are
//! likely mistakes. A normal build sends the same findings as build warnings.

use serde::Serialize;

use crate::project::{self, ContextFiles};
use crate::settings::{Settings, Target};
use crate::spec::{line_of, Spec, SpecFile};

/// One finding: a rule, what it means, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// CamelCase, as BuildKit's Dockerfile rules are named.
    pub rule: &'static str,
    /// What the rule checks.
    pub description: &'static str,
    /// This finding, with its fix.
    pub detail: String,
    /// The file it is about (`uv.build`, `pyproject.toml`, `uv.lock`, `.dockerignore`), and a
    /// 1-based line in it when there is one.
    pub file: String,
    pub line: Option<usize>,
}

/// The uv settings every sync step gets from the frontend; an image or runtime value for them
/// is overridden in the build, or is meaningless in the runtime image.
const FRONTEND_UV_ENV: &[&str] = &[
    "UV_CACHE_DIR",
    "UV_COMPILE_BYTECODE",
    "UV_LINK_MODE",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON_DOWNLOADS",
];

/// Every finding for this build. `builder_env` is the builder image's `Env`.
pub fn lint(
    spec_file: &SpecFile,
    spec: &Spec,
    settings: &Settings,
    files: &ContextFiles,
    builder_env: &[String],
) -> Vec<Finding> {
    let mut found = Vec::new();
    let spec_line = |offset: usize| Some(line_of(&spec_file.text, offset));

    // .venv not ignored.
    let ignores_venv = files.dockerignore.as_deref().is_some_and(|d| {
        d.lines()
            .map(str::trim)
            .any(|l| matches!(l, ".venv" | ".venv/" | "**/.venv" | "**/.venv/" | "/.venv"))
    });
    if !ignores_venv {
        found.push(Finding {
            rule: "VenvNotIgnored",
            description: "A local .venv should be kept out of the build context",
            detail: "the build context's .dockerignore does not exclude .venv: uv-frontend never \
                     sends it, but other builds of this context would (add `.venv` to .dockerignore)"
                .into(),
            file: project::DOCKERIGNORE.into(),
            line: None,
        });
    }

    // Dev dependencies in the runtime image.
    if settings.target == Target::Runtime {
        if spec.sync.dev == Some(true) {
            found.push(Finding {
                rule: "DevDependenciesInRuntime",
                description: "The runtime image should not carry development dependencies",
                detail: "[sync] dev = true puts the dev group into the runtime image (use \
                         --target dev for an image with it, and remove the key)"
                    .into(),
                file: spec_file.name.clone(),
                line: key_line(spec_file, "sync", "dev"),
            });
        }
        for group in &spec.sync.group {
            if group.get_ref() == "dev" {
                found.push(Finding {
                    rule: "DevDependenciesInRuntime",
                    description: "The runtime image should not carry development dependencies",
                    detail:
                        "[sync] group lists \"dev\", which puts the dev group into the runtime \
                             image (use --target dev for an image with it)"
                            .into(),
                    file: spec_file.name.clone(),
                    line: spec_line(group.span().start),
                });
            }
        }
    }

    // PYTHONDONTWRITEBYTECODE beside compiled bytecode.
    if let Some(value) = spec.run.env.get("PYTHONDONTWRITEBYTECODE") {
        if settings.sync.compile_bytecode {
            found.push(Finding {
                rule: "BytecodeSettingsConflict",
                description:
                    "Compiled bytecode and PYTHONDONTWRITEBYTECODE work against each other",
                detail:
                    "[run] env sets PYTHONDONTWRITEBYTECODE while [sync] compile-bytecode is on: \
                         the image already holds the bytecode, and the variable only hides that \
                         nothing else can be cached at run time (remove it, or set \
                         compile-bytecode = false for a smaller image that compiles nothing)"
                        .into(),
                file: spec_file.name.clone(),
                line: spec_line(value.span().start),
            });
        }
    }

    // Conflicting UV_* environment.
    for (key, value) in &spec.run.env {
        if key.starts_with("UV_") {
            found.push(Finding {
                rule: "UvEnvInRuntime",
                description: "uv settings have no effect in the runtime image",
                detail: format!(
                    "[run] env sets {key}, but the runtime image has no uv; uv.build's tables set \
                     what the sync steps use (remove it)"
                ),
                file: spec_file.name.clone(),
                line: spec_line(value.span().start),
            });
        }
    }
    for entry in builder_env {
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        if FRONTEND_UV_ENV.contains(&key) {
            found.push(Finding {
                rule: "ConflictingUvEnv",
                description: "The builder image's uv settings are replaced by uv-frontend's",
                detail: format!(
                    "the builder image {} sets {key}={value}, which every sync step replaces with \
                     uv-frontend's own value (set it in uv.build instead, e.g. [cache] dir)",
                    settings.images.builder
                ),
                file: spec_file.name.clone(),
                line: spec
                    .build
                    .builder
                    .as_ref()
                    .and_then(|b| spec_line(b.span().start)),
            });
        }
    }

    // A lock that looks stale.
    if let (Some(pyproject), Some(lock)) = (&files.pyproject, &files.uv_lock) {
        if let Some(detail) = stale_lock(pyproject, lock) {
            found.push(Finding {
                rule: "StaleLock",
                description: "uv.lock should match pyproject.toml",
                detail: format!(
                    "{detail}: the project phase's `uv sync --locked` will fail (run `uv lock`)"
                ),
                file: project::UV_LOCK.into(),
                line: None,
            });
        }
    }
    found
}

/// The line of `key` under `[table]` in the spec, if it is written there.
fn key_line(spec_file: &SpecFile, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in spec_file.text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
        } else if current == table && line.split('=').next().is_some_and(|k| k.trim() == key) {
            return Some(i + 1);
        }
    }
    None
}

/// Why `lock` looks older than `pyproject`: a different `requires-python`, or dependencies of
/// the project that the lock's record of them lacks (or has in excess).
fn stale_lock(pyproject: &str, lock: &str) -> Option<String> {
    let pyproject: toml::Table = toml::from_str(pyproject).ok()?;
    let lock: toml::Table = toml::from_str(lock).ok()?;
    let project = pyproject.get("project")?.as_table()?;
    let name = normalize(project.get("name")?.as_str()?);
    let wanted_python = project.get("requires-python").and_then(|v| v.as_str());
    let locked_python = lock.get("requires-python").and_then(|v| v.as_str());
    if let (Some(wanted), Some(locked)) = (wanted_python, locked_python) {
        if squash(wanted) != squash(locked) {
            return Some(format!(
                "pyproject.toml requires Python {wanted}, uv.lock was made for {locked}"
            ));
        }
    }
    let package =
        lock.get("package")?.as_array()?.iter().find(|p| {
            p.get("name").and_then(|n| n.as_str()).map(normalize) == Some(name.clone())
        })?;
    let locked: std::collections::BTreeSet<String> = package
        .get("metadata")
        .and_then(|m| m.get("requires-dist"))
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("name").and_then(|n| n.as_str()).map(normalize))
        .collect();
    let declared: std::collections::BTreeSet<String> = project
        .get("dependencies")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.as_str().map(requirement_name))
        .collect();
    let missing: Vec<&String> = declared.difference(&locked).collect();
    let extra: Vec<&String> = locked.difference(&declared).collect();
    if missing.is_empty() && extra.is_empty() {
        return None;
    }
    let list = |v: &[&String]| v.iter().map(|s| s.as_str()).collect::<Vec<_>>().join(", ");
    Some(match (missing.is_empty(), extra.is_empty()) {
        (false, true) => format!(
            "pyproject.toml depends on {} which uv.lock does not record",
            list(&missing)
        ),
        (true, false) => format!(
            "uv.lock records dependencies on {} which pyproject.toml no longer has",
            list(&extra)
        ),
        _ => format!(
            "pyproject.toml depends on {}, uv.lock on {} instead",
            list(&missing),
            list(&extra)
        ),
    })
}

/// PEP 503 normalization: lower case, runs of `-`, `_`, `.` as one `-`.
fn normalize(name: &str) -> String {
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

/// The distribution name a PEP 508 requirement starts with.
fn requirement_name(requirement: &str) -> String {
    let end = requirement
        .find(|c: char| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
        .unwrap_or(requirement.len());
    normalize(&requirement[..end])
}

fn squash(s: &str) -> String {
    s.chars().filter(|c| !c.is_whitespace()).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_lock_missing_a_new_dependency_looks_stale() {
        let pyproject = "[project]\nname = \"App_x\"\nrequires-python = \">=3.11\"\ndependencies = [\"idna>=3\", \"Packaging[x]; python_version>'3'\"]\n";
        let lock = "version = 1\nrequires-python = \">=3.11\"\n[[package]]\nname = \"app-x\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n[package.metadata]\nrequires-dist = [{ name = \"idna\", specifier = \">=3\" }]\n";
        assert_eq!(
            stale_lock(pyproject, lock).as_deref(),
            Some("pyproject.toml depends on packaging which uv.lock does not record")
        );
        let fresh = lock.replace(
            "requires-dist = [{ name = \"idna\", specifier = \">=3\" }]",
            "requires-dist = [{ name = \"idna\", specifier = \">=3\" }, { name = \"packaging\" }]",
        );
        assert_eq!(stale_lock(pyproject, &fresh), None);
        let other_python = fresh.replace(
            "requires-python = \">=3.11\"",
            "requires-python = \">=3.10\"",
        );
        assert_eq!(
            stale_lock(pyproject, &other_python).as_deref(),
            Some("pyproject.toml requires Python >=3.11, uv.lock was made for >=3.10")
        );
    }
}
