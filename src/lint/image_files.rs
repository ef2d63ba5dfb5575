//! Findings about what the image runs against what it holds: a command chosen by default for a
//! web service or among other entry points, and a command argument naming a project file that `[run] include` or
//! `.dockerignore` leaves out of the image.

use super::finding::{key_line, Finding};
use crate::project::{self, ContextFiles};
use crate::settings::{ImageContext, Settings};
use crate::spec::{Spec, SpecFile};

/// Dependencies that make a project a web service, whose server (not a console script) is
/// usually what its image runs.
const WEB_FRAMEWORKS: &[&str] = &[
    "aiohttp",
    "django",
    "falcon",
    "fastapi",
    "flask",
    "gunicorn",
    "litestar",
    "quart",
    "sanic",
    "starlette",
    "tornado",
    "uvicorn",
];

/// File endings that make a command argument a path, beside a `/` in it.
const FILE_ENDINGS: &[&str] = &[
    ".py", ".ini", ".sh", ".toml", ".cfg", ".conf", ".yaml", ".yml", ".json", ".txt",
];

/// Every finding of this file's rules.
pub fn findings(
    spec_file: &SpecFile,
    spec: &Spec,
    settings: &Settings,
    files: &ContextFiles,
) -> Vec<Finding> {
    let mut found = Vec::new();
    if settings.target.is_builder() {
        return found;
    }
    found.extend(default_command(spec_file, spec, settings, files));
    for (key, command) in [
        ("command", &settings.run.command),
        ("healthcheck", &settings.run.healthcheck),
    ] {
        for arg in command.iter().flatten() {
            if let Some(finding) = path_not_in_image(spec_file, settings, files, key, arg) {
                found.push(finding);
            }
        }
    }
    found
}

/// `DefaultCommand`: no `[run] command`, so the image runs the project's one console script,
/// while the project depends on a web framework or declares other entry points (GUI scripts,
/// plugin entry points) that could as well be what runs.
fn default_command(
    spec_file: &SpecFile,
    spec: &Spec,
    settings: &Settings,
    files: &ContextFiles,
) -> Option<Finding> {
    if spec.run.command.is_some() {
        return None;
    }
    let script = settings.run.command.as_ref()?.first()?;
    let package = settings
        .sync
        .package
        .clone()
        .or_else(|| settings.project.name.clone())?;
    let why = web_framework(&package, files).or_else(|| {
        // The root's pyproject is the one read whole; a member's other entry points are not.
        settings
            .sync
            .package
            .is_none()
            .then(|| other_entry_points(files))
            .flatten()
    })?;
    Some(Finding {
        rule: "DefaultCommand",
        description: "The image should say what it runs when the project offers several",
        detail: format!(
            "[run] command is not set, so the image runs {package}'s console script `{script}` ([project.scripts]), but {package} {why}: set [run] command (e.g. [\"uvicorn\", \"app.main:app\", \"--host\", \"0.0.0.0\"]) to choose"
        ),
        file: spec_file.name.clone(),
        line: key_line(spec_file, "run", "command"),
    })
}

/// `depends on <framework>, whose server is usually what runs`, when the lock says so.
fn web_framework(package: &str, files: &ContextFiles) -> Option<String> {
    let lock = project::Lock::parse(files.uv_lock.as_deref()?).ok()?;
    let depends_on = &lock.local_package(package)?.depends_on;
    let framework = WEB_FRAMEWORKS
        .iter()
        .find(|f| depends_on.iter().any(|d| project::normalize_name(d) == **f))?;
    Some(format!(
        "depends on {framework}, whose server is usually what runs"
    ))
}

/// `also declares [project.gui-scripts] ...`, when pyproject.toml declares entry points beside
/// its one console script.
fn other_entry_points(files: &ContextFiles) -> Option<String> {
    let doc: toml::Table = toml::from_str(files.pyproject.as_deref()?).ok()?;
    let project = doc.get("project")?;
    let tables: Vec<&str> = [
        ("gui-scripts", "[project.gui-scripts]"),
        ("entry-points", "[project.entry-points]"),
    ]
    .into_iter()
    .filter(|(key, _)| {
        project
            .get(*key)
            .and_then(|t| t.as_table())
            .is_some_and(|t| !t.is_empty())
    })
    .map(|(_, name)| name)
    .collect();
    (!tables.is_empty()).then(|| format!("also declares {}", tables.join(" and ")))
}

/// `CommandPathNotInImage`: an argument of `[run] command` or `healthcheck` that names a
/// project file (relative to the image's working directory) which `[run] include` or
/// `.dockerignore` leaves out of the image.
fn path_not_in_image(
    spec_file: &SpecFile,
    settings: &Settings,
    files: &ContextFiles,
    key: &str,
    arg: &str,
) -> Option<Finding> {
    let path = argument_path(arg)?;
    // The working directory as a directory of the build context.
    let dir = settings
        .run
        .working_dir
        .strip_prefix(&settings.workdir)?
        .trim_start_matches('/');
    let in_context = project::in_dir(dir, path);
    let why = match &settings.image_context {
        ImageContext::Paths(paths) => {
            let covered = paths.iter().any(|p| {
                in_context == *p
                    || in_context.starts_with(&format!("{p}/"))
                    || p.contains(['*', '?', '['])
            });
            (!covered).then(|| format!("[run] include ({}) leaves it out", paths.join(", ")))?
        }
        ImageContext::All => {
            let ignore = files.dockerignore.as_deref()?;
            // What leaves out the path's entry at the context's root (a file or directory).
            let root_entry = in_context.split('/').next().unwrap_or(&in_context);
            let (line, pattern) = project::excluding_pattern(ignore, root_entry)?;
            format!("line {line} of .dockerignore (`{pattern}`) leaves it out of the build context")
        }
    };
    Some(Finding {
        rule: "CommandPathNotInImage",
        description: "What the image's command names should be in the image",
        detail: format!(
            "[run] {key} names {path} ({}/{path} in the image), but {why}: add it to [run] include, or keep it in the build context",
            settings.run.working_dir
        ),
        file: spec_file.name.clone(),
        line: key_line(spec_file, "run", key),
    })
}

/// The project path an argument names (`alembic.ini`, `scripts/prestart.sh`, the value of
/// `--config=app.toml`), normalized; `None` for options, absolute paths, URLs, module paths
/// (`app.main:app`) and words.
fn argument_path(arg: &str) -> Option<&str> {
    let value = match arg.split_once('=') {
        Some((option, value)) if option.starts_with('-') => value,
        Some(_) => return None,
        None if arg.starts_with('-') => return None,
        None => arg,
    };
    let value = value.trim_start_matches("./").trim_end_matches('/');
    let pathlike = value.contains('/') || FILE_ENDINGS.iter().any(|e| value.ends_with(e));
    let plain = !value.is_empty()
        && !value.starts_with('/')
        && !value.starts_with('$')
        && !value.contains(':')
        && !value.contains(char::is_whitespace)
        && !value.split('/').any(|part| part == "..");
    (pathlike && plain).then_some(value)
}

#[cfg(test)]
mod tests {
    use super::argument_path;

    #[test]
    fn paths_are_told_from_options_modules_and_words() {
        for (arg, path) in [
            ("alembic.ini", Some("alembic.ini")),
            ("./scripts/prestart.sh", Some("scripts/prestart.sh")),
            ("--config=conf/app.toml", Some("conf/app.toml")),
            ("notes_api.main:app", None),
            ("--port", None),
            ("/etc/app.ini", None),
            ("serve", None),
            ("http://x/y", None),
            ("0.0.0.0", None),
        ] {
            assert_eq!(argument_path(arg), path, "{arg}");
        }
    }
}
