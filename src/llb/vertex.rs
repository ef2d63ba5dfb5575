//! Vertices: one LLB op with its inputs, its progress name and the caps it needs.

use std::collections::BTreeSet;
use std::sync::Arc;

use super::pb;

/// One LLB operation. Cheap to clone; compared by identity while marshalling.
#[derive(Clone, Debug)]
pub struct Vertex(pub(crate) Arc<VertexData>);

#[derive(Debug)]
pub(crate) struct VertexData {
    /// The op itself, without its inputs (they are filled in when marshalling).
    pub op: pb::op::Op,
    pub inputs: Vec<Output>,
    pub platform: Option<pb::Platform>,
    /// Shown by BuildKit's progress output (`llb.customname`).
    pub name: String,
    pub caps: BTreeSet<&'static str>,
    pub ignore_cache: bool,
}

/// One output (result filesystem) of a vertex.
#[derive(Clone, Debug)]
pub struct Output {
    pub(crate) vertex: Vertex,
    pub(crate) index: i64,
}

impl Vertex {
    pub(crate) fn new(
        op: pb::op::Op,
        inputs: Vec<Output>,
        platform: Option<pb::Platform>,
        name: impl Into<String>,
        caps: impl IntoIterator<Item = &'static str>,
    ) -> Vertex {
        Vertex(Arc::new(VertexData {
            op,
            inputs,
            platform,
            name: name.into(),
            caps: caps.into_iter().collect(),
            ignore_cache: false,
        }))
    }

    pub(crate) fn output(&self, index: i64) -> Output {
        Output {
            vertex: self.clone(),
            index,
        }
    }

    /// The progress name of this vertex.
    pub fn name(&self) -> &str {
        &self.0.name
    }
}
