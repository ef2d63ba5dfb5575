//! End to end on Debian 12's own Docker 20.10 (BuildKit 0.8), with its own client and
//! `DOCKER_BUILDKIT=1 docker build`: the core build (both example projects, the runtime image,
//! cache reuse, secrets, git over SSH) on the oldest BuildKit the frontend supports. The test
//! bed starts that daemon beside Docker 26 (`scripts/testbed/side-daemon.sh docker2010 up`).

mod support;

use std::path::Path;
use std::process::Command;
use std::sync::MutexGuard;

use support::e2e::*;

const HOST: &str = "unix:///run/uvf-docker2010.sock";

fn client() -> String {
    std::env::var("DOCKER2010_CLIENT")
        .unwrap_or_else(|_| "/opt/uvf-docker-20.10/usr/bin/docker".into())
}

/// Takes the daemon lock, aims the helpers at Docker 20.10, and fails unless it answers as one.
fn docker2010() -> MutexGuard<'static, ()> {
    let guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    use_docker_host(HOST);
    assert!(
        Path::new(&client()).exists(),
        "no Docker 20.10 client at {}: run scripts/testbed-up (scripts/test does)",
        client()
    );
    let version = Command::new(client())
        .env("DOCKER_HOST", HOST)
        .args(["version", "--format", "{{.Server.Version}}"])
        .output()
        .expect("the 20.10 client runs");
    let version = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert!(
        version.starts_with("20.10."),
        "no Docker 20.10 answers at {HOST} (got {version:?}): run scripts/testbed-up, or \
         scripts/testbed/side-daemon.sh docker2010 up"
    );
    let mut pull = Command::new(client());
    pull.env("DOCKER_HOST", HOST);
    pull_frontend(pull);
    guard
}

#[test]
fn both_examples_build_and_run_with_docker_build_on_buildkit_0_8() {
    let _guard = docker2010();
    for (example, tag, expected) in [
        (
            "plain",
            "uv-frontend-e2e-2010/plain:latest",
            "hello from hello-uv 0.1.0 (idna 3.20) dev=absent",
        ),
        (
            "workspace",
            "uv-frontend-e2e-2010/workspace:latest",
            "ws-app: Hello, workspace! (greeter 0.1.0, six 1.17.0)",
        ),
    ] {
        let project = Project::copy_of(example);
        let build = project.classic_build(&client(), tag, &[]);
        build.expect_success();
        assert!(
            build.log().contains("[runtime 1/"),
            "the frontend's own steps ran:\n{}",
            build.log()
        );
        assert_eq!(run(tag, &[]), expected);
        assert_lean_non_root(tag);
    }
}

#[test]
fn rebuilds_are_cached_and_a_source_edit_keeps_the_dependency_phase_on_buildkit_0_8() {
    let _guard = docker2010();
    let project = Project::copy_of("plain");
    let tag = "uv-frontend-e2e-2010/plain:cache";
    project.classic_build(&client(), tag, &[]).expect_success();

    let again = project.classic_build(&client(), tag, &[]);
    again.expect_success();
    again.assert_fully_cached();

    // A new text every run, so no earlier run's layers can match.
    let nanos = nanos();
    let edit = format!("edited {nanos} on 0.8: ");
    let source = project.read("src/hello_uv/__init__.py");
    project.write(
        "src/hello_uv/__init__.py",
        &source.replacen("f\"hello from", &format!("f\"{edit}hello from"), 1),
    );
    let edited = project.classic_build(&client(), tag, &[]);
    edited.expect_success();
    edited.assert_no_sync_reran();
    assert!(!edited.cached("[runtime 3/3] copy src/hello_uv from the build context"));
    assert!(
        edited.cached("[runtime-deps 2/2]"),
        "the dependency layer is kept"
    );
    assert_eq!(
        run(tag, &[]),
        format!("{edit}hello from hello-uv 0.1.0 (idna 3.20) dev=absent")
    );
}

#[test]
fn secrets_reach_uv_as_files_where_buildkit_has_no_secret_env() {
    let _guard = docker2010();
    let private = support::private_index::PrivateProject::new();
    // A fresh uv cache: the wheel's bytes are the same every run, and uv finds a wheel it has
    // by its hash, so only an empty cache makes the download (and the credentials) necessary.
    private.project.use_cache(&fresh_cache_id(), None);
    let tag = "uv-frontend-e2e-2010/needs-secret:latest";
    let mut args = vec![
        "--network".to_string(),
        "host".into(),
        "--build-arg".into(),
        "UVF_BUILD_NETWORK=host".into(),
    ];
    args.extend(private.secret_args());
    let args: Vec<&str> = args.iter().map(String::as_str).collect();
    let built = private.project.classic_build(&client(), tag, &args);
    built.expect_success();
    assert_eq!(built.prepared("[deps 2/2]"), 1, "secret-pkg downloaded");
    assert_eq!(
        run(tag, &[]),
        format!("secret-pkg: {}", support::private_index::SECRET_VALUE)
    );
    assert!(!built.log().contains(&private.password));
}

#[test]
fn git_sources_over_ssh_take_the_agent_and_host_keys_on_buildkit_0_8() {
    let _guard = docker2010();
    let server = support::git_server::GitServer::start();
    let project = server.project();
    project.use_cache(&fresh_cache_id(), None);
    let spec = project.read("uv.build").replacen(
        "[build]\n",
        "[build]\napt = [\"git\", \"openssh-client\"]\n",
        1,
    );
    project.write("uv.build", &spec);
    let tag = "uv-frontend-e2e-2010/plain:git-ssh";
    let host = ["--network", "host", "--build-arg", "UVF_BUILD_NETWORK=host"];

    // BuildKit 0.8 refuses the required agent its own way; the error still names the flag.
    let no_agent = project.classic_build(&client(), tag, &host);
    assert!(!no_agent.succeeded());
    assert!(
        no_agent
            .log()
            .contains("which uv's git fetches with the client's SSH agent, and this build was not given one (fix: pass --ssh default"),
        "{}",
        no_agent.log()
    );

    let agent = format!("default={}", server.agent_socket().display());
    let known_hosts = format!("id=known_hosts,src={}", server.known_hosts().display());
    let mut args = host.to_vec();
    args.extend(["--ssh", &agent, "--secret", &known_hosts]);
    project
        .classic_build(&client(), tag, &args)
        .expect_success();
    assert_eq!(
        run(tag, &[]),
        format!("private-lib: {}", support::git_server::GIT_VALUE)
    );
}
