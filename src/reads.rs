//! What the frontend reads through the gateway before it can plan: files of the client's
//! locals, the base image's account files, a workspace member's pyproject and image configs.

use std::collections::{BTreeMap, BTreeSet};

use futures_util::future::join_all;

use crate::frontend::BuildError;
use crate::gateway::{Bridge, BuildOpts};
use crate::llb::{self, pb, LocalOptions, Platform};
use crate::project::{self, Project, PyProject};

/// The digest of the vertex that loads `names` from `local` (what warnings about them name).
pub fn local_files_vertex(
    opts: &BuildOpts,
    local: &str,
    names: &[&str],
    platform: &Platform,
) -> String {
    let definition = llb::marshal(&local_files(opts, local, names, platform)).definition;
    // The terminal op only points at the source; the source is the one before it.
    let source = &definition.def[definition.def.len().saturating_sub(2)];
    llb::digest_of(source)
}

fn local_files(opts: &BuildOpts, local: &str, names: &[&str], platform: &Platform) -> llb::State {
    let patterns: Vec<String> = names.iter().map(|n| n.to_string()).collect();
    llb::local(
        local,
        &LocalOptions {
            session_id: opts.session_id.clone(),
            shared_key_hint: format!("uv-frontend:{local}:{}", patterns.join(",")),
            include_patterns: patterns.clone(),
            follow_paths: patterns,
            ..Default::default()
        },
        Some(platform),
        &format!(
            "[internal] load {} from {local}",
            crate::plan::short_list(names, ", ")
        ),
    )
}

/// Reads `names` (those that exist) from the client's local `local`, in one transfer.
pub async fn read_local_files<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    local: &str,
    names: &[&str],
    platform: &Platform,
) -> Result<BTreeMap<String, Vec<u8>>, BuildError> {
    let state = local_files(opts, local, names, platform);
    let definition: pb::Definition = llb::marshal(&state).definition;
    let reference = bridge
        .solve(definition, &opts.cache_imports().unwrap_or_default(), false)
        .await
        .map_err(|e| BuildError::plain(format!("reading {local}: {e}")))?;
    // Which of the names are there: one listing per directory they are in (a directory that
    // is not there has none of them). The listings, then the reads, are made concurrently.
    let dir_of = |name: &str| name.rsplit_once('/').map_or("", |(dir, _)| dir).to_string();
    let dirs: BTreeSet<String> = names.iter().map(|n| dir_of(n)).collect();
    let listings = join_all(dirs.iter().map(|dir| {
        let reference = &reference;
        async move { (dir, bridge.read_dir(reference, &format!("/{dir}")).await) }
    }))
    .await;
    let mut present: BTreeMap<&str, Vec<String>> = BTreeMap::new();
    for (dir, listing) in listings {
        let listing = match listing {
            Ok(entries) => entries.into_iter().map(|e| e.name).collect(),
            Err(_) if !dir.is_empty() => Vec::new(),
            Err(e) => return Err(BuildError::plain(format!("listing {local}: {e}"))),
        };
        present.insert(dir, listing);
    }
    let found: Vec<&str> = names
        .iter()
        .copied()
        .filter(|name| {
            let base = name.rsplit_once('/').map_or(*name, |(_, base)| base);
            present[dir_of(name).as_str()].iter().any(|p| p == base)
        })
        .collect();
    let data = join_all(found.iter().map(|name| bridge.read_file(&reference, name))).await;
    let mut out = BTreeMap::new();
    for (name, data) in found.into_iter().zip(data) {
        let data = data.map_err(|e| BuildError::plain(e.to_string()))?;
        out.insert(name.to_string(), data);
    }
    Ok(out)
}

/// The base image's account files, when it has them.
#[derive(Clone, Debug, Default)]
pub struct BaseAccounts {
    pub passwd: Option<String>,
    pub group: Option<String>,
}

/// The base image's `/etc/passwd` and `/etc/group`, read from the image itself; the error is
/// BuildKit's, about loading the image.
pub async fn read_accounts<B: Bridge>(
    bridge: &B,
    (image, pinned): (&str, &str),
    platform: &Platform,
    resolve_mode: &str,
    cache_imports: &[crate::gateway::CacheImport],
) -> Result<BaseAccounts, String> {
    // The same vertex as the build's base image (`pinned`: the image at the digest its config
    // was resolved to), so it is loaded once, without another registry lookup.
    let state = crate::image_source::image_source("base", image, pinned, platform, resolve_mode);
    let reference = bridge
        // With the cache imports, like every solve: a vertex first solved without them has no
        // cache keys, and everything built on it would miss the imported cache.
        .solve(llb::marshal(&state).definition, cache_imports, false)
        .await
        .map_err(|e| format!("{e:#}"))?;
    // Read directly and both at once (each gateway read mounts the image, so no listing
    // first). A file that is not there (a scratch-like base) means no accounts: the user is
    // created from nothing. Any other failure fails the build: taking it for a missing file
    // would replace the base's accounts.
    let paths = ["/etc/passwd", "/etc/group"];
    let (passwd, group) = tokio::join!(
        bridge.read_file(&reference, paths[0]),
        bridge.read_file(&reference, paths[1])
    );
    let mut files = [None, None];
    for ((slot, path), read) in files.iter_mut().zip(paths).zip([passwd, group]) {
        match read {
            Ok(bytes) => *slot = Some(String::from_utf8_lossy(&bytes).into_owned()),
            Err(e) if is_not_found(&e) => {}
            // BuildKit loads the image lazily: a missing image fails here (its error is about
            // the image, not the file).
            Err(e) => {
                let text = format!("{e:#}");
                let prefix = format!("reading {path}: ");
                return Err(text.strip_prefix(&prefix).unwrap_or(&text).to_string());
            }
        }
    }
    let [passwd, group] = files;
    Ok(BaseAccounts { passwd, group })
}

/// The `pyproject.toml` of every workspace package other than the root that uv builds (not
/// virtual), by package name: for a `[sync] package` member's default command, and for whether
/// the project phase can build everything without a network. One read of the context for all.
/// Then which of the module directories third-party backends would find are there (no read
/// for uv_build).
pub async fn read_members<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    project: &Project,
    platform: &Platform,
) -> (BTreeMap<String, PyProject>, BTreeSet<String>) {
    let paths: Vec<(String, String)> = project
        .lock
        .local_packages
        .iter()
        .filter(|p| !p.is_virtual() && !project.is_root(p))
        .map(|p| {
            let path = format!("{}/{}", p.path.trim_end_matches('/'), project::PYPROJECT);
            (p.name.clone(), path)
        })
        .collect();
    let names: Vec<&str> = paths.iter().map(|(_, path)| path.as_str()).collect();
    // A member whose pyproject cannot be read only loses its default command, and the project
    // phase keeps the network.
    let files = match names.is_empty() {
        true => BTreeMap::new(),
        false => read_local_files(bridge, opts, opts.context_local(), &names, platform)
            .await
            .unwrap_or_default(),
    };
    let members: BTreeMap<String, PyProject> = paths
        .iter()
        .filter_map(|(package, path)| {
            let text = files.get(path)?;
            let parsed = PyProject::parse(&String::from_utf8_lossy(text)).ok()?;
            Some((package.clone(), parsed))
        })
        .collect();
    let layout_files = project.layout_files(&members);
    if layout_files.is_empty() {
        return (members, Default::default());
    }
    let names: Vec<&str> = layout_files.iter().map(String::as_str).collect();
    // Unreadable: none found, so those packages are installed as wheels.
    let present = read_local_files(bridge, opts, opts.context_local(), &names, platform)
        .await
        .map(|found| found.into_keys().collect())
        .unwrap_or_default();
    (members, present)
}

/// An image's config, and the digest BuildKit resolved its name to.
#[derive(Clone, Debug)]
pub struct ResolvedConfig {
    pub config: serde_json::Value,
    pub digest: String,
}

impl ResolvedConfig {
    /// `image` at the resolved digest, as the build's LLB names it: loading it needs no
    /// registry lookup (the Dockerfile frontend pins its `FROM`s the same way). A name that
    /// holds a digest already, or an empty digest, is kept as it is.
    pub fn pinned(&self, image: &str) -> String {
        if self.digest.is_empty() || image.contains('@') {
            image.to_string()
        } else {
            format!("{image}@{}", self.digest)
        }
    }
}

/// An image's config; the error says what went wrong with it, to be placed at its key.
pub async fn resolve_config<B: Bridge>(
    bridge: &B,
    image: &str,
    platform: &Platform,
    resolve_mode: &str,
) -> Result<ResolvedConfig, String> {
    let resolved = bridge
        .resolve_image_config(image, platform, resolve_mode)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let config = serde_json::from_slice(&resolved.config)
        .map_err(|e| format!("its config is not valid: {e}"))?;
    Ok(ResolvedConfig {
        config,
        digest: resolved.digest,
    })
}

/// Which of `names` are not an entry of any directory on the `PATH` of `env` (an image
/// config's `Env`) in `image`: e.g. whether the builder lacks `git` for a lock's git sources.
pub async fn image_lacks_commands<'n, B: Bridge>(
    bridge: &B,
    (image, pinned): (&str, &str),
    platform: &Platform,
    resolve_mode: &str,
    cache_imports: &[crate::gateway::CacheImport],
    env: &[String],
    names: &[&'n str],
) -> Result<Vec<&'n str>, String> {
    // Named as the build names this image's vertex, which it is.
    let state = llb::image_resolved(
        pinned,
        platform,
        resolve_mode,
        &format!("[builder] {image}"),
    );
    let reference = bridge
        .solve(llb::marshal(&state).definition, cache_imports, false)
        .await
        .map_err(|e| format!("{e:#}"))?;
    let path = env
        .iter()
        .find_map(|e| e.strip_prefix("PATH="))
        .unwrap_or(crate::image::DEFAULT_PATH);
    let mut missing = names.to_vec();
    for dir in path.split(':').filter(|d| d.starts_with('/')) {
        if missing.is_empty() {
            break;
        }
        if let Ok(entries) = bridge.read_dir(&reference, dir).await {
            missing.retain(|name| !entries.iter().any(|e| e.name == *name));
        }
    }
    Ok(missing)
}

/// Whether a gateway read failed because the file (or a directory on its path) is not there.
pub(crate) fn is_not_found(error: &anyhow::Error) -> bool {
    let text = format!("{error:#}");
    text.contains("no such file or directory") || text.contains("not a directory")
}
