//! The real gRPC client (`GrpcBridge` over one duplex stream, as on stdio) against an in-process
//! LLBBridge server: the protobuf wire, caps, Return, error details and large messages.

mod support;

use std::sync::Arc;

use bollard_buildkit_proto::moby::buildkit::v1::apicaps::ApiCap;
use bollard_buildkit_proto::moby::buildkit::v1::frontend::{
    self as gw,
    llb_bridge_server::{LlbBridge, LlbBridgeServer},
};
use support::*;
use tokio::sync::Mutex;
use tonic::{Request, Response, Status};
use uv_frontend::gateway::{connect_stream, GrpcBridge, Warning, MAX_MESSAGE_SIZE};
use uv_frontend::llb::Platform;

/// An LLBBridge server answering from a [`FakeBridge`], recording the raw Return request.
struct Server {
    fake: Arc<Mutex<FakeBridge>>,
    returned: Arc<Mutex<Option<gw::ReturnRequest>>>,
}

fn internal(e: anyhow::Error) -> Status {
    Status::unknown(e.to_string())
}

#[tonic::async_trait]
impl LlbBridge for Server {
    async fn resolve_image_config(
        &self,
        request: Request<gw::ResolveImageConfigRequest>,
    ) -> Result<Response<gw::ResolveImageConfigResponse>, Status> {
        let r = request.into_inner();
        // The client sends normalized references; the fake knows images by their short name.
        let name = r.r#ref.trim_start_matches("docker.io/library/").to_string();
        let resolved = self
            .fake
            .lock()
            .await
            .resolve_image_config(&name, &Platform::new("linux", "amd64", ""), &r.resolve_mode)
            .map_err(internal)?;
        Ok(Response::new(gw::ResolveImageConfigResponse {
            digest: resolved.digest,
            config: resolved.config,
            r#ref: r.r#ref,
        }))
    }
    async fn resolve_source_meta(
        &self,
        _: Request<gw::ResolveSourceMetaRequest>,
    ) -> Result<Response<gw::ResolveSourceMetaResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn solve(
        &self,
        request: Request<gw::SolveRequest>,
    ) -> Result<Response<gw::SolveResponse>, Status> {
        let r = request.into_inner();
        assert!(r.allow_result_return);
        let imports: Vec<uv_frontend::gateway::CacheImport> = r
            .cache_imports
            .iter()
            .map(|c| uv_frontend::gateway::CacheImport {
                kind: c.r#type.clone(),
                attrs: c.attrs.clone().into_iter().collect(),
            })
            .collect();
        let id = self
            .fake
            .lock()
            .await
            .solve(r.definition.expect("a definition"), &imports, r.evaluate)
            .map_err(internal)?;
        let result = if r.allow_result_array_ref {
            gw::result::Result::Ref(gw::Ref { id, def: None })
        } else {
            gw::result::Result::RefDeprecated(id)
        };
        Ok(Response::new(gw::SolveResponse {
            r#ref: String::new(),
            result: Some(gw::Result {
                result: Some(result),
                ..Default::default()
            }),
        }))
    }
    async fn read_file(
        &self,
        request: Request<gw::ReadFileRequest>,
    ) -> Result<Response<gw::ReadFileResponse>, Status> {
        let r = request.into_inner();
        let data = self
            .fake
            .lock()
            .await
            .read_file(&r.r#ref, &r.file_path)
            .map_err(internal)?;
        Ok(Response::new(gw::ReadFileResponse { data }))
    }
    async fn read_dir(
        &self,
        request: Request<gw::ReadDirRequest>,
    ) -> Result<Response<gw::ReadDirResponse>, Status> {
        let r = request.into_inner();
        let names = self
            .fake
            .lock()
            .await
            .read_dir(&r.r#ref, &r.dir_path)
            .map_err(internal)?;
        Ok(Response::new(gw::ReadDirResponse {
            entries: names
                .into_iter()
                .map(|e| bollard_buildkit_proto::fsutil::types::Stat {
                    path: e.name,
                    mode: e.mode,
                    linkname: e.linkname,
                    ..Default::default()
                })
                .collect(),
        }))
    }
    async fn stat_file(
        &self,
        _: Request<gw::StatFileRequest>,
    ) -> Result<Response<gw::StatFileResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn evaluate(
        &self,
        _: Request<gw::EvaluateRequest>,
    ) -> Result<Response<gw::EvaluateResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn ping(
        &self,
        _: Request<gw::PingRequest>,
    ) -> Result<Response<gw::PongResponse>, Status> {
        let caps = self.fake.lock().await.caps.clone();
        Ok(Response::new(gw::PongResponse {
            frontend_api_caps: caps
                .into_iter()
                .map(|id| ApiCap {
                    id,
                    enabled: true,
                    ..Default::default()
                })
                .collect(),
            ..Default::default()
        }))
    }
    async fn r#return(
        &self,
        request: Request<gw::ReturnRequest>,
    ) -> Result<Response<gw::ReturnResponse>, Status> {
        *self.returned.lock().await = Some(request.into_inner());
        Ok(Response::new(gw::ReturnResponse {}))
    }
    async fn inputs(
        &self,
        _: Request<gw::InputsRequest>,
    ) -> Result<Response<gw::InputsResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn new_container(
        &self,
        _: Request<gw::NewContainerRequest>,
    ) -> Result<Response<gw::NewContainerResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn release_container(
        &self,
        _: Request<gw::ReleaseContainerRequest>,
    ) -> Result<Response<gw::ReleaseContainerResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    type ExecProcessStream =
        tokio_stream::wrappers::ReceiverStream<Result<gw::ExecMessage, Status>>;
    async fn exec_process(
        &self,
        _: Request<tonic::Streaming<gw::ExecMessage>>,
    ) -> Result<Response<Self::ExecProcessStream>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn read_file_container(
        &self,
        _: Request<gw::ReadFileRequest>,
    ) -> Result<Response<gw::ReadFileResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn read_dir_container(
        &self,
        _: Request<gw::ReadDirRequest>,
    ) -> Result<Response<gw::ReadDirResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn stat_file_container(
        &self,
        _: Request<gw::StatFileRequest>,
    ) -> Result<Response<gw::StatFileResponse>, Status> {
        Err(Status::unimplemented("not used"))
    }
    async fn warn(
        &self,
        request: Request<gw::WarnRequest>,
    ) -> Result<Response<gw::WarnResponse>, Status> {
        let r = request.into_inner();
        let text = |b: &[u8]| String::from_utf8_lossy(b).into_owned();
        let location = r.info.as_ref().map(|info| {
            let line = r
                .ranges
                .first()
                .and_then(|range| range.start)
                .map_or(0, |p| p.line as usize);
            (info.filename.clone(), text(&info.data), line)
        });
        self.fake.lock().await.warnings.push(Warning {
            vertex: r.digest,
            short: text(&r.short),
            detail: r.detail.iter().map(|d| text(d)).collect(),
            url: r.url,
            location,
        });
        Ok(Response::new(gw::WarnResponse {}))
    }
}

/// Runs the frontend through gRPC against `fake`; returns the fake and the raw Return request.
fn run_over_grpc(fake: FakeBridge) -> (FakeBridge, gw::ReturnRequest) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(async move {
        let fake = Arc::new(Mutex::new(fake));
        let returned = Arc::new(Mutex::new(None));
        let (client_end, server_end) = tokio::io::duplex(1 << 16);
        let service = LlbBridgeServer::new(Server {
            fake: fake.clone(),
            returned: returned.clone(),
        })
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
        let server = tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(service)
                .serve_with_incoming(tokio_stream::once(Ok::<_, std::io::Error>(server_end))),
        );
        let channel = connect_stream(client_end).await.expect("connects");
        let bridge = GrpcBridge::new(channel);
        uv_frontend::frontend::run(&bridge, &opts(), 1_795_448_680)
            .await
            .expect("the gRPC calls succeed");
        drop(bridge);
        server.abort();
        let _ = server.await;
        let fake = std::mem::take(&mut *fake.lock().await);
        let returned = returned.lock().await.take().expect("Return was called");
        (fake, returned)
    })
}

#[test]
fn a_build_over_grpc_returns_a_ref_and_the_image_config() {
    let (fake, returned) = run_over_grpc(FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC));
    assert!(returned.error.is_none(), "{:?}", returned.error);
    let result = returned.result.expect("a result");
    let Some(gw::result::Result::Ref(r)) = result.result else {
        panic!("a Ref result, since the server has proto.refarray")
    };
    assert!(r.id.starts_with("ref-"));
    let config: serde_json::Value =
        serde_json::from_slice(&result.metadata["containerimage.config"]).expect("JSON");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["hello"]));
    // The definition survived the wire: its phase-1 step is there.
    vertex(fake.result_definition(), "[deps 2/2] uv sync");
}

#[test]
fn without_proto_refarray_the_old_string_ref_is_returned() {
    let mut fake = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    fake.caps.retain(|c| c != "proto.refarray");
    let (_, returned) = run_over_grpc(fake);
    let result = returned.result.expect("a result");
    assert!(matches!(
        result.result,
        Some(gw::result::Result::RefDeprecated(ref id)) if id.starts_with("ref-")
    ));
}

#[test]
fn spec_errors_travel_as_a_status_with_the_source_detail() {
    let spec = format!("{EXAMPLE_SPEC}[run]\nuser = \"root\"\n");
    let (_, returned) = run_over_grpc(FakeBridge::with_project(PLAIN_EXAMPLE, &spec));
    assert!(returned.result.is_none());
    let status = returned.error.expect("an error");
    assert_eq!(status.code, 2);
    assert!(status
        .message
        .starts_with("uv.build:6: [run] user must not be root"));
    let detail = &status.details[0];
    assert_eq!(
        detail.type_url,
        "github.com/moby/buildkit/errdefs.Source+json"
    );
    let json: serde_json::Value = serde_json::from_slice(&detail.value).expect("JSON");
    assert_eq!(json["ranges"][0]["start"]["line"], 6);
}

#[test]
fn files_larger_than_grpc_default_limit_are_read() {
    let mut fake = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    // 6 MiB: over tonic's 4 MiB default, under BuildKit's 16 MiB. `.python-version` is written
    // into phase 1 as it is, so its bytes also travel in the definition.
    let big = format!("3.11\n# {}\n", "x".repeat(6 << 20));
    fake.set_context_file(".python-version", &big);
    let (fake, returned) = run_over_grpc(fake);
    assert!(returned.error.is_none(), "{:?}", returned.error);
    // The file's bytes are in the definition (phase 1 is keyed on them).
    let def = fake.result_definition();
    assert!(def.def.iter().any(|op| op.len() > 6 << 20));
}

#[test]
fn warnings_travel_with_the_spec_file_and_line() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\ndev = true\n");
    let (fake, returned) = run_over_grpc(FakeBridge::with_project(PLAIN_EXAMPLE, &spec));
    assert!(returned.error.is_none(), "a warning never fails the build");
    let warning = fake
        .warnings
        .iter()
        .find(|w| w.short.starts_with("DevDependenciesInRuntime: "))
        .expect("the dev-group warning");
    let (file, text, line) = warning.location.clone().expect("located");
    assert_eq!((file.as_str(), line), ("uv.build", 6));
    assert_eq!(text, spec);
    assert!(warning.vertex.starts_with("sha256:"));
}
