//! The frontend's entry point, run by BuildKit's gateway with the LLBBridge on stdin/stdout.
//!
//! Nothing on the frontend's path writes to stdout: it is the gRPC wire. stderr goes to
//! BuildKit's log, which users do not see; what they need to know travels in the Return error,
//! vertex names and warnings. BuildKit starts the frontend without arguments; `--version` (for
//! the people who publish the image) is the only one it takes, and answers on stdout.

use std::time::{SystemTime, UNIX_EPOCH};

use uv_frontend::frontend;
use uv_frontend::gateway::{answer_version, serve_stdio, BuildOpts};

fn main() {
    if answer_version("uv-frontend") {
        return;
    }
    let opts = BuildOpts::from_env(std::env::vars());
    serve_stdio("uv-frontend", |bridge| async move {
        let now = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| d.as_secs() as i64)
            .unwrap_or(0);
        frontend::run(&bridge, &opts, now).await
    })
}
