//! What uv's own build backend (`uv_build`) does with the project's packages. Building one
//! with a `uv_build` version range that holds the uv that builds it needs nothing from an index,
//! so the project phase can run without a network, which starts faster and lets nothing
//! unlocked in. And its editable install is a `.pth` file naming the module's root directory,
//! whatever the module holds, so the module can be copied beside it as it is (see
//! [`module_dir`]).

use super::PyProject;

/// Build-system requirements that read the package's version from git (so its build needs git
/// and `.git`).
const VERSION_FROM_GIT: &[&str] = &[
    "hatch-vcs",
    "setuptools-scm",
    "versioningit",
    "uv-dynamic-versioning",
    "poetry-dynamic-versioning",
    "dunamai",
];

/// The build-system requirement that reads the package's version from git, if it has one.
pub fn version_from_git(pyproject: &PyProject) -> Option<String> {
    pyproject
        .build_system
        .iter()
        .flat_map(|b| b.requires.iter())
        .map(|r| super::requirement_name(r))
        .find(|name| VERSION_FROM_GIT.contains(&name.as_str()))
}

/// The uv version an image reference names by its tag (`ghcr.io/astral-sh/uv:0.13.9`,
/// `...:0.13.9-python3.12-bookworm`), as release numbers; `None` when the tag names none.
pub fn uv_version_of(image: &str) -> Option<Vec<u64>> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    let release = tag.split('-').next()?;
    parse_release(release)
}

/// The numbers of a plain release version (`1.2.0`); `None` for anything else.
pub(super) fn parse_release(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// Compares release numbers, the shorter padded with zeros (`1.0 == 1`).
pub(super) fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
    let len = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..len)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(std::cmp::Ordering::Equal)
}

/// Whether `version` satisfies one PEP 440 specifier of plain release numbers; `None` for
/// anything this does not understand (pre-releases, local versions, `===`).
fn satisfies(version: &[u64], specifier: &str) -> Option<bool> {
    use std::cmp::Ordering::*;
    let specifier = specifier.trim();
    let op_len = specifier
        .find(|c: char| c.is_ascii_digit())
        .filter(|&i| i > 0)?;
    let (op, rest) = specifier.split_at(op_len);
    let rest = rest.trim();
    if let Some(prefix) = rest.strip_suffix(".*") {
        let prefix = parse_release(prefix)?;
        let matches = version.len() >= prefix.len() && version[..prefix.len()] == prefix[..];
        return match op.trim() {
            "==" => Some(matches),
            "!=" => Some(!matches),
            _ => None,
        };
    }
    let bound = parse_release(rest)?;
    let order = compare(version, &bound);
    Some(match op.trim() {
        ">=" => order != Less,
        ">" => order == Greater,
        "<=" => order != Greater,
        "<" => order == Less,
        "==" => order == Equal,
        "!=" => order != Equal,
        "~=" if bound.len() >= 2 => {
            order != Less && version.len() >= bound.len() - 1 && {
                let keep = bound.len() - 1;
                compare(&version[..keep], &bound[..keep]) == Equal
            }
        }
        _ => return None,
    })
}

/// Whether uv `uv_version` builds the package of `pyproject` with its own backend, so that no
/// build dependency is fetched: `build-backend = "uv_build"` and `requires` just `uv_build`
/// with a version range holding `uv_version`. Anything else, or anything unclear, is `false`.
pub fn builds_without_network(pyproject: &PyProject, uv_version: &[u64]) -> bool {
    let Some(build) = &pyproject.build_system else {
        return false;
    };
    if !pyproject.built_by_uv_build() {
        return false;
    }
    let [requirement] = build.requires.as_slice() else {
        return false;
    };
    let requirement = requirement.trim();
    let Some(range) = ["uv_build", "uv-build"]
        .iter()
        .find_map(|name| requirement.strip_prefix(name))
    else {
        return false;
    };
    if range.contains([';', '[', '@']) {
        return false;
    }
    range
        .split(',')
        .filter(|s| !s.trim().is_empty())
        .all(|s| satisfies(uv_version, s) == Some(true))
}

/// Where `uv_build` finds the module of the package named `name`, relative to the package's
/// directory, given `[tool.uv.build-backend]`: `<module-root>/<module-name>`, by default
/// `src/<name normalized, with underscores>`. `None` for what this does not cover: several or
/// dotted module names, namespace and `-stubs` packages (no `__init__.py`), `data` directories
/// (installed, not linked), `source-exclude`/`wheel-exclude` (files a wheel leaves out), a root
/// outside the package, or values of other types.
pub fn module_dir(name: &str, settings: Option<&toml::Table>) -> Option<String> {
    let empty = toml::Table::new();
    let settings = settings.unwrap_or(&empty);
    // Data directories are installed, not linked; excluded files would be in a copy of the
    // module but not in the wheel.
    let unlinked = ["data", "source-exclude", "wheel-exclude"];
    if unlinked.iter().any(|key| settings.contains_key(*key))
        || settings
            .get("namespace")
            .is_some_and(|n| n.as_bool() != Some(false))
    {
        return None;
    }
    let root = match settings.get("module-root") {
        None => "src",
        Some(value) => value.as_str()?,
    };
    let root = root.trim_start_matches("./").trim_end_matches('/');
    let outside = root.starts_with('/')
        || root.split('/').any(|part| part == ".." || part == ".")
        || root.contains('\\');
    if outside {
        return None;
    }
    let module = match settings.get("module-name") {
        None => {
            let lower = name.to_ascii_lowercase();
            if lower.ends_with("-stubs") || lower.ends_with("_stubs") {
                return None;
            }
            lower
                .split(['-', '_', '.'])
                .filter(|part| !part.is_empty())
                .collect::<Vec<_>>()
                .join("_")
        }
        Some(value) => value.as_str()?.to_string(),
    };
    let identifier = !module.is_empty()
        && !module.starts_with(|c: char| c.is_ascii_digit())
        && module
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_');
    if !identifier {
        return None;
    }
    Some(if root.is_empty() {
        module
    } else {
        format!("{root}/{module}")
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::BuildSystem;

    fn module_dir_with(name: &str, settings: &str) -> Option<String> {
        let table: toml::Table = toml::from_str(settings).unwrap();
        module_dir(name, Some(&table))
    }

    #[test]
    fn the_module_is_under_src_named_like_the_package_by_default() {
        assert_eq!(
            module_dir("hello-uv", None).as_deref(),
            Some("src/hello_uv")
        );
        assert_eq!(
            module_dir("Foo.Bar--baz", None).as_deref(),
            Some("src/foo_bar_baz")
        );
        assert_eq!(
            module_dir_with("x", "module-root = \"\"\nmodule-name = \"y2\"").as_deref(),
            Some("y2")
        );
        assert_eq!(
            module_dir_with("x", "module-root = \"./lib/\"").as_deref(),
            Some("lib/x")
        );
    }

    #[test]
    fn layouts_it_does_not_cover_have_no_module_dir() {
        assert_eq!(module_dir("types-x-stubs", None), None);
        for settings in [
            "namespace = true",
            "module-name = [\"a\", \"b\"]",
            "module-name = \"a.b\"",
            "module-root = \"../elsewhere\"",
            "module-root = \"/abs\"",
            "module-root = 1",
            "[data]\nscripts = \"scripts\"",
            "wheel-exclude = [\"**/tests\"]",
            "source-exclude = [\"*.bin\"]",
        ] {
            assert_eq!(module_dir_with("x", settings), None, "{settings}");
        }
        assert_eq!(
            module_dir_with("x", "namespace = false").as_deref(),
            Some("src/x")
        );
    }

    fn project(requires: &[&str], backend: Option<&str>) -> PyProject {
        PyProject {
            build_system: Some(BuildSystem {
                requires: requires.iter().map(|s| s.to_string()).collect(),
                build_backend: backend.map(str::to_string),
            }),
            ..Default::default()
        }
    }

    #[test]
    fn the_uv_version_comes_from_the_image_tag() {
        assert_eq!(
            uv_version_of("ghcr.io/astral-sh/uv:0.13.9"),
            Some(vec![0, 13, 9])
        );
        assert_eq!(
            uv_version_of("127.0.0.1:5000/uv:0.13.9-python3.12-bookworm@sha256:ab"),
            Some(vec![0, 13, 9])
        );
        assert_eq!(uv_version_of("ghcr.io/astral-sh/uv:latest"), None);
        assert_eq!(uv_version_of("127.0.0.1:5000/uv"), None);
        assert_eq!(uv_version_of("ghcr.io/astral-sh/uv@sha256:ab"), None);
    }

    #[test]
    fn a_version_from_git_is_found_by_its_build_requirement() {
        assert_eq!(
            version_from_git(&project(&["hatchling", "Hatch_VCS>=0.4"], None)).as_deref(),
            Some("hatch-vcs")
        );
        assert_eq!(
            version_from_git(&project(
                &["setuptools>=64", "setuptools-scm[toml]>=8"],
                None
            ))
            .as_deref(),
            Some("setuptools-scm")
        );
        assert_eq!(version_from_git(&project(&["uv_build>=0.9"], None)), None);
    }

    #[test]
    fn uv_build_in_range_builds_offline_and_nothing_else_does() {
        let uv = [0, 13, 9];
        let uv_build = |req: &str| project(&[req], Some("uv_build"));
        for offline in [
            "uv_build>=0.9,<0.14",
            "uv_build >= 0.13.9, < 0.14",
            "uv-build~=0.13.0",
            "uv_build==0.13.*",
            "uv_build",
        ] {
            assert!(builds_without_network(&uv_build(offline), &uv), "{offline}");
        }
        for online in [
            "uv_build>=0.14",
            "uv_build<0.13.9",
            "uv_build==0.12.*",
            "uv_build~=0.12.0",
            "uv_build>=0.9rc1",
            "uv_build>=0.9; python_version > '3'",
            "uv_build===0.13.9",
        ] {
            assert!(!builds_without_network(&uv_build(online), &uv), "{online}");
        }
        assert!(!builds_without_network(
            &project(&["hatchling"], Some("hatchling.build")),
            &uv
        ));
        assert!(!builds_without_network(
            &project(&["uv_build>=0.9", "setuptools"], Some("uv_build")),
            &uv
        ));
        assert!(!builds_without_network(&PyProject::default(), &uv));
    }
}
