//! `--call=check`: findings about a project and its `uv.build` that do not stop a build but are
//! likely mistakes. A normal build sends the same findings as build warnings.

mod finding;
mod image_files;

use finding::key_line;
pub use finding::Finding;

use crate::gateway::BuildOpts;
use crate::project::{self, ContextFiles};
use crate::settings::{Settings, Target};
use crate::spec::{line_of, Spec, SpecFile};

/// The uv settings every sync step gets from the frontend; an image or runtime value for them
/// is overridden in the build, or is meaningless in the runtime image.
const FRONTEND_UV_ENV: &[&str] = &[
    "UV_CACHE_DIR",
    "UV_COMPILE_BYTECODE",
    "UV_LINK_MODE",
    "UV_PROJECT_ENVIRONMENT",
    "UV_PYTHON_DOWNLOADS",
];

/// Every finding for this build. `builder_env` is the builder image's `Env`.
pub fn lint(
    spec_file: &SpecFile,
    spec: &Spec,
    settings: &Settings,
    files: &ContextFiles,
    opts: &BuildOpts,
    builder_env: &[String],
) -> Vec<Finding> {
    let mut found = venv_not_ignored(files);
    found.extend(dev_in_runtime(spec_file, spec, settings));
    found.extend(env_findings(spec_file, spec, settings, builder_env));
    found.extend(image_findings(spec_file, settings, files));
    found.extend(credential_findings(spec_file, settings, files, opts));
    found.extend(stale_lock(files));
    found.extend(image_files::findings(spec_file, spec, settings, files));
    found
}

/// A local `.venv` that the context's .dockerignore does not exclude.
fn venv_not_ignored(files: &ContextFiles) -> Vec<Finding> {
    let mut found = Vec::new();
    // .venv not ignored.
    let ignores_venv = files.dockerignore.as_deref().is_some_and(|d| {
        d.lines()
            .map(str::trim)
            .any(|l| matches!(l, ".venv" | ".venv/" | "**/.venv" | "**/.venv/" | "/.venv"))
    });
    if !ignores_venv {
        found.push(Finding {
            rule: "VenvNotIgnored",
            description: "A local .venv should be kept out of the build context",
            detail: if files.dockerignore.is_some() {
                "the build context's .dockerignore does not exclude .venv: uv-frontend never \
                 sends it, but other builds of this context would (add `.venv` to .dockerignore)"
            } else {
                "the build context has no .dockerignore, so nothing keeps .venv out: \
                 uv-frontend never sends it, but other builds of this context would (add a \
                 .dockerignore with `.venv`)"
            }
            .into(),
            file: project::DOCKERIGNORE.into(),
            line: None,
        });
    }
    found
}

/// The dev group put into the runtime image.
fn dev_in_runtime(spec_file: &SpecFile, spec: &Spec, settings: &Settings) -> Vec<Finding> {
    let mut found = Vec::new();
    let spec_line = |offset: usize| Some(line_of(&spec_file.text, offset));
    // Dev dependencies in the runtime image.
    if settings.target == Target::Runtime {
        if spec.sync.dev == Some(true) {
            found.push(Finding {
                rule: "DevDependenciesInRuntime",
                description: "The runtime image should not carry development dependencies",
                detail: "[sync] dev = true puts the dev group into the runtime image (use \
                         --target dev for an image with it, and remove the key)"
                    .into(),
                file: spec_file.name.clone(),
                line: key_line(spec_file, "sync", "dev"),
            });
        }
        for group in &spec.sync.group {
            if group.get_ref() == "dev" {
                found.push(Finding {
                    rule: "DevDependenciesInRuntime",
                    description: "The runtime image should not carry development dependencies",
                    detail:
                        "[sync] group lists \"dev\", which puts the dev group into the runtime \
                             image (use --target dev for an image with it)"
                            .into(),
                    file: spec_file.name.clone(),
                    line: spec_line(group.span().start),
                });
            }
        }
    }
    found
}

/// `[run] env` and the builder image's environment against what the build sets.
fn env_findings(
    spec_file: &SpecFile,
    spec: &Spec,
    settings: &Settings,
    builder_env: &[String],
) -> Vec<Finding> {
    let mut found = Vec::new();
    let spec_line = |offset: usize| Some(line_of(&spec_file.text, offset));
    // PYTHONDONTWRITEBYTECODE beside compiled bytecode.
    if let Some(value) = spec.run.env.get("PYTHONDONTWRITEBYTECODE") {
        if settings.sync.compile_bytecode {
            found.push(Finding {
                rule: "BytecodeSettingsConflict",
                description:
                    "Compiled bytecode and PYTHONDONTWRITEBYTECODE work against each other",
                detail:
                    "[run] env sets PYTHONDONTWRITEBYTECODE while [sync] compile-bytecode is on: \
                         the image already holds the bytecode, and the variable only hides that \
                         nothing else can be cached at run time (remove it, or set \
                         compile-bytecode = false for a smaller image that compiles nothing)"
                        .into(),
                file: spec_file.name.clone(),
                line: spec_line(value.span().start),
            });
        }
    }

    // Conflicting UV_* environment.
    for (key, value) in &spec.run.env {
        if key.starts_with("UV_") {
            found.push(Finding {
                rule: "UvEnvInRuntime",
                description: "uv settings have no effect in the runtime image",
                detail: format!(
                    "[run] env sets {key}, but the runtime image has no uv; uv.build's tables set \
                     what the sync steps use (remove it)"
                ),
                file: spec_file.name.clone(),
                line: spec_line(value.span().start),
            });
        }
    }
    if let Some(path) = spec.run.env.get("PATH") {
        let keeps = ["$PATH", "${PATH}"]
            .iter()
            .any(|p| path.get_ref().contains(p))
            || path.get_ref().contains(&format!("{}/bin", settings.venv));
        if !keeps {
            found.push(Finding {
                rule: "VenvNotOnPath",
                description: "The venv's bin directory should stay on PATH",
                detail: format!(
                    "[run] env sets PATH without {venv}/bin or $PATH, so python and the project's scripts are not the venv's (write PATH = \"/more/bin:$PATH\")",
                    venv = settings.venv
                ),
                file: spec_file.name.clone(),
                line: spec_line(path.span().start),
            });
        }
    }
    for entry in builder_env {
        let Some((key, value)) = entry.split_once('=') else {
            continue;
        };
        if FRONTEND_UV_ENV.contains(&key) {
            found.push(Finding {
                rule: "ConflictingUvEnv",
                description: "The builder image's uv settings are replaced by uv-frontend's",
                detail: format!(
                    "the builder image {} sets {key}={value}, which every sync step replaces with \
                     uv-frontend's own value (set it in uv.build instead, e.g. [cache] dir)",
                    settings.images.builder
                ),
                file: spec_file.name.clone(),
                line: spec
                    .build
                    .builder
                    .as_ref()
                    .and_then(|b| spec_line(b.span().start)),
            });
        }
    }
    found
}

/// What the image runs, and what it gets of the build context.
fn image_findings(spec_file: &SpecFile, settings: &Settings, files: &ContextFiles) -> Vec<Finding> {
    let mut found = Vec::new();
    // No command: `docker run <image>` runs the base image's (python3, which exits at once
    // without a terminal).
    if settings.run.command.is_none() && !settings.target.is_builder() {
        found.push(Finding {
            rule: "NoCommand",
            description: "The image should say what it runs",
            detail: "[run] command is not set and the project has no single console script (it has several, none, or is not a package), so the image keeps the base image's command (set [run] command, e.g. [\"python\", \"main.py\"] or one of the project's scripts)".into(),
            file: spec_file.name.clone(),
            line: None,
        });
    }

    // The runtime image gets the build context: without a .dockerignore (or `[run] include`),
    // every local file (.env, notes, data) goes into the image.
    if settings.image_context == crate::settings::ImageContext::All
        && !settings.target.is_builder()
        && files.dockerignore.is_none()
    {
        found.push(Finding {
            rule: "ContextInImage",
            description: "What the image gets of the build context should be chosen",
            detail: format!(
                "the runtime image gets the build context at {} and there is no .dockerignore: every local file (.env, data, notes) goes into the image (add a .dockerignore, or name what the image needs in [run] include)",
                settings.workdir
            ),
            file: project::DOCKERIGNORE.into(),
            line: None,
        });
    }
    found
}

/// Index credentials where they do not belong, and RUN options uv-frontend does not apply.
fn credential_findings(
    spec_file: &SpecFile,
    settings: &Settings,
    files: &ContextFiles,
    opts: &BuildOpts,
) -> Vec<Finding> {
    let mut found = Vec::new();
    // A password in an index URL: the file reaches the builder's layers and exported caches.
    for (name, text) in [
        (project::PYPROJECT, &files.pyproject),
        (project::UV_TOML, &files.uv_toml),
    ] {
        let text = text.as_deref().unwrap_or_default();
        if let Some(line) = line_with_url_password(text, false) {
            found.push(Finding {
                rule: "CredentialsInIndexUrl",
                description: "Index credentials belong in secrets, not in URLs",
                detail: format!(
                    "{name} has an index URL with a password in it: the file is sent to the build's steps, so the password is in the builder's layers and any exported cache (remove it from the URL and pass it with --secret id=UV_INDEX_<NAME>_PASSWORD,env=...)"
                ),
                file: name.to_string(),
                line: Some(line),
            });
        }
        // The same in a git source's URL: git takes a token from a secret too.
        if let Some(line) = line_with_url_password(text, true) {
            found.push(Finding {
                rule: "CredentialsInGitUrl",
                description: "git credentials belong in secrets, not in URLs",
                detail: format!(
                    "{name} has a git source URL with a password or token in it: the file is sent to the build's steps (and copied into the image with the project), so it is in the builder's layers and any exported cache (remove it from the URL and pass the token with --secret id=GIT_AUTH_TOKEN.<host>,env=...)"
                ),
                file: name.to_string(),
                line: Some(line),
            });
        }
    }

    // Credentials as build args reach no step (and are recorded in the build's provenance).
    let credential_args: Vec<String> = opts
        .build_args()
        .into_keys()
        .filter(|k| settings.sync.secrets.contains(k))
        .collect();
    if !credential_args.is_empty() {
        found.push(Finding {
            rule: "CredentialsAsBuildArgs",
            description: "Index credentials reach uv only as secrets",
            detail: format!(
                "--build-arg {} is not used: credentials reach uv only as secrets (pass --secret id=<NAME>,env=<NAME> instead; build args are recorded in the build's provenance)",
                credential_args.join(", ")
            ),
            file: spec_file.name.clone(),
            line: None,
        });
    }
    // What the Dockerfile frontend applies to RUN steps and uv-frontend does not.
    let ignored = opts.ignored_run_options();
    if !ignored.is_empty() {
        found.push(Finding {
            rule: "IgnoredRunOptions",
            description: "The Dockerfile frontend applies these to RUN steps; uv-frontend runs only uv sync and its own checks",
            detail: format!(
                "uv-frontend does not apply {} (its uv sync steps have no use for them)",
                ignored.join(", ")
            ),
            file: spec_file.name.clone(),
            line: None,
        });
    }
    found
}

/// A lock that looks older than pyproject.toml.
fn stale_lock(files: &ContextFiles) -> Vec<Finding> {
    let mut found = Vec::new();
    // A lock that looks stale.
    if let (Some(pyproject), Some(lock)) = (&files.pyproject, &files.uv_lock) {
        if let Some(detail) = crate::project::stale_lock(pyproject, lock) {
            found.push(Finding {
                rule: "StaleLock",
                description: "uv.lock should match pyproject.toml",
                detail: format!(
                    "{detail}: the project phase's `uv sync --locked` will fail (run `uv lock`)"
                ),
                file: project::UV_LOCK.into(),
                line: None,
            });
        }
    }
    found
}

/// The first line (1-based) of `text` with a URL like `https://user:password@host/...`.
fn line_with_url_password(text: &str, git: bool) -> Option<usize> {
    text.lines()
        .position(|line| {
            let squashed: String = line.chars().filter(|c| !c.is_whitespace()).collect();
            let is_git =
                line.contains("git+") || squashed.contains("git=\"") || squashed.contains("git='");
            is_git == git
                && line.match_indices("://").any(|(at, _)| {
                    let rest = &line[at + 3..];
                    // A token as the user is a credential over HTTP(S); an SSH user is a name.
                    let http = line[..at].ends_with("http") || line[..at].ends_with("https");
                    let authority = rest
                        .split(['/', '"', '\'', ' ', '?', '#'])
                        .next()
                        .unwrap_or("");
                    authority.split_once('@').is_some_and(|(userinfo, _)| {
                        userinfo.contains(':') || (git && http && is_token(userinfo))
                    })
                })
        })
        .map(|i| i + 1)
}

/// Whether a URL's user looks like an access token rather than a name (`git`, `oauth2`): a git
/// host takes a token as the user of an HTTPS URL (`https://ghp_...@github.com/...`).
fn is_token(user: &str) -> bool {
    user.len() >= 20
        && user
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || c == '_' || c == '-')
}

#[cfg(test)]
mod tests {
    use super::line_with_url_password;

    #[test]
    fn urls_with_a_password_are_found_by_line() {
        let text = "[[tool.uv.index]]\nname = \"team\"\nurl = \"https://ci:s3cret@pkgs.example.com/simple\"\n";
        assert_eq!(line_with_url_password(text, false), Some(3));
        assert_eq!(line_with_url_password(text, true), None, "not a git source");
        for clean in [
            "url = \"https://pkgs.example.com/simple\"\n",
            "url = \"https://token@pkgs.example.com/simple\"\n",
            "email = \"a@b.c\"\n",
            "url = \"https://pkgs.example.com/simple?x=a:b@c\"\n",
        ] {
            assert_eq!(line_with_url_password(clean, false), None, "{clean}");
        }
    }

    #[test]
    fn git_urls_with_a_password_or_a_token_are_found_by_line() {
        for (text, line) in [
            ("dependencies = [\"lib @ git+https://ci:s3cret@github.com/team/lib\"]\n", 1),
            ("[tool.uv.sources]\nlib = { git = \"https://ghp_0123456789abcdefghij0123@github.com/team/lib\" }\n", 2),
        ] {
            assert_eq!(line_with_url_password(text, true), Some(line), "{text}");
            assert_eq!(line_with_url_password(text, false), None, "{text}");
        }
        // TOML's literal strings and tabs too.
        let literal = "lib = {\tgit\t=\t'https://ci:s3cret@github.com/team/lib' }\n";
        assert_eq!(line_with_url_password(literal, true), Some(1));
        assert_eq!(line_with_url_password(literal, false), None);
        for clean in [
            "lib = { git = \"ssh://git@github.com/team/lib\" }\n",
            "lib = { git = \"ssh://deploy-user-for-the-ci-system@git.example.com/lib\" }\n",
            "dependencies = [\"lib @ git+https://github.com/team/lib\"]\n",
            "dependencies = [\"lib @ git+https://oauth2@gitlab.com/team/lib\"]\n",
        ] {
            assert_eq!(line_with_url_password(clean, true), None, "{clean}");
        }
    }
}
