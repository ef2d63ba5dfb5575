//! What of the project, besides its venv, the runtime image holds and where it runs from: the
//! build context at the workdir (as uv's Docker guide copies the project), narrowed by
//! `[run] include`; the image's working directory (a `[sync] package` member's own directory);
//! the `[build] run` commands whose output it gets; and the Debian packages of `[build] apt` and
//! `[run] apt`.

use serde::Serialize;

use crate::project::Project;
use crate::spec::Spec;

/// What of the build context the runtime image gets at the workdir.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum ImageContext {
    /// All of it (`.dockerignore` honoured), as uv's guide's `COPY --from=builder /app /app`.
    All,
    /// Only these paths of it (`[run] include`); none: the venv only.
    Paths(Vec<String>),
}

impl ImageContext {
    pub fn of(spec: &Spec) -> ImageContext {
        match &spec.run.include {
            None => ImageContext::All,
            Some(paths) => ImageContext::Paths(
                paths
                    .get_ref()
                    .iter()
                    .map(|p| p.trim_start_matches("./").trim_end_matches('/').to_string())
                    .collect(),
            ),
        }
    }

    /// Whether the image gets nothing of the context.
    pub fn is_empty(&self) -> bool {
        matches!(self, ImageContext::Paths(paths) if paths.is_empty())
    }
}

/// The image's working directory: `[run] workdir`; else, for a `[sync] package` member, its
/// directory under the workdir (a member's commands run from there, as the member's own
/// Dockerfile's `WORKDIR` says); else the workdir.
pub fn working_dir(spec: &Spec, project: &Project, workdir: &str) -> String {
    if let Some(dir) = &spec.run.workdir {
        return trimmed_dir(dir.get_ref());
    }
    let member_dir = spec
        .sync
        .package
        .as_ref()
        .and_then(|name| project.lock.local_package(name.get_ref()))
        .filter(|p| !project.is_root(p))
        .map(|p| p.path.trim_start_matches("./").trim_end_matches('/'))
        .filter(|dir| !dir.is_empty() && *dir != "." && !dir.starts_with('/'))
        .filter(|dir| !dir.split('/').any(|part| part == ".."));
    match member_dir {
        Some(dir) => format!("{workdir}/{dir}"),
        None => workdir.to_string(),
    }
}

/// `[build] run`: the commands, as written; none for the dev and test images, which are the
/// builder with the project (the commands' output is for the runtime image).
pub fn build_commands(spec: &Spec, target: super::Target) -> Vec<String> {
    if target.is_builder() {
        return Vec::new();
    }
    spec.build
        .run
        .as_ref()
        .map(|c| c.get_ref().clone())
        .unwrap_or_default()
}

/// A directory as the settings hold it: without trailing slashes.
pub fn trimmed_dir(dir: &str) -> String {
    dir.trim_end_matches('/').to_string()
}

/// `[build] apt` or `[run] apt`: the packages, as written.
pub fn apt_packages(list: &Option<toml::Spanned<Vec<String>>>) -> Vec<String> {
    list.as_ref()
        .map(|l| l.get_ref().clone())
        .unwrap_or_default()
}
