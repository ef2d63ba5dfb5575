//! Build options BuildKit gives a gateway frontend through its environment.

use std::collections::BTreeMap;

use serde::Deserialize;

use crate::llb::Platform;

/// `--cache-from` entries, as buildx passes them in the `cache-imports` option.
#[derive(Clone, Debug, PartialEq, Eq, Deserialize)]
pub struct CacheImport {
    #[serde(rename = "Type")]
    pub kind: String,
    #[serde(rename = "Attrs", default)]
    pub attrs: BTreeMap<String, String>,
}

#[derive(Clone, Debug, Default)]
pub struct BuildOpts {
    /// Frontend options: `filename`, `build-arg:NAME`, `target`, `platform`, ...
    pub opts: BTreeMap<String, String>,
    pub session_id: String,
    /// Platforms of the workers, first is the default.
    pub worker_platforms: Vec<Platform>,
}

#[derive(Deserialize)]
struct WorkerInfo {
    #[serde(rename = "Platforms", default)]
    platforms: Vec<WorkerPlatform>,
}

#[derive(Deserialize)]
struct WorkerPlatform {
    #[serde(default)]
    os: String,
    #[serde(default)]
    architecture: String,
    #[serde(default)]
    variant: String,
}

impl BuildOpts {
    /// Reads `BUILDKIT_FRONTEND_OPT_<n>=key=value`, `BUILDKIT_SESSION_ID` and `BUILDKIT_WORKERS`.
    pub fn from_env(vars: impl IntoIterator<Item = (String, String)>) -> BuildOpts {
        let mut out = BuildOpts::default();
        for (name, value) in vars {
            if name.starts_with("BUILDKIT_FRONTEND_OPT_") {
                let (k, v) = value.split_once('=').unwrap_or((&value, ""));
                out.opts.insert(k.to_string(), v.to_string());
            } else if name == "BUILDKIT_SESSION_ID" {
                out.session_id = value;
            } else if name == "BUILDKIT_WORKERS" {
                let workers: Vec<WorkerInfo> = serde_json::from_str(&value).unwrap_or_default();
                out.worker_platforms = workers
                    .into_iter()
                    .flat_map(|w| w.platforms)
                    .map(|p| Platform::new(&p.os, &p.architecture, &p.variant))
                    .collect();
            }
        }
        out
    }

    fn get(&self, key: &str) -> Option<&str> {
        self.opts
            .get(key)
            .map(String::as_str)
            .filter(|v| !v.is_empty())
    }

    /// The spec's file name in the `dockerfile` local (`-f`'s base name).
    pub fn filename(&self) -> &str {
        self.get("filename").unwrap_or("uv.build")
    }

    /// The local that holds the spec file.
    pub fn spec_local(&self) -> &str {
        self.get("dockerfilekey").unwrap_or("dockerfile")
    }

    /// The local that holds the build context.
    pub fn context_local(&self) -> &str {
        self.get("contextkey").unwrap_or("context")
    }

    /// `--build-arg` values.
    pub fn build_args(&self) -> BTreeMap<String, String> {
        self.opts
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("build-arg:")?.to_string(), v.clone())))
            .collect()
    }

    /// `--build-context name=value` values (BuildKit's `context:<name>` options), by name.
    pub fn named_contexts(&self) -> BTreeMap<String, String> {
        self.opts
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("context:")?.to_string(), v.clone())))
            .collect()
    }

    /// Every platform to build for: `--platform`'s, in order and without repeats, else the
    /// worker's first.
    pub fn platforms(&self) -> Vec<Platform> {
        let mut platforms: Vec<Platform> = Vec::new();
        for p in self
            .get("platform")
            .unwrap_or_default()
            .split(',')
            .filter_map(Platform::parse)
        {
            if !platforms.contains(&p) {
                platforms.push(p);
            }
        }
        if platforms.is_empty() {
            platforms.push(self.platform());
        }
        platforms
    }

    /// `--build-arg BUILDKIT_MULTI_PLATFORM=1`: the result is keyed by platform (an index)
    /// even for one platform, as the Dockerfile frontend makes it.
    pub fn multi_platform(&self) -> bool {
        self.build_args()
            .get("BUILDKIT_MULTI_PLATFORM")
            .is_some_and(|v| matches!(v.trim().to_ascii_lowercase().as_str(), "1" | "true"))
    }

    /// The platform to build for: `--platform`'s first, else the worker's.
    pub fn platform(&self) -> Platform {
        self.get("platform")
            .and_then(|p| p.split(',').next())
            .and_then(Platform::parse)
            .or_else(|| self.worker_platforms.first().cloned())
            .unwrap_or_else(|| Platform::new("linux", "amd64", ""))
    }

    /// `--cache-from` entries; malformed ones are an error, as they are for the Dockerfile frontend.
    pub fn cache_imports(&self) -> Result<Vec<CacheImport>, String> {
        match self.get("cache-imports") {
            None => Ok(vec![]),
            Some(text) => serde_json::from_str(text).map_err(|e| {
                format!(
                    "the cache-imports option is not valid JSON: {}",
                    crate::spec::shorten(&e.to_string())
                )
            }),
        }
    }

    /// `--no-cache` (every stage) or `--no-cache-filter` (the named stages): `None` when the
    /// cache is used.
    /// `--target`, empty for the default.
    pub fn target(&self) -> &str {
        self.get("target").unwrap_or("")
    }

    /// The subrequest `--call` asks for (`frontend.targets`, ...), if any.
    pub fn subrequest(&self) -> Option<&str> {
        self.get("requestid")
    }

    /// `--label` values: labels of the image, over the spec's.
    pub fn labels(&self) -> BTreeMap<String, String> {
        self.opts
            .iter()
            .filter_map(|(k, v)| Some((k.strip_prefix("label:")?.to_string(), v.clone())))
            .collect()
    }

    /// `--add-host name:ip` entries (buildx sends `name=ip,...`), as BuildKit's Dockerfile
    /// frontend reads them: names lowercased, IPs checked.
    pub fn extra_hosts(&self) -> Result<Vec<(String, String)>, String> {
        let Some(value) = self.get("add-hosts") else {
            return Ok(Vec::new());
        };
        value
            .split(',')
            .map(str::trim)
            .filter(|f| !f.is_empty())
            .map(|field| {
                let field = field.to_ascii_lowercase();
                let shown = crate::spec::shorten(&field);
                const FIX: &str = "fix: --add-host name=1.2.3.4";
                let (host, ip) = field
                    .split_once('=')
                    .ok_or_else(|| format!("--add-host {shown} is not name=ip; {FIX}"))?;
                if host.is_empty() {
                    return Err(format!(
                        "--add-host {}: no host name before \"=\"; {FIX}",
                        crate::spec::quote(&field)
                    ));
                }
                if ip.is_empty() {
                    return Err(format!(
                        "--add-host {}: no IP address after \"=\"; {FIX}",
                        crate::spec::quote(&field)
                    ));
                }
                ip.parse::<std::net::IpAddr>().map_err(|_| {
                    format!(
                        "--add-host {shown}: {} is not an IP address",
                        crate::spec::shorten(ip)
                    )
                })?;
                Ok((host.to_string(), ip.to_string()))
            })
            .collect()
    }

    /// `--network`: `host`, `none` or `sandbox` (BuildKit's default); `None` when not given.
    pub fn network_mode(&self) -> Result<Option<&str>, String> {
        match self.get("force-network-mode") {
            None => Ok(None),
            Some(mode @ ("host" | "none" | "sandbox")) => Ok(Some(mode)),
            Some(other) => Err(format!(
                "--network {} is not a network mode uv-frontend knows (host, none, default)",
                crate::spec::shorten(other)
            )),
        }
    }

    /// `--pull` (`pull`), or BuildKit's `default`/`local` image resolve mode.
    pub fn image_resolve_mode(&self) -> Result<&str, String> {
        match self.get("image-resolve-mode").unwrap_or("default") {
            mode @ ("default" | "pull" | "local") => Ok(mode),
            other => Err(format!(
                "image-resolve-mode {} is not default, pull or local",
                crate::spec::shorten(other)
            )),
        }
    }

    /// The options `docker buildx build` may pass that the Dockerfile frontend applies to its RUN
    /// steps and uv-frontend does not (`uv sync` has no use for them), as the flags that set them.
    pub fn ignored_run_options(&self) -> Vec<&'static str> {
        [
            ("shm-size", "--shm-size"),
            ("ulimit", "--ulimit"),
            ("cgroup-parent", "--cgroup-parent"),
            (
                "build-arg:BUILDKIT_SANDBOX_HOSTNAME",
                "BUILDKIT_SANDBOX_HOSTNAME",
            ),
        ]
        .into_iter()
        .filter(|(key, _)| self.get(key).is_some())
        .map(|(_, flag)| flag)
        .collect()
    }

    pub fn no_cache(&self) -> Option<Vec<String>> {
        let value = self.opts.get("no-cache")?;
        Some(
            value
                .split(',')
                .map(str::trim)
                .filter(|s| !s.is_empty())
                .map(str::to_string)
                .collect(),
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_options_session_and_workers_from_the_environment() {
        let env = [
            ("BUILDKIT_FRONTEND_OPT_0", "filename=uv.build"),
            ("BUILDKIT_FRONTEND_OPT_1", "build-arg:HTTP_PROXY=http://p:3128"),
            (
                "BUILDKIT_FRONTEND_OPT_2",
                r#"cache-imports=[{"Type":"registry","Attrs":{"ref":"r/c"}}]"#,
            ),
            ("BUILDKIT_SESSION_ID", "s1"),
            (
                "BUILDKIT_WORKERS",
                r#"[{"ID":"w","Platforms":[{"os":"linux","architecture":"arm64","variant":"v8"}]}]"#,
            ),
            ("PATH", "/bin"),
        ]
        .map(|(k, v)| (k.to_string(), v.to_string()));
        let opts = BuildOpts::from_env(env);
        assert_eq!(opts.filename(), "uv.build");
        assert_eq!(opts.session_id, "s1");
        assert_eq!(opts.build_args()["HTTP_PROXY"], "http://p:3128");
        assert_eq!(opts.platform(), Platform::new("linux", "arm64", "v8"));
        assert_eq!(
            opts.cache_imports().unwrap(),
            vec![CacheImport {
                kind: "registry".into(),
                attrs: [("ref".to_string(), "r/c".to_string())].into()
            }]
        );
    }

    #[test]
    fn labels_hosts_network_and_pull_are_read_as_buildx_sends_them() {
        let opts = |pairs: &[(&str, &str)]| BuildOpts {
            opts: pairs
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect(),
            ..Default::default()
        };
        let o = opts(&[
            ("label:org.opencontainers.image.revision", "abc123"),
            ("add-hosts", "Index.Internal=10.0.0.7,mirror=fd00::1"),
            ("force-network-mode", "host"),
            ("image-resolve-mode", "pull"),
            ("shm-size", "67108864"),
        ]);
        assert_eq!(
            o.labels(),
            [(
                "org.opencontainers.image.revision".to_string(),
                "abc123".to_string()
            )]
            .into()
        );
        assert_eq!(
            o.extra_hosts().unwrap(),
            [
                ("index.internal".to_string(), "10.0.0.7".to_string()),
                ("mirror".to_string(), "fd00::1".to_string())
            ]
        );
        assert_eq!(o.network_mode().unwrap(), Some("host"));
        assert_eq!(o.image_resolve_mode().unwrap(), "pull");
        assert_eq!(o.ignored_run_options(), ["--shm-size"]);

        let none = opts(&[]);
        assert!(none.labels().is_empty() && none.extra_hosts().unwrap().is_empty());
        assert_eq!(none.network_mode().unwrap(), None);
        assert_eq!(none.image_resolve_mode().unwrap(), "default");
        assert!(none.ignored_run_options().is_empty());

        assert_eq!(
            opts(&[("add-hosts", "index=not-an-ip")])
                .extra_hosts()
                .unwrap_err(),
            "--add-host index=not-an-ip: not-an-ip is not an IP address"
        );
        // A fuzz find: this read `a=:  is not an IP address`.
        assert_eq!(
            opts(&[("add-hosts", "a=")]).extra_hosts().unwrap_err(),
            "--add-host \"a=\": no IP address after \"=\"; fix: --add-host name=1.2.3.4"
        );
        assert_eq!(
            opts(&[("add-hosts", "=10.0.0.1")])
                .extra_hosts()
                .unwrap_err(),
            "--add-host \"=10.0.0.1\": no host name before \"=\"; fix: --add-host name=1.2.3.4"
        );
        assert_eq!(
            opts(&[("add-hosts", "index")]).extra_hosts().unwrap_err(),
            "--add-host index is not name=ip; fix: --add-host name=1.2.3.4"
        );
        assert!(opts(&[("force-network-mode", "bridge")])
            .network_mode()
            .is_err());
    }

    #[test]
    fn platform_option_wins_over_the_worker() {
        let opts = BuildOpts::from_env([
            (
                "BUILDKIT_FRONTEND_OPT_0".to_string(),
                "platform=linux/386,linux/amd64".to_string(),
            ),
            (
                "BUILDKIT_WORKERS".to_string(),
                r#"[{"Platforms":[{"os":"linux","architecture":"amd64"}]}]"#.to_string(),
            ),
        ]);
        assert_eq!(opts.platform(), Platform::new("linux", "386", ""));
    }
}
