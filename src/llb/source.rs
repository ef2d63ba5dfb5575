//! Source ops: images, the client's local directories, and scratch.

use std::collections::BTreeMap;

use super::pb;
use super::state::{Platform, State};
use super::vertex::Vertex;

/// An empty filesystem.
pub fn scratch() -> State {
    State::from_output(None, None)
}

/// A container image, pulled for `platform`.
pub fn image(reference: &str, platform: &Platform, name: &str) -> State {
    image_resolved(reference, platform, "default", name)
}

/// [`image`] with BuildKit's resolve mode: `default`, `pull` (`--pull`: always ask the
/// registry) or `local` (prefer a local image).
pub fn image_resolved(reference: &str, platform: &Platform, mode: &str, name: &str) -> State {
    let mut attrs = BTreeMap::new();
    let mut caps = vec!["source.image"];
    if mode != "default" {
        attrs.insert("image.resolvemode".to_string(), mode.to_string());
        caps.push("source.image.resolvemode");
    }
    let op = pb::op::Op::Source(pb::SourceOp {
        identifier: format!("docker-image://{}", normalize_image_ref(reference)),
        attrs,
    });
    let vertex = Vertex::new(op, vec![], Some(platform.to_pb()), name, caps);
    State::from_output(Some(vertex.output(0)), Some(platform.clone()))
}

/// Expands a short image name the way Docker does: `python:3.12` is
/// `docker.io/library/python:3.12`. References with a registry host are kept as they are.
pub fn normalize_image_ref(reference: &str) -> String {
    let (first, rest) = match reference.split_once('/') {
        Some((first, rest)) => (first, Some(rest)),
        None => (reference, None),
    };
    let has_host =
        rest.is_some() && (first.contains('.') || first.contains(':') || first == "localhost");
    let mut full = if has_host {
        reference.to_string()
    } else if rest.is_some() {
        format!("docker.io/{reference}")
    } else {
        format!("docker.io/library/{reference}")
    };
    let last = full.rsplit('/').next().unwrap_or("");
    if !last.contains(':') && !last.contains('@') {
        full.push_str(":latest");
    }
    full
}

/// What to transfer of a client's local directory.
#[derive(Clone, Debug, Default)]
pub struct LocalOptions {
    pub session_id: String,
    pub shared_key_hint: String,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub follow_paths: Vec<String>,
}

/// A directory the client sends (`context`, `dockerfile`, or a named context).
pub fn local(
    name: &str,
    options: &LocalOptions,
    platform: Option<&Platform>,
    progress: &str,
) -> State {
    let mut attrs = BTreeMap::new();
    let mut caps = vec!["source.local"];
    let json = |v: &Vec<String>| serde_json::to_string(v).expect("a list of strings is JSON");
    if !options.session_id.is_empty() {
        attrs.insert("local.session".to_string(), options.session_id.clone());
        caps.push("source.local.sessionid");
    }
    if !options.shared_key_hint.is_empty() {
        attrs.insert(
            "local.sharedkeyhint".to_string(),
            options.shared_key_hint.clone(),
        );
        caps.push("source.local.sharedkeyhint");
    }
    if !options.include_patterns.is_empty() {
        attrs.insert(
            "local.includepattern".to_string(),
            json(&options.include_patterns),
        );
        caps.push("source.local.includepatterns");
    }
    if !options.exclude_patterns.is_empty() {
        attrs.insert(
            "local.excludepatterns".to_string(),
            json(&options.exclude_patterns),
        );
        caps.push("source.local.excludepatterns");
    }
    if !options.follow_paths.is_empty() {
        attrs.insert("local.followpaths".to_string(), json(&options.follow_paths));
        caps.push("source.local.followpaths");
    }
    let op = pb::op::Op::Source(pb::SourceOp {
        identifier: format!("local://{name}"),
        attrs,
    });
    let vertex = Vertex::new(op, vec![], platform.map(Platform::to_pb), progress, caps);
    State::from_output(Some(vertex.output(0)), platform.cloned())
}

#[cfg(test)]
mod tests {
    use super::normalize_image_ref;

    #[test]
    fn short_names_expand_like_docker() {
        assert_eq!(
            normalize_image_ref("python:3.12-slim"),
            "docker.io/library/python:3.12-slim"
        );
        assert_eq!(
            normalize_image_ref("astral/uv"),
            "docker.io/astral/uv:latest"
        );
        assert_eq!(
            normalize_image_ref("ghcr.io/astral-sh/uv:0.13.9"),
            "ghcr.io/astral-sh/uv:0.13.9"
        );
        assert_eq!(
            normalize_image_ref("127.0.0.1:5000/uv-frontend:dev"),
            "127.0.0.1:5000/uv-frontend:dev"
        );
        assert_eq!(normalize_image_ref("localhost/x"), "localhost/x:latest");
    }
}
