//! The benchmark's reference frontend image: a BuildKit frontend that hands the whole build to
//! BuildKit's built-in Dockerfile frontend (`dockerfile.v0`) through the gateway and Returns
//! what it built. `bench/run`'s `multi-fe` builder builds uv's multistage Dockerfile through it
//! (`--build-arg BUILDKIT_SYNTAX=<its image>`), so the table shows what that Dockerfile costs
//! when, like uv-frontend and every `# syntax=` frontend, it comes from a frontend image: a
//! container started, a gateway session, and the result passed back. It costs less than a
//! real Dockerfile frontend image would (the parsing and solving run inside BuildKit, not in
//! the container), so it is a lower bound for that route. Not part of the product; not in its
//! image.

use bollard_buildkit_proto::moby::buildkit::v1::frontend::{
    self as gw, llb_bridge_client::LlbBridgeClient,
};
use tonic::transport::Channel;
use uv_frontend::gateway::{answer_version, serve_stdio_channel, BuildOpts, MAX_MESSAGE_SIZE};

/// Options the built-in Dockerfile frontend must not see again: the syntax image (it would
/// start this frontend once more) and what BuildKit's gateway frontend set for this one.
const NOT_FORWARDED: [&str; 3] = ["build-arg:BUILDKIT_SYNTAX", "source", "cmdline"];

fn main() {
    // scripts/testbed/frontend-image.sh labels the image with the binary's `--version`
    if answer_version("uvf-bench-forward") {
        return;
    }
    serve_stdio_channel("uvf-bench-forward", forward)
}

/// Solves the build's own options with `dockerfile.v0` and Returns its result, or its error.
async fn forward(channel: Channel) -> anyhow::Result<()> {
    let opts = BuildOpts::from_env(std::env::vars());
    let mut client = LlbBridgeClient::new(channel)
        .max_decoding_message_size(MAX_MESSAGE_SIZE)
        .max_encoding_message_size(MAX_MESSAGE_SIZE);
    let request = gw::SolveRequest {
        frontend: "dockerfile.v0".into(),
        frontend_opt: opts
            .opts
            .into_iter()
            .filter(|(k, _)| !NOT_FORWARDED.contains(&k.as_str()))
            .collect(),
        allow_result_return: true,
        allow_result_array_ref: true,
        ..Default::default()
    };
    let returned = match client.solve(request).await {
        Ok(response) => gw::ReturnRequest {
            result: response.into_inner().result,
            error: None,
        },
        Err(status) => gw::ReturnRequest {
            result: None,
            error: Some(bollard_buildkit_proto::google::rpc::Status {
                code: status.code() as i32,
                message: status.message().to_string(),
                details: Vec::new(),
            }),
        },
    };
    client.r#return(returned).await?;
    Ok(())
}
