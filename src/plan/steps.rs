//! The steps whose lowering takes them whole: each a struct of its own, so that the function
//! that lowers one takes exactly that step.

use std::collections::BTreeMap;

use serde::Serialize;

use super::{CacheMount, FinishVenv, UnitLayer};

/// The build context (`include`d paths), minus `exclude`, copied into `dir`; then `empty_files`
/// (paths under `dir`) are written, empty, in the same step.
#[derive(Clone, Debug, Serialize)]
pub struct CopyContextStep {
    pub name: String,
    pub dir: String,
    /// Only these paths of the context (files or directories); empty: all of it.
    pub include: Vec<String>,
    pub exclude: Vec<String>,
    pub empty_files: Vec<String>,
    /// Made on its own and stacked with MergeOp (beside the dependency layers, so it is not
    /// one more step after them), or copied onto the stage.
    pub separate_layer: bool,
}

/// `uv sync` with the uv image and the cache mounted; `env` is added to the sync environment.
#[derive(Clone, Debug, Serialize)]
pub struct SyncStep {
    pub name: String,
    pub args: Vec<String>,
    pub env: BTreeMap<String, String>,
    /// A cache mount that keeps this venv between builds: restored before the sync and saved
    /// after it, so a changed lock installs and compiles only what changed.
    pub venv_cache: Option<CacheMount>,
    /// After the sync, in the same step: compile the files the sync wrote (phase 1's are left
    /// untouched), drop world-writable bits, and collect what it wrote.
    pub finish: Option<FinishVenv>,
    /// Runs without a network, and uv with `UV_OFFLINE=1`: everything it needs is installed or
    /// in the build context (the project phase, when uv's own backend builds every package).
    /// Such a step also starts faster.
    pub offline: bool,
    /// After the command, in the same step: this directory loses uv's `.lock` and `.temp` and
    /// every world-write bit, since it is copied into the runtime image as it is.
    pub tidy: Option<String>,
}

/// `apt-get install` of Debian packages, as root, with apt's lists and downloaded archives on
/// cache mounts of their own (`caches`: lists, then archives) and the image's `docker-clean`
/// set aside for the step: the layer holds the installed packages alone and is keyed on the
/// image and the list.
#[derive(Clone, Debug, Serialize)]
pub struct AptInstallStep {
    pub name: String,
    pub packages: Vec<String>,
    pub caches: [CacheMount; 2],
}

/// Third-party packages, each installed by a step of its own (keyed on its lock entry, the
/// builder and the venv's path alone) into the venv `uv venv` makes in an empty mount of that
/// step's own; the packages of each of `layers` copied into one layer owned by `uid:gid`, and
/// the venv and the layers stacked onto the stage with MergeOp. A lock change reruns only the
/// steps of the packages it changes, on a warm builder and on one that imports a registry
/// cache alike.
#[derive(Clone, Debug, Serialize)]
pub struct InstallUnitsStep {
    pub name: String,
    pub venv: String,
    pub units: crate::settings::PackageUnits,
    pub layers: Vec<UnitLayer>,
    pub uid: u32,
    pub gid: u32,
}
