//! `[sync]`: what the sync steps install, from where, and with which network and secrets.

use serde::Serialize;

use crate::project::{ContextFiles, Project};
use crate::spec::{LockMode, Spec};

use super::BuildFacts;

#[derive(Clone, Debug, Serialize)]
pub struct SyncSettings {
    pub package: Option<String>,
    pub extras: Vec<String>,
    pub all_extras: bool,
    pub groups: Vec<String>,
    pub dev: bool,
    pub lock: LockMode,
    pub compile_bytecode: bool,
    /// The sync steps' network: `[build] network`, else `--network`.
    pub network: SyncNetwork,
    /// `--add-host` entries (name, IP) for the sync steps' `/etc/hosts`.
    pub extra_hosts: Vec<(String, String)>,
    /// Environment variables sync steps take from client secrets of the same id, when the
    /// client passes them (`--secret id=UV_INDEX_<NAME>_PASSWORD,env=...`): never in a layer.
    pub secrets: Vec<String>,
    /// Whether sync steps get the client's SSH agent (`--ssh default`) and the git servers'
    /// host keys (`--secret id=known_hosts`): the lock has git sources.
    pub ssh: SshAgent,
    /// The hosts of the lock's git sources over SSH, whose keys the sync steps need.
    pub ssh_git_hosts: Vec<String>,
    /// Where the lock's git sources over HTTP(S) come from (`https://host/`): git sends those
    /// hosts the client's token, when it passes one.
    pub git_http_prefixes: Vec<String>,
    /// The optional secrets that give those hosts a token, as BuildKit names them for git
    /// sources of its own: [`git_auth_secrets`].
    pub git_auth_secrets: Vec<String>,
}

/// The secrets a token for git over HTTP(S) comes from, for the hosts of `prefixes`, in the
/// order BuildKit reads them for a git source: a header or a token for the host
/// (`GIT_AUTH_HEADER.<host>`, `GIT_AUTH_TOKEN.<host>`), then one for any host
/// (`GIT_AUTH_HEADER`, `GIT_AUTH_TOKEN`). A token is meant for one host: the ones for any host
/// are taken only when the lock's git sources over HTTPS are all on one host (BuildKit's own git
/// sources each have one), and never sent over plain HTTP.
pub fn git_auth_secrets(prefixes: &[String]) -> Vec<String> {
    let hosts: std::collections::BTreeSet<&str> = prefixes
        .iter()
        .filter_map(|p| Some(p.split_once("://")?.1.trim_end_matches('/')))
        .collect();
    let mut secrets: Vec<String> = hosts
        .iter()
        .flat_map(|host| {
            [
                format!("GIT_AUTH_HEADER.{host}"),
                format!("GIT_AUTH_TOKEN.{host}"),
            ]
        })
        .collect();
    if git_auth_for_any_host(prefixes) {
        secrets.extend(["GIT_AUTH_HEADER".to_string(), "GIT_AUTH_TOKEN".to_string()]);
    }
    secrets
}

/// Whether `GIT_AUTH_TOKEN` and `GIT_AUTH_HEADER` (for any host) are taken: the lock's git
/// sources over HTTPS are all on one host.
pub fn git_auth_for_any_host(prefixes: &[String]) -> bool {
    let https: std::collections::BTreeSet<&String> = prefixes
        .iter()
        .filter(|p| p.starts_with("https://"))
        .collect();
    https.len() == 1
}

/// How sync steps get the client's SSH agent.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SshAgent {
    /// Not at all: the lock has no git source.
    #[default]
    None,
    /// If the client forwards one: git sources over HTTPS may still need it (a credential
    /// helper, an `insteadOf` rewrite).
    Optional,
    /// Always: a git source is fetched over SSH, and a build without the agent fails before
    /// anything runs, naming `--ssh default`.
    Required,
}

impl SshAgent {
    pub fn forwarded(self) -> bool {
        self != SshAgent::None
    }
}

/// The network of the sync steps that need one.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "kebab-case")]
pub enum SyncNetwork {
    /// BuildKit's sandbox.
    #[default]
    Default,
    /// The host's (`--allow network.host`).
    Host,
    /// None at all (`--network none`).
    None,
}

/// The `[[index]]` names of `uv.toml` (uv's own configuration file beside the project).
fn uv_toml_index_names(text: Option<&str>) -> Vec<String> {
    let Some(table) = text.and_then(|t| toml::from_str::<toml::Table>(t).ok()) else {
        return Vec::new();
    };
    table
        .get("index")
        .and_then(|i| i.as_array())
        .into_iter()
        .flatten()
        .filter_map(|i| i.get("name").and_then(|n| n.as_str()).map(str::to_string))
        .collect()
}

/// uv's variables that may carry index credentials, and that sync steps can take from secrets
/// besides the per-index `UV_INDEX_<NAME>_USERNAME` / `_PASSWORD`.
pub const INDEX_SECRETS: &[&str] = &[
    "UV_DEFAULT_INDEX",
    "UV_EXTRA_INDEX_URL",
    "UV_INDEX",
    "UV_INDEX_URL",
];

/// `UV_INDEX_<NAME>_USERNAME` and `_PASSWORD` for every `[[tool.uv.index]]` name, as uv spells
/// them (upper case, anything but a letter or digit as `_`), then [`INDEX_SECRETS`].
pub fn index_secrets(index_names: &[String]) -> Vec<String> {
    let mut names: Vec<String> = index_names
        .iter()
        .flat_map(|name| {
            let upper: String = name
                .chars()
                .map(|c| {
                    if c.is_ascii_alphanumeric() {
                        c.to_ascii_uppercase()
                    } else {
                        '_'
                    }
                })
                .collect();
            [
                format!("UV_INDEX_{upper}_USERNAME"),
                format!("UV_INDEX_{upper}_PASSWORD"),
            ]
        })
        .collect();
    names.extend(INDEX_SECRETS.iter().map(|s| s.to_string()));
    names.sort();
    names.dedup();
    names
}

/// `[sync]` resolved; `package` is `[sync] package`.
pub(super) fn sync_settings(
    spec: &Spec,
    package: Option<String>,
    files: &ContextFiles,
    project: &Project,
    facts: &BuildFacts,
) -> SyncSettings {
    let index_names: Vec<String> = project
        .pyproject
        .index_names
        .iter()
        .cloned()
        .chain(uv_toml_index_names(files.uv_toml.as_deref()))
        .collect();
    SyncSettings {
        package,
        extras: spec
            .sync
            .extra
            .iter()
            .map(|e| e.get_ref().clone())
            .collect(),
        all_extras: spec.sync.all_extras.unwrap_or(false),
        groups: spec
            .sync
            .group
            .iter()
            .map(|g| g.get_ref().clone())
            .collect(),
        // `--group dev` with `--no-dev` installs nothing of it: naming the group is asking
        // for it.
        dev: spec.sync.dev.unwrap_or(false)
            || facts.target.is_builder()
            || spec.sync.group.iter().any(|g| g.get_ref() == "dev"),
        lock: spec
            .sync
            .lock
            .as_ref()
            .map(|l| *l.get_ref())
            .unwrap_or(LockMode::Locked),
        compile_bytecode: spec.sync.compile_bytecode.unwrap_or(true),
        network: match spec.build.network.as_ref().map(|n| n.get_ref().as_str()) {
            Some("host") => SyncNetwork::Host,
            Some(_) => SyncNetwork::Default,
            None => facts.network.unwrap_or_default(),
        },
        extra_hosts: facts.extra_hosts.clone(),
        secrets: index_secrets(&index_names),
        ssh: if project.lock.needs_ssh() {
            SshAgent::Required
        } else if project.lock.git_sources {
            SshAgent::Optional
        } else {
            SshAgent::None
        },
        ssh_git_hosts: project.lock.ssh_git_hosts.clone(),
        git_http_prefixes: project.lock.http_git_prefixes.clone(),
        git_auth_secrets: git_auth_secrets(&project.lock.http_git_prefixes),
    }
}
