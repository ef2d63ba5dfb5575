//! End to end: `docker buildx build` conventions through a real BuildKit: secrets for a
//! password-protected index (reached with host networking), build args and named contexts that
//! set spec values, `BUILDKIT_SYNTAX` in place of the `# syntax=` line, and `--ssh` with the
//! git servers' host keys for git sources over SSH. Needs the test bed.

mod support;

use support::e2e::*;
use support::git_server::*;
use support::private_index::*;

#[test]
fn secrets_reach_uv_for_a_private_index_and_never_the_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let private = PrivateProject::new();
    let project = &private.project;
    let host = [
        "--allow",
        "network.host",
        "--build-arg",
        "UVF_BUILD_NETWORK=host",
    ];
    // A fresh uv cache: nothing of secret-pkg can come from an earlier run.
    let first_cache = fresh_cache_id();
    project.use_cache(&first_cache, None);
    let tag = "uv-frontend-e2e/needs-secret:latest";

    // Without the secrets the index refuses uv: the credentials are what makes it work.
    let refused = project.build(tag, &host);
    assert!(!refused.succeeded(), "{}", refused.log());
    assert!(
        refused.log().contains("401 Unauthorized"),
        "uv reports the refusal:\n{}",
        refused.log()
    );

    let secrets = private.secret_args();
    let mut args: Vec<&str> = host.to_vec();
    args.extend(secrets.iter().map(String::as_str));
    let built = project.build(tag, &args);
    built.expect_success();
    assert_eq!(built.prepared("[deps 2/2]"), 1, "secret-pkg downloaded");
    assert_eq!(run(tag, &[]), format!("secret-pkg: {SECRET_VALUE}"));

    // Nowhere in the image: layers, config, history; nor in the build's output.
    let password = &private.password;
    let saved = private.scratch_dir().join("image.tar");
    let save = docker_command()
        .args(["save", "-o"])
        .arg(&saved)
        .arg(tag)
        .status()
        .expect("docker save");
    assert!(save.success());
    let bytes = std::fs::read(&saved).expect("the saved image");
    assert!(bytes.len() > 1_000_000, "a whole image was saved");
    assert!(
        !contains(&bytes, password.as_bytes()),
        "the password is in the exported image"
    );
    let history = docker_command()
        .args(["history", "--no-trunc", tag])
        .output()
        .expect("docker history");
    assert!(!String::from_utf8_lossy(&history.stdout).contains(password.as_str()));
    assert!(!built.log().contains(password.as_str()));

    // Credentials uv finds elsewhere (here in the index URL, an anti-pattern the build warns
    // about) still work without secrets: a secret not passed is not an empty variable.
    let second_cache = fresh_cache_id();
    for file in ["uv.build", ".python-version"] {
        let text = project.read(file).replace(&first_cache, &second_cache);
        project.write(file, &text);
    }
    let pyproject = project.read("pyproject.toml").replace(
        "url = \"http://127.0.0.1:",
        &format!("url = \"http://ci-reader:{password}@127.0.0.1:"),
    );
    project.write("pyproject.toml", &pyproject);
    let in_url = project.build(tag, &host);
    in_url.expect_success();
    assert_eq!(in_url.prepared("[deps 2/2]"), 1, "secret-pkg downloaded");
    assert!(
        in_url.log().contains("CredentialsInIndexUrl: "),
        "{}",
        in_url.log()
    );
}

/// The plain example without its `# syntax=` line, and the build arg that names the frontend.
fn without_directive() -> (Project, String) {
    let project = Project::copy_of("plain");
    let spec: String = project
        .read("uv.build")
        .lines()
        .filter(|l| !l.starts_with("# syntax="))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write("uv.build", &spec);
    (project, format!("BUILDKIT_SYNTAX={}", frontend_image()))
}

#[test]
fn build_args_set_spec_values_and_buildkit_syntax_replaces_the_directive() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // No `# syntax=` line: BUILDKIT_SYNTAX makes the Dockerfile frontend hand the build over.
    let (project, syntax) = without_directive();
    let tag = "uv-frontend-e2e/plain:build-args";
    let built = project.build(
        tag,
        &[
            "--build-arg",
            &syntax,
            "--build-arg",
            "UVF_SYNC_DEV=true",
            "--build-arg",
            "UVF_TEST_SKIP=1",
        ],
    );
    built.expect_success();
    assert!(
        built.step_names().iter().any(|n| n
            .starts_with("[deps 2/2] uv sync --frozen --no-install-project")
            && !n.contains("--no-dev")),
        "UVF_SYNC_DEV=true installs the dev group: {:?}",
        built.step_names()
    );
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=present"
    );

    // A misspelt one fails, naming itself, before anything is built.
    let typo = project.build(
        tag,
        &["--build-arg", &syntax, "--build-arg", "UVF_SYNC_DEVV=1"],
    );
    assert!(!typo.succeeded());
    assert!(
        typo.log()
            .contains("--build-arg UVF_SYNC_DEVV sets no uv.build value"),
        "{}",
        typo.log()
    );
}

#[test]
fn a_named_context_replaces_the_builder_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    // As `--build-context` replaces a Dockerfile's FROM; the base defaults to the builder.
    let nonroot = "127.0.0.1:5000/python:3.11-bookworm-nonroot";
    let context = format!("builder=docker-image://{nonroot}");
    let tag = "uv-frontend-e2e/plain:context";
    let replaced = project.build(tag, &["--build-context", &context]);
    replaced.expect_success();
    assert!(
        replaced
            .log()
            .contains(&format!("load metadata for {nonroot}")),
        "{}",
        replaced.log()
    );
    assert_eq!(
        run(tag, &["--entrypoint", "id"]),
        "uid=10001(app) gid=10001(app) groups=10001(app)"
    );
}

#[test]
fn labels_reach_the_image_run_flags_build_and_unused_ones_are_named() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let tag = "uv-frontend-e2e/plain:flags";
    let built = project.build(
        tag,
        &[
            "--label",
            "org.opencontainers.image.revision=abc123",
            "--label",
            "org.opencontainers.image.title=from-the-cli",
            "--pull",
            "--add-host",
            "index.internal:10.0.0.7",
            "--network",
            "host",
            "--shm-size",
            "64m",
        ],
    );
    built.expect_success();
    let labels = image_config(tag)["Labels"].clone();
    assert_eq!(labels["org.opencontainers.image.revision"], "abc123");
    assert_eq!(
        labels["org.opencontainers.image.title"], "from-the-cli",
        "--label wins over the project's own"
    );
    assert_eq!(labels["org.opencontainers.image.version"], "0.1.0");
    assert!(
        built.log().contains(
            "IgnoredRunOptions: uv-frontend does not apply --shm-size (its uv sync steps have no use for them)"
        ),
        "{}",
        built.log()
    );
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}

#[test]
fn findings_are_build_warnings_and_the_outline_shows_this_builds_values() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let dev = ["--build-arg", "UVF_SYNC_DEV=true"];
    let built = project.build("uv-frontend-e2e/plain:warned", &dev);
    built.expect_success();
    // It builds, and says the dev group in a runtime image looks like a mistake.
    assert!(
        built.log().contains("DevDependenciesInRuntime: "),
        "a build warning:\n{}",
        built.log()
    );

    // buildx 0.13 calls it `--print=outline` (experimental); newer buildx `--call=outline`.
    let outline: serde_json::Value =
        serde_json::from_str(&project.print("outline,format=json", &dev)).expect("JSON");
    let arg = outline["args"]
        .as_array()
        .expect("args")
        .iter()
        .find(|a| a["name"] == "UVF_SYNC_DEV")
        .expect("UVF_SYNC_DEV is listed");
    assert_eq!(arg["value"], "true");
}

#[test]
fn dockerignore_files_decide_what_is_sent_and_a_host_venv_never_is() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.write("notes/private.txt", "not for the image\n");
    project.write(".venv/host-marker", "a venv of the host\n");
    let ignore = project.read(".dockerignore");
    project.write(".dockerignore", &format!("{ignore}notes\n"));
    let tag = "uv-frontend-e2e/plain:ignore";
    let listing = |tag: &str| {
        let out = docker_command()
            .args(["run", "--rm", "--entrypoint", "sh", tag, "-c"])
            .arg("ls -a /app /app/.venv")
            .output()
            .expect("docker runs");
        String::from_utf8_lossy(&out.stdout).into_owned()
    };
    // The dev target is the builder stage: /app holds what the context sent.
    project.build(tag, &["--target", "dev"]).expect_success();
    let sent = listing(tag);
    assert!(sent.contains("pyproject.toml"), "{sent}");
    assert!(!sent.contains("notes"), ".dockerignore is honoured: {sent}");
    assert!(
        !sent.contains("host-marker"),
        "a host .venv is never sent: {sent}"
    );

    // uv.build.dockerignore beside the spec wins over the context's .dockerignore.
    project.write("uv.build.dockerignore", ".venv\n");
    project.build(tag, &["--target", "dev"]).expect_success();
    let sent = listing(tag);
    assert!(
        sent.contains("notes"),
        "the spec's own ignore file decides: {sent}"
    );
    assert!(!sent.contains("host-marker"), "{sent}");

    // One that would leave uv.lock out fails at its line, before anything is built.
    project.write("uv.build.dockerignore", ".venv\n*.lock\n");
    let refused = project.build(tag, &[]);
    assert!(!refused.succeeded());
    assert_eq!(
        refused.error_line(),
        "ERROR: failed to solve: uv.build.dockerignore:2: `*.lock` leaves uv.lock out of the build context, but uv needs it (fix: remove the line, or add `!uv.lock` after it)"
    );
}

#[test]
fn call_check_reports_findings_through_buildkit() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.append_to_spec("[sync]\ndev = true\n");
    project.write(".dockerignore", "__pycache__\n");
    // buildx 0.13 sends any `--print=<name>` as the subrequest `frontend.<name>` and prints its
    // result.txt; newer buildx has `--call=check`.
    let out = project.print("lint", &[]);
    let line = project.read("uv.build").lines().count();
    assert!(
        out.contains(&format!(
            "DevDependenciesInRuntime: uv.build:{line}: [sync] dev = true"
        )),
        "{out}"
    );
    assert!(out.contains("VenvNotIgnored: .dockerignore: "), "{out}");
}

#[test]
fn git_sources_over_ssh_build_with_the_agent_and_host_keys_and_say_first_what_is_missing() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let server = GitServer::start();
    let project = server.project();
    let tag = "uv-frontend-e2e/plain:git-ssh";
    // The sync steps reach the server on the host's 127.0.0.1.
    let host = [
        "--allow",
        "network.host",
        "--build-arg",
        "UVF_BUILD_NETWORK=host",
    ];
    let fresh_cache = fresh_cache_id();
    project.use_cache(&fresh_cache, None);

    // The test bed's builder is a debootstrap minbase: no git and no ssh, like the -slim
    // Python images. The build fails before any sync, naming the packages that give them.
    let no_git = project.build(tag, &host);
    assert!(!no_git.succeeded());
    assert_eq!(
        no_git.error_line(),
        "ERROR: failed to solve: uv.build:4: uv.lock has git sources, which uv fetches with git, and the builder image 127.0.0.1:5000/python:3.11-bookworm has no git on its PATH (fix: add [build] apt = [\"git\", \"openssh-client\"], or use a builder image with git and ssh (python:<version>-bookworm has both, the -slim ones do not; the runtime base can stay slim with [build] base))"
    );
    assert!(!no_git.has_step("uv sync"), "it fails before any sync");

    // With them from apt, but no agent: the error names the flag.
    let spec = project.read("uv.build").replacen(
        "[build]\n",
        "[build]\napt = [\"git\", \"openssh-client\"]\n",
        1,
    );
    project.write("uv.build", &spec);
    let no_agent = project.build(tag, &host);
    assert!(!no_agent.succeeded());
    assert!(
        no_agent.error_line().contains(&format!(
            "uv.build:1: uv.lock has git sources over SSH (127.0.0.1:{}), which uv's git fetches with the client's SSH agent, and this build was not given one (fix: pass --ssh default to docker buildx build",
            server.port
        )),
        "{}",
        no_agent.log()
    );

    // The agent, but not the server's host key: ssh refuses the host, the fix says which secret.
    let agent = format!("default={}", server.agent_socket().display());
    let mut with_agent: Vec<&str> = host.to_vec();
    with_agent.extend(["--ssh", &agent]);
    let no_host_key = project.build(tag, &with_agent);
    assert!(!no_host_key.succeeded());
    assert!(
        no_host_key.log().contains("Host key verification failed"),
        "{}",
        no_host_key.log()
    );
    assert!(
        no_host_key.error_line().contains(
            "pass the servers' host keys with --secret id=known_hosts,src=$HOME/.ssh/known_hosts"
        ),
        "{}",
        no_host_key.error_line()
    );

    // Both: the package is fetched over SSH and the image runs with it.
    let known_hosts = format!("id=known_hosts,src={}", server.known_hosts().display());
    let mut both = with_agent.clone();
    both.extend(["--secret", &known_hosts]);
    project.build(tag, &both).expect_success();
    assert_eq!(run(tag, &[]), format!("private-lib: {GIT_VALUE}"));
    // Neither the key nor the host keys are in the image.
    let (ssh_files, _) = python_output(
        tag,
        "import os; print(os.path.exists('/etc/ssh/ssh_known_hosts'), os.path.exists('/run/buildkit'))",
    );
    assert_eq!(ssh_files, "False False");
    let saved = tempdir("git-ssh-image").join("image.tar");
    let save = docker_command()
        .args(["save", "-o"])
        .arg(&saved)
        .arg(tag)
        .status()
        .expect("docker save");
    assert!(save.success());
    let bytes = std::fs::read(&saved).expect("the saved image");
    let _ = std::fs::remove_dir_all(saved.parent().expect("its directory"));
    let key = server.private_key();
    assert!(
        !contains(&bytes, &key[40..120]),
        "the private key is in the image"
    );

    // Nothing changed: every step is cached, so neither the agent nor the host keys are needed.
    let cached = project.build(tag, &host);
    cached.expect_success();
    cached.assert_fully_cached();
}

#[test]
fn git_sources_over_http_get_the_token_of_buildkits_git_auth_secret_and_keep_it_out_of_the_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let server = GitServer::start();
    let token = format!("tok-{}-{}", nanos(), std::process::id());
    let (http, project) = server.over_http(&token);
    let tag = "uv-frontend-e2e/plain:git-http";
    project.use_cache(&fresh_cache_id(), None);
    let spec = project
        .read("uv.build")
        .replacen("[build]\n", "[build]\napt = [\"git\"]\n", 1);
    project.write("uv.build", &spec);
    let host = [
        "--allow",
        "network.host",
        "--build-arg",
        "UVF_BUILD_NETWORK=host",
    ];

    // Without the token the server refuses git, and the fix names the secret for its host.
    let refused = project.build(tag, &host);
    assert!(!refused.succeeded());
    assert!(
        refused.log().contains("could not read Username"),
        "{}",
        refused.log()
    );
    let id = format!("GIT_AUTH_TOKEN.127.0.0.1:{}", http.port);
    assert!(
        refused
            .error_line()
            .contains(&format!("pass a token with --secret id={id},env=")),
        "{}",
        refused.error_line()
    );

    // With it (for that host, as BuildKit's own git sources take it): fetched, and the image
    // runs the package's code.
    let secrets = tempdir("git-token");
    std::fs::write(secrets.join("token"), &token).expect("write");
    let secret = format!("id={id},src={}", secrets.join("token").display());
    let mut args: Vec<&str> = host.to_vec();
    args.extend(["--secret", &secret]);
    let built = project.build(tag, &args);
    built.expect_success();
    assert_eq!(run(tag, &[]), format!("private-lib: {GIT_VALUE}"));
    // Nor the header git sent (base64 of the token) in the output, and neither in any file of
    // the image, read from inside it (whatever the store compresses its layers with).
    let header = base64_of(&format!("x-access-token:{token}"));
    for leaked in [&token, &header] {
        assert!(
            !built.log().contains(leaked.as_str()),
            "{leaked} is in the build's output"
        );
    }
    let search = format!(
        "import os\nfound = []\nfor root, dirs, files in os.walk('/'):\n    dirs[:] = [d for d in dirs if os.path.join(root, d) not in ('/proc', '/sys', '/dev')]\n    for f in files:\n        p = os.path.join(root, f)\n        try:\n            data = open(p, 'rb').read()\n        except OSError:\n            continue\n        if b'{token}' in data or b'{header}' in data:\n            found.append(p)\nprint(found)"
    );
    let (found, errors) = python_output(tag, &search);
    assert_eq!(found, "[]", "files holding the token: {errors}");
    let saved = secrets.join("image.tar");
    let save = docker_command()
        .args(["save", "-o"])
        .arg(&saved)
        .arg(tag)
        .status()
        .expect("docker save");
    assert!(save.success());
    let bytes = std::fs::read(&saved).expect("the saved image");
    let _ = std::fs::remove_dir_all(&secrets);
    assert!(bytes.len() > 1_000_000, "a whole image was saved");
    assert!(
        !contains(&bytes, token.as_bytes()) && !contains(&bytes, header.as_bytes()),
        "the token is in the exported image"
    );
}

#[test]
fn a_platform_the_images_lack_fails_instead_of_a_mislabelled_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // The test bed's python image is linux/amd64 only; BuildKit would take it for arm64 too.
    let project = Project::copy_of("plain");
    let build = project.build(
        "uv-frontend-e2e/plain:arm64",
        &["--platform", "linux/arm64"],
    );
    assert!(!build.succeeded(), "{}", build.log());
    assert_eq!(
        build.error_line(),
        "ERROR: failed to solve: uv.build:4: the builder image 127.0.0.1:5000/python:3.11-bookworm could not be loaded for linux/arm64: it is for linux/amd64 only (fix: check [build] builder: the image must exist for linux/arm64 and be reachable)"
    );
}

#[test]
fn a_missing_uv_image_and_a_host_network_not_allowed_are_named_with_their_fixes() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // BuildKit loads the uv image only when a sync step mounts it.
    let project = Project::copy_of("plain");
    let spec = project
        .read("uv.build")
        .replace("127.0.0.1:5000/uv:0.13.9", "127.0.0.1:5000/uv:0.99.0");
    project.write("uv.build", &spec);
    let build = project.build("uv-frontend-e2e/plain:no-uv", &[]);
    assert!(!build.succeeded());
    let error = build.error_line();
    assert!(
        error.contains(
            "uv.build:3: the uv image 127.0.0.1:5000/uv:0.99.0 could not be loaded for linux/amd64"
        ),
        "{error}"
    );
    assert!(error.contains("(fix: check [build] uv"), "{error}");

    // Host networking is an entitlement: without --allow network.host BuildKit refuses it.
    let project = Project::copy_of("plain");
    let build = project.build(
        "uv-frontend-e2e/plain:host-net",
        &[
            "--build-arg",
            "UVF_BUILD_NETWORK=host",
            "--no-cache-filter",
            "deps",
        ],
    );
    assert!(!build.succeeded());
    let error = build.error_line();
    assert!(
        error.contains("--build-arg UVF_BUILD_NETWORK=host needs the network.host entitlement, which this build was not given (fix: pass --allow network.host"),
        "{error}"
    );
}
