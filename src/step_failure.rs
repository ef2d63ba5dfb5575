//! BuildKit reports a failed exec step as `process "<whole command>" did not complete
//! successfully`; for the frontend's steps that command is uv's behind the wrapper scripts
//! (`/bin/sh /uv-frontend/scripts/kept-venv-sync ... /opt/uv-frontend/uv sync ...`). This names
//! the step by its progress name instead, and finds the part of `uv.build` it comes from.

use crate::frontend::BuildError;
use crate::llb::{self, pb};
use crate::plan::KNOWN_HOSTS_SECRET;
use crate::prepare::Prepared;
use crate::spec::SpecError;

/// A failed solve of the build, as the error the user sees: the step by its progress name, at
/// the line of `uv.build` it comes from, with a fix where the cause is known.
pub fn build_error(
    prepared: &Prepared,
    error: &str,
    step_names: &[(String, String)],
) -> BuildError {
    let (spec_file, sources) = (&prepared.spec_file, &prepared.sources);
    // The uv image is loaded only when a sync step mounts it (the builder and base are
    // resolved before anything runs).
    if uv_image_not_loaded(error, &prepared.plan.images.uv) {
        return prepared.image_failure("uv", error);
    }
    // The host network is an entitlement the build has to ask for.
    if error.contains("network.host is not allowed") {
        return host_network_not_allowed(prepared);
    }
    // A sync step that needs the client's SSH agent, in a build not given one: BuildKit says
    // so one way when the client forwards no agent at all, another when buildx has an agent
    // provider without the id.
    if (error.contains("no SSH key") && error.contains("forwarded from the client"))
        || error.contains("unset ssh forward key")
    {
        return ssh_agent_not_forwarded(prepared);
    }
    if let Some(module) = missing_module(error, &prepared.settings.editable_modules) {
        return module_not_in_context(prepared, module);
    }
    let message = name_failed_step(error, step_names);
    let line = spec_offset_of_failure(&spec_file.text, &message);
    let (key, fix) = failed_step_fix(prepared, &message);
    let line = key.unwrap_or(line);
    BuildError::located(SpecError::at(spec_file, line, message, fix), sources)
}

/// The error for a build whose host network BuildKit refused: at `[build] network`, or at the
/// flag that asked for it.
fn host_network_not_allowed(prepared: &Prepared) -> BuildError {
    let (line, what) = match &prepared.spec.build.network {
        Some(network) => match prepared.spec.set_by("build", "network") {
            Some(flag) => (0, format!("{flag}=host")),
            None => (
                network.span().start,
                "[build] network = \"host\"".to_string(),
            ),
        },
        None => (0, "--network host".to_string()),
    };
    BuildError::located(
        SpecError::at(
            &prepared.spec_file,
            line,
            format!("{what} needs the network.host entitlement, which this build was not given"),
            "pass --allow network.host to docker buildx build (a docker-container builder must also be created with --buildkitd-flags '--allow-insecure-entitlement network.host')",
        ),
        &prepared.sources,
    )
}

/// The error for a build whose git sources over SSH need the client's agent, not passed.
fn ssh_agent_not_forwarded(prepared: &Prepared) -> BuildError {
    let hosts = prepared.settings.sync.ssh_git_hosts.join(", ");
    BuildError::located(
        SpecError::at(
            &prepared.spec_file,
            0,
            format!("uv.lock has git sources over SSH ({hosts}), which uv's git fetches with the client's SSH agent, and this build was not given one"),
            format!("pass --ssh default to docker buildx build, with an agent holding a key {hosts} accepts (ssh-add -l lists them); and the servers' host keys with --secret id={KNOWN_HOSTS_SECRET},src=$HOME/.ssh/known_hosts"),
        ),
        &prepared.sources,
    )
}

/// The fix for a failed sync step that may have lacked credentials: for the lock's git sources
/// ([`git_fix`]) and the project's indexes, each that applies; empty when none does.
fn credentials_fix(prepared: &Prepared) -> String {
    let git = git_fix(prepared);
    let indexes = index_secrets(prepared);
    let index = (!indexes.is_empty()).then(|| {
        format!(
            "if uv's error above is 401 or 403 from an index, pass its credentials: {}",
            indexes
                .iter()
                .map(|id| format!("--secret id={id},env={id}"))
                .collect::<Vec<_>>()
                .join(" ")
        )
    });
    [Some(git), index]
        .into_iter()
        .flatten()
        .filter(|fix| !fix.is_empty())
        .collect::<Vec<_>>()
        .join("; ")
}

/// The fix for a failed sync step of a lock with git sources: what git's and ssh's usual
/// errors in the step's log mean here, for the sources over SSH and those over HTTP(S).
fn git_fix(prepared: &Prepared) -> String {
    let sync = &prepared.settings.sync;
    let mut fixes = Vec::new();
    if !sync.ssh_git_hosts.is_empty() {
        let hosts = sync.ssh_git_hosts.join(", ");
        fixes.push(format!("uv.lock has git sources over SSH ({hosts}): if the step's log above says \"Host key verification failed\", pass the servers' host keys with --secret id={KNOWN_HOSTS_SECRET},src=$HOME/.ssh/known_hosts (or a file written by ssh-keyscan); if it says \"Permission denied (publickey)\", the agent passed with --ssh default holds no key the server accepts"));
    }
    let hosts: Vec<&str> = sync
        .git_http_prefixes
        .iter()
        .map(|p| {
            p.split_once("://")
                .map_or(p.as_str(), |(_, h)| h.trim_end_matches('/'))
        })
        .collect();
    let pass = match hosts.as_slice() {
        [] => None,
        [host] if crate::settings::git_auth_for_any_host(&sync.git_http_prefixes) => Some(format!("pass a token with --secret id=GIT_AUTH_TOKEN.{host},env=<variable holding it> (or GIT_AUTH_TOKEN; GIT_AUTH_HEADER.{host} for a whole Authorization header)")),
        [host] => Some(format!("pass a token with --secret id=GIT_AUTH_TOKEN.{host},env=<variable holding it> (GIT_AUTH_HEADER.{host} for a whole Authorization header)")),
        _ => Some(format!("pass each host's token with --secret id=GIT_AUTH_TOKEN.<host>,env=<variable holding it>, for {} (GIT_AUTH_HEADER.<host> for a whole Authorization header)", hosts.join(", "))),
    };
    if let Some(pass) = pass {
        fixes.push(format!("uv.lock has git sources over HTTP(S) ({}): if the step's log above says git could not read a username or authentication failed, {pass}", sync.git_http_prefixes.join(", ")));
    }
    fixes.join("; ")
}

/// The error for the project's `module`, which the build context lacks.
fn module_not_in_context(prepared: &Prepared, module: &str) -> BuildError {
    let message = format!(
        "{module}, the module uv's build backend installs for the project, is not in the build context, so it cannot be copied to the image"
    );
    let fix = "if the module has another name or place, set module-name or module-root in [tool.uv.build-backend] of pyproject.toml; if .dockerignore excludes it, make it keep it";
    BuildError::located(
        SpecError::at(&prepared.spec_file, 0, message, fix),
        &prepared.sources,
    )
}

/// The fix for the failed step `message` names, where its cause is known (else empty), with
/// the offset in `uv.build` of the key behind the step when that is a better place than its
/// table.
fn failed_step_fix(prepared: &Prepared, message: &str) -> (Option<usize>, String) {
    // A stale lock fails the project phase's `--locked` sync: say what to do about it.
    let stale = match (&prepared.files.pyproject, &prepared.files.uv_lock) {
        (Some(p), Some(l)) => crate::project::stale_lock(p, l),
        _ => None,
    };
    let is_step = |stage: &str| message.contains(&format!("step [{stage} "));
    match stale {
        Some(detail) if is_step(crate::plan::PROJECT_STAGE) => {
            (None, format!("{detail}: run `uv lock` and commit uv.lock"))
        }
        // A version from git needs the checkout's .git (the builder's git was checked first).
        _ if is_step(crate::plan::PROJECT_STAGE)
            && !prepared.settings.git_versioned.is_empty()
            && prepared.settings.scm_pretend_version.is_empty() =>
        {
            (None, git_version_fix(prepared))
        }
        // A `[build] run` command failed: its line, and where the commands run.
        _ if is_step(crate::plan::BUILD_STAGE) => (
            prepared.spec.build.run.as_ref().map(|run| run.span().start),
            format!(
                "the step's log above names the command that failed; [build] run commands run in the builder from {}, with {}/bin first on PATH and the whole build context at {}",
                prepared.settings.run.working_dir, prepared.settings.venv, prepared.settings.workdir
            ),
        ),
        // `[build] apt` or `[run] apt`: an image without apt-get, or a package it lacks.
        _ if message.contains("apt-get install ") || message.contains("/apt-install ") => {
            apt_fix(prepared, message, is_step(crate::plan::DEPS_STAGE))
        }
        // The shell found no uv: the uv image lacks /uv.
        _ if message.contains("uv ") && message.contains("exit code: 127") => (
            prepared.spec.build.uv.as_ref().map(|uv| uv.span().start),
            format!(
                "the uv image {} must hold the uv binary at /uv, as ghcr.io/astral-sh/uv does: check [build] uv",
                prepared.plan.images.uv
            ),
        ),
        // What uv fetches with credentials: git over SSH (the host's key, the agent's), git
        // over HTTP(S) (a token), an index (its credentials).
        _ if message.contains("uv sync") && !credentials_fix(prepared).is_empty() => {
            (None, credentials_fix(prepared))
        }
        _ => (None, String::new()),
    }
}

/// The fix for a project step that may have failed on a version read from git.
fn git_version_fix(prepared: &Prepared) -> String {
    format!(
        "{} reads its version from git: if the log above says the version cannot be detected, keep .git in the build context (not in .dockerignore), or pass --build-arg SETUPTOOLS_SCM_PRETEND_VERSION=<version>",
        prepared
            .settings
            .git_versioned
            .keys()
            .cloned()
            .collect::<Vec<_>>()
            .join(", ")
    )
}

/// The fix for a failed apt install (of `[build] apt` in the deps stage, else of `[run] apt`),
/// by its exit code, with the offset of the key that asked for it.
fn apt_fix(prepared: &Prepared, message: &str, in_deps: bool) -> (Option<usize>, String) {
    let (key, image) = if in_deps {
        (&prepared.spec.build.apt, &prepared.plan.images.builder)
    } else {
        (&prepared.spec.run.apt, &prepared.plan.images.base)
    };
    let line = key.as_ref().map(|apt| apt.span().start);
    let exit = |code: i32| message.contains(&format!("exit code: {code}"));
    let fix = if exit(crate::lower::APT_NO_APT_GET) {
        format!("{image} has no apt-get: apt packages need a Debian or Ubuntu image")
    } else if exit(crate::lower::APT_NO_SUCH_PACKAGE) {
        format!("the step's log above names the packages {image}'s apt sources lack: check their names for its Debian or Ubuntu release (apt-cache search <word>)")
    } else {
        "apt-get's own error is in the step's log above".to_string()
    };
    (line, fix)
}

/// Whether `error` is BuildKit's failure to load the uv image `uv` (missing, unreachable,
/// denied). BuildKit names the image by its reference, or by the registry URL of its manifest
/// (`.../v2/<repository>/manifests/<tag>`) when the request failed.
fn uv_image_not_loaded(error: &str, uv: &str) -> bool {
    let named = error.contains(uv) || error.contains(&manifest_path(uv));
    let failed = [
        "not found",
        "failed to load cache key",
        "failed to resolve source metadata",
        "failed to do request",
        "pull access denied",
        "unauthorized",
    ]
    .iter()
    .any(|m| error.contains(m));
    named && failed
}

/// `/v2/<repository>/manifests/<tag or digest>` of an image reference, as registry requests
/// name it (`python:3.12` is `library/python` on Docker Hub).
fn manifest_path(image: &str) -> String {
    let full = crate::llb::source::normalize_image_ref(image);
    // docker.io/library/uv:latest, 127.0.0.1:5000/uv@sha256:...: host, repository, reference.
    let (_, path) = full.split_once('/').unwrap_or(("", &full));
    let (repository, reference) = match path.split_once('@') {
        Some((repository, digest)) => (repository.split(':').next().unwrap_or(repository), digest),
        None => path.rsplit_once(':').unwrap_or((path, "latest")),
    };
    format!("/v2/{repository}/manifests/{reference}")
}

/// The per-index credential secrets of the build (`UV_INDEX_<NAME>_USERNAME`/`_PASSWORD`).
fn index_secrets(prepared: &Prepared) -> Vec<&str> {
    prepared
        .settings
        .sync
        .secrets
        .iter()
        .map(String::as_str)
        .filter(|id| {
            id.starts_with("UV_INDEX_") && (id.ends_with("_USERNAME") || id.ends_with("_PASSWORD"))
        })
        .collect()
}

/// The progress name of every exec step, with the text its command ends in.
pub fn exec_step_names(definition: &pb::Definition) -> Vec<(String, String)> {
    use prost::Message;
    let n = definition.def.len().saturating_sub(1);
    definition.def[..n]
        .iter()
        .filter_map(|bytes| {
            let op = pb::Op::decode(bytes.as_slice()).ok()?;
            let Some(pb::op::Op::Exec(exec)) = op.op else {
                return None;
            };
            let args = exec.meta?.args;
            // The command's last words: printed as they are inside BuildKit's quoted command.
            let tail = args[args.len().saturating_sub(3)..].join(" ");
            let digest = llb::digest_of(bytes);
            let name = definition
                .metadata
                .get(&digest)?
                .description
                .get("llb.customname")?
                .clone();
            Some((name, tail))
        })
        .collect()
}

/// BuildKit's `process "<whole command>" did not complete successfully: exit code: N`, with the
/// command replaced by the step's name.
pub fn name_failed_step(message: &str, steps: &[(String, String)]) -> String {
    const FAILED: &str = "\" did not complete successfully";
    // The marker that ends the command comes after its start: one before it (in text BuildKit
    // quotes ahead of the process) is not this command's end.
    let Some(start) = message.find("process \"") else {
        return message.to_string();
    };
    let Some(end) = message[start..].find(FAILED).map(|i| start + i) else {
        return message.to_string();
    };
    let command = &message[start..end];
    match steps
        .iter()
        .find(|(_, tail)| !tail.is_empty() && command.ends_with(tail.as_str()))
    {
        Some((name, _)) => format!(
            "{}step {name} failed{} (its output is in the step's log)",
            &message[..start],
            &message[end + FAILED.len()..]
        ),
        None => message.to_string(),
    }
}

/// The module (of `modules`, context paths like `src/hello_uv`) that a failed solve could not
/// find in the build context: BuildKit says so only as a failed checksum walk of the path or of
/// a directory above it (`lstat <mount>/src: no such file or directory`), as when
/// `.dockerignore` leaves the module out.
pub fn missing_module<'a>(message: &str, modules: &'a [String]) -> Option<&'a str> {
    if !message.contains("checksum") {
        return None;
    }
    modules
        .iter()
        .find(|module| {
            let parts: Vec<&str> = module.split('/').collect();
            (1..=parts.len()).any(|n| {
                let path = parts[..n].join("/");
                message.contains(&format!("/{path}: no such file or directory"))
                    || message.contains(&format!("\"/{path}\": not found"))
            })
        })
        .map(String::as_str)
}

/// Where in `uv.build` a failed step comes from (a byte offset): its table (`[sync]` for sync
/// steps), or the start.
pub fn spec_offset_of_failure(spec: &str, message: &str) -> usize {
    // The line that asked for the step: [build] managed-python for uv's Python install, the
    // [sync] table for a sync.
    let is_line: fn(&str) -> bool = if message.contains("uv python install") {
        |l| {
            l.split('=')
                .next()
                .is_some_and(|k| k.trim() == "managed-python")
        }
    } else if message.contains("uv sync") {
        |l| l == "[sync]"
    } else {
        return 0;
    };
    spec.lines()
        .position(|l| is_line(l.trim()))
        .map(|i| spec.lines().take(i).map(|l| l.len() + 1).sum())
        .unwrap_or(0)
}

#[cfg(test)]
mod tests {
    use super::{manifest_path, name_failed_step, uv_image_not_loaded};

    #[test]
    fn a_failed_marker_before_the_process_is_not_taken_for_its_end() {
        let steps = [("[deps 2/2] uv sync".to_string(), "uv sync".to_string())];
        // A fuzz find: the marker ahead of `process "` used to slice backwards and panic.
        let odd = " did not complete successfully process \"";
        assert_eq!(name_failed_step(odd, &steps), odd);
        let message = "x\" did not complete successfully: process \"/bin/sh -c uv sync\" did not complete successfully: exit code: 2";
        assert_eq!(
            name_failed_step(message, &steps),
            "x\" did not complete successfully: step [deps 2/2] uv sync failed: exit code: 2 (its output is in the step's log)"
        );
    }

    #[test]
    fn a_uv_image_is_recognised_by_its_reference_or_its_manifest_url() {
        assert_eq!(
            manifest_path("127.0.0.1:5999/uv:0.13.9"),
            "/v2/uv/manifests/0.13.9"
        );
        assert_eq!(
            manifest_path("ghcr.io/astral-sh/uv:0.13.9"),
            "/v2/astral-sh/uv/manifests/0.13.9"
        );
        assert_eq!(manifest_path("uv"), "/v2/library/uv/manifests/latest");
        assert_eq!(
            manifest_path("127.0.0.1:5000/uv:0.13.9@sha256:ab"),
            "/v2/uv/manifests/sha256:ab"
        );
        assert!(uv_image_not_loaded(
            "failed to load cache key: failed to do request: Head \"https://127.0.0.1:5999/v2/uv/manifests/0.13.9\": dial tcp 127.0.0.1:5999: connect: connection refused",
            "127.0.0.1:5999/uv:0.13.9"
        ));
        assert!(uv_image_not_loaded(
            "failed to load cache key: 127.0.0.1:5000/uv:0.99.0: not found",
            "127.0.0.1:5000/uv:0.99.0"
        ));
        assert!(!uv_image_not_loaded(
            "process \"/opt/uv-frontend/uv sync\" did not complete successfully: exit code: 2",
            "127.0.0.1:5000/uv:0.13.9"
        ));
    }
}
