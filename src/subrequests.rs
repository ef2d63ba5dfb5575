//! Answers to `docker buildx build --call=...` (BuildKit's frontend subrequests).

use std::collections::BTreeMap;

use serde_json::json;

use crate::settings::{SshAgent, Target};

pub const DESCRIBE: &str = "frontend.subrequests.describe";
pub const TARGETS: &str = "frontend.targets";
/// `--call=outline`: the build args, secrets, SSH and cache the build takes ([`outline`]).
pub const OUTLINE: &str = "frontend.outline";
/// `--call=check`: lint findings ([`lint_result`]).
pub const LINT: &str = "frontend.lint";

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
                {
                    "name": OUTLINE,
                    "version": "1.0.0",
                    "type": "rpc",
                    "description": "List all parameters current build target supports",
                    "opts": [{"name": "target", "description": "Target to build"}],
                    "metadata": [{"name": "result.json"}, {"name": "result.txt"}],
                },
                {
                    "name": LINT,
                    "version": "1.0.0",
                    "type": "rpc",
                    "description": "Lint the build and report warnings",
                    "opts": [{"name": "target", "description": "Target to lint"}],
                    "metadata": [{"name": "result.json"}, {"name": "result.txt"}],
                },
            ]);
            let text = "NAME                  VERSION DESCRIPTION\nsubrequests.describe  1.0.0   List available subrequest types\ntargets               1.0.0   List all targets current build supports\noutline               1.0.0   List all parameters current build target supports\nlint                  1.0.0   Lint the build and report warnings\n";
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
            "uv-frontend does not answer the subrequest {}: it answers {TARGETS} (--call=targets), {OUTLINE} (--call=outline), {LINT} (--call=check) and {DESCRIBE}",
            crate::spec::quote(other)
        )),
    }
}

/// The build args (with the values this build uses), secrets, SSH and cache of the build, as
/// BuildKit's outline subrequest spells them.
pub fn outline(prepared: &crate::prepare::Prepared) -> BTreeMap<String, Vec<u8>> {
    let st = &prepared.settings;
    let mut args = image_args(st);
    args.extend(sync_args(prepared));
    args.extend(cache_and_run_args(prepared));
    let (target_name, description) = Target::ALL
        .iter()
        .find(|(_, t, _)| *t == st.target)
        .map(|(n, _, d)| (*n, *d))
        .unwrap_or_default();
    let outline = json!({
        "name": target_name,
        "description": description,
        "args": args
            .iter()
            .map(|(name, description, value)| json!({"name": name, "description": description, "value": value}))
            .collect::<Vec<_>>(),
        "secrets": outline_secrets(st).iter().map(|s| json!({"name": s})).collect::<Vec<_>>(),
        "ssh": if st.sync.ssh.forwarded() {
            vec![json!({"name": "default", "required": st.sync.ssh == SshAgent::Required})]
        } else {
            vec![]
        },
        "cache": [{"ID": st.cache.id}],
    });
    metadata(outline, outline_text(st, &args))
}

/// A build arg of the outline: its name, what it sets, and its value in this build.
type OutlineArg = (&'static str, &'static str, String);

/// The build args of the images, the network and uv's own Python.
fn image_args(st: &crate::settings::Settings) -> Vec<OutlineArg> {
    let uv_tag = st
        .images
        .uv
        .rsplit_once(':')
        .filter(|(_, tag)| !tag.contains('/'))
        .map(|(_, tag)| tag.to_string())
        .unwrap_or_default();
    vec![
        (
            "UVF_BUILD_UV",
            "image holding uv ([build] uv)",
            st.images.uv.clone(),
        ),
        ("UVF_UV_VERSION", "tag of the uv image", uv_tag),
        (
            "UVF_BUILD_BUILDER",
            "image uv sync runs in ([build] builder)",
            st.images.builder.clone(),
        ),
        (
            "UVF_BUILD_BASE",
            "runtime base image ([build] base)",
            st.images.base.clone(),
        ),
        (
            "UVF_BUILD_MANAGED_PYTHON",
            "Python for uv to install ([build] managed-python)",
            st.managed_python
                .as_ref()
                .map(|p| p.version.clone())
                .unwrap_or_default(),
        ),
        (
            "UVF_BUILD_NETWORK",
            "network of the sync steps: default or host ([build] network)",
            match st.sync.network {
                crate::settings::SyncNetwork::Host => "host",
                crate::settings::SyncNetwork::Default => "default",
                crate::settings::SyncNetwork::None => "none (--network none)",
            }
            .into(),
        ),
    ]
}

/// The build args of `[sync]`.
fn sync_args(prepared: &crate::prepare::Prepared) -> Vec<OutlineArg> {
    let st = &prepared.settings;
    let list = |v: &[String]| v.join(",");
    vec![
        (
            "UVF_SYNC_PACKAGE",
            "workspace member to install ([sync] package)",
            st.sync.package.clone().unwrap_or_default(),
        ),
        (
            "UVF_SYNC_EXTRA",
            "extras, comma-separated ([sync] extra)",
            list(&st.sync.extras),
        ),
        (
            "UVF_SYNC_ALL_EXTRAS",
            "all extras ([sync] all-extras)",
            st.sync.all_extras.to_string(),
        ),
        (
            "UVF_SYNC_GROUP",
            "dependency groups, comma-separated ([sync] group)",
            list(&st.sync.groups),
        ),
        (
            "UVF_SYNC_DEV",
            "install the dev group ([sync] dev)",
            st.sync.dev.to_string(),
        ),
        (
            "UVF_SYNC_LOCK",
            "locked or frozen ([sync] lock)",
            st.sync.lock.flag().trim_start_matches("--").to_string(),
        ),
        (
            "UVF_SYNC_COMPILE_BYTECODE",
            "compile bytecode ([sync] compile-bytecode)",
            st.sync.compile_bytecode.to_string(),
        ),
        (
            "UVF_SYNC_NO_EDITABLE",
            "install the project as a wheel, not editable beside its modules ([sync] no-editable)",
            prepared.spec.sync.no_editable.unwrap_or(false).to_string(),
        ),
    ]
}

/// The build args of `[cache]`, `[run]`, `[build] apt`, `[test]`, and the predefined ones.
fn cache_and_run_args(prepared: &crate::prepare::Prepared) -> Vec<OutlineArg> {
    let st = &prepared.settings;
    let list = |v: &[String]| v.join(",");
    let sharing = serde_json::to_value(st.cache.sharing)
        .ok()
        .and_then(|v| v.as_str().map(str::to_string))
        .unwrap_or_default();
    vec![
        (
            "UVF_CACHE_ID",
            "uv cache mount id ([cache] id)",
            st.cache.id.clone(),
        ),
        (
            "UVF_CACHE_DIR",
            "uv cache mount target and UV_CACHE_DIR ([cache] dir)",
            st.cache.dir.clone(),
        ),
        (
            "UVF_CACHE_SHARING",
            "shared, locked or private ([cache] sharing)",
            sharing,
        ),
        (
            "UVF_RUN_WORKDIR",
            "the image's working directory ([run] workdir)",
            st.run.working_dir.clone(),
        ),
        (
            "UVF_RUN_INCLUDE",
            "what of the build context the image gets, comma-separated ([run] include)",
            match &st.image_context {
                crate::settings::ImageContext::All => "(all of it)".to_string(),
                crate::settings::ImageContext::Paths(paths) => list(paths),
            },
        ),
        (
            "UVF_BUILD_APT",
            "Debian packages for the builder, comma-separated ([build] apt)",
            list(&st.build_apt),
        ),
        (
            "UVF_RUN_APT",
            "Debian packages for the runtime image, comma-separated ([run] apt)",
            list(&st.run.apt),
        ),
        (
            "UVF_TEST_SKIP",
            "skip the smoke test ([test] skip)",
            prepared.spec.test.skip.unwrap_or(false).to_string(),
        ),
        (
            "SOURCE_DATE_EPOCH",
            "time of the image and of the files the frontend writes",
            st.source_date_epoch
                .map(|e| e.to_string())
                .unwrap_or_default(),
        ),
        (
            "UV_PYTHON_INSTALL_MIRROR",
            "where uv python install downloads from",
            String::new(),
        ),
    ]
}

/// The secrets the build takes, all optional: the index credentials, tokens for git over
/// HTTP(S), and the git servers' host keys when sync steps get the SSH agent.
fn outline_secrets(st: &crate::settings::Settings) -> Vec<&str> {
    let known_hosts = st
        .sync
        .ssh
        .forwarded()
        .then_some(crate::plan::KNOWN_HOSTS_SECRET);
    st.sync
        .secrets
        .iter()
        .chain(&st.sync.git_auth_secrets)
        .map(String::as_str)
        .chain(known_hosts)
        .collect()
}

/// The outline as `--call=outline` prints it: the build args and their values, the secrets
/// and SSH it takes, and how the dependencies and the project are installed.
fn outline_text(st: &crate::settings::Settings, args: &[OutlineArg]) -> String {
    let mut text = String::from("BUILD ARG                  VALUE\n");
    for (name, _, value) in args {
        text.push_str(&format!("{name:<26} {value}\n"));
    }
    let secrets = outline_secrets(st);
    if !secrets.is_empty() {
        text.push_str(&format!("\nSECRETS (optional): {}\n", secrets.join(", ")));
    }
    match st.sync.ssh {
        SshAgent::None => {}
        SshAgent::Optional => text.push_str("SSH (optional): default\n"),
        SshAgent::Required => text.push_str(&format!(
            "SSH (required: uv.lock has git sources over SSH, from {}): default\n",
            st.sync.ssh_git_hosts.join(", ")
        )),
    }
    text.push_str(&format!("\nDEPENDENCIES: {}\n", dependencies_install(st)));
    text.push_str(&format!("PROJECT INSTALL: {}\n", project_install(st)));
    text
}

/// How phase 1 installs the third-party packages, and so what a lock change reruns.
fn dependencies_install(st: &crate::settings::Settings) -> String {
    match (&st.package_units, &st.one_sync_reason) {
        (Some(units), _) => format!(
            "{} locked packages, each installed by a step of its own: a lock change reruns only the changed packages' steps, also on a runner that imports a registry cache",
            units.packages.len()
        ),
        (None, Some(why)) => format!(
            "one uv sync into a kept venv ({why}): a lock change reruns it, installing only what changed on a warm builder, everything on a new one"
        ),
        (None, None) => "one uv sync into a kept venv".into(),
    }
}

/// How the project reaches the runtime image, and so what a source edit reruns.
fn project_install(st: &crate::settings::Settings) -> String {
    match (&st.wheel_reason, st.editable_modules.as_slice()) {
        (Some(why), _) => format!("as wheels ({why}): a source edit reruns the project phase"),
        (None, []) => "nothing of the project is built: a source edit reruns no sync".into(),
        (None, modules) => format!(
            "editable, with {} copied as they are: a source edit reruns no sync",
            crate::plan::short_list(modules, " ")
        ),
    }
}

/// `--call=check`'s answer: the findings, with the files they point into.
pub fn lint_result(
    prepared: &crate::prepare::Prepared,
    findings: &[crate::lint::Finding],
) -> BTreeMap<String, Vec<u8>> {
    use base64::Engine;
    let sources: Vec<&(String, String)> = prepared.sources.iter().collect();
    let warnings: Vec<serde_json::Value> = findings
        .iter()
        .map(|f| {
            let index = sources.iter().position(|(name, _)| *name == f.file);
            let location = match (index, f.line) {
                (Some(i), Some(line)) => json!({
                    "sourceIndex": i,
                    "ranges": [{"start": {"line": line}, "end": {"line": line}}],
                }),
                _ => json!({"sourceIndex": -1}),
            };
            json!({
                "ruleName": f.rule,
                "description": f.description,
                "detail": f.detail,
                "location": location,
            })
        })
        .collect();
    let result = json!({
        "warnings": warnings,
        "sources": sources
            .iter()
            .map(|(name, text)| json!({
                "filename": name,
                "data": base64::engine::general_purpose::STANDARD.encode(text),
                "language": "TOML",
            }))
            .collect::<Vec<_>>(),
    });
    let mut text = String::new();
    for f in findings {
        let at = match f.line {
            Some(line) => format!("{}:{line}", f.file),
            None => f.file.clone(),
        };
        text.push_str(&format!("{}: {at}: {}\n", f.rule, f.detail));
    }
    if findings.is_empty() {
        text.push_str("Check complete, no warnings found.\n");
    }
    let mut meta = metadata(result, text);
    // buildx exits with this (newer buildx's --call=check), as the Dockerfile frontend's lint
    // sets it: 1 when there are findings, so a CI job can fail on them.
    let status = if findings.is_empty() { "0" } else { "1" };
    meta.insert("result.statuscode".into(), status.as_bytes().to_vec());
    meta
}

fn metadata(json: serde_json::Value, text: String) -> BTreeMap<String, Vec<u8>> {
    [
        (
            "result.json".to_string(),
            serde_json::to_vec_pretty(&json).expect("JSON"),
        ),
        ("result.txt".to_string(), text.into_bytes()),
        ("version".to_string(), b"1.0.0".to_vec()),
    ]
    .into()
}
