//! A lock's git sources against the fake bridge: the SSH agent and the git servers' host keys
//! the sync steps get, the builder's git and ssh (or `[build] apt` giving them), and the errors
//! that name what is missing before anything runs.

mod support;

use support::*;
use uv_frontend::llb::pb;

const BUILDER: &str = "127.0.0.1:5000/python:3.11-bookworm";

/// The plain example with a git source at `url` in its lock, the builder holding `commands`.
fn with_git_source(spec: &str, url: &str, commands: &[&str]) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, spec);
    bridge.edit_context_file("uv.lock", |lock| {
        format!(
            "{lock}\n[[package]]\nname = \"private-lib\"\nversion = \"1.0\"\nsource = {{ git = \"{url}\" }}\n"
        )
    });
    let files = bridge.image_files.get_mut(BUILDER).expect("the builder");
    for command in commands {
        files.insert(format!("usr/bin/{command}"), b"ELF".to_vec());
    }
    bridge
}

/// The error of a build of `make()`'s project whose phase-1 sync fails with uv's exit code,
/// as BuildKit reports it (the step's name taken from a build that succeeded).
fn failed_sync_message(make: impl Fn() -> FakeBridge) -> String {
    let mut built = make();
    run(&mut built, &opts());
    let mut failing = make();
    failing.build_error = Some(process_failure(
        built.result_definition(),
        "[deps 2/2] uv sync",
    ));
    run(&mut failing, &opts());
    failing.error_message()
}

/// The ids of the git token secrets a sync step mounts, sorted.
fn git_secret_ids(sync: &pb::Op) -> Vec<String> {
    let mut ids: Vec<String> = exec(sync)
        .mounts
        .iter()
        .filter(|m| m.dest.starts_with("/run/secrets/uv-frontend-git/"))
        .map(|m| m.secret_opt.as_ref().expect("secret opt").id.clone())
        .collect();
    ids.sort();
    ids
}

/// A private index of the project, whose credentials come from secrets.
const PRIVATE_INDEX: &str =
    "\n[[tool.uv.index]]\nname = \"team-private\"\nurl = \"http://127.0.0.1:8099/simple\"\n";

const OVER_SSH: &str = "ssh://git@git.example.com:2222/team/private-lib.git?rev=v1#0123";
const OVER_HTTPS: &str = "https://git.example.com/team/private-lib.git?rev=v1#0123";

/// A mount's id and whether it is optional.
type MountId = Option<(String, bool)>;

/// Each sync step's SSH mount and known-hosts secret mount.
fn ssh_and_known_hosts(bridge: &FakeBridge) -> Vec<(MountId, MountId)> {
    sync_steps(bridge.result_definition())
        .iter()
        .map(|sync| {
            let exec = exec(sync);
            let ssh = exec
                .mounts
                .iter()
                .find(|m| m.mount_type == pb::MountType::Ssh as i32)
                .map(|m| {
                    assert_eq!(m.dest, "/run/buildkit/ssh_agent.0");
                    let opt = m.ssh_opt.as_ref().expect("ssh opt");
                    (opt.id.clone(), opt.optional)
                });
            let known_hosts = exec
                .mounts
                .iter()
                .find(|m| m.dest == "/etc/ssh/ssh_known_hosts")
                .map(|m| {
                    assert_eq!(m.mount_type, pb::MountType::Secret as i32);
                    let opt = m.secret_opt.as_ref().expect("secret opt");
                    (opt.id.clone(), opt.optional)
                });
            if ssh.is_some() {
                let meta = exec.meta.as_ref().expect("meta");
                assert!(meta
                    .env
                    .contains(&"SSH_AUTH_SOCK=/run/buildkit/ssh_agent.0".to_string()));
            }
            (ssh, known_hosts)
        })
        .collect()
}

#[test]
fn git_sources_over_ssh_require_the_agent_and_take_the_host_keys_as_an_optional_secret() {
    let mut bridge = with_git_source(
        &format!("{EXAMPLE_SPEC}network = \"host\"\n"),
        OVER_SSH,
        &["git", "ssh"],
    );
    run(&mut bridge, &opts());
    bridge.assert_built();
    let required = (
        Some(("default".to_string(), false)),
        Some(("known_hosts".to_string(), true)),
    );
    assert_eq!(ssh_and_known_hosts(&bridge), [required.clone(), required]);
    // The spec can still ask for the host's network.
    for sync in sync_steps(bridge.result_definition()) {
        assert_eq!(exec(&sync).network, pb::NetMode::Host as i32);
    }

    // Over HTTPS the agent is optional (a credential helper or a rewrite may use it).
    let mut https = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
    run(&mut https, &opts());
    https.assert_built();
    let optional = (
        Some(("default".to_string(), true)),
        Some(("known_hosts".to_string(), true)),
    );
    assert_eq!(ssh_and_known_hosts(&https), [optional.clone(), optional]);

    // Without git sources: neither.
    let mut plain = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut plain, &opts());
    assert_eq!(ssh_and_known_hosts(&plain), [(None, None), (None, None)]);

    // Only a lock with git sources over HTTP(S) gets their wrapper in its scripts file, which
    // every sync step mounts: the script's coming did not rerun other projects' syncs.
    for (bridge, has) in [(&plain, false), (&https, true), (&bridge, false)] {
        let def = bridge.result_definition();
        let project_phase = sync_steps(def).pop().expect("the project phase");
        let names = script_names(def, &project_phase);
        assert!(names.contains(&"sync-then-finish".to_string()), "{names:?}");
        assert_eq!(
            names.contains(&"with-git-auth".to_string()),
            has,
            "{names:?}"
        );
    }
}

#[test]
fn a_builder_without_git_or_ssh_fails_at_its_line_naming_the_packages_that_give_them() {
    let mut neither = with_git_source(EXAMPLE_SPEC, OVER_SSH, &[]);
    run(&mut neither, &opts());
    assert_eq!(
        neither.error_message(),
        format!("uv.build:4: uv.lock has git sources, which uv fetches with git, and the builder image {BUILDER} has no git on its PATH (fix: add [build] apt = [\"git\", \"openssh-client\"], or use a builder image with git and ssh (python:<version>-bookworm has both, the -slim ones do not; the runtime base can stay slim with [build] base))")
    );
    let mut no_ssh = with_git_source(EXAMPLE_SPEC, OVER_SSH, &["git"]);
    run(&mut no_ssh, &opts());
    assert_eq!(
        no_ssh.error_message(),
        format!("uv.build:4: uv.lock has git sources over SSH (git.example.com:2222), which git fetches with ssh, and the builder image {BUILDER} has no ssh on its PATH (fix: add [build] apt = [\"openssh-client\"], or use a builder image with ssh (python:<version>-bookworm has it, the -slim ones do not; the runtime base can stay slim with [build] base))")
    );
    // Over HTTPS no ssh is needed.
    let mut https = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
    run(&mut https, &opts());
    https.assert_built();
}

#[test]
fn build_apt_giving_git_and_ssh_satisfies_the_check_and_installs_them_before_the_syncs() {
    let spec = EXAMPLE_SPEC.replace(
        "[build]\n",
        "[build]\napt = [\"git\", \"openssh-client\"]\n",
    );
    assert_ne!(spec, EXAMPLE_SPEC, "the spec has a [build] table");
    let mut bridge = with_git_source(&spec, OVER_SSH, &[]);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, apt) = vertex(def, "[deps 1/");
    let args = &exec(&apt).meta.as_ref().expect("meta").args;
    assert!(
        args.iter().any(|a| a == "git") && args.iter().any(|a| a == "openssh-client"),
        "{args:?}"
    );
    // Only git from apt: ssh is still looked for in the image.
    let only_git = EXAMPLE_SPEC.replace("[build]\n", "[build]\napt = [\"git\"]\n");
    let mut no_ssh = with_git_source(&only_git, OVER_SSH, &[]);
    run(&mut no_ssh, &opts());
    assert!(
        no_ssh
            .error_message()
            .contains("has no ssh on its PATH (fix: add [build] apt = [\"openssh-client\"]"),
        "{}",
        no_ssh.error_message()
    );
}

#[test]
fn the_outline_lists_the_agent_as_required_and_the_known_hosts_secret_for_ssh_sources() {
    let mut bridge = with_git_source(EXAMPLE_SPEC, OVER_SSH, &["git", "ssh"]);
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.outline".into());
    run(&mut bridge, &o);
    let meta = bridge.returned_metadata();
    let outline: serde_json::Value = serde_json::from_slice(&meta["result.json"]).expect("JSON");
    assert_eq!(
        outline["ssh"],
        serde_json::json!([{"name": "default", "required": true}])
    );
    let secrets: Vec<&str> = outline["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(secrets.contains(&"known_hosts"), "{secrets:?}");
    let text = String::from_utf8_lossy(&meta["result.txt"]);
    assert!(
        text.contains(
            "SSH (required: uv.lock has git sources over SSH, from git.example.com:2222): default"
        ),
        "{text}"
    );
    assert!(text.contains(", known_hosts\n"), "{text}");

    // Without git sources, neither.
    let mut plain = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut plain, &o);
    let meta = plain.returned_metadata();
    let outline: serde_json::Value = serde_json::from_slice(&meta["result.json"]).expect("JSON");
    assert_eq!(outline["ssh"], serde_json::json!([]));
    assert!(!outline["secrets"].to_string().contains("known_hosts"));
}

#[test]
fn a_build_without_the_agent_or_the_host_key_is_told_which_flag_gives_it() {
    // BuildKit refuses the required SSH mount of a step that runs.
    // BuildKit's two ways of saying so: no agent provider at all, or buildx's without the id.
    for refusal in [
        "no SSH key \"default\" forwarded from the client",
        "unset ssh forward key default",
    ] {
        let mut no_agent = with_git_source(EXAMPLE_SPEC, OVER_SSH, &["git", "ssh"]);
        no_agent.build_error = Some(refusal.into());
        run(&mut no_agent, &opts());
        assert_eq!(
            no_agent.error_message(),
            "uv.build:1: uv.lock has git sources over SSH (git.example.com:2222), which uv's git fetches with the client's SSH agent, and this build was not given one (fix: pass --ssh default to docker buildx build, with an agent holding a key git.example.com:2222 accepts (ssh-add -l lists them); and the servers' host keys with --secret id=known_hosts,src=$HOME/.ssh/known_hosts)"
        );
    }

    // A sync that fails (ssh's own error is in the step's log) is told what ssh's errors mean.
    let message = failed_sync_message(|| with_git_source(EXAMPLE_SPEC, OVER_SSH, &["git", "ssh"]));
    assert!(
        message.starts_with("uv.build:1: step [deps 2/2] uv sync --frozen"),
        "{message}"
    );
    assert!(
        message.ends_with("(fix: uv.lock has git sources over SSH (git.example.com:2222): if the step's log above says \"Host key verification failed\", pass the servers' host keys with --secret id=known_hosts,src=$HOME/.ssh/known_hosts (or a file written by ssh-keyscan); if it says \"Permission denied (publickey)\", the agent passed with --ssh default holds no key the server accepts)"),
        "{message}"
    );
}

/// Runs the `with-git-auth` wrapper of `script` with `args` (its own, up to `--`), the secret
/// files `secrets` (id, value) in place of the mounts: the `GIT_CONFIG_*` variables git would
/// get.
fn git_config_of(script: &str, args: &[String], secrets: &[(&str, &str)]) -> Vec<String> {
    run_git_auth(script, args, secrets, None).0
}

/// [`git_config_of`], and what the wrapper wrote to stderr, with a `git` on the `PATH` that
/// says it is `git_version` when one is given.
fn run_git_auth(
    script: &str,
    args: &[String],
    secrets: &[(&str, &str)],
    git_version: Option<&str>,
) -> (Vec<String>, String) {
    // One directory per call: the tests run at once, in one process.
    static CALLS: std::sync::atomic::AtomicUsize = std::sync::atomic::AtomicUsize::new(0);
    let call = CALLS.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let dir = std::env::temp_dir().join(format!("uvf-git-auth-{}-{call}", std::process::id()));
    let _ = std::fs::remove_dir_all(&dir);
    std::fs::create_dir_all(dir.join("secrets")).expect("mkdir");
    for (id, value) in secrets {
        std::fs::write(dir.join("secrets").join(id), value).expect("write");
    }
    let mut path = "/usr/bin:/bin".to_string();
    if let Some(version) = git_version {
        std::fs::create_dir_all(dir.join("bin")).expect("mkdir");
        let git = dir.join("bin/git");
        std::fs::write(&git, format!("#!/bin/sh\necho 'git version {version}'\n")).expect("write");
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&git, std::fs::Permissions::from_mode(0o755)).expect("chmod");
        path = format!("{}:{path}", dir.join("bin").display());
    }
    // A file a host in brackets would match as a glob, where the wrapper runs.
    std::fs::write(dir.join("GIT_AUTH_TOKEN.1:8443"), "").expect("write");
    let end = args.iter().position(|a| a == "--").expect("--");
    let out = std::process::Command::new("/bin/sh")
        .current_dir(&dir)
        .arg("-c")
        .arg(script)
        .arg("with-git-auth")
        .arg(dir.join("secrets"))
        .args(&args[1..=end])
        .arg("env")
        .env_clear()
        .env("PATH", path)
        .output()
        .expect("sh runs");
    let _ = std::fs::remove_dir_all(&dir);
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stderr}");
    let mut vars: Vec<String> = String::from_utf8_lossy(&out.stdout)
        .lines()
        .filter(|l| l.starts_with("GIT_CONFIG_"))
        .map(str::to_string)
        .collect();
    vars.sort();
    (vars, stderr)
}

const OVER_HTTPS_8443: &str = "https://git.example.com:8443/team/private-lib.git?rev=v1#0123";

/// The sync steps of a build of the plain example with a git source at `url`, and its
/// definition.
fn built_with_git_source(url: &str) -> (FakeBridge, Vec<pb::Op>) {
    let mut bridge = with_git_source(EXAMPLE_SPEC, url, &["git"]);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let syncs = sync_steps(bridge.result_definition());
    (bridge, syncs)
}

#[test]
fn git_sources_over_https_mount_buildkits_git_auth_secrets_of_their_host() {
    let (bridge, syncs) = built_with_git_source(OVER_HTTPS_8443);
    let host = "git.example.com:8443";
    for sync in &syncs {
        // Each sync runs under the wrapper, given the secrets' directory and the host's URL.
        let (_, args) = script_of(bridge.result_definition(), sync, "with-git-auth");
        assert_eq!(
            args[..3],
            [
                "/run/secrets/uv-frontend-git",
                "https://git.example.com:8443/",
                "--"
            ]
        );
        let secrets: Vec<(String, String, bool)> = exec(sync)
            .mounts
            .iter()
            .filter_map(|m| {
                let s = m.secret_opt.as_ref()?;
                m.dest
                    .starts_with("/run/secrets/uv-frontend-git/")
                    .then(|| (m.dest.clone(), s.id.clone(), s.optional))
            })
            .collect();
        let ids = [
            format!("GIT_AUTH_HEADER.{host}"),
            format!("GIT_AUTH_TOKEN.{host}"),
            "GIT_AUTH_HEADER".to_string(),
            "GIT_AUTH_TOKEN".to_string(),
        ];
        // In the definition's order: mounts are sorted by their path.
        let mut expected: Vec<(String, String, bool)> = ids
            .iter()
            .map(|id| {
                (
                    format!("/run/secrets/uv-frontend-git/{id}"),
                    id.clone(),
                    true,
                )
            })
            .collect();
        expected.sort();
        assert_eq!(secrets, expected);
        // Nothing secret is in the op itself.
        let meta = exec(sync).meta.as_ref().expect("meta");
        assert!(!meta.env.iter().any(|e| e.starts_with("GIT_")));
    }
}

#[test]
fn the_git_auth_wrapper_gives_git_the_first_secret_passed_as_an_extraheader() {
    // As BuildKit does for its own git sources: a host's secret before the general one, a
    // header as it is, a token as basic authentication of x-access-token.
    let (bridge, syncs) = built_with_git_source(OVER_HTTPS_8443);
    let (script, args) = script_of(bridge.result_definition(), &syncs[0], "with-git-auth");
    let key = "GIT_CONFIG_KEY_0=http.https://git.example.com:8443/.extraheader";
    assert_eq!(git_config_of(&script, &args, &[]), ["GIT_CONFIG_COUNT=0"]);
    assert_eq!(
        git_config_of(&script, &args, &[("GIT_AUTH_TOKEN", "s3cret")]),
        [
            "GIT_CONFIG_COUNT=1",
            key,
            // base64("x-access-token:s3cret")
            "GIT_CONFIG_VALUE_0=Authorization: basic eC1hY2Nlc3MtdG9rZW46czNjcmV0",
        ]
    );
    let header = "GIT_AUTH_HEADER.git.example.com:8443";
    assert_eq!(
        git_config_of(
            &script,
            &args,
            &[("GIT_AUTH_TOKEN", "s3cret"), (header, "bearer abc")]
        ),
        [
            "GIT_CONFIG_COUNT=1",
            key,
            "GIT_CONFIG_VALUE_0=Authorization: bearer abc"
        ]
    );
    // A secret file written on Windows: its line ending is no part of the token.
    assert_eq!(
        git_config_of(&script, &args, &[("GIT_AUTH_TOKEN", "s3cret\r\n")])[2],
        "GIT_CONFIG_VALUE_0=Authorization: basic eC1hY2Nlc3MtdG9rZW46czNjcmV0"
    );
    // A host in brackets (IPv6) is no glob pattern for the wrapper's shell.
    let v6 = vec![
        args[0].clone(),
        "https://[::1]:8443/".to_string(),
        "--".to_string(),
    ];
    assert_eq!(
        git_config_of(&script, &v6, &[("GIT_AUTH_TOKEN.[::1]:8443", "s3cret")])[1],
        "GIT_CONFIG_KEY_0=http.https://[::1]:8443/.extraheader"
    );
    // A git older than 2.31 ignores GIT_CONFIG_COUNT: the log says so.
    let token = [("GIT_AUTH_TOKEN", "s3cret")];
    let (_, old) = run_git_auth(&script, &args, &token, Some("2.30.2"));
    assert!(
        old.contains("uv-frontend: git 2.30 is older than 2.31 and ignores the token"),
        "{old}"
    );
    let (_, new) = run_git_auth(&script, &args, &token, Some("2.39.5"));
    assert_eq!(new, "");
}

#[test]
fn the_outline_and_a_failed_sync_name_the_git_auth_secrets_of_the_host() {
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.outline".into());
    let mut outline = with_git_source(EXAMPLE_SPEC, OVER_HTTPS_8443, &["git"]);
    run(&mut outline, &o);
    let meta = outline.returned_metadata();
    let text = String::from_utf8_lossy(&meta["result.txt"]);
    assert!(
        text.contains("GIT_AUTH_HEADER.git.example.com:8443, GIT_AUTH_TOKEN.git.example.com:8443, GIT_AUTH_HEADER, GIT_AUTH_TOKEN"),
        "{text}"
    );
    let message = failed_sync_message(|| with_git_source(EXAMPLE_SPEC, OVER_HTTPS_8443, &["git"]));
    assert!(
        message.ends_with("(fix: uv.lock has git sources over HTTP(S) (https://git.example.com:8443/): if the step's log above says git could not read a username or authentication failed, pass a token with --secret id=GIT_AUTH_TOKEN.git.example.com:8443,env=<variable holding it> (or GIT_AUTH_TOKEN; GIT_AUTH_HEADER.git.example.com:8443 for a whole Authorization header))"),
        "{message}"
    );
}

#[test]
fn a_token_in_a_git_url_of_pyproject_is_a_warning_at_its_line_naming_the_secret() {
    // A token as the URL's user, as GitHub takes it.
    let mut bridge = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
    bridge.edit_context_file("pyproject.toml", |text| {
        format!("{text}\n[tool.uv.sources]\nprivate-lib = {{ git = \"https://ghp_s3cret0123456789abcdef@git.example.com/team/private-lib.git\" }}\n")
    });
    let line = String::from_utf8(bridge.locals["context"]["pyproject.toml"].clone())
        .expect("text")
        .lines()
        .position(|l| l.contains("ghp_s3cret"))
        .expect("the line")
        + 1;
    run(&mut bridge, &opts());
    let warning = bridge
        .warnings
        .iter()
        .find(|w| w.short.starts_with("CredentialsInGitUrl: "))
        .unwrap_or_else(|| panic!("{:?}", bridge.warnings));
    assert!(
        warning
            .short
            .contains("pass the token with --secret id=GIT_AUTH_TOKEN.<host>,env=..."),
        "{}",
        warning.short
    );
    assert!(!warning.short.contains("ghp_s3cret"));
    let (file, _, at) = warning.location.as_ref().expect("located");
    assert_eq!((file.as_str(), *at), ("pyproject.toml", line));
    // Not taken for an index URL.
    assert!(!bridge
        .warnings
        .iter()
        .any(|w| w.short.starts_with("CredentialsInIndexUrl")));
}

#[test]
fn a_token_for_any_host_is_taken_only_when_the_https_sources_are_on_one_host() {
    // Two hosts: one over HTTPS, one over plain HTTP.
    let mut bridge = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
    bridge.edit_context_file("uv.lock", |lock| {
        format!("{lock}\n[[package]]\nname = \"other-lib\"\nversion = \"1.0\"\nsource = {{ git = \"http://git.internal:8080/other-lib.git?rev=v1#4567\" }}\n")
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let sync = &sync_steps(def)[0];
    // One HTTPS host: a token for any host goes to it, never over plain HTTP.
    assert_eq!(
        git_secret_ids(sync),
        [
            "GIT_AUTH_HEADER",
            "GIT_AUTH_HEADER.git.example.com",
            "GIT_AUTH_HEADER.git.internal:8080",
            "GIT_AUTH_TOKEN",
            "GIT_AUTH_TOKEN.git.example.com",
            "GIT_AUTH_TOKEN.git.internal:8080",
        ]
    );
    let (script, args) = script_of(def, sync, "with-git-auth");
    assert_eq!(
        git_config_of(&script, &args, &[("GIT_AUTH_TOKEN", "s3cret")]),
        [
            "GIT_CONFIG_COUNT=1",
            "GIT_CONFIG_KEY_0=http.https://git.example.com/.extraheader",
            "GIT_CONFIG_VALUE_0=Authorization: basic eC1hY2Nlc3MtdG9rZW46czNjcmV0",
        ]
    );
    assert_eq!(
        git_config_of(
            &script,
            &args,
            &[("GIT_AUTH_TOKEN.git.internal:8080", "s3cret")]
        ),
        [
            "GIT_CONFIG_COUNT=1",
            "GIT_CONFIG_KEY_0=http.http://git.internal:8080/.extraheader",
            "GIT_CONFIG_VALUE_0=Authorization: basic eC1hY2Nlc3MtdG9rZW46czNjcmV0",
        ]
    );

    // Two HTTPS hosts: each token is for its host alone.
    let two_hosts = || {
        let mut bridge = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
        bridge.edit_context_file("uv.lock", |lock| {
            format!("{lock}\n[[package]]\nname = \"other-lib\"\nversion = \"1.0\"\nsource = {{ git = \"https://gitlab.example.org/other-lib.git?rev=v1#4567\" }}\n")
        });
        bridge
    };
    let mut two = two_hosts();
    run(&mut two, &opts());
    assert_eq!(
        git_secret_ids(&sync_steps(two.result_definition())[0]),
        [
            "GIT_AUTH_HEADER.git.example.com",
            "GIT_AUTH_HEADER.gitlab.example.org",
            "GIT_AUTH_TOKEN.git.example.com",
            "GIT_AUTH_TOKEN.gitlab.example.org",
        ]
    );
    let message = failed_sync_message(two_hosts);
    assert!(
        message.contains("pass each host's token with --secret id=GIT_AUTH_TOKEN.<host>,env=<variable holding it>, for git.example.com, gitlab.example.org"),
        "{message}"
    );
}

#[test]
fn a_failed_sync_with_a_public_git_source_and_a_private_index_is_told_of_both() {
    let message = failed_sync_message(|| {
        let mut bridge = with_git_source(EXAMPLE_SPEC, OVER_HTTPS, &["git"]);
        bridge.edit_context_file("pyproject.toml", |text| format!("{text}{PRIVATE_INDEX}"));
        bridge
    });
    assert!(
        message.contains("uv.lock has git sources over HTTP(S) (https://git.example.com/)"),
        "{message}"
    );
    assert!(
        message.contains("; if uv's error above is 401 or 403 from an index, pass its credentials: --secret id=UV_INDEX_TEAM_PRIVATE_PASSWORD"),
        "{message}"
    );
}
