//! The benchmark's floor: a BuildKit frontend that does nothing at all. It connects to the
//! LLBBridge and Returns an empty image at once: no read, no solve. `bench/run` builds the
//! examples' `uv.build` through it (`--build-arg BUILDKIT_SYNTAX=<its image>`) beside the real
//! frontend, so the table shows what any frontend image costs on that machine before it does
//! any work: the buildx client and session, BuildKit reading the `# syntax` line and starting
//! the frontend's container, and the export. Not part of the product; not in its image.

use uv_frontend::gateway::{connect_stdio, Bridge, FrontendResult, GrpcBridge};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = runtime.block_on(async {
        let channel = match connect_stdio().await {
            Ok(channel) => channel,
            Err(e) => {
                eprintln!("uvf-bench-floor: cannot talk to BuildKit: {e:#}");
                return 1;
            }
        };
        let mut bridge = GrpcBridge::new(channel);
        let empty = FrontendResult::Image {
            reference: String::new(),
            config: b"{}".to_vec(),
        };
        match bridge.finish(empty).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("uvf-bench-floor: {e:#}");
                1
            }
        }
    });
    std::process::exit(code);
}
