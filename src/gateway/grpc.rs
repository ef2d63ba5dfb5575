//! [`Bridge`] over gRPC, with BuildKit's LLBBridge client.

use anyhow::{anyhow, Context as _};
use bollard_buildkit_proto::moby::buildkit::v1::frontend::{
    self as gw, llb_bridge_client::LlbBridgeClient,
};
use tonic::transport::Channel;

use super::stdio::MAX_MESSAGE_SIZE;
use super::{
    return_request, Bridge, CacheImport, Capabilities, DirEntry, FrontendResult, ResolvedImage,
};
use crate::llb::{pb, Platform};

/// Calls may run concurrently: each clones the client (a handle on the one HTTP/2 connection,
/// which multiplexes them).
pub struct GrpcBridge {
    client: LlbBridgeClient<Channel>,
    /// Set by `ping`, the first call.
    caps: std::sync::Mutex<Capabilities>,
}

impl GrpcBridge {
    pub fn new(channel: Channel) -> GrpcBridge {
        let client = LlbBridgeClient::new(channel)
            .max_decoding_message_size(MAX_MESSAGE_SIZE)
            .max_encoding_message_size(MAX_MESSAGE_SIZE);
        GrpcBridge {
            client,
            caps: Default::default(),
        }
    }

    fn has_cap(&self, cap: &str) -> bool {
        self.caps.lock().map(|c| c.has(cap)).unwrap_or(false)
    }
}

/// BuildKit's error text, without tonic's framing.
fn status_error(call: &str, status: tonic::Status) -> anyhow::Error {
    anyhow!("{call}: {}", status.message())
}

impl Bridge for GrpcBridge {
    async fn ping(&self) -> anyhow::Result<Capabilities> {
        let pong = self
            .client
            .clone()
            .ping(gw::PingRequest {})
            .await
            .map_err(|s| status_error("ping", s))?
            .into_inner();
        let enabled = |caps: &[bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap]| {
            caps.iter()
                .filter(|c| c.enabled)
                .map(|c| c.id.clone())
                .collect()
        };
        let caps = Capabilities {
            frontend: enabled(&pong.frontend_api_caps),
            llb: enabled(&pong.llb_caps),
        };
        if let Ok(mut held) = self.caps.lock() {
            *held = caps.clone();
        }
        Ok(caps)
    }

    async fn solve(
        &self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String> {
        let native_evaluate = evaluate && self.has_cap("gateway.solve.evaluate");
        let request = gw::SolveRequest {
            evaluate: native_evaluate,
            definition: Some(definition),
            allow_result_return: true,
            allow_result_array_ref: self.has_cap("proto.refarray"),
            cache_imports: cache_imports
                .iter()
                .map(|c| gw::CacheOptionsEntry {
                    r#type: c.kind.clone(),
                    attrs: c.attrs.clone().into_iter().collect(),
                })
                .collect(),
            ..Default::default()
        };
        let response = self
            .client
            .clone()
            .solve(request)
            .await
            .map_err(|s| anyhow!("{}", s.message()))?
            .into_inner();
        let reference = match response.result.and_then(|r| r.result) {
            Some(gw::result::Result::Ref(r)) => r.id,
            Some(gw::result::Result::RefDeprecated(id)) => id,
            _ if !response.r#ref.is_empty() => response.r#ref,
            _ => return Err(anyhow!("BuildKit's solve returned no reference")),
        };
        if evaluate && !native_evaluate {
            // Older BuildKit: reading the result builds it.
            self.read_dir(&reference, "/").await?;
        }
        Ok(reference)
    }

    async fn read_file(&self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        let response = self
            .client
            .clone()
            .read_file(gw::ReadFileRequest {
                r#ref: reference.into(),
                file_path: path.into(),
                ..Default::default()
            })
            .await
            .map_err(|s| status_error(&format!("reading {path}"), s))?;
        Ok(response.into_inner().data)
    }

    async fn read_dir(&self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>> {
        let response = self
            .client
            .clone()
            .read_dir(gw::ReadDirRequest {
                r#ref: reference.into(),
                dir_path: dir.into(),
                ..Default::default()
            })
            .await
            .map_err(|s| status_error(&format!("listing {dir}"), s))?;
        Ok(response
            .into_inner()
            .entries
            .into_iter()
            .map(|e| DirEntry {
                name: e.path,
                mode: e.mode,
                linkname: e.linkname,
            })
            .collect())
    }

    async fn resolve_image_config(
        &self,
        image: &str,
        platform: &Platform,
        mode: &str,
    ) -> anyhow::Result<ResolvedImage> {
        let response = self
            .client
            .clone()
            .resolve_image_config(gw::ResolveImageConfigRequest {
                r#ref: crate::llb::source::normalize_image_ref(image),
                platform: Some(platform.to_pb()),
                resolve_mode: mode.into(),
                log_name: format!("[internal] load metadata for {image}"),
                ..Default::default()
            })
            .await
            .map_err(|s| anyhow!("{}", s.message()))
            .with_context(|| format!("resolving image {image}"))?
            .into_inner();
        Ok(ResolvedImage {
            digest: response.digest,
            config: response.config,
        })
    }

    async fn warn(&self, warning: &super::Warning) -> anyhow::Result<()> {
        if !self.has_cap("gateway.warnings") {
            return Ok(());
        }
        let (info, ranges) = match &warning.location {
            Some((filename, text, line)) => {
                let position = |line: usize| crate::llb::pb::Position {
                    line: line as i32,
                    character: 0,
                };
                (
                    Some(crate::llb::pb::SourceInfo {
                        filename: filename.clone(),
                        data: text.as_bytes().to_vec(),
                        definition: None,
                        language: "TOML".into(),
                    }),
                    vec![crate::llb::pb::Range {
                        start: Some(position(*line)),
                        end: Some(position(*line)),
                    }],
                )
            }
            None => (None, vec![]),
        };
        self.client
            .clone()
            .warn(gw::WarnRequest {
                digest: warning.vertex.clone(),
                level: 1,
                short: warning.short.as_bytes().to_vec(),
                detail: warning
                    .detail
                    .iter()
                    .map(|d| d.as_bytes().to_vec())
                    .collect(),
                url: warning.url.clone(),
                info,
                ranges,
            })
            .await
            .map_err(|s| status_error("warn", s))?;
        Ok(())
    }

    async fn finish(&self, result: FrontendResult) -> anyhow::Result<()> {
        let request = return_request(result, self.has_cap("proto.refarray"));
        self.client
            .clone()
            .r#return(request)
            .await
            .map_err(|s| status_error("return", s))?;
        Ok(())
    }
}
