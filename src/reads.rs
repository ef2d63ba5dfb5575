//! What the frontend reads through the gateway before it can plan: files of the client's
//! locals, the base image's account files, a workspace member's pyproject and image configs.

use std::collections::BTreeMap;

use crate::frontend::BuildError;
use crate::gateway::{Bridge, BuildOpts};
use crate::llb::{self, pb, LocalOptions, Platform};
use crate::project::{self, Project, PyProject};
use crate::spec;

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
        &format!("[internal] load {} from {local}", names.join(", ")),
    )
}

/// Reads `names` (those that exist) from the client's local `local`, in one transfer.
pub async fn read_local_files<B: Bridge>(
    bridge: &mut B,
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
    let present = bridge
        .read_dir(&reference, "/")
        .await
        .map_err(|e| BuildError::plain(format!("listing {local}: {e}")))?;
    let mut out = BTreeMap::new();
    for name in names {
        if present.iter().any(|p| p.name == *name) {
            let data = bridge
                .read_file(&reference, name)
                .await
                .map_err(|e| BuildError::plain(e.to_string()))?;
            out.insert(name.to_string(), data);
        }
    }
    Ok(out)
}

/// The base image's account files, when it has them.
#[derive(Clone, Debug, Default)]
pub struct BaseAccounts {
    pub passwd: Option<String>,
    pub group: Option<String>,
}

/// The base image's `/etc/passwd` and `/etc/group`, read from the image itself.
pub async fn read_accounts<B: Bridge>(
    bridge: &mut B,
    image: &str,
    platform: &Platform,
    cache_imports: &[crate::gateway::CacheImport],
) -> Result<BaseAccounts, BuildError> {
    let state = llb::image(image, platform, &format!("[base] {image}"));
    let reference = bridge
        // With the cache imports, like every solve: a vertex first solved without them has no
        // cache keys, and everything built on it would miss the imported cache.
        .solve(llb::marshal(&state).definition, cache_imports, false)
        .await
        .map_err(|e| {
            BuildError::plain(format!(
                "the base image {image} could not be loaded for {platform}: {e:#} (fix: check [build] base, or [build] builder when base is not set)"
            ))
        })?;
    // A base without /etc (scratch-like) has no accounts: the user is created from nothing.
    let entries = bridge
        .read_dir(&reference, "/etc")
        .await
        .unwrap_or_default();
    let mut files = [None, None];
    for (slot, name) in files.iter_mut().zip(["passwd", "group"]) {
        if entries.iter().any(|e| e.name == name) {
            let bytes = bridge
                .read_file(&reference, &format!("/etc/{name}"))
                .await
                .map_err(|e| BuildError::plain(format!("reading /etc/{name} of {image}: {e}")))?;
            *slot = Some(String::from_utf8_lossy(&bytes).into_owned());
        }
    }
    let [passwd, group] = files;
    Ok(BaseAccounts { passwd, group })
}

/// The pyproject of the workspace member `[sync] package` names, if it is not the root.
pub async fn read_member<B: Bridge>(
    bridge: &mut B,
    opts: &BuildOpts,
    spec: &spec::Spec,
    project: &Project,
    platform: &Platform,
) -> Result<BTreeMap<String, PyProject>, BuildError> {
    let mut members = BTreeMap::new();
    let Some(package) = spec.sync.package.as_ref().map(|p| p.get_ref()) else {
        return Ok(members);
    };
    let Some(local) = project.lock.local_package(package) else {
        return Ok(members);
    };
    if local.path == "." || project.pyproject.name.as_deref() == Some(package.as_str()) {
        return Ok(members);
    }
    let path = format!(
        "{}/{}",
        local.path.trim_end_matches('/'),
        project::PYPROJECT
    );
    let files = read_local_files(
        bridge,
        opts,
        opts.context_local(),
        &[path.as_str()],
        platform,
    )
    .await;
    // A member whose pyproject cannot be read only loses its default command.
    if let Ok(files) = files {
        if let Some(text) = files.get(&path) {
            if let Ok(p) = PyProject::parse(&String::from_utf8_lossy(text)) {
                members.insert(package.clone(), p);
            }
        }
    }
    Ok(members)
}

pub async fn resolve_config<B: Bridge>(
    bridge: &mut B,
    image: &str,
    platform: &Platform,
    role: &str,
) -> Result<serde_json::Value, BuildError> {
    let resolved = bridge
        .resolve_image_config(image, platform)
        .await
        .map_err(|e| {
            BuildError::plain(format!(
                "the {role} image {image} could not be resolved for {platform}: {e:#} (fix: check [build] {role} in the spec and that the image exists for this platform)"
            ))
        })?;
    serde_json::from_slice(&resolved.config).map_err(|e| {
        BuildError::plain(format!(
            "the {role} image {image} has an invalid config: {e}"
        ))
    })
}
