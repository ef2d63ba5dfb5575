//! Build errors as the gRPC status the Return call carries. A status can carry BuildKit's
//! `errdefs.Source` detail, from which buildx prints the offending lines of a file.

use base64::Engine as _;
use bollard_buildkit_proto::google::{protobuf::Any, rpc::Status};

/// Type URL BuildKit registers for `errdefs.Source`, encoded as JSON.
pub const SOURCE_DETAIL_TYPE: &str = "github.com/moby/buildkit/errdefs.Source+json";
/// gRPC's Unknown: buildx prints the message without a code prefix.
const UNKNOWN: i32 = 2;

/// A file and the 1-based line an error is about.
#[derive(Clone, Debug)]
pub struct SourceLocation<'a> {
    pub filename: &'a str,
    pub text: &'a str,
    pub line: usize,
}

/// The status of a failed build: `message`, and where it points at a file we read, the
/// `errdefs.Source` detail.
pub fn error_status(message: &str, location: Option<SourceLocation<'_>>) -> Status {
    let details = location
        .map(|loc| {
            let line = loc.line.max(1);
            let detail = serde_json::json!({
                "info": {
                    "filename": loc.filename,
                    "data": base64::engine::general_purpose::STANDARD.encode(loc.text),
                    "language": "TOML",
                },
                "ranges": [{"start": {"line": line}, "end": {"line": line}}],
            });
            vec![Any {
                type_url: SOURCE_DETAIL_TYPE.into(),
                value: detail.to_string().into_bytes(),
            }]
        })
        .unwrap_or_default();
    Status {
        code: UNKNOWN,
        message: message.into(),
        details,
    }
}
