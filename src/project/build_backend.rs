//! Whether building the project's own packages needs the network: a package built by uv's own
//! backend (`uv_build`, in a version range that holds the uv that builds it) needs nothing from
//! an index, so the project phase can run without a network, which starts faster and lets
//! nothing unlocked in.

use super::PyProject;

/// The uv version an image reference names by its tag (`ghcr.io/astral-sh/uv:0.13.9`,
/// `...:0.13.9-python3.12-bookworm`), as release numbers; `None` when the tag names none.
pub fn uv_version_of(image: &str) -> Option<Vec<u64>> {
    let without_digest = image.split('@').next()?;
    let last = without_digest.rsplit('/').next()?;
    let (_, tag) = last.split_once(':')?;
    let release = tag.split('-').next()?;
    parse_release(release)
}

fn parse_release(text: &str) -> Option<Vec<u64>> {
    let parts: Option<Vec<u64>> = text.split('.').map(|p| p.parse().ok()).collect();
    parts.filter(|p| !p.is_empty())
}

/// Compares release numbers, the shorter padded with zeros (`1.0 == 1`).
fn compare(a: &[u64], b: &[u64]) -> std::cmp::Ordering {
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
    if build.build_backend.as_deref() != Some("uv_build") {
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

#[cfg(test)]
mod tests {
    use super::*;
    use crate::project::BuildSystem;

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
