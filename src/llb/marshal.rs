//! Turns a state into a [`pb::Definition`], deterministically.

use std::collections::{BTreeMap, BTreeSet, HashMap};

use prost::Message;
use sha2::{Digest, Sha256};

use super::pb;
use super::state::State;
use super::vertex::{Vertex, VertexData};

/// `sha256:<hex>` of `bytes`, the way BuildKit names vertices.
pub fn digest_of(bytes: &[u8]) -> String {
    format!("sha256:{}", hex::encode(Sha256::digest(bytes)))
}

/// A marshalled definition and the digest of the vertex its result comes from.
#[derive(Clone, Debug)]
pub struct Marshalled {
    pub definition: pb::Definition,
    /// Digest of the vertex producing the result (not of the terminal op).
    pub result: String,
}

impl Marshalled {
    /// The ops of the definition with their digests, terminal op excluded, in definition order.
    pub fn ops(&self) -> Vec<(String, pb::Op)> {
        let n = self.definition.def.len().saturating_sub(1);
        self.definition.def[..n]
            .iter()
            .map(|bytes| {
                let op = pb::Op::decode(bytes.as_slice()).expect("we encoded it");
                (digest_of(bytes), op)
            })
            .collect()
    }

    /// The progress name of the vertex with `digest`.
    pub fn name_of(&self, digest: &str) -> Option<&str> {
        self.definition
            .metadata
            .get(digest)?
            .description
            .get("llb.customname")
            .map(String::as_str)
    }

    /// The digests of every vertex `digest` depends on, itself included.
    pub fn ancestors(&self, digest: &str) -> BTreeSet<String> {
        let ops: HashMap<String, pb::Op> = self.ops().into_iter().collect();
        let mut seen = BTreeSet::new();
        let mut stack = vec![digest.to_string()];
        while let Some(d) = stack.pop() {
            if !seen.insert(d.clone()) {
                continue;
            }
            if let Some(op) = ops.get(&d) {
                stack.extend(op.inputs.iter().map(|i| i.digest.clone()));
            }
        }
        seen
    }
}

struct Marshaller<'a> {
    ignore_cache: &'a dyn Fn(&str) -> bool,
    by_identity: HashMap<*const VertexData, String>,
    seen: BTreeSet<String>,
    def: Vec<Vec<u8>>,
    metadata: BTreeMap<String, pb::OpMetadata>,
}

impl Marshaller<'_> {
    fn visit(&mut self, vertex: &Vertex) -> String {
        let key = std::sync::Arc::as_ptr(&vertex.0);
        if let Some(digest) = self.by_identity.get(&key) {
            return digest.clone();
        }
        let inputs = vertex
            .0
            .inputs
            .iter()
            .map(|input| pb::Input {
                digest: self.visit(&input.vertex),
                index: input.index,
            })
            .collect();
        let op = pb::Op {
            inputs,
            platform: vertex.0.platform.clone(),
            constraints: None,
            op: Some(vertex.0.op.clone()),
        };
        let bytes = op.encode_to_vec();
        let digest = digest_of(&bytes);
        if self.seen.insert(digest.clone()) {
            self.def.push(bytes);
        }
        let meta = self.metadata.entry(digest.clone()).or_default();
        // Identical ops share a vertex; the first name given to it is kept.
        if !vertex.0.name.is_empty() {
            meta.description
                .entry("llb.customname".into())
                .or_insert_with(|| vertex.0.name.clone());
        }
        for cap in &vertex.0.caps {
            meta.caps.insert((*cap).to_string(), true);
        }
        // Never on a step with a cache mount: BuildKit empties the cache mounts of a step it
        // rebuilds so (moby/buildkit#1213), which would lose every build's uv cache. The caller
        // makes such a step rerun otherwise.
        let has_cache_mount = matches!(&vertex.0.op, pb::op::Op::Exec(exec)
            if exec.mounts.iter().any(|m| m.mount_type == pb::MountType::Cache as i32));
        meta.ignore_cache |=
            vertex.0.ignore_cache || ((self.ignore_cache)(&vertex.0.name) && !has_cache_mount);
        self.by_identity.insert(key, digest.clone());
        digest
    }
}

/// Marshals everything `state` depends on. Panics on scratch: a build result is never empty.
pub fn marshal(state: &State) -> Marshalled {
    marshal_ignoring_cache(state, &|_| false)
}

/// Like [`marshal`], and vertices whose name `ignore_cache` accepts are rebuilt (`--no-cache`),
/// but for those with a cache mount (see the marshaller).
pub fn marshal_ignoring_cache(state: &State, ignore_cache: &dyn Fn(&str) -> bool) -> Marshalled {
    let output = state
        .output
        .as_ref()
        .expect("a scratch state has nothing to marshal");
    let mut m = Marshaller {
        ignore_cache,
        by_identity: HashMap::new(),
        seen: BTreeSet::new(),
        def: Vec::new(),
        metadata: BTreeMap::new(),
    };
    let result = m.visit(&output.vertex);
    let terminal = pb::Op {
        inputs: vec![pb::Input {
            digest: result.clone(),
            index: output.index,
        }],
        ..Default::default()
    };
    m.def.push(terminal.encode_to_vec());
    Marshalled {
        definition: pb::Definition {
            def: m.def,
            metadata: m.metadata,
            source: None,
        },
        result,
    }
}

/// Puts `prefix` into every vertex name of `definition`, as BuildKit's Dockerfile frontend
/// names the steps of each platform of a multi-platform build: `[deps 2/2] uv sync` becomes
/// `[linux/386 deps 2/2] uv sync`, an unbracketed name gets `[linux/386] ` in front. Names are
/// metadata, not part of any op, so digests and cache keys stay the same.
pub fn prefix_names(definition: &mut pb::Definition, prefix: &str) {
    for meta in definition.metadata.values_mut() {
        if let Some(name) = meta.description.get_mut("llb.customname") {
            *name = match name.strip_prefix('[') {
                Some(rest) => format!("[{prefix} {rest}"),
                None => format!("[{prefix}] {name}"),
            };
        }
    }
}

#[cfg(test)]
mod prefix_tests {
    use super::*;

    #[test]
    fn names_get_the_prefix_and_digests_stay() {
        let state = crate::llb::scratch()
            .file()
            .mkdir("/x", 0o755, None)
            .done("[deps 1/2] make x");
        let plain = marshal(&state).definition;
        let mut prefixed = plain.clone();
        prefix_names(&mut prefixed, "linux/386");
        assert_eq!(prefixed.def, plain.def, "same ops, same digests");
        let names: Vec<&String> = prefixed
            .metadata
            .values()
            .filter_map(|m| m.description.get("llb.customname"))
            .collect();
        assert_eq!(names, ["[linux/386 deps 1/2] make x"]);
    }
}
