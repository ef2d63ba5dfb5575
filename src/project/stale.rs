//! Whether `uv.lock` still matches `pyproject.toml`, as far as can be told without resolving:
//! the project's declared requirements (dependencies and every extra's) against the lock's
//! record of them, and `requires-python` where both are plain bounds.

use std::collections::BTreeSet;

use super::{normalize_name, requirement_name};

/// Why `lock` is older than `pyproject`, when that is certain from the text: a different
/// `requires-python` or project version, or requirements of the project that the lock's record
/// lacks (or has in excess). `None` when they match or it cannot be told.
pub fn stale_lock(pyproject: &str, lock: &str) -> Option<String> {
    let pyproject: toml::Table = toml::from_str(pyproject).ok()?;
    let lock: toml::Table = toml::from_str(lock).ok()?;
    let project = pyproject.get("project")?.as_table()?;
    let name = normalize_name(project.get("name")?.as_str()?);
    let wanted_python = project.get("requires-python").and_then(|v| v.as_str());
    let locked_python = lock.get("requires-python").and_then(|v| v.as_str());
    if let (Some(wanted), Some(locked)) = (wanted_python, locked_python) {
        // uv writes other forms (`~=3.11`, `==3.11.*`) as bounds of its own: only plain bounds
        // compare as they are.
        if let (Some(w), Some(l)) = (bounds(wanted), bounds(locked)) {
            if w != l {
                return Some(format!(
                    "pyproject.toml requires Python {wanted}, uv.lock was made for {locked}"
                ));
            }
        }
    }
    let package = lock.get("package")?.as_array()?.iter().find(|p| {
        p.get("name").and_then(|n| n.as_str()).map(normalize_name) == Some(name.clone())
    })?;
    // uv records the project's own (static) version: a bump needs `uv lock` too.
    let dynamic_version = project
        .get("dynamic")
        .and_then(|d| d.as_array())
        .is_some_and(|d| d.iter().any(|v| v.as_str() == Some("version")));
    let wanted_version = project.get("version").and_then(|v| v.as_str());
    let locked_version = package.get("version").and_then(|v| v.as_str());
    if let (false, Some(wanted), Some(locked)) = (dynamic_version, wanted_version, locked_version) {
        // Plain releases only (`1.2` equals `1.2.0`); pre-releases and local versions are not
        // compared.
        use super::build_backend::{compare, parse_release};
        if let (Some(w), Some(l)) = (parse_release(wanted.trim()), parse_release(locked.trim())) {
            if compare(&w, &l) != std::cmp::Ordering::Equal {
                return Some(format!(
                    "pyproject.toml gives the project version {wanted}, uv.lock records {locked}"
                ));
            }
        }
    }
    // The lock records the project's requirements, those of its extras included (with their
    // `extra == ...` markers).
    let locked: BTreeSet<String> = package
        .get("metadata")
        .and_then(|m| m.get("requires-dist"))
        .and_then(|r| r.as_array())
        .into_iter()
        .flatten()
        .filter_map(|d| d.get("name").and_then(|n| n.as_str()).map(normalize_name))
        .collect();
    let optional = project
        .get("optional-dependencies")
        .and_then(|o| o.as_table())
        .into_iter()
        .flat_map(|extras| extras.values())
        .filter_map(|v| v.as_array())
        .flatten();
    let declared: BTreeSet<String> = project
        .get("dependencies")
        .and_then(|d| d.as_array())
        .into_iter()
        .flatten()
        .chain(optional)
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

/// A specifier made only of `>=`, `>`, `<=`, `<` clauses, as a set of them without spaces;
/// `None` for anything else.
fn bounds(specifier: &str) -> Option<BTreeSet<String>> {
    specifier
        .split(',')
        .map(|clause| {
            clause
                .chars()
                .filter(|c| !c.is_whitespace())
                .collect::<String>()
        })
        .map(|clause| {
            let version = clause.trim_start_matches(['>', '<', '=']);
            let op = &clause[..clause.len() - version.len()];
            let plain = matches!(op, ">=" | ">" | "<=" | "<")
                && !version.is_empty()
                && version.chars().all(|c| c.is_ascii_digit() || c == '.');
            plain.then_some(clause)
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn extras_and_uv_s_own_python_bounds_are_not_staleness() {
        // What `uv lock` wrote for these (uv 0.13.9): extras' requirements carry markers, a
        // self-referencing extra names the project, `~=3.11` becomes bounds.
        let pyproject = "[project]\nname = \"extrasapp\"\nrequires-python = \"~=3.11\"\ndependencies = [\"six\"]\n[project.optional-dependencies]\npg = [\"idna\"]\nall = [\"extrasapp[pg]\"]\n";
        let lock = "version = 1\nrequires-python = \">=3.11, <4\"\n[[package]]\nname = \"extrasapp\"\nversion = \"0.1.0\"\nsource = { virtual = \".\" }\n[package.metadata]\nrequires-dist = [{ name = \"extrasapp\", extras = [\"pg\"], marker = \"extra == 'all'\" }, { name = \"idna\", marker = \"extra == 'pg'\" }, { name = \"six\" }]\n";
        assert_eq!(stale_lock(pyproject, lock), None);
        let dropped_extra = pyproject.replace("pg = [\"idna\"]\n", "pg = []\n");
        assert_eq!(
            stale_lock(&dropped_extra, lock).as_deref(),
            Some("uv.lock records dependencies on idna which pyproject.toml no longer has")
        );
    }

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

    #[test]
    fn a_bumped_project_version_looks_stale_but_a_dynamic_one_does_not() {
        let pyproject = "[project]\nname = \"app\"\nversion = \"0.2.0\"\ndependencies = []\n";
        let lock = "version = 1\n[[package]]\nname = \"app\"\nversion = \"0.1.0\"\nsource = { editable = \".\" }\n";
        assert_eq!(
            stale_lock(pyproject, lock).as_deref(),
            Some("pyproject.toml gives the project version 0.2.0, uv.lock records 0.1.0")
        );
        assert_eq!(stale_lock(&pyproject.replace("0.2.0", "0.1"), lock), None);
        let dynamic = "[project]\nname = \"app\"\ndynamic = [\"version\"]\ndependencies = []\n";
        assert_eq!(stale_lock(dynamic, lock), None);
    }
}
