//! Answers to `docker buildx build --call=...` (BuildKit's frontend subrequests).

use std::collections::BTreeMap;

use serde_json::json;

use crate::settings::Target;

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const TARGETS: &str = "frontend.targets";

/// The metadata answering `request`, or an error naming the subrequests this frontend has.
pub fn answer(request: &str) -> Result<BTreeMap<String, Vec<u8>>, String> {
    let pretty = |v: serde_json::Value| serde_json::to_vec_pretty(&v).expect("JSON");
    match request {
        DESCRIBE => {
            let describe = json!([
                {
                    "name": DESCRIBE,
                    "version": "1.0.0",
                    "type": "rpc",
                    "description": "List available subrequest types",
                    "metadata": [{"name": "result.json"}, {"name": "result.txt"}],
                },
                {
                    "name": TARGETS,
                    "version": "1.0.0",
                    "type": "rpc",
                    "description": "List all targets current build supports",
                    "opts": [],
                    "metadata": [{"name": "result.json"}],
                },
            ]);
            let text = "NAME                  VERSION DESCRIPTION\nsubrequests.describe  1.0.0   List available subrequest types\ntargets               1.0.0   List all targets current build supports\n";
            Ok([
                ("result.json".to_string(), pretty(describe)),
                ("result.txt".to_string(), text.as_bytes().to_vec()),
                ("version".to_string(), b"1.0.0".to_vec()),
            ]
            .into())
        }
        TARGETS => {
            let targets: Vec<_> = Target::ALL
                .iter()
                .map(|(name, target, description)| {
                    json!({
                        "name": name,
                        "default": *target == Target::Runtime,
                        "description": description,
                    })
                })
                .collect();
            Ok([
                (
                    "result.json".to_string(),
                    pretty(json!({"Targets": targets, "Sources": []})),
                ),
                ("version".to_string(), b"1.0.0".to_vec()),
            ]
            .into())
        }
        other => Err(format!(
            "uv-frontend does not answer the subrequest {other:?}: it answers {TARGETS} (--call=targets) and {DESCRIBE}"
        )),
    }
}
