//! A small typed builder for BuildKit's LLB, modelled on BuildKit's Go `client/llb`.
//!
//! States are immutable values: every method returns a new [`State`]. A state points at one output
//! of a vertex (or at scratch); [`marshal`] walks the graph once and writes a
//! [`pb::Definition`] whose bytes depend only on the graph: ops are encoded with prost (maps are
//! `BTreeMap`s, so they are sorted), exec environments are sorted by key, and vertices are listed
//! in a stable depth-first order and deduplicated by digest.

mod exec;
mod file;
mod layers;
mod marshal;
pub(crate) mod source;
mod state;
mod vertex;

pub use bollard_buildkit_proto::pb;
pub use exec::{CacheSharing, Exec, Network};
pub use file::{Chown, CopyOptions, FileOp};
pub use layers::{diff, merge};
pub use marshal::{digest_of, marshal, marshal_ignoring_cache, prefix_names, Marshalled};
pub use source::{image, image_resolved, local, scratch, LocalOptions};
pub use state::{Platform, State};
pub use vertex::{Output, Vertex};
