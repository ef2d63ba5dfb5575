//! The parts of `uv.lock` the build uses.

use crate::spec::SpecError;

/// A package of the workspace (the project itself or a member), as `uv.lock` records it.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct LocalPackage {
    pub name: String,
    /// Path relative to the workspace root (`.` for the root project).
    pub path: String,
    /// How the lock installs it: `source = { editable | virtual | directory = ... }`.
    pub source: LocalSource,
    /// The packages it depends on, in any of its extras or dependency groups too (names as the
    /// lock spells them).
    pub depends_on: Vec<String>,
}

/// How `uv.lock` installs a package of the workspace.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum LocalSource {
    /// Built and installed editable (unless `uv sync --no-editable`): the project itself and
    /// workspace members.
    Editable,
    /// No `[build-system]`: uv installs its dependencies, never builds it.
    Virtual,
    /// A path dependency, always built and installed as a wheel.
    Directory,
}

impl LocalPackage {
    pub fn is_virtual(&self) -> bool {
        self.source == LocalSource::Virtual
    }
}

#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Lock {
    /// `[manifest] members` for a workspace; empty for a single project.
    pub members: Vec<String>,
    /// Packages whose source is the workspace itself (editable, virtual or directory).
    pub local_packages: Vec<LocalPackage>,
    /// Names and versions of every third-party package.
    pub third_party: Vec<(String, String)>,
    /// Whether a package comes from a git repository: syncing it may need the client's SSH
    /// agent, and checking the lock the network.
    pub git_sources: bool,
    /// The hosts (with their port, if any) of git sources fetched over SSH (`ssh://` URLs, as
    /// uv writes `git@host:path` too): those need the client's SSH agent and the host's key.
    pub ssh_git_hosts: Vec<String>,
    /// Where git sources over HTTP(S) are fetched from, as `https://host[:port]/`: the URL
    /// prefixes git's `http.<url>.extraheader` takes the client's token for.
    pub http_git_prefixes: Vec<String>,
    /// Whether a package comes from a direct URL: checking the lock may need the network.
    pub url_sources: bool,
    /// Size in bytes of the largest file (wheel, or sdist when there is no wheel) the lock
    /// records for each third-party package: how much it weighs in the venv, roughly.
    pub download_sizes: std::collections::BTreeMap<String, u64>,
    /// Every `[[package]]`, with its dependency edges and files' hashes.
    pub packages: Vec<super::lock_graph::LockedPackage>,
}

impl Lock {
    pub fn parse(text: &str) -> Result<Lock, SpecError> {
        let doc: toml::Table = toml::from_str(text).map_err(|e| SpecError {
            file: super::UV_LOCK.into(),
            line: crate::spec::line_of(text, e.span().map(|s| s.start).unwrap_or(0)),
            message: format!("invalid TOML: {}", e.message().trim().replace('\n', " ")),
            fix: "regenerate it with `uv lock`".into(),
        })?;
        let members = doc
            .get("manifest")
            .and_then(|m| m.get("members"))
            .and_then(|m| m.as_array())
            .map(|a| {
                a.iter()
                    .filter_map(|v| v.as_str().map(str::to_string))
                    .collect()
            })
            .unwrap_or_default();
        let mut local_packages = Vec::new();
        let mut third_party = Vec::new();
        let mut download_sizes = std::collections::BTreeMap::new();
        let mut git_sources = false;
        let mut ssh_git_hosts = Vec::new();
        let mut http_git_prefixes = Vec::new();
        let mut url_sources = false;
        for package in doc
            .get("package")
            .and_then(|p| p.as_array())
            .into_iter()
            .flatten()
        {
            let Some(name) = package.get("name").and_then(|n| n.as_str()) else {
                continue;
            };
            let source = package.get("source").and_then(|s| s.as_table());
            git_sources |= source.is_some_and(|s| s.contains_key("git"));
            let git_url = source.and_then(|s| s.get("git")).and_then(|g| g.as_str());
            ssh_git_hosts.extend(git_url.and_then(ssh_host));
            http_git_prefixes.extend(git_url.and_then(http_prefix));
            url_sources |= source.is_some_and(|s| s.contains_key("url"));
            let local_path = source.and_then(|s| {
                [
                    ("editable", LocalSource::Editable),
                    ("virtual", LocalSource::Virtual),
                    ("directory", LocalSource::Directory),
                ]
                .iter()
                .find_map(|(key, kind)| Some((s.get(*key)?.as_str()?, *kind)))
            });
            match local_path {
                Some((path, source)) => local_packages.push(LocalPackage {
                    name: name.into(),
                    path: path.into(),
                    source,
                    depends_on: dependency_names(package),
                }),
                None => {
                    third_party.push((
                        name.to_string(),
                        package
                            .get("version")
                            .and_then(|v| v.as_str())
                            .unwrap_or("")
                            .to_string(),
                    ));
                    download_sizes.insert(name.to_string(), largest_download(package));
                }
            }
        }
        Ok(Lock {
            packages: super::lock_graph::packages_of(&doc),
            members,
            local_packages,
            third_party,
            git_sources,
            ssh_git_hosts: {
                ssh_git_hosts.sort();
                ssh_git_hosts.dedup();
                ssh_git_hosts
            },
            http_git_prefixes: {
                http_git_prefixes.sort();
                http_git_prefixes.dedup();
                http_git_prefixes
            },
            url_sources,
            download_sizes,
        })
    }

    /// Whether syncing needs the client's SSH agent: a git source is fetched over SSH.
    pub fn needs_ssh(&self) -> bool {
        !self.ssh_git_hosts.is_empty()
    }

    pub fn local_package(&self, name: &str) -> Option<&LocalPackage> {
        let norm = |s: &str| s.to_ascii_lowercase().replace(['_', '.'], "-");
        self.local_packages
            .iter()
            .find(|p| norm(&p.name) == norm(name))
    }
}

/// Every `{ name = ... }` in a `[[package]]`'s `dependencies`, `optional-dependencies` and
/// `dev-dependencies`, sorted, once each.
fn dependency_names(package: &toml::Value) -> Vec<String> {
    let names_in = |list: &toml::Value| -> Vec<String> {
        list.as_array()
            .into_iter()
            .flatten()
            .filter_map(|d| Some(d.get("name")?.as_str()?.to_string()))
            .collect()
    };
    let mut names: Vec<String> = package
        .get("dependencies")
        .map(names_in)
        .unwrap_or_default();
    for table in ["optional-dependencies", "dev-dependencies"] {
        if let Some(groups) = package.get(table).and_then(|t| t.as_table()) {
            names.extend(groups.values().flat_map(names_in));
        }
    }
    names.sort();
    names.dedup();
    names
}

/// The largest `size` of a `[[package]]`'s wheels, or of its sdist when it has no wheel; 0 when
/// the lock records none.
pub(super) fn largest_download(package: &toml::Value) -> u64 {
    let size = |v: &toml::Value| v.get("size").and_then(|s| s.as_integer()).unwrap_or(0);
    let wheels = package
        .get("wheels")
        .and_then(|w| w.as_array())
        .map(|w| w.iter().map(size).max().unwrap_or(0))
        .unwrap_or(0);
    let sdist = package.get("sdist").map(size).unwrap_or(0);
    let largest = if wheels > 0 { wheels } else { sdist };
    u64::try_from(largest).unwrap_or(0)
}

/// The host (and port) of a git source's `ssh://` URL, without the user: `example.com` of
/// `ssh://git@example.com/lib.git?rev=v1#0123`; `None` for another scheme.
fn ssh_host(url: &str) -> Option<String> {
    let rest = url.strip_prefix("ssh://")?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!host.is_empty()).then(|| host.to_string())
}

/// The scheme and host (and port) of a git source's `http(s)://` URL, as a URL prefix:
/// `https://example.com/` of `https://example.com/lib.git?rev=v1#0123`; `None` for another
/// scheme. Credentials in the URL are left out.
fn http_prefix(url: &str) -> Option<String> {
    let (scheme, rest) = url.split_once("://")?;
    if scheme != "https" && scheme != "http" {
        return None;
    }
    let authority = rest.split(['/', '?', '#']).next().unwrap_or_default();
    let host = authority
        .rsplit_once('@')
        .map_or(authority, |(_, host)| host);
    (!host.is_empty()).then(|| format!("{scheme}://{host}/"))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn download_size_is_the_largest_wheel_else_the_sdist() {
        let lock = Lock::parse(
            r#"
version = 1
[[package]]
name = "big"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/big-1.0.tar.gz", size = 999999999 }
wheels = [
    { url = "https://x/big-1.0-a.whl", size = 100 },
    { url = "https://x/big-1.0-b.whl", size = 300 },
]
[[package]]
name = "sdist-only"
version = "1.0"
source = { registry = "https://pypi.org/simple" }
sdist = { url = "https://x/sdist_only-1.0.tar.gz", size = 42 }
[[package]]
name = "app"
version = "0.1.0"
source = { editable = "." }
"#,
        )
        .unwrap();
        assert_eq!(
            lock.download_sizes,
            [("big".to_string(), 300), ("sdist-only".to_string(), 42)].into()
        );
        assert!(!lock.git_sources && !lock.url_sources);
    }

    #[test]
    fn git_and_url_sources_are_told_apart() {
        let git = Lock::parse(
            "version = 1\n[[package]]\nname = \"lib\"\nversion = \"1.0\"\n\
             source = { git = \"ssh://git@example.com/lib.git?rev=v1#0123\" }\n",
        )
        .unwrap();
        assert!(git.git_sources && !git.url_sources);
        assert_eq!(git.ssh_git_hosts, ["example.com"]);
        assert!(git.needs_ssh());
        let https = Lock::parse(
            "version = 1\n[[package]]\nname = \"lib\"\nversion = \"1.0\"\n\
             source = { git = \"https://example.com/lib.git?rev=v1#0123\" }\n",
        )
        .unwrap();
        assert!(https.git_sources && !https.needs_ssh());
        assert_eq!(https.http_git_prefixes, ["https://example.com/"]);
        assert!(git.http_git_prefixes.is_empty());
        let url = Lock::parse(
            "version = 1\n[[package]]\nname = \"lib\"\nversion = \"1.0\"\n\
             source = { url = \"https://example.com/lib-1.0.tar.gz\" }\n",
        )
        .unwrap();
        assert!(url.url_sources && !url.git_sources);
    }

    #[test]
    fn an_ssh_sources_host_is_taken_without_its_user_and_with_its_port() {
        assert_eq!(
            ssh_host("ssh://git@example.com:2222/srv/lib.git?rev=main#0123").as_deref(),
            Some("example.com:2222")
        );
        assert_eq!(
            ssh_host("ssh://example.com/lib.git").as_deref(),
            Some("example.com")
        );
        assert_eq!(ssh_host("https://example.com/lib.git"), None);
        assert_eq!(ssh_host("ssh:///lib.git"), None);
    }

    #[test]
    fn an_http_sources_prefix_is_its_scheme_and_host_without_credentials() {
        assert_eq!(
            http_prefix("https://token@git.example.com:8443/team/lib.git?rev=v1#0123").as_deref(),
            Some("https://git.example.com:8443/")
        );
        assert_eq!(
            http_prefix("http://127.0.0.1:9000/lib.git").as_deref(),
            Some("http://127.0.0.1:9000/")
        );
        assert_eq!(http_prefix("ssh://git@example.com/lib.git"), None);
        assert_eq!(http_prefix("file:///srv/lib.git"), None);
    }
}
