//! The interpreter check: before the image ships, the venv's `bin/python` must lead to an
//! interpreter that exists in the runtime image and has the venv's Python version.
//!
//! Read through the gateway from the built image itself: `pyvenv.cfg`, the `bin/python` link,
//! the link's target (following links inside the image) and the standard library next to it.

use crate::gateway::{Bridge, DirEntry};

/// What `pyvenv.cfg` says.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct VenvConfig {
    pub home: String,
    /// `3.11.2`
    pub version: String,
    pub implementation: String,
}

impl VenvConfig {
    pub fn parse(text: &str) -> Option<VenvConfig> {
        let get = |key: &str| {
            text.lines().find_map(|line| {
                let (k, v) = line.split_once('=')?;
                (k.trim() == key).then(|| v.trim().to_string())
            })
        };
        Some(VenvConfig {
            home: get("home")?,
            version: get("version_info").or_else(|| get("version"))?,
            implementation: get("implementation").unwrap_or_else(|| "CPython".into()),
        })
    }

    /// `3.11` of `3.11.2`.
    pub fn major_minor(&self) -> String {
        self.version
            .split('.')
            .take(2)
            .collect::<Vec<_>>()
            .join(".")
    }
}

/// Why the runtime image cannot run the venv.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Mismatch {
    /// The venv has no readable `pyvenv.cfg` or `bin/python`.
    NoVenv { venv: String },
    /// The interpreter the venv links to is not in the runtime image.
    Missing {
        link: String,
        missing: String,
        venv_version: String,
        /// Other `python3.N` interpreters in the missing one's directory.
        others: Vec<String>,
    },
    /// The interpreter is there, but its standard library is of other versions.
    OtherVersion {
        interpreter: String,
        found: Vec<String>,
        venv_version: String,
    },
}

/// The interpreter the venv uses, when the runtime image has it.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Interpreter {
    pub path: String,
    pub config: VenvConfig,
}

/// `python3.<minor>`: an interpreter or library directory of one Python version.
fn is_versioned_python(name: &str) -> bool {
    name.strip_prefix("python3.")
        .is_some_and(|minor| !minor.is_empty() && minor.chars().all(|c| c.is_ascii_digit()))
}

fn parent(path: &str) -> &str {
    match path.trim_end_matches('/').rsplit_once('/') {
        Some(("", _)) | None => "/",
        Some((dir, _)) => dir,
    }
}

fn name(path: &str) -> &str {
    path.trim_end_matches('/').rsplit('/').next().unwrap_or("")
}

fn join(dir: &str, rel: &str) -> String {
    if rel.starts_with('/') {
        return normalize(rel);
    }
    normalize(&format!("{}/{rel}", dir.trim_end_matches('/')))
}

fn normalize(path: &str) -> String {
    let mut parts: Vec<&str> = Vec::new();
    for part in path.split('/') {
        match part {
            "" | "." => {}
            ".." => {
                parts.pop();
            }
            p => parts.push(p),
        }
    }
    format!("/{}", parts.join("/"))
}

async fn entry<B: Bridge>(bridge: &B, reference: &str, path: &str) -> Option<DirEntry> {
    let entries = bridge.read_dir(reference, parent(path)).await.ok()?;
    entries.into_iter().find(|e| e.name == name(path))
}

/// Checks the venv at `venv` in the solved image `reference`.
pub async fn check<B: Bridge>(
    bridge: &B,
    reference: &str,
    venv: &str,
) -> Result<Interpreter, Mismatch> {
    let no_venv = || Mismatch::NoVenv { venv: venv.into() };
    let cfg = bridge
        .read_file(reference, &format!("{venv}/pyvenv.cfg"))
        .await
        .ok()
        .and_then(|b| VenvConfig::parse(&String::from_utf8_lossy(&b)))
        .ok_or_else(no_venv)?;
    let python = format!("{venv}/bin/python");
    let link = entry(bridge, reference, &python)
        .await
        .ok_or_else(no_venv)?;
    let first = if link.is_symlink() {
        join(&format!("{venv}/bin"), &link.linkname)
    } else {
        python.clone()
    };
    // Follow links inside the image, as the kernel would.
    let mut path = first.clone();
    for _ in 0..16 {
        match entry(bridge, reference, &path).await {
            None => {
                let others = bridge
                    .read_dir(reference, parent(&path))
                    .await
                    .unwrap_or_default()
                    .into_iter()
                    .map(|e| e.name)
                    .filter(|n| is_versioned_python(n))
                    .collect();
                return Err(Mismatch::Missing {
                    link: first,
                    missing: path,
                    venv_version: cfg.version.clone(),
                    others,
                });
            }
            Some(e) if e.is_symlink() => path = join(parent(&path), &e.linkname),
            Some(_) => break,
        }
    }
    // <prefix>/bin/python3.X uses <prefix>/lib/python3.X.
    let lib = join(parent(parent(&path)), "lib");
    let wanted = format!("python{}", cfg.major_minor());
    let versions: Vec<String> = bridge
        .read_dir(reference, &lib)
        .await
        .unwrap_or_default()
        .into_iter()
        // Debian's lib/python3 (shared modules) is no version.
        .filter(|e| e.is_dir() && is_versioned_python(&e.name))
        .map(|e| e.name)
        .collect();
    if !versions.contains(&wanted) {
        return Err(Mismatch::OtherVersion {
            venv_version: cfg.version.clone(),
            interpreter: path,
            found: versions
                .iter()
                .map(|v| v.trim_start_matches("python").to_string())
                .collect(),
        });
    }
    Ok(Interpreter { path, config: cfg })
}

/// One line for the user: both images, both interpreters, and the fix.
pub fn explain(mismatch: &Mismatch, builder: &str, base: &str) -> String {
    let made = |version: &str| {
        format!("the venv was made with Python {version} of the builder image {builder}")
    };
    match mismatch {
        Mismatch::NoVenv { venv } => format!(
            "interpreter check: {venv} in the runtime image {base} has no pyvenv.cfg or bin/python (fix: check that [build] workdir matches where the project is synced)"
        ),
        Mismatch::Missing {
            link,
            missing,
            venv_version,
            others,
        } => format!(
            "interpreter check: the runtime image {base} has no {missing}{}, which the venv's bin/python leads to ({link}); {} (fix: use a base image with the same Python at the same path: remove [build] base to use the builder image, or pick the builder's -slim variant)",
            if others.is_empty() {
                String::new()
            } else {
                format!(" (it has {} there)", others.join(", "))
            },
            made(venv_version)
        ),
        Mismatch::OtherVersion {
            interpreter,
            found,
            venv_version,
        } => format!(
            "interpreter check: the runtime image {base} has {interpreter} with Python {} but {} (fix: use the same Python minor version in [build] builder and [build] base)",
            if found.is_empty() { "of an unknown version".to_string() } else { found.join(", ") },
            made(venv_version)
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pyvenv_cfg_as_uv_writes_it() {
        let cfg = VenvConfig::parse(
            "home = /usr/bin\nimplementation = CPython\nuv = 0.13.9\nversion_info = 3.11.2\ninclude-system-site-packages = false\n",
        )
        .expect("parses");
        assert_eq!(cfg.home, "/usr/bin");
        assert_eq!(cfg.major_minor(), "3.11");
    }

    #[test]
    fn paths_join_like_links_resolve() {
        assert_eq!(
            join("/app/.venv/bin", "/usr/bin/python3.11"),
            "/usr/bin/python3.11"
        );
        assert_eq!(join("/usr/bin", "python3.11"), "/usr/bin/python3.11");
        assert_eq!(join("/usr/local/bin", "../lib/x"), "/usr/local/lib/x");
        assert_eq!(parent("/usr/bin/python3"), "/usr/bin");
        assert_eq!(parent("/python3"), "/");
    }
}
