//! `[sync]`'s selection (package, extras, groups) checked against the project before anything
//! runs, each error at the line (or build arg) that named it.

use std::collections::BTreeMap;

use crate::project::{self, Project, PyProject};
use crate::spec::{Spec, SpecError, SpecFile};

/// What `[sync]` selects exists in the project: the `package` among its packages, each
/// `extra` and `group` in what the installed package's `pyproject.toml` defines, as `uv sync`
/// would otherwise fail on (at the `[sync]` step, far from the line at fault).
pub(super) fn check_selection(
    spec_file: &SpecFile,
    spec: &Spec,
    project: &Project,
    members: &BTreeMap<String, PyProject>,
) -> Result<(), SpecError> {
    let package = spec.sync.package.as_ref();
    if let Some(value) = package {
        let name = value.get_ref();
        let known = project.lock.local_package(name).is_some()
            || project.pyproject.name.as_deref() == Some(name.as_str());
        if !known {
            let names: Vec<&str> = project
                .lock
                .local_packages
                .iter()
                .map(|p| p.name.as_str())
                .collect();
            let set_by = set_by(spec.set_by("sync", "package"));
            return Err(SpecError::at(
                spec_file,
                value.span().start,
                format!(
                    "[sync] package {} is not a package of this project{set_by}",
                    crate::spec::quote(name)
                ),
                format!("use one of: {}", names.join(", ")),
            ));
        }
    }
    check_extras_and_groups(
        spec_file,
        spec,
        project,
        members,
        package.map(|p| p.get_ref().as_str()),
    )
}

/// ` (set by <flag>)`, for an error about a value a flag set.
fn set_by(flag: Option<&str>) -> String {
    flag.map(|f| format!(" (set by {f})")).unwrap_or_default()
}

/// `[sync] extra` and `group` name what the installed package's `pyproject.toml` defines, as
/// `uv sync` would otherwise fail on (at the `[sync]` step, far from the line at fault). Groups
/// may come from any package of the workspace; they are checked only when every package's
/// `pyproject.toml` was read.
fn check_extras_and_groups(
    spec_file: &SpecFile,
    spec: &Spec,
    project: &Project,
    members: &BTreeMap<String, PyProject>,
    package: Option<&str>,
) -> Result<(), SpecError> {
    let selected = match package {
        Some(name) if Some(name) != project.pyproject.name.as_deref() => members.get(name),
        _ => Some(&project.pyproject),
    };
    let unknown = |key: &str, value: &toml::Spanned<String>, known: &[String], what: &str| {
        let flag = spec.set_by("sync", key);
        let fix = match (known.is_empty(), flag) {
            (true, Some(flag)) => {
                format!("pyproject.toml defines none: drop {flag}, or define it in {what}")
            }
            (true, None) => {
                format!("pyproject.toml defines none: remove [sync] {key}, or define it in {what}")
            }
            (false, _) => format!("use one of: {}", known.join(", ")),
        };
        let set_by = set_by(flag);
        SpecError::at(
            spec_file,
            value.span().start,
            format!(
                "[sync] {key} {} is not defined in {what}{set_by}",
                crate::spec::quote(value.get_ref())
            ),
            fix,
        )
    };
    if let Some(py) = selected {
        for extra in &spec.sync.extra {
            if !py
                .extras
                .contains(&project::normalize_name(extra.get_ref()))
            {
                return Err(unknown(
                    "extra",
                    extra,
                    &py.extras,
                    "[project.optional-dependencies]",
                ));
            }
        }
    }
    let all_read = project
        .lock
        .local_packages
        .iter()
        .filter(|p| !project.is_root(p))
        .all(|p| members.contains_key(&p.name));
    if all_read {
        let mut groups: Vec<String> = std::iter::once(&project.pyproject)
            .chain(members.values())
            .flat_map(|p| p.groups.iter().cloned())
            .collect();
        groups.sort();
        groups.dedup();
        for group in &spec.sync.group {
            if !groups.contains(&project::normalize_name(group.get_ref())) {
                return Err(unknown("group", group, &groups, "[dependency-groups]"));
            }
        }
    }
    Ok(())
}
