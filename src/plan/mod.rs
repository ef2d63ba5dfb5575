//! The build plan: stages, their steps, the cache mount and the runtime image's configuration.
//!
//! A plan is plain data, a function of [`crate::settings::Settings`] alone. It can be printed
//! and snapshot-tested, and [`crate::lower`] turns it into LLB without making decisions of its own.

mod build;

use std::collections::BTreeMap;

use serde::Serialize;

pub use build::plan;

use crate::llb::CacheSharing;

/// Where the uv image is mounted in sync steps; the binary is `<UV_MOUNT>/uv`.
pub const UV_MOUNT: &str = "/opt/uv-frontend";

#[derive(Clone, Debug, Serialize)]
pub struct Plan {
    pub images: PlanImages,
    /// The one uv cache mount every sync step uses.
    pub cache: CacheMount,
    /// Environment of every sync step, on top of the builder image's own.
    pub sync_env: BTreeMap<String, String>,
    pub stages: Vec<Stage>,
    /// The stage whose result is the image.
    pub result: String,
    pub image: ImageConfig,
}

#[derive(Clone, Debug, Serialize)]
pub struct PlanImages {
    pub uv: String,
    pub builder: String,
    pub base: String,
}

#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct CacheMount {
    pub id: String,
    pub target: String,
    pub sharing: CacheSharing,
}

#[derive(Clone, Debug, Serialize)]
pub struct Stage {
    pub name: String,
    pub from: StageBase,
    pub steps: Vec<Step>,
}

#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum StageBase {
    /// The builder image, as root, with the sync environment.
    Builder,
    /// The runtime base image.
    Base,
    /// The result of an earlier stage.
    Stage(String),
}

#[derive(Clone, Debug, Serialize)]
#[serde(tag = "kind", rename_all = "kebab-case")]
pub enum Step {
    /// Files whose content the frontend read, written into `dir`: the dependency phase is keyed
    /// on exactly these bytes.
    WriteFiles {
        name: String,
        dir: String,
        files: Vec<String>,
    },
    /// The build context, minus `exclude`, copied into `dir`.
    CopyContext {
        name: String,
        dir: String,
        exclude: Vec<String>,
    },
    /// `uv sync` with the uv image and the cache mounted.
    Sync { name: String, args: Vec<String> },
    /// Makes sure the runtime user exists (created with `uid` when the base image lacks it).
    EnsureUser {
        name: String,
        user: String,
        uid: u32,
    },
    /// `path` of an earlier stage, copied to the same path, owned by `owner`.
    CopyFromStage {
        name: String,
        stage: String,
        path: String,
        owner: Option<String>,
    },
}

impl Step {
    pub fn name(&self) -> &str {
        match self {
            Step::WriteFiles { name, .. }
            | Step::CopyContext { name, .. }
            | Step::Sync { name, .. }
            | Step::EnsureUser { name, .. }
            | Step::CopyFromStage { name, .. } => name,
        }
    }
}

/// What the plan sets in the image config, on top of the base image's config.
#[derive(Clone, Debug, Default, Serialize)]
pub struct ImageConfig {
    /// Prepended to the base image's `PATH`.
    pub path_prepend: String,
    pub env: BTreeMap<String, String>,
    pub working_dir: String,
    pub user: String,
    /// `Some` replaces the base image's `Cmd` and clears its `Entrypoint`.
    pub cmd: Option<Vec<String>>,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
}
