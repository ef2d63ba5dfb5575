//! The image's own commands must exist in it: the executable of `[run] command` and of
//! `[run] healthcheck` is looked up in the built image, on its `PATH` or at the path given, as
//! `docker run` would. Read through the gateway (no container runs), so a misspelled command
//! fails the build at its line instead of every `docker run` of the image.

use std::collections::BTreeMap;

use toml::Spanned;

use crate::frontend::BuildError;
use crate::gateway::{Bridge, DirEntry};
use crate::prepare::Prepared;
use crate::spec::{RunTable, SpecError};

/// Where an executable was looked for, and what was there instead.
#[derive(Debug, PartialEq, Eq)]
pub enum Lookup {
    Found,
    /// Not in any of `searched`; `nearest` is the closest name found there.
    Missing {
        searched: Vec<String>,
        nearest: Option<String>,
    },
    /// There, but a regular file without an execute bit (its permission bits).
    NotExecutable {
        path: String,
        mode: u32,
    },
    /// There, but a directory.
    Directory {
        path: String,
    },
    /// A read failed for another reason than a missing file: nothing is claimed.
    Unknown,
}

/// The most directories of a `PATH` a lookup reads.
const MAX_PATH_DIRS: usize = 64;

/// Looks `name` up in the image `reference` as its runtime would: a name with a `/` is a path
/// (relative to `workdir`), any other is searched in the directories of `path_env`.
pub async fn find_executable<B: Bridge>(
    bridge: &B,
    reference: &str,
    name: &str,
    path_env: &str,
    workdir: &str,
) -> Lookup {
    // `..` after a symlinked directory is the link target's parent, which only the runtime
    // knows: such a path is not judged.
    if name.split('/').any(|part| part == "..") {
        return Lookup::Unknown;
    }
    let (dirs, base): (Vec<String>, String) = match name.contains('/') {
        true => {
            let full = if name.starts_with('/') {
                name.to_string()
            } else {
                format!("{workdir}/{name}")
            };
            let mut parts = clean_path(&full);
            let base = parts.pop().unwrap_or_default();
            (vec![format!("/{}", parts.join("/"))], base)
        }
        false => {
            let mut dirs: Vec<String> = Vec::new();
            for dir in path_env.split(':').filter(|d| d.starts_with('/')) {
                if !dirs.iter().any(|d| d == dir) {
                    // Each directory is a read through the gateway: a PATH longer than any a
                    // system has is left to the runtime rather than read for minutes.
                    if dirs.len() == MAX_PATH_DIRS {
                        return Lookup::Unknown;
                    }
                    dirs.push(dir.to_string());
                }
            }
            (dirs, name.to_string())
        }
    };
    let mut names: Vec<String> = Vec::new();
    for dir in &dirs {
        let entries = match bridge.read_dir(reference, dir).await {
            Ok(entries) => entries,
            Err(e) if crate::reads::is_not_found(&e) => continue,
            Err(_) => return Lookup::Unknown,
        };
        if let Some(entry) = entries.iter().find(|e| e.name == *base) {
            let path = format!("{}/{base}", dir.trim_end_matches('/'));
            return match executable(entry) {
                true => Lookup::Found,
                false if entry.is_dir() => Lookup::Directory { path },
                false => Lookup::NotExecutable {
                    path,
                    mode: entry.mode & 0o777,
                },
            };
        }
        names.extend(entries.into_iter().filter(|e| !e.is_dir()).map(|e| e.name));
    }
    let known: Vec<&str> = names.iter().map(String::as_str).collect();
    // A short name is close only at one edit (`curl` is not `chrt`); a path keeps its
    // directory (`bin/strat.sh` -> `bin/start.sh`).
    let nearest = crate::spec::closest(&base, &known)
        .filter(|near| base.chars().count() > 4 || crate::spec::edit_distance(&base, near) <= 1)
        .map(|near| match name.rsplit_once('/') {
            Some((dir, _)) => format!("{dir}/{near}"),
            None => near.to_string(),
        });
    Lookup::Missing {
        searched: dirs,
        nearest,
    }
}

/// The components of an absolute path without `..`, less the empty and `.` ones.
fn clean_path(path: &str) -> Vec<String> {
    path.split('/')
        .filter(|part| !part.is_empty() && *part != ".")
        .map(str::to_string)
        .collect()
}

/// A symlink counts (its target is the runtime's business); a file needs an execute bit.
fn executable(entry: &DirEntry) -> bool {
    entry.is_symlink() || (!entry.is_dir() && entry.mode & 0o111 != 0)
}

/// `[run] entrypoint`, `command` and `healthcheck`, when the spec gives them, against the built
/// runtime image (`config`: its config). A console script of the installed package is not
/// looked up: uv made it; nor is a command that an entrypoint runs (its arguments).
pub async fn check<B: Bridge>(
    bridge: &B,
    prepared: &Prepared,
    reference: &str,
    config: &serde_json::Value,
) -> Result<(), BuildError> {
    let Prepared {
        spec_file,
        spec,
        settings,
        project,
        members,
        sources,
        ..
    } = prepared;
    let scripts = if settings.virtual_project {
        Default::default()
    } else {
        project.scripts_of(settings.sync.package.as_deref(), members)
    };
    let env = crate::image::env_of(config);
    let path_env = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::image::DEFAULT_PATH);
    for (key, value) in checked_keys(&spec.run, config) {
        let Some(value) = value else { continue };
        let Some(name) = value.get_ref().first() else {
            continue;
        };
        if scripts.contains_key(name) {
            continue;
        }
        let lookup = find_executable(bridge, reference, name, path_env, &settings.workdir).await;
        let Some((message, fix)) = lookup_failure(key, name, lookup, &scripts, &settings.workdir)
        else {
            continue;
        };
        return Err(BuildError::located(
            SpecError::at(spec_file, value.span().start, message, fix),
            sources,
        ));
    }
    Ok(())
}

/// The `[run]` keys whose executable is looked up, in turn: `command` only when the image has
/// no entrypoint (which would run it as its arguments).
fn checked_keys<'a>(
    run: &'a RunTable,
    config: &serde_json::Value,
) -> [(&'static str, &'a Option<Spanned<Vec<String>>>); 3] {
    let has_entrypoint = config
        .get("config")
        .and_then(|c| c.as_object())
        .and_then(crate::image::entrypoint_of)
        .is_some();
    let command = if has_entrypoint { &None } else { &run.command };
    [
        ("entrypoint", &run.entrypoint),
        ("command", command),
        ("healthcheck", &run.healthcheck),
    ]
}

/// The message and fix for `[run] {key}`, whose executable `name` `lookup` did not find as
/// one; `None` when it did, or could not tell.
fn lookup_failure(
    key: &str,
    name: &str,
    lookup: Lookup,
    scripts: &BTreeMap<String, String>,
    workdir: &str,
) -> Option<(String, String)> {
    // The name and its path come from the spec: quoted cut when long.
    let shown = crate::spec::shorten(name);
    let failure = match lookup {
        Lookup::Found | Lookup::Unknown => return None,
        Lookup::Missing { searched, nearest } => (
            format!(
                "[run] {key} runs `{shown}`, which {}",
                missing_place(name, &searched)
            ),
            missing_fix(nearest, scripts),
        ),
        Lookup::NotExecutable { path, mode } => (
            format!(
                "[run] {key} runs `{shown}`, but {} is not executable (mode {mode:o})",
                crate::spec::shorten(&path)
            ),
            // Files under the workdir came from the build context; others from the images.
            if path.starts_with(&format!("{workdir}/")) {
                format!(
                    "make it executable in the build context (chmod +x), or run it with its interpreter, e.g. [\"sh\", \"{shown}\"]"
                )
            } else {
                "run it with its interpreter, or name an executable the image has".to_string()
            },
        ),
        Lookup::Directory { path } => (
            format!(
                "[run] {key} runs `{shown}`, but {} is a directory",
                crate::spec::shorten(&path)
            ),
            "name the program in it".to_string(),
        ),
    };
    Some(failure)
}

/// Where a missing executable `name` is not: the image, for a path, else the directories of
/// its `PATH` (`searched`).
fn missing_place(name: &str, searched: &[String]) -> String {
    if name.contains('/') {
        "is not in the runtime image".to_string()
    } else {
        format!(
            "is in no directory of the runtime image's PATH ({})",
            crate::spec::shorten_to(&searched.join(":"), 4 * crate::spec::QUOTED_MAX)
        )
    }
}

/// The fix for a missing executable: the `nearest` name found, else the project's console
/// `scripts`, else a module run by `python -m`.
fn missing_fix(nearest: Option<String>, scripts: &BTreeMap<String, String>) -> String {
    match (nearest, scripts.keys().next()) {
        (Some(nearest), _) => {
            format!("did you mean `{}`?", crate::spec::shorten(&nearest))
        }
        (None, Some(_)) => format!(
            "use a console script of the project ({}), or the executable's full path",
            scripts.keys().cloned().collect::<Vec<_>>().join(", ")
        ),
        (None, None) => {
            "use an executable the image has, e.g. [\"python\", \"-m\", \"<module>\"]".to_string()
        }
    }
}
