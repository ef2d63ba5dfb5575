//! Values of `pyproject.toml` and `uv.lock` that uv rejects only once a sync step runs (a name
//! that is not a string, a `requires-python` no version satisfies, a lock version uv does not
//! read), found before anything runs and located at their line, as the spec's errors are.

use serde::Deserialize;
use toml::{Spanned, Value};

use crate::spec::{line_of, quote, shorten, SpecError};

/// The `uv.lock` versions uv reads.
const LOCK_VERSIONS: &[i64] = &[1];

#[derive(Deserialize)]
struct PyProjectValues {
    project: Option<Spanned<Value>>,
}

#[derive(Deserialize)]
struct LockValues {
    version: Option<Spanned<Value>>,
}

/// The first value of `[project]` in `text` (a TOML document) that uv would reject.
pub fn check_pyproject(text: &str) -> Result<(), SpecError> {
    let error = |offset: usize, message: String, fix: &str| SpecError {
        file: super::PYPROJECT.into(),
        line: line_of(text, offset),
        message,
        fix: fix.into(),
    };
    let Ok(PyProjectValues {
        project: Some(project),
    }) = toml::from_str(text)
    else {
        return Ok(());
    };
    if !project.get_ref().is_table() {
        return Err(error(
            project.span().start,
            format!("[project] is {}, not a table", described(project.get_ref())),
            "write it as a table: a [project] header with name = \"my-app\" under it",
        ));
    }
    // Read again with a span for each value of the table.
    let Ok(ProjectValues {
        project: Some(mut values),
    }) = toml::from_str(text)
    else {
        return Ok(());
    };
    for (key, example) in [
        ("name", "name = \"my-app\""),
        ("version", "version = \"0.1.0\""),
        ("requires-python", "requires-python = \">=3.12\""),
    ] {
        let Some(value) = values.remove(key) else {
            continue;
        };
        let offset = value.span().start;
        let Some(text) = value.get_ref().as_str() else {
            return Err(error(
                offset,
                format!(
                    "[project] {key} is {}, not a string",
                    described(value.get_ref())
                ),
                &format!("write it in quotes, e.g. {example}"),
            ));
        };
        if key == "name" && !is_package_name(text) {
            return Err(error(
                offset,
                format!("[project] name {} is not a valid package name", quote(text)),
                "use letters, digits and -, _ or . between them, e.g. name = \"my-app\"",
            ));
        }
        if key == "requires-python" && !super::requires_python::admits_some_version(text) {
            return Err(error(
                offset,
                format!(
                    "[project] requires-python {} admits no Python version",
                    quote(text)
                ),
                "make its bounds overlap, e.g. requires-python = \">=3.12\"",
            ));
        }
    }
    Ok(())
}

#[derive(Deserialize)]
struct ProjectValues {
    project: Option<std::collections::BTreeMap<String, Spanned<Value>>>,
}

/// `uv.lock`'s `version`, which uv checks before anything else in it.
pub fn check_lock(text: &str) -> Result<(), SpecError> {
    let Ok(LockValues {
        version: Some(version),
    }) = toml::from_str(text)
    else {
        return Ok(());
    };
    let message = match version.get_ref().as_integer() {
        Some(n) if LOCK_VERSIONS.contains(&n) => return Ok(()),
        Some(n) => format!(
            "uv.lock has version = {n}, a lock version uv does not read (it reads version 1)"
        ),
        None => format!(
            "uv.lock's version is {}, not a lock version number",
            described(version.get_ref())
        ),
    };
    Err(SpecError {
        file: super::UV_LOCK.into(),
        line: line_of(text, version.span().start),
        message,
        fix: "regenerate it with `uv lock` and commit it".into(),
    })
}

/// `the integer 5`, `the string "x"`: a value as an error describes it.
fn described(value: &Value) -> String {
    let article = if value.type_str().starts_with(['a', 'e', 'i', 'o', 'u']) {
        "an"
    } else {
        "a"
    };
    format!(
        "{article} {} ({})",
        value.type_str(),
        shorten(&value.to_string())
    )
}

/// PEP 508's name: letters and digits, with `-`, `_` and `.` between them.
fn is_package_name(name: &str) -> bool {
    let inner = |c: char| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.');
    name.starts_with(|c: char| c.is_ascii_alphanumeric())
        && name.ends_with(|c: char| c.is_ascii_alphanumeric())
        && name.chars().all(inner)
}

#[cfg(test)]
mod tests {
    use super::{check_lock, check_pyproject};

    fn pyproject_error(text: &str) -> String {
        check_pyproject(text)
            .expect_err("uv would reject it")
            .to_string()
    }

    #[test]
    fn project_values_of_the_wrong_type_are_errors_at_their_line() {
        assert_eq!(
            pyproject_error("[project]\nname = 5\n"),
            "pyproject.toml:2: [project] name is an integer (5), not a string (fix: write it in quotes, e.g. name = \"my-app\")"
        );
        assert_eq!(
            pyproject_error("[project]\nname = \"a\"\nversion = 1.0\n"),
            "pyproject.toml:3: [project] version is a float (1.0), not a string (fix: write it in quotes, e.g. version = \"0.1.0\")"
        );
        assert_eq!(
            pyproject_error("[project]\nrequires-python = [\">=3.12\"]\n"),
            "pyproject.toml:2: [project] requires-python is an array ([\">=3.12\"]), not a string (fix: write it in quotes, e.g. requires-python = \">=3.12\")"
        );
        assert_eq!(
            pyproject_error("project = 5\n"),
            "pyproject.toml:1: [project] is an integer (5), not a table (fix: write it as a table: a [project] header with name = \"my-app\" under it)"
        );
        assert_eq!(
            pyproject_error("[project]\nname = \"my app\"\n"),
            "pyproject.toml:2: [project] name \"my app\" is not a valid package name (fix: use letters, digits and -, _ or . between them, e.g. name = \"my-app\")"
        );
    }

    #[test]
    fn a_requires_python_no_version_satisfies_is_an_error_at_its_line() {
        assert_eq!(
            pyproject_error("[project]\nname = \"a\"\n\nrequires-python = \">=3.12,<3.11\"\n"),
            "pyproject.toml:4: [project] requires-python \">=3.12,<3.11\" admits no Python version (fix: make its bounds overlap, e.g. requires-python = \">=3.12\")"
        );
    }

    #[test]
    fn good_and_partial_pyprojects_pass() {
        for text in [
            "[project]\nname = \"hello-uv\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n",
            "[tool.uv.workspace]\nmembers = [\"a\"]\n",
            "[project]\nname = \"x\"\ndynamic = [\"version\"]\n",
            "",
        ] {
            assert_eq!(check_pyproject(text), Ok(()), "{text}");
        }
    }

    #[test]
    fn a_lock_version_uv_does_not_read_is_an_error_at_its_line() {
        assert_eq!(
            check_lock("version = 99\nrevision = 5\n")
                .expect_err("uv rejects it")
                .to_string(),
            "uv.lock:1: uv.lock has version = 99, a lock version uv does not read (it reads version 1) (fix: regenerate it with `uv lock` and commit it)"
        );
        assert_eq!(
            check_lock("# x\nversion = \"1\"\n")
                .expect_err("uv rejects it")
                .to_string(),
            "uv.lock:2: uv.lock's version is a string (\"1\"), not a lock version number (fix: regenerate it with `uv lock` and commit it)"
        );
        assert_eq!(check_lock("version = 1\nrevision = 5\n"), Ok(()));
        assert_eq!(check_lock("[[package]]\nname = \"a\"\n"), Ok(()));
    }
}
