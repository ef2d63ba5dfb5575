//! The benchmark's floor: a BuildKit frontend that does nothing at all. It connects to the
//! LLBBridge and Returns an empty image at once: no read, no solve. `bench/run` builds the
//! examples' `uv.build` through it (`--build-arg BUILDKIT_SYNTAX=<its image>`) beside the real
//! frontend, so the table shows what any frontend image costs on that machine before it does
//! any work: the buildx client and session, BuildKit reading the `# syntax` line and starting
//! the frontend's container, and the export. Not part of the product; not in its image.

use uv_frontend::gateway::{answer_version, serve_stdio, Bridge, FrontendResult};

fn main() {
    // scripts/testbed/frontend-image.sh labels the image with the binary's `--version`
    if answer_version("uvf-bench-floor") {
        return;
    }
    serve_stdio("uvf-bench-floor", |bridge| async move {
        let empty = FrontendResult::Image {
            reference: String::new(),
            // os and architecture: the containerd image store's exporter rejects a config
            // without them ("invalid image config for export: missing os"); the classic one
            // takes `{}`
            config: format!(
                r#"{{"architecture":"{}","os":"linux","config":{{}},"rootfs":{{"type":"layers","diff_ids":[]}}}}"#,
                match std::env::consts::ARCH {
                    "x86_64" => "amd64",
                    "aarch64" => "arm64",
                    other => other,
                }
            )
            .into_bytes(),
            base_config: None,
        };
        bridge.finish(empty).await
    })
}
