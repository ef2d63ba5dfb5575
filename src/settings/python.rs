//! Which Python the project wants, and the images that follow from it: the default builder
//! (the official image of that version), the base (the builder's unless named), and whether a
//! builder that says its Python (`PYTHON_VERSION`) has the project's.

use super::{DEFAULT_PYTHON, MANAGED_PYTHON_IMAGE};
use crate::project::Project;
use crate::spec::Spec;

/// The builder image: the spec's, or the official Python image of the project's Python version
/// (`.python-version`, else `requires-python`'s lower bound, else [`DEFAULT_PYTHON`]).
pub fn builder_image(spec: &Spec, project: &Project) -> String {
    if let Some(image) = &spec.build.builder {
        return image.get_ref().clone();
    }
    if spec.build.managed_python.is_some() {
        return MANAGED_PYTHON_IMAGE.into();
    }
    let python = match wanted_python(project) {
        Some(WantedPython::Exactly(minor) | WantedPython::AtLeast(minor)) => minor,
        None => DEFAULT_PYTHON.to_string(),
    };
    format!("python:{python}-slim-bookworm")
}

/// The image `/uv` is copied from: the spec's, or [`DEFAULT_UV_IMAGE`](super::DEFAULT_UV_IMAGE).
pub fn uv_image(spec: &Spec) -> String {
    spec.build
        .uv
        .as_ref()
        .map(|image| image.get_ref().clone())
        .unwrap_or_else(|| super::DEFAULT_UV_IMAGE.into())
}

/// The runtime base image: the spec's, or the builder image.
pub fn base_image(spec: &Spec, project: &Project) -> String {
    spec.build
        .base
        .as_ref()
        .map(|b| b.get_ref().clone())
        .unwrap_or_else(|| builder_image(spec, project))
}

/// Why the builder's Python cannot be the project's, when the builder image says which Python it
/// has (`PYTHON_VERSION` in its `Env`, as the official images do): `.python-version` asks for
/// another minor version, or `requires-python` starts above it. uv would fail to find an
/// interpreter (it downloads none for the builder's venv).
pub fn builder_python_mismatch(project: &Project, builder_env: &[String]) -> Option<String> {
    let have = builder_env
        .iter()
        .find_map(|e| e.strip_prefix("PYTHON_VERSION="))?;
    let have_minor = major_minor(have)?;
    let number = |v: &str| -> Option<(u32, u32)> {
        let (major, minor) = v.split_once('.')?;
        Some((major.parse().ok()?, minor.parse().ok()?))
    };
    match wanted_python(project)? {
        WantedPython::Exactly(wanted) => (wanted != have_minor)
            .then(|| format!("has Python {have}, but .python-version asks for {wanted}")),
        WantedPython::AtLeast(bound) => (number(&have_minor)? < number(&bound)?).then(|| {
            format!(
                "has Python {have}, but requires-python is {}",
                project
                    .pyproject
                    .requires_python
                    .as_deref()
                    .unwrap_or_default()
            )
        }),
    }
}

/// The Python of the venv as far as the spec and project tell (major, minor, and the patch
/// level when named): the version `[build] managed-python` installs, else `.python-version`'s,
/// else, with the default builder image, `requires-python`'s lower bound (that image's Python).
/// `None` when only the builder image could tell.
pub fn venv_python(spec: &Spec, project: &Project) -> Option<(u64, u64, Option<u64>)> {
    let exact = |request: &str| -> Option<(u64, u64, Option<u64>)> {
        let minor = requested_minor(request)?;
        let (major, minor) = minor.split_once('.')?;
        let patch = request
            .trim()
            .split('.')
            .nth(2)
            .and_then(|p| p.parse().ok());
        Some((major.parse().ok()?, minor.parse().ok()?, patch))
    };
    if let Some(managed) = &spec.build.managed_python {
        return exact(managed.get_ref());
    }
    if let Some(request) = project.python_version.as_deref() {
        // A free-threaded build is another ABI: its wheels are not the same.
        return (!request.trim().ends_with('t'))
            .then(|| exact(request))
            .flatten();
    }
    if spec.build.builder.is_some() {
        return None;
    }
    match wanted_python(project)? {
        WantedPython::AtLeast(minor) | WantedPython::Exactly(minor) => {
            let (major, minor) = minor.split_once('.')?;
            Some((major.parse().ok()?, minor.parse().ok()?, None))
        }
    }
}

/// The CPython minor version the project asks for.
enum WantedPython {
    /// `.python-version`'s.
    Exactly(String),
    /// `requires-python`'s lower bound.
    AtLeast(String),
}

fn wanted_python(project: &Project) -> Option<WantedPython> {
    if let Some(minor) = project.python_version.as_deref().and_then(requested_minor) {
        return Some(WantedPython::Exactly(minor));
    }
    project
        .pyproject
        .requires_python
        .as_deref()
        .and_then(lower_bound)
        .map(WantedPython::AtLeast)
}

/// The CPython minor version a `.python-version` request names, in the forms uv takes for
/// CPython: `3.12`, `3.12.4`, `cpython@3.12`, `cpython-3.12`, `cpython3.12`, `cp312`, `3.13t`;
/// `None` for another implementation (`pypy@3.10`) or a range.
fn requested_minor(request: &str) -> Option<String> {
    let request = request.trim().to_ascii_lowercase();
    let version = ["cpython@", "cpython-", "cpython"]
        .iter()
        .find_map(|p| request.strip_prefix(p))
        .unwrap_or(&request);
    if let Some(digits) = version.strip_prefix("cp") {
        // By characters, not bytes: `cpé` has no byte boundary after its first byte.
        let minor = digits.strip_prefix('3')?;
        return (!minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()))
            .then(|| format!("3.{minor}"));
    }
    // A free-threaded build (`3.13t`) is still that minor version.
    major_minor(version.trim_end_matches("t"))
}

/// `3.12` of `3.12.4` (or of `3.12`); `None` for anything else, such as `pypy@3.10`.
fn major_minor(version: &str) -> Option<String> {
    let mut parts = version.trim().split('.');
    let major = parts.next()?;
    let minor = parts.next()?;
    (major.chars().all(|c| c.is_ascii_digit())
        && !minor.is_empty()
        && minor.chars().all(|c| c.is_ascii_digit()))
    .then(|| format!("{major}.{minor}"))
}

/// The version a `>=3.11`-style requires-python starts at.
fn lower_bound(spec: &str) -> Option<String> {
    spec.split(',')
        .map(str::trim)
        .find_map(|clause| clause.strip_prefix(">="))
        .and_then(|v| major_minor(v.trim()))
}

#[cfg(test)]
mod tests {
    use super::requested_minor;

    #[test]
    fn cp_requests_name_the_minor_version_and_anything_else_after_cp_names_none() {
        assert_eq!(requested_minor("cp312").as_deref(), Some("3.12"));
        assert_eq!(requested_minor("CPython@3.11.4").as_deref(), Some("3.11"));
        assert_eq!(requested_minor("cp2"), None);
        assert_eq!(requested_minor("cp3"), None);
        // Non-ASCII after `cp` (a fuzz find: it used to split a character in two and panic).
        for request in ["cpé", "cp3é", "cpé12", "cp\u{1F40D}", "cp３12"] {
            assert_eq!(requested_minor(request), None, "{request}");
        }
    }
}
