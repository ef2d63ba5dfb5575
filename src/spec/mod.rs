//! The `uv.build` file: TOML, every key optional, keys named like uv's own flags.
//!
//! This module only types the text and checks each value on its own; defaults that depend on the
//! project are filled in by [`crate::settings`].

mod check;
pub mod duration;
mod error;
pub mod overrides;
mod parse;
mod suggest;

use std::collections::BTreeMap;

use serde::Deserialize;
use toml::Spanned;

pub use crate::llb::CacheSharing;
pub use error::line_of;
pub use error::{quote, shorten, shorten_to, SpecError, SpecFile, QUOTED_MAX};
pub use parse::{parse, parse_with_args};
pub use suggest::{closest, edit_distance};

/// A parsed `uv.build`. Every field is optional; `None` means "use the default".
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct Spec {
    #[serde(default)]
    pub build: BuildTable,
    #[serde(default)]
    pub sync: SyncTable,
    #[serde(default)]
    pub cache: CacheTable,
    #[serde(default)]
    pub run: RunTable,
    #[serde(default)]
    pub test: TestTable,
    /// The flag that set a `[table] key` instead of the file (`--build-arg UVF_BUILD_UV`,
    /// `--build-context uv=...`), for errors about its value.
    #[serde(skip)]
    pub set_by: BTreeMap<(String, String), String>,
}

impl Spec {
    /// The flag that set `[table] key`, when one did rather than the file.
    pub fn set_by(&self, table: &str, key: &str) -> Option<&str> {
        self.set_by
            .get(&(table.to_string(), key.to_string()))
            .map(String::as_str)
    }
}

/// `[build]`: which images the build uses and where the project lives.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct BuildTable {
    /// Image holding `/uv`; mounted for sync steps, never part of the runtime image.
    pub uv: Option<Spanned<String>>,
    /// Image `uv sync` runs in.
    pub builder: Option<Spanned<String>>,
    /// Runtime base image; defaults to the builder image.
    pub base: Option<Spanned<String>>,
    /// Project root; the venv is `<workdir>/.venv` in both stages.
    pub workdir: Option<Spanned<String>>,
    /// A Python version for uv to install (`uv python install`) instead of the builder image's
    /// Python; the runtime image gets the same interpreter, so its base needs no Python.
    pub managed_python: Option<Spanned<String>>,
    /// Where the managed Python is installed, the same path in the builder and the runtime.
    pub python_install_dir: Option<Spanned<String>>,
    /// The sync steps' network: `default` (BuildKit's sandbox) or `host` (needs
    /// `--allow network.host`), e.g. for a package index on the build host's 127.0.0.1.
    pub network: Option<Spanned<String>>,
    /// Shell commands run in the builder after the project phase, in turn, with the venv
    /// active and the whole build context at the workdir (`python manage.py collectstatic`):
    /// what they write under the workdir reaches the runtime image in a layer of its own.
    pub run: Option<Spanned<Vec<String>>>,
    /// Debian packages installed in the builder only (compilers and headers for sdists:
    /// `gcc`, `libpq-dev`), before phase 1.
    pub apt: Option<Spanned<Vec<String>>>,
}

/// `[sync]`: what `uv sync` installs.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct SyncTable {
    /// `--package`: the workspace member to install.
    pub package: Option<Spanned<String>>,
    /// `--extra`, repeated.
    #[serde(default)]
    pub extra: Vec<Spanned<String>>,
    /// `--all-extras`.
    pub all_extras: Option<bool>,
    /// `--group`, repeated.
    #[serde(default)]
    pub group: Vec<Spanned<String>>,
    /// Install the `dev` group; `--no-dev` unless true.
    pub dev: Option<bool>,
    /// `locked` (fail if `uv.lock` is stale) or `frozen` (use it as it is).
    pub lock: Option<Spanned<LockMode>>,
    /// `UV_COMPILE_BYTECODE`.
    pub compile_bytecode: Option<bool>,
    /// `--no-editable`: install the project as a wheel even when its modules could be copied
    /// beside an editable install.
    pub no_editable: Option<bool>,
}

/// Who owns the venv and the project's files in the runtime image.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CodeOwner {
    /// The runtime user (as uv's Docker guide's `--chown`): the application may write its files.
    #[default]
    User,
    /// root: the runtime user can read and run them but not change them.
    Root,
}

/// How `uv sync` treats `uv.lock`.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Deserialize, serde::Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum LockMode {
    Locked,
    Frozen,
}

impl LockMode {
    pub fn flag(self) -> &'static str {
        match self {
            LockMode::Locked => "--locked",
            LockMode::Frozen => "--frozen",
        }
    }
}

/// `[cache]`: the one uv cache mount every sync step shares.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct CacheTable {
    pub id: Option<Spanned<String>>,
    /// Both the mount target and `UV_CACHE_DIR`.
    pub dir: Option<Spanned<String>>,
    pub sharing: Option<CacheSharing>,
}

/// `[test]`: a smoke test run in the runtime image as part of the build.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct TestTable {
    /// Run as the runtime user, in the runtime image; a failure fails the build.
    pub command: Option<Spanned<Vec<String>>>,
    /// Skip the smoke test (also `--build-arg UVF_TEST_SKIP=1`).
    pub skip: Option<bool>,
    /// The project's tests, run in the dev image by `--target test`, e.g. `["pytest"]`.
    pub dev_command: Option<Spanned<Vec<String>>>,
}

/// `[run]`: the runtime image's configuration.
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields, rename_all = "kebab-case")]
pub struct RunTable {
    /// Non-root user the image runs as; created when the base image lacks it.
    pub user: Option<Spanned<String>>,
    /// uid and gid of the user when it is created (default 10001).
    pub uid: Option<Spanned<i64>>,
    pub gid: Option<Spanned<i64>>,
    pub command: Option<Spanned<Vec<String>>>,
    /// The image's `Entrypoint`; `[]` clears the base image's.
    pub entrypoint: Option<Spanned<Vec<String>>>,
    /// The paths of the build context the runtime image gets at the workdir (files,
    /// directories or patterns, relative to the context); default: all of it, as uv's Docker
    /// guide copies the project. `[]`: the venv only.
    pub include: Option<Spanned<Vec<String>>>,
    /// Debian packages installed in the runtime image (`libpq5`, `libgomp1`, `ffmpeg`), a
    /// layer of their own keyed on the list.
    pub apt: Option<Spanned<Vec<String>>>,
    /// The image's working directory; default: the workdir, or with `[sync] package` the
    /// member's directory under it.
    pub workdir: Option<Spanned<String>>,
    /// Who owns the venv and the project's files: the user (default) or root.
    pub code_owner: Option<CodeOwner>,
    #[serde(default)]
    pub env: BTreeMap<String, Spanned<String>>,
    #[serde(default)]
    pub expose: Vec<Spanned<i64>>,
    /// Labels added to the image, over the OCI labels taken from pyproject.toml.
    #[serde(default)]
    pub labels: BTreeMap<String, String>,
    /// The signal that stops the container, e.g. "SIGINT".
    pub stop_signal: Option<Spanned<String>>,
    /// A health check command, run as the image's `HEALTHCHECK CMD`.
    pub healthcheck: Option<Spanned<Vec<String>>>,
    /// The health check's `--interval`, `--timeout` and `--start-period` (durations such as
    /// "30s") and `--retries`, named as `docker run --health-*` names them.
    pub health_interval: Option<Spanned<String>>,
    pub health_timeout: Option<Spanned<String>>,
    pub health_start_period: Option<Spanned<String>>,
    pub health_retries: Option<Spanned<i64>>,
}
