//! `[run]`: how the runtime image runs, and as whom.

use std::collections::BTreeMap;

use serde::Serialize;

use crate::project::{Project, PyProject};
use crate::spec::{CodeOwner, Spec, SpecError, SpecFile};
use crate::user::{runtime_user, RuntimeUser};

use super::{image_contents, DEFAULT_UID, DEFAULT_USER};

#[derive(Clone, Debug, Serialize)]
pub struct RunSettings {
    pub user: RuntimeUser,
    /// The image's working directory (see [`image_contents::working_dir`]).
    pub working_dir: String,
    /// `[run] apt`: Debian packages installed in the runtime image.
    pub apt: Vec<String>,
    /// `None` keeps the base image's command.
    pub command: Option<Vec<String>>,
    /// `[run] entrypoint`: `None` keeps the base image's (see [`crate::image::runtime_config`]).
    pub entrypoint: Option<Vec<String>>,
    pub code_owner: CodeOwner,
    pub env: BTreeMap<String, String>,
    pub expose: Vec<u16>,
    /// OCI labels from pyproject.toml, then the spec's own, then `--label`'s.
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    pub healthcheck: Option<Vec<String>>,
    pub health: HealthOptions,
}

/// The health check's options, as the image config's `Healthcheck` has them; `None`: Docker's
/// default.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize)]
pub struct HealthOptions {
    /// Nanoseconds.
    pub interval: Option<u64>,
    pub timeout: Option<u64>,
    pub start_period: Option<u64>,
    pub retries: Option<u32>,
}

impl RunSettings {
    /// The uid and gid that own the venv and the project's files in the runtime image.
    pub fn files_owner(&self) -> (u32, u32) {
        match self.code_owner {
            CodeOwner::User => (self.user.uid, self.user.gid),
            CodeOwner::Root => (0, 0),
        }
    }
}

impl HealthOptions {
    pub fn is_default(&self) -> bool {
        *self == HealthOptions::default()
    }
}

/// What resolving `[run]` reads: the spec, the project, the base image (its name and account
/// files, for the runtime user) and `--label`'s values.
pub(super) struct RunInputs<'a> {
    pub spec_file: &'a SpecFile,
    pub spec: &'a Spec,
    pub project: &'a Project,
    pub members: &'a BTreeMap<String, PyProject>,
    pub base: &'a str,
    pub base_passwd: Option<&'a str>,
    pub base_group: Option<&'a str>,
    /// `--label` values.
    pub cli_labels: &'a BTreeMap<String, String>,
}

/// `[run]` resolved: the runtime user checked against the base image, labels, health check.
pub(super) fn run_settings(
    inputs: &RunInputs,
    working_dir: String,
    command: Option<Vec<String>>,
) -> Result<RunSettings, SpecError> {
    let spec = inputs.spec;
    Ok(RunSettings {
        user: checked_user(inputs)?,
        working_dir,
        apt: image_contents::apt_packages(&spec.run.apt),
        command,
        entrypoint: spec.run.entrypoint.as_ref().map(|e| e.get_ref().clone()),
        code_owner: spec.run.code_owner.unwrap_or_default(),
        env: spec
            .run
            .env
            .iter()
            .map(|(k, v)| (k.clone(), v.get_ref().clone()))
            .collect(),
        expose: spec
            .run
            .expose
            .iter()
            .map(|p| *p.get_ref() as u16)
            .collect(),
        // The image is of the package the sync installs: a `[sync] package` member's name and
        // version, not the workspace root's.
        labels: labels(
            spec.sync
                .package
                .as_ref()
                .and_then(|name| inputs.members.get(name.get_ref()))
                .unwrap_or(&inputs.project.pyproject),
            &spec.run.labels,
            inputs.cli_labels,
        ),
        stop_signal: spec
            .run
            .stop_signal
            .as_ref()
            .map(|v| v.get_ref().to_ascii_uppercase()),
        healthcheck: spec.run.healthcheck.as_ref().map(|h| h.get_ref().clone()),
        health: health_options(spec),
    })
}

fn spec_id(v: &Option<toml::Spanned<i64>>) -> Option<u32> {
    v.as_ref().map(|v| *v.get_ref() as u32)
}

/// The runtime user, from `[run] user`, `uid` and `gid` and the base image's accounts: never
/// root, and never a base image's user under ids other than its own.
fn checked_user(inputs: &RunInputs) -> Result<RuntimeUser, SpecError> {
    let (spec_file, spec, base) = (inputs.spec_file, inputs.spec, inputs.base);
    let name = spec
        .run
        .user
        .as_ref()
        .map_or_else(|| DEFAULT_USER.to_string(), |u| u.get_ref().clone());
    let user = runtime_user(
        &name,
        (
            spec_id(&spec.run.uid).unwrap_or(DEFAULT_UID),
            spec_id(&spec.run.gid),
        ),
        inputs.base_passwd,
        inputs.base_group,
    );
    // A user of the base may be root by another name (`toor`).
    if user.add.is_none() && user.uid == 0 {
        return Err(SpecError::at(
            spec_file,
            spec.run.user.as_ref().map_or(0, |u| u.span().start),
            format!(
                "[run] user {} is root (uid 0) in the base image {base}: the runtime image runs as a non-root user",
                user.name
            ),
            "name another user, or remove the key to get the default user \"app\"",
        ));
    }
    for (key, actual) in [(&spec.run.uid, user.uid), (&spec.run.gid, user.gid)] {
        let (Some(v), Some(wanted)) = (key, spec_id(key)) else {
            continue;
        };
        if wanted == actual {
            continue;
        }
        if user.add.is_none() {
            return Err(SpecError::at(
                spec_file,
                v.span().start,
                format!(
                    "[run] user {} already exists in the base image {base} with id {actual}, not {wanted}",
                    user.name
                ),
                "remove uid/gid to use the base image's user, or name a new user",
            ));
        }
        // Only a uid can differ: a taken gid is that group's.
        return Err(SpecError::at(
            spec_file,
            v.span().start,
            format!("[run] uid {wanted} belongs to another user of the base image {base}"),
            format!(
                "choose a free uid, or remove uid to get the first free one from {DEFAULT_UID}"
            ),
        ));
    }
    Ok(user)
}

fn health_options(spec: &Spec) -> HealthOptions {
    let nanos = |v: &Option<toml::Spanned<String>>| {
        v.as_ref()
            .and_then(|v| crate::spec::duration::nanos(v.get_ref()))
    };
    HealthOptions {
        interval: nanos(&spec.run.health_interval),
        timeout: nanos(&spec.run.health_timeout),
        start_period: nanos(&spec.run.health_start_period),
        retries: spec
            .run
            .health_retries
            .as_ref()
            .and_then(|r| u32::try_from(*r.get_ref()).ok()),
    }
}

/// OCI annotations of the image from `[project]`, overridden by the spec's `[run] labels`, then
/// by `--label` (as `docker buildx build --label` overrides a Dockerfile's `LABEL`).
fn labels(
    p: &PyProject,
    spec: &BTreeMap<String, String>,
    cli: &BTreeMap<String, String>,
) -> BTreeMap<String, String> {
    let mut labels = BTreeMap::new();
    let mut put = |key: &str, value: Option<&String>| {
        if let Some(v) = value {
            labels.insert(format!("org.opencontainers.image.{key}"), v.clone());
        }
    };
    put("title", p.name.as_ref());
    put("version", p.version.as_ref());
    put("description", p.description.as_ref());
    put("licenses", p.license.as_ref());
    let source = [
        "Source",
        "Repository",
        "source",
        "repository",
        "Homepage",
        "homepage",
    ]
    .iter()
    .find_map(|k| p.urls.get(*k));
    put("source", source);
    labels.extend(spec.iter().chain(cli).map(|(k, v)| (k.clone(), v.clone())));
    labels
}
