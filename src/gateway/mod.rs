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
pub use stdio::{
    answer_version, connect_stdio, connect_stream, serve_stdio, serve_stdio_channel,
    MAX_MESSAGE_SIZE,
};

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

/// One platform's image of a multi-platform result.
#[derive(Clone, Debug)]
pub struct PlatformImage {
    pub platform: Platform,
    pub reference: String,
    pub config: Vec<u8>,
    /// The config of the image it is built on, by which the exporter tells the base's layers
    /// (`rewrite-timestamp` leaves them as they are).
    pub base_config: Option<Vec<u8>>,
}

/// What the frontend hands back to BuildKit.
#[derive(Clone, Debug)]
pub enum FrontendResult {
    /// A solved reference, the image config of the result and that of its base image.
    Image {
        reference: String,
        config: Vec<u8>,
        base_config: Option<Vec<u8>>,
    },
    /// One image per platform (`--platform a,b`): the refs by platform id, each platform's
    /// config as `containerimage.config/<id>`, and `refs.platforms` listing them in order.
    Images(Vec<PlatformImage>),
    /// The build failed; the status carries the message and error details.
    Error(bollard_buildkit_proto::google::rpc::Status),
    /// The answer to a subrequest (`--call`): metadata only, no image.
    Metadata(std::collections::BTreeMap<String, Vec<u8>>),
}

/// The LLBBridge calls the frontend makes. Errors are BuildKit's, as text.
#[allow(async_fn_in_trait)]
pub trait Bridge {
    async fn ping(&self) -> anyhow::Result<Capabilities>;
    /// Solves `definition` and returns a reference to its result. BuildKit solves lazily: with
    /// `evaluate` the result is built now, so that its errors are this call's.
    async fn solve(
        &self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String>;
    /// The bytes of `path` in a solved reference.
    async fn read_file(&self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>>;
    /// The entries of `dir` in a solved reference.
    async fn read_dir(&self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>>;
    /// `mode` is BuildKit's image resolve mode: `default`, `pull` (`--pull`) or `local`.
    async fn resolve_image_config(
        &self,
        image: &str,
        platform: &Platform,
        mode: &str,
    ) -> anyhow::Result<ResolvedImage>;
    /// Sends a non-fatal finding, which buildx shows as a build warning; a BuildKit without the
    /// `gateway.warnings` cap gets none.
    async fn warn(&self, warning: &Warning) -> anyhow::Result<()>;
    async fn finish(&self, result: FrontendResult) -> anyhow::Result<()>;
}

/// The Return request for `result`, in the wire format BuildKit's caps ask for.
pub fn return_request(result: FrontendResult, ref_array: bool) -> gw::ReturnRequest {
    match result {
        FrontendResult::Image {
            reference,
            config,
            base_config,
        } => {
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
                    metadata: std::iter::once(("containerimage.config".to_string(), config))
                        .chain(base_config.map(|c| ("containerimage.base.config".to_string(), c)))
                        .collect(),
                    attestations: Default::default(),
                    result: Some(result),
                }),
                error: None,
            }
        }
        FrontendResult::Images(images) => images_request(&images, ref_array),
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

/// The Return request for one image per platform: the refs by platform id and the metadata of
/// [`images_metadata`].
fn images_request(images: &[PlatformImage], ref_array: bool) -> gw::ReturnRequest {
    let metadata = images_metadata(images);
    let id = |p: &Platform| p.to_string();
    let result = if ref_array {
        gw::result::Result::Refs(gw::RefMap {
            refs: images
                .iter()
                .map(|i| {
                    (
                        id(&i.platform),
                        gw::Ref {
                            id: i.reference.clone(),
                            def: None,
                        },
                    )
                })
                .collect(),
        })
    } else {
        gw::result::Result::RefsDeprecated(gw::RefMapDeprecated {
            refs: images
                .iter()
                .map(|i| (id(&i.platform), i.reference.clone()))
                .collect(),
        })
    };
    gw::ReturnRequest {
        result: Some(gw::Result {
            metadata: metadata.into_iter().collect(),
            attestations: Default::default(),
            result: Some(result),
        }),
        error: None,
    }
}

/// Each platform's config as `containerimage.config/<id>` (and its base's as
/// `containerimage.base.config/<id>`), and `refs.platforms` listing the platforms in order.
fn images_metadata(images: &[PlatformImage]) -> std::collections::HashMap<String, Vec<u8>> {
    let id = |p: &Platform| p.to_string();
    let mut metadata: std::collections::HashMap<String, Vec<u8>> = images
        .iter()
        .flat_map(|i| {
            let base = i
                .base_config
                .clone()
                .map(|c| (format!("containerimage.base.config/{}", id(&i.platform)), c));
            std::iter::once((
                format!("containerimage.config/{}", id(&i.platform)),
                i.config.clone(),
            ))
            .chain(base)
        })
        .collect();
    let platforms = serde_json::json!({
        "platforms": images
            .iter()
            .map(|i| serde_json::json!({"id": id(&i.platform), "platform": i.platform}))
            .collect::<Vec<_>>(),
    });
    metadata.insert("refs.platforms".into(), platforms.to_string().into_bytes());
    metadata
}

#[cfg(test)]
mod return_tests {
    use super::*;

    #[test]
    fn several_platforms_return_refs_by_id_configs_and_refs_platforms() {
        let image = |arch: &str| PlatformImage {
            platform: Platform::new("linux", arch, ""),
            reference: format!("ref-{arch}"),
            config: format!("{{\"architecture\":\"{arch}\"}}").into_bytes(),
            base_config: Some(b"{}".to_vec()),
        };
        let request = return_request(
            FrontendResult::Images(vec![image("amd64"), image("386")]),
            true,
        );
        let result = request.result.expect("a result");
        let Some(gw::result::Result::Refs(refs)) = &result.result else {
            panic!("a ref map")
        };
        assert_eq!(refs.refs["linux/386"].id, "ref-386");
        assert_eq!(refs.refs["linux/amd64"].id, "ref-amd64");
        assert_eq!(
            result.metadata["containerimage.config/linux/386"],
            b"{\"architecture\":\"386\"}"
        );
        assert_eq!(
            result.metadata["containerimage.base.config/linux/386"],
            b"{}"
        );
        let platforms: serde_json::Value =
            serde_json::from_slice(&result.metadata["refs.platforms"]).expect("JSON");
        assert_eq!(
            platforms,
            serde_json::json!({"platforms": [
                {"id": "linux/amd64", "platform": {"os": "linux", "architecture": "amd64"}},
                {"id": "linux/386", "platform": {"os": "linux", "architecture": "386"}},
            ]})
        );
        let old = return_request(
            FrontendResult::Images(vec![image("amd64"), image("386")]),
            false,
        );
        assert!(matches!(
            old.result.and_then(|r| r.result),
            Some(gw::result::Result::RefsDeprecated(_))
        ));
    }
}
