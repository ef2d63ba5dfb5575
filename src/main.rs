//! The frontend's entry point, run by BuildKit's gateway with the LLBBridge on stdin/stdout.
//!
//! Nothing here writes to stdout: it is the gRPC wire. stderr goes to BuildKit's log, which users
//! do not see; what they need to know travels in the Return error, vertex names and warnings.

use std::time::{SystemTime, UNIX_EPOCH};

use uv_frontend::frontend;
use uv_frontend::gateway::{connect_stdio, BuildOpts, GrpcBridge};

fn main() {
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("a tokio runtime starts");
    let code = runtime.block_on(async {
        let opts = BuildOpts::from_env(std::env::vars());
        let channel = match connect_stdio().await {
            Ok(channel) => channel,
            Err(e) => {
                eprintln!("uv-frontend: cannot talk to BuildKit on stdin/stdout: {e:#}");
                return 1;
            }
        };
        let mut bridge = GrpcBridge::new(channel);
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        match frontend::run(&mut bridge, &opts, now).await {
            Ok(()) => 0,
            Err(e) => {
                eprintln!("uv-frontend: {e:#}");
                1
            }
        }
    });
    // Exit at once: nothing may keep the process alive after Return.
    std::process::exit(code);
}
