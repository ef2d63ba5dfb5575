//! The build plan: stages, their steps, the cache mount and the runtime image's configuration.
//!
//! A plan is plain data, a function of [`crate::settings::Settings`] alone. It can be printed
//! and snapshot-tested, and [`crate::lower`] turns it into LLB without making decisions of its own.

mod build;
mod builder_stages;
mod names;
mod runtime_stages;
mod shared_steps;
mod steps;
mod units;

use std::collections::BTreeMap;

use serde::Serialize;

pub use build::plan;
pub use names::{BUILD_STAGE, DEPS_STAGE, INTERPRETER_CHECK_SCRIPT, PROJECT_STAGE};
pub use steps::{AptInstallStep, CopyContextStep, InstallUnitsStep, SyncStep};

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
    /// What every sync step gets from the client and the host besides the cache.
    pub sync_access: SyncAccess,
    pub stages: Vec<Stage>,
    /// The stage whose result is the image.
    pub result: String,
    pub image: ImageConfig,
    /// Commands run in the finished image, as its user, before it is returned; not part of it.
    pub checks: Vec<Check>,
    /// `SOURCE_DATE_EPOCH`: the time every file the plan writes gets, for reproducible images.
    pub source_date_epoch: Option<i64>,
}

/// The client's secrets and SSH agent, and the network, as every sync step sees them.
#[derive(Clone, Debug, Default, Serialize)]
pub struct SyncAccess {
    /// Optional secrets, each the environment variable of its id for uv: never in a layer, the
    /// image config or the cache key. Always files under [`SECRETS_DIR`] that a wrapper exports,
    /// only those the client passed: BuildKit's secret env sets one not passed to an empty value,
    /// which would override credentials uv finds elsewhere (the index URL, `.netrc`).
    pub secrets: Vec<String>,
    /// The client's SSH agent (`--ssh default`) as `SSH_AUTH_SOCK`, and with it the optional
    /// secret [`KNOWN_HOSTS_SECRET`] at [`KNOWN_HOSTS_FILE`].
    pub ssh: crate::settings::SshAgent,
    /// Where the lock's git sources over HTTP(S) come from (`https://host/`), and the optional
    /// secrets under [`GIT_AUTH_DIR`] that give git a token for them.
    pub git_auth_prefixes: Vec<String>,
    pub git_auth_secrets: Vec<String>,
    /// Their network (a project phase that needs none gets none, whatever this says).
    pub network: crate::settings::SyncNetwork,
    /// Extra `/etc/hosts` entries (name, IP), from `--add-host`.
    pub extra_hosts: Vec<(String, String)>,
}

/// Where sync steps find their secrets, one file per id.
pub const SECRETS_DIR: &str = "/run/secrets/uv-frontend";
/// Where sync steps find the secrets that give git a token, one file per id (`GIT_AUTH_TOKEN`,
/// `GIT_AUTH_TOKEN.<host>`, ...): their names are no environment variables.
pub const GIT_AUTH_DIR: &str = "/run/secrets/uv-frontend-git";
/// Where sync steps find the forwarded SSH agent.
pub const SSH_AGENT_SOCKET: &str = "/run/buildkit/ssh_agent.0";
/// The id of the optional secret that holds the git servers' host keys, in `known_hosts` form
/// (`--secret id=known_hosts,src=$HOME/.ssh/known_hosts`).
pub const KNOWN_HOSTS_SECRET: &str = "known_hosts";
/// Where sync steps find that secret: the file ssh reads for every user (a builder image's own
/// is hidden only while the secret is passed).
pub const KNOWN_HOSTS_FILE: &str = "/etc/ssh/ssh_known_hosts";

#[derive(Clone, Debug, Serialize)]
pub struct Check {
    pub name: String,
    pub kind: CheckKind,
    /// The stage it runs in, with the image's environment, working directory and user: the
    /// interpreter check needs only the dependency layers, so a source edit leaves it cached.
    pub stage: String,
    pub args: Vec<String>,
    /// `uid:gid` the command runs as.
    pub user: String,
    /// A script of the frontend's own (by name) that the command runs, given as its last
    /// argument: a file, so that a failure prints a short command line.
    pub script: Option<String>,
}

#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum CheckKind {
    /// The venv's interpreter starts in the runtime image.
    Interpreter,
    /// The spec's `[test] command`.
    SmokeTest,
    /// The spec's `[test] dev-command`, in the dev image.
    DevTests,
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

impl Stage {
    /// The progress prefix of its step `index` (from 0), as every step's name starts with it:
    /// `[deps 2/2] `.
    pub fn step_prefix(&self, index: usize) -> String {
        format!("[{} {}/{}] ", self.name, index + 1, self.steps.len())
    }
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
    /// Files written from content the frontend holds: the dependency phase is keyed on exactly
    /// these bytes.
    WriteFiles {
        name: String,
        dir: String,
        files: Vec<PlannedFile>,
    },
    /// The build context copied into a directory ([`CopyContextStep`]).
    CopyContext(CopyContextStep),
    /// `uv sync` with the uv image and the cache mounted ([`SyncStep`]).
    Sync(SyncStep),
    /// `[build] run`: shell commands run in turn from `cwd` with the venv active (the runtime
    /// image's environment over the builder's), as sync steps reach secrets and the network;
    /// then every file they wrote under `dir`, but not in `venv`, is copied into a mount at
    /// `collect_into` at its own path (the [`DiffMethod::Written`] layer of the stage).
    Commands {
        name: String,
        commands: Vec<String>,
        cwd: String,
        dir: String,
        venv: String,
        collect_into: String,
    },
    /// `apt-get install` of Debian packages ([`AptInstallStep`]).
    AptInstall(AptInstallStep),
    /// Writes the account files that add the runtime user, and its home directory.
    AddUser {
        name: String,
        passwd: String,
        group: String,
        home: String,
        uid: u32,
        gid: u32,
    },
    /// `path` of `from`, copied to the same path, owned by `uid:gid`. A `separate_layer` copy
    /// is made on its own and stacked with MergeOp, so its layer is reused as long as its
    /// source is unchanged.
    CopyPath {
        name: String,
        from: PathSource,
        path: String,
        uid: u32,
        gid: u32,
        separate_layer: bool,
    },
    /// Third-party packages, each installed by a step of its own ([`InstallUnitsStep`]).
    InstallUnits(InstallUnitsStep),
    /// The venv's layers that stage `from`'s [`Step::InstallUnits`] made, stacked as they are:
    /// the runtime image shares them with the builder.
    StackUnits { name: String, from: String },
    /// The venv of stage `from`, copied to the same path, owned by `uid:gid`: one layer for
    /// each package of `own_layers` (its top-level entries in site-packages) and one with the
    /// rest, so a lock change that leaves the big packages alone leaves their layers alone.
    /// Which entries those are is read from the stage's result when the build runs
    /// ([`crate::venv_layout`]); until then, and when it cannot be read, one layer.
    CopyVenv {
        name: String,
        from: String,
        venv: String,
        own_layers: Vec<String>,
        uid: u32,
        gid: u32,
        separate_layer: bool,
    },
}

/// One layer of the venv: its progress label and the packages in it.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct UnitLayer {
    pub label: String,
    pub packages: Vec<String>,
}

#[derive(Clone, Debug, Serialize)]
pub struct FinishVenv {
    pub venv: String,
    pub compile: bool,
    /// Copy every file and new directory the sync wrote under `venv`, at its own path, into a
    /// mount at this directory (the [`DiffMethod::Written`] layer); `None` where DiffOp is used.
    pub collect_into: Option<String>,
}

/// Where a copied path comes from.
#[derive(Clone, Debug, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum PathSource {
    /// The result of a stage.
    Stage(String),
    /// The build context (only `include`, when it names paths; minus `exclude`) as if it were
    /// at `dir`: the copied path, `dir` itself or a path under it, comes from the context's
    /// matching path.
    Context {
        dir: String,
        include: Vec<String>,
        exclude: Vec<String>,
    },
    /// What stage `upper` changed on top of stage `lower`.
    Diff {
        lower: String,
        upper: String,
        method: DiffMethod,
    },
}

/// How the changes of one stage over another are taken.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum DiffMethod {
    /// BuildKit's DiffOp (BuildKit with the `diffop` cap).
    DiffOp,
    /// Every BuildKit: `upper`'s sync step collects the files it wrote (newer than its start)
    /// into a mount of its own ([`FinishVenv::collect_into`]); a file it deleted stays, which
    /// phase 2 never does. No second step walks the venv.
    Written,
}

/// A file with its content; plans show the content's digest and size, not the bytes.
#[derive(Clone, Debug)]
pub struct PlannedFile {
    pub path: String,
    pub content: String,
}

impl Serialize for PlannedFile {
    fn serialize<S: serde::Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        use serde::ser::SerializeStruct;
        use sha2::Digest;
        let mut st = serializer.serialize_struct("PlannedFile", 3)?;
        st.serialize_field("path", &self.path)?;
        st.serialize_field("bytes", &self.content.len())?;
        st.serialize_field(
            "sha256",
            &hex::encode(sha2::Sha256::digest(self.content.as_bytes())),
        )?;
        st.end()
    }
}

impl Plan {
    /// The stage whose venv is copied in layers of its own packages, and those packages; `None`
    /// when no package gets a layer of its own.
    pub fn venv_layers(&self) -> Option<(&str, &[String])> {
        self.stages
            .iter()
            .flat_map(|stage| &stage.steps)
            .find_map(|step| match step {
                Step::CopyVenv {
                    from, own_layers, ..
                } if !own_layers.is_empty() => Some((from.as_str(), own_layers.as_slice())),
                _ => None,
            })
    }
}

impl Step {
    /// The step's progress name.
    pub fn name(&self) -> &str {
        match self {
            Step::WriteFiles { name, .. }
            | Step::CopyContext(CopyContextStep { name, .. })
            | Step::Sync(SyncStep { name, .. })
            | Step::Commands { name, .. }
            | Step::AptInstall(AptInstallStep { name, .. })
            | Step::AddUser { name, .. }
            | Step::CopyPath { name, .. }
            | Step::CopyVenv { name, .. }
            | Step::InstallUnits(InstallUnitsStep { name, .. })
            | Step::StackUnits { name, .. } => name,
        }
    }

    /// Prefixes the progress name (`[deps 2/2] ` before `uv sync ...`).
    pub(crate) fn prefix_name(&mut self, prefix: &str) {
        let (Step::WriteFiles { name, .. }
        | Step::CopyContext(CopyContextStep { name, .. })
        | Step::Sync(SyncStep { name, .. })
        | Step::Commands { name, .. }
        | Step::AptInstall(AptInstallStep { name, .. })
        | Step::AddUser { name, .. }
        | Step::CopyPath { name, .. }
        | Step::CopyVenv { name, .. }
        | Step::InstallUnits(InstallUnitsStep { name, .. })
        | Step::StackUnits { name, .. }) = self;
        name.insert_str(0, prefix);
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
    /// `Some` replaces the base image's `Cmd` (and clears an `Entrypoint` that is a Python
    /// interpreter, see [`crate::image::runtime_config`]).
    pub cmd: Option<Vec<String>>,
    /// `[run] entrypoint`: `Some` replaces the base image's `Entrypoint` (`[]` clears it).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub entrypoint: Option<Vec<String>>,
    pub exposed_ports: Vec<String>,
    pub labels: BTreeMap<String, String>,
    pub stop_signal: Option<String>,
    /// `Healthcheck.Test`, e.g. `["CMD", "python", "-c", "..."]`.
    pub healthcheck: Option<Vec<String>>,
    /// `Healthcheck`'s interval, timeout, start period and retries.
    #[serde(skip_serializing_if = "crate::settings::HealthOptions::is_default")]
    pub health: crate::settings::HealthOptions,
}

/// `items` joined by `sep` for a progress name, the first few and how many more when there are
/// many (a big workspace's step names ran to kilobytes).
pub fn short_list<S: AsRef<str>>(items: &[S], sep: &str) -> String {
    const SHOWN: usize = 6;
    let shown: Vec<&str> = items.iter().take(SHOWN).map(AsRef::as_ref).collect();
    match items.len().saturating_sub(SHOWN) {
        0 => shown.join(sep),
        more => format!("{}{sep}and {more} more", shown.join(sep)),
    }
}

#[cfg(test)]
mod tests {
    use super::short_list;

    #[test]
    fn long_lists_in_progress_names_say_how_many_more() {
        assert_eq!(short_list(&["a", "b"], ", "), "a, b");
        let many: Vec<String> = (0..30).map(|n| format!("m{n}")).collect();
        assert_eq!(short_list(&many, " "), "m0 m1 m2 m3 m4 m5 and 24 more");
    }
}
