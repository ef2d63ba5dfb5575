//! The benchmark's floor: a BuildKit frontend that does nothing at all. It connects to the
//! LLBBridge and Returns an empty image at once: no read, no solve. `bench/run` builds the
//! examples' `uv.build` through it (`--build-arg BUILDKIT_SYNTAX=<its image>`) beside the real
//! frontend, so the table shows what any frontend image costs on that machine before it does
//! any work: the buildx client and session, BuildKit reading the `# syntax` line and starting
//! the frontend's container, and the export. Not part of the product; not in its image.

use uv_frontend::gateway::{serve_stdio, Bridge, FrontendResult};

fn main() {
    serve_stdio("uvf-bench-floor", |mut bridge| async move {
        let empty = FrontendResult::Image {
            reference: String::new(),
            config: b"{}".to_vec(),
            base_config: None,
        };
        bridge.finish(empty).await
    })
}
