//! Talking to BuildKit. [`Bridge`] is the only I/O seam of the frontend: everything else is pure,
//! and the whole flow in [`crate::frontend`] is tested against a fake implementation.

mod caps;
mod grpc;
mod opts;
pub mod status;
mod stdio;

use bollard_buildkit_proto::moby::buildkit::v1::frontend as gw;

pub use caps::{Capabilities, REQUIRED_CAPS};
pub use grpc::GrpcBridge;
pub use opts::{BuildOpts, CacheImport};
pub use status::error_status;
pub use stdio::{connect_stdio, connect_stream, MAX_MESSAGE_SIZE};

use crate::llb::{pb, Platform};

/// A resolved image: its digest and its config (the OCI image config JSON).
#[derive(Clone, Debug)]
pub struct ResolvedImage {
    pub digest: String,
    pub config: Vec<u8>,
}

/// An entry of a directory listing (BuildKit's fsutil Stat: Go `os.FileMode` bits).
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct DirEntry {
    pub name: String,
    pub mode: u32,
    /// Target of a symlink.
    pub linkname: String,
}

impl DirEntry {
    const MODE_DIR: u32 = 1 << 31;
    const MODE_SYMLINK: u32 = 1 << 27;

    pub fn file(name: &str) -> DirEntry {
        DirEntry {
            name: name.into(),
            mode: 0o644,
            linkname: String::new(),
        }
    }

    pub fn dir(name: &str) -> DirEntry {
        DirEntry {
            name: name.into(),
            mode: Self::MODE_DIR | 0o755,
            linkname: String::new(),
        }
    }

    pub fn symlink(name: &str, target: &str) -> DirEntry {
        DirEntry {
            name: name.into(),
            mode: Self::MODE_SYMLINK | 0o777,
            linkname: target.into(),
        }
    }

    pub fn is_dir(&self) -> bool {
        self.mode & Self::MODE_DIR != 0
    }

    pub fn is_symlink(&self) -> bool {
        self.mode & Self::MODE_SYMLINK != 0
    }
}

/// What the frontend hands back to BuildKit.
/// A build warning, as buildx prints it after the build (`WARNING: ...`), with the line of the
/// file it is about when there is one.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Warning {
    /// The vertex it belongs to (the spec's load), by digest.
    pub vertex: String,
    pub short: String,
    pub detail: Vec<String>,
    pub url: String,
    /// File name, its text and the 1-based line.
    pub location: Option<(String, String, usize)>,
}

#[derive(Clone, Debug)]
pub enum FrontendResult {
    /// A solved reference and the image config of the result.
    Image { reference: String, config: Vec<u8> },
    /// The build failed; the status carries the message and error details.
    Error(bollard_buildkit_proto::google::rpc::Status),
    /// The answer to a subrequest (`--call`): metadata only, no image.
    Metadata(std::collections::BTreeMap<String, Vec<u8>>),
}

/// The LLBBridge calls the frontend makes. Errors are BuildKit's, as text.
#[allow(async_fn_in_trait)]
pub trait Bridge {
    async fn ping(&mut self) -> anyhow::Result<Capabilities>;
    /// Solves `definition` and returns a reference to its result. BuildKit solves lazily: with
    /// `evaluate` the result is built now, so that its errors are this call's.
    async fn solve(
        &mut self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String>;
    /// The bytes of `path` in a solved reference.
    async fn read_file(&mut self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>>;
    /// The entries of `dir` in a solved reference.
    async fn read_dir(&mut self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>>;
    async fn resolve_image_config(
        &mut self,
        image: &str,
        platform: &Platform,
    ) -> anyhow::Result<ResolvedImage>;
    /// A non-fatal finding, shown by buildx as a build warning (where BuildKit supports it).
    /// Sends a build warning; a BuildKit without the `gateway.warnings` cap gets none.
    async fn warn(&mut self, warning: &Warning) -> anyhow::Result<()>;
    async fn finish(&mut self, result: FrontendResult) -> anyhow::Result<()>;
}

/// The Return request for `result`, in the wire format BuildKit's caps ask for.
pub fn return_request(result: FrontendResult, ref_array: bool) -> gw::ReturnRequest {
    match result {
        FrontendResult::Image { reference, config } => {
            let result = if ref_array {
                gw::result::Result::Ref(gw::Ref {
                    id: reference,
                    def: None,
                })
            } else {
                gw::result::Result::RefDeprecated(reference)
            };
            gw::ReturnRequest {
                result: Some(gw::Result {
                    metadata: [("containerimage.config".to_string(), config)].into(),
                    attestations: Default::default(),
                    result: Some(result),
                }),
                error: None,
            }
        }
        FrontendResult::Metadata(metadata) => gw::ReturnRequest {
            result: Some(gw::Result {
                metadata: metadata.into_iter().collect(),
                attestations: Default::default(),
                result: None,
            }),
            error: None,
        },
        FrontendResult::Error(status) => gw::ReturnRequest {
            result: None,
            error: Some(status),
        },
    }
}
