//! End to end: `docker buildx build` conventions through a real BuildKit: secrets for a
//! password-protected index (reached with host networking), build args and named contexts that
//! set spec values, and `BUILDKIT_SYNTAX` in place of the `# syntax=` line. Needs the test bed.

mod support;

use std::process::Command;

use support::e2e::*;
use support::private_index::*;

#[test]
fn secrets_reach_uv_for_a_private_index_and_never_the_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let (user, password) = ("ci-reader", format!("pw-{nanos}-{}", std::process::id()));
    let index = PrivateIndex::start(user, &password);
    let project = project_on_private_index(index.port, user, &password);
    let secrets = tempdir("secrets");
    std::fs::write(secrets.join("user"), user).expect("write");
    std::fs::write(secrets.join("password"), &password).expect("write");
    let host = [
        "--allow",
        "network.host",
        "--build-arg",
        "UVF_BUILD_NETWORK=host",
    ];
    // A fresh uv cache: nothing of secret-pkg can come from an earlier run.
    let cache = fresh_cache_id();
    project.use_cache(&cache, None);
    let tag = "uv-frontend-e2e/needs-secret:latest";

    // Without the secrets the index refuses uv: the credentials are what makes it work.
    let refused = project.build(tag, &host);
    assert!(!refused.succeeded(), "{}", refused.log());
    assert!(
        refused.log().contains("401 Unauthorized"),
        "uv reports the refusal:\n{}",
        refused.log()
    );

    let user_secret = format!(
        "id=UV_INDEX_TEAM_PRIVATE_USERNAME,src={}",
        secrets.join("user").display()
    );
    let password_secret = format!(
        "id=UV_INDEX_TEAM_PRIVATE_PASSWORD,src={}",
        secrets.join("password").display()
    );
    let mut args: Vec<&str> = host.to_vec();
    args.extend(["--secret", &user_secret, "--secret", &password_secret]);
    let built = project.build(tag, &args);
    built.expect_success();
    assert_eq!(built.prepared("[deps 2/2]"), 1, "secret-pkg downloaded");
    assert_eq!(run(tag, &[]), format!("secret-pkg: {SECRET_VALUE}"));

    // Nowhere in the image: layers, config, history; nor in the build's output.
    let saved = secrets.join("image.tar");
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
    assert!(!String::from_utf8_lossy(&history.stdout).contains(&password));
    assert!(!built.log().contains(&password));
    let _ = std::fs::remove_dir_all(&secrets);
}

#[test]
fn build_args_set_spec_values_and_buildkit_syntax_replaces_the_directive() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    // No `# syntax=` line: BUILDKIT_SYNTAX makes the Dockerfile frontend hand the build over.
    let spec = project.read("uv.build");
    let without_directive: String = spec
        .lines()
        .filter(|l| !l.starts_with("# syntax="))
        .map(|l| format!("{l}\n"))
        .collect();
    project.write("uv.build", &without_directive);
    let syntax = format!("BUILDKIT_SYNTAX={}", frontend_image());
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
    // It builds, and says the dev group in a runtime image looks like a mistake.
    assert!(
        built.log().contains("DevDependenciesInRuntime: "),
        "a build warning:\n{}",
        built.log()
    );

    // The outline shows the build args with the values this build would use (buildx 0.13
    // calls it `--print=outline`, experimental; newer buildx `--call=outline`).
    let outline = aim(&mut Command::new(docker()))
        .env("BUILDX_EXPERIMENTAL", "1")
        .args([
            "buildx",
            "build",
            "-f",
            "uv.build",
            "--print=outline,format=json",
        ])
        .args([
            "--build-arg",
            &syntax,
            "--build-arg",
            "UVF_SYNC_DEV=true",
            ".",
        ])
        .current_dir(&project.dir)
        .output()
        .expect("docker runs");
    assert!(
        outline.status.success(),
        "{}",
        String::from_utf8_lossy(&outline.stderr)
    );
    let outline: serde_json::Value = serde_json::from_slice(&outline.stdout).expect("JSON");
    let dev = outline["args"]
        .as_array()
        .expect("args")
        .iter()
        .find(|a| a["name"] == "UVF_SYNC_DEV")
        .expect("UVF_SYNC_DEV is listed");
    assert_eq!(dev["value"], "true");

    // A named context replaces the builder image, as it replaces a Dockerfile's FROM (and the
    // base, which defaults to the builder).
    let nonroot = "127.0.0.1:5000/python:3.11-bookworm-nonroot";
    let context = format!("builder=docker-image://{nonroot}");
    let replaced = project.build(tag, &["--build-arg", &syntax, "--build-context", &context]);
    replaced.expect_success();
    assert!(
        replaced
            .log()
            .contains(&format!("load metadata for {nonroot}")),
        "{}",
        replaced.log()
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
}

#[test]
fn call_check_reports_findings_through_buildkit() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let spec = project.read("uv.build") + "[sync]\ndev = true\n";
    project.write("uv.build", &spec);
    project.write(".dockerignore", "__pycache__\n");
    // buildx 0.13 sends any `--print=<name>` as the subrequest `frontend.<name>` and prints its
    // result.txt; newer buildx has `--call=check`.
    let check = aim(&mut Command::new(docker()))
        .env("BUILDX_EXPERIMENTAL", "1")
        .args(["buildx", "build", "-f", "uv.build", "--print=lint", "."])
        .current_dir(&project.dir)
        .output()
        .expect("docker runs");
    let out = String::from_utf8_lossy(&check.stdout).into_owned();
    assert!(
        check.status.success(),
        "{out}{}",
        String::from_utf8_lossy(&check.stderr)
    );
    let line = spec.lines().count();
    assert!(
        out.contains(&format!(
            "DevDependenciesInRuntime: uv.build:{line}: [sync] dev = true"
        )),
        "{out}"
    );
    assert!(out.contains("VenvNotIgnored: .dockerignore: "), "{out}");
}
