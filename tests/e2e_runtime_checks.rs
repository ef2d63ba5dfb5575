//! End to end: the runtime image is checked before it ships (interpreter, smoke test) and runs
//! as its non-root user with nothing world-writable. Needs the test bed (`scripts/testbed-up`).

mod support;

use support::e2e::*;

fn with_base(project: &Project, base: &str) {
    project.append_to_spec(&format!("base = \"{base}\"\n"));
}

/// Builds examples/plain on `base` as `tag`, which must fail; the build and its ERROR line.
fn refused_on(base: &str, tag: &str) -> (Build, String) {
    let project = Project::copy_of("plain");
    with_base(&project, base);
    let build = project.build(tag, &[]);
    assert!(!build.succeeded(), "{base} cannot run the builder's venv");
    let error = build.error_line();
    (build, error)
}

#[test]
fn interpreter_check_refuses_a_base_without_python() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let (build, error) = refused_on(
        "127.0.0.1:5000/debian:bookworm-nopython",
        "uv-frontend-e2e/plain:nopython",
    );
    assert!(
        error.contains(
            "uv.build:5: interpreter check: the runtime image 127.0.0.1:5000/debian:bookworm-nopython has no /usr/bin/python3.11"
        ),
        "{error}"
    );
    assert!(
        error.contains("Python 3.11.2 of the builder image 127.0.0.1:5000/python:3.11-bookworm")
    );
    assert!(error.contains("(fix: "));
    assert!(build
        .log()
        .contains(">>> base = \"127.0.0.1:5000/debian:bookworm-nopython\""));
}

#[test]
fn a_base_without_any_accounts_gets_them_and_the_interpreter_check_explains() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // The uv image is FROM scratch: no /etc at all. The user's account files are made from
    // nothing, and the build stops at the interpreter check with its own message. The check
    // runs on the image with the user added: reaching it means that step worked (it used to
    // fail writing /etc/passwd into a missing /etc).
    let (_, error) = refused_on(
        "127.0.0.1:5000/uv:0.13.9",
        "uv-frontend-e2e/plain:scratch-base",
    );
    assert!(
        error.contains(
            "interpreter check: the runtime image 127.0.0.1:5000/uv:0.13.9 has no /usr/bin/python3.11"
        ),
        "{error}"
    );
}

#[test]
fn interpreter_check_refuses_another_minor_version() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let (_, error) = refused_on(
        "127.0.0.1:5000/python:3.13-trixie",
        "uv-frontend-e2e/plain:py313",
    );
    assert!(
        error.contains(
            "interpreter check: the runtime image 127.0.0.1:5000/python:3.13-trixie has no /usr/bin/python3.11 (it has python3.13 there)"
        ),
        "{error}"
    );
}

#[test]
fn smoke_test_passes_fails_with_its_output_and_can_be_skipped() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let spec = project.read("uv.build");
    project.write(
        "uv.build",
        &format!("{spec}[test]\ncommand = [\"python\", \"-c\", \"import hello_uv, idna; print('smoke ok')\"]\n"),
    );
    let passing = project.build(
        "uv-frontend-e2e/plain:smoke",
        &["--no-cache-filter", "runtime"],
    );
    passing.expect_success();
    assert!(
        passing
            .vertex_lines("[test] python")
            .iter()
            .any(|l| l.ends_with("smoke ok")),
        "{}",
        passing.log()
    );

    project.write(
        "uv.build",
        &format!("{spec}[test]\ncommand = [\"python\", \"-c\", \"import iniconfig\"]\n"),
    );
    let failing = project.build("uv-frontend-e2e/plain:smoke", &[]);
    assert!(
        !failing.succeeded(),
        "importing a dev dependency must fail in the runtime"
    );
    let error = failing.error_line();
    assert!(
        error.contains("uv.build:6: smoke test `python -c import iniconfig` failed"),
        "{error}"
    );
    assert!(
        failing
            .log()
            .contains("ModuleNotFoundError: No module named 'iniconfig'"),
        "the test's output is shown"
    );

    let skipped = project.build(
        "uv-frontend-e2e/plain:smoke",
        &["--build-arg", "UVF_TEST_SKIP=1"],
    );
    skipped.expect_success();
}

#[test]
fn runtime_files_belong_to_the_user_and_nothing_is_world_writable() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.append_to_spec("[run]\nuser = \"svc\"\nuid = 2000\ngid = 3000\n");
    let tag = "uv-frontend-e2e/plain:svc";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        run(tag, &["--entrypoint", "id"]),
        "uid=2000(svc) gid=3000(svc) groups=3000(svc)"
    );
    let owners = run_entry(
        tag,
        "/bin/sh",
        &["-c", "find /app/.venv ! -user 2000 | head -5; find /app /home/svc -xdev -perm -o+w ! -type l | head -5"],
    );
    assert_eq!(String::from_utf8_lossy(&owners.stdout).trim(), "");
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}

#[test]
fn with_code_owner_root_the_user_runs_the_code_but_cannot_change_it() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.append_to_spec("[run]\ncode-owner = \"root\"\n");
    let tag = "uv-frontend-e2e/plain:root-code";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
    let probe = run_entry(
        tag,
        "/bin/sh",
        &[
            "-c",
            "id -u; find /app ! -user root | head -5; \
             touch /app/.venv/lib/python3.11/site-packages/idna/core.py /app/src/hello_uv/__init__.py 2>&1 | wc -l",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "10001\n2",
        "runs as the user; nothing under /app is not root's; both writes refused"
    );
}

#[test]
fn targets_are_listed_and_the_dev_target_has_the_dev_group() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    // buildx 0.13 calls it `--print` (experimental); newer buildx `--call`.
    let out = project.print("targets", &[]);
    assert!(out.contains("runtime (default)"), "{out}");
    assert!(out.lines().any(|l| l.starts_with("dev ")), "{out}");

    let tag = "uv-frontend-e2e/plain:dev";
    project.build(tag, &["--target", "dev"]).expect_success();
    let dev = run_entry(
        tag,
        "python",
        &["-c", "import iniconfig, hello_uv; print('dev ok')"],
    );
    assert_eq!(String::from_utf8_lossy(&dev.stdout).trim(), "dev ok");
    assert_eq!(
        run(tag, &["--entrypoint", "hello"]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=present"
    );

    // --target test: the project's tests run in the dev image, and fail the build when they fail.
    let spec = project.read("uv.build");
    // A new command every run, so that an earlier run's cached step cannot hide its output.
    let nonce = nanos();
    project.write(
        "uv.build",
        &format!("{spec}[test]\ndev-command = [\"python\", \"-c\", \"import iniconfig, hello_uv; print('tests ok {nonce}')\"]\n"),
    );
    let tests = project.build("uv-frontend-e2e/plain:test", &["--target", "test"]);
    tests.expect_success();
    assert!(
        tests
            .vertex_lines("[test] python")
            .iter()
            .any(|l| l.ends_with(&format!("tests ok {nonce}"))),
        "{}",
        tests.log()
    );
    project.write(
        "uv.build",
        &format!("{spec}[test]\ndev-command = [\"python\", \"-c\", \"raise SystemExit('1 test failed')\"]\n"),
    );
    let failing = project.build("uv-frontend-e2e/plain:test", &["--target", "test"]);
    assert!(!failing.succeeded());
    assert!(failing.error_line().contains(
        "the project's tests `python -c raise SystemExit('1 test failed')` failed in the dev image"
    ));
}

#[test]
fn image_config_has_labels_stop_signal_healthcheck_env_ports_and_a_numeric_user_and_turns_healthy()
{
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.append_to_spec(
        "[run]\nenv = { APP_ENV = \"production\" }\nexpose = [8000]\nstop-signal = \"SIGINT\"\nhealthcheck = [\"hello\"]\nhealth-interval = \"2s\"\nhealth-retries = 2\nlabels = { \"org.example.team\" = \"data\" }\n",
    );
    let tag = "uv-frontend-e2e/plain:config";
    project.build(tag, &[]).expect_success();
    let config = image_config(tag);
    let labels = &config["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "hello-uv");
    assert_eq!(labels["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(
        labels["org.opencontainers.image.description"],
        "Minimal uv-managed example project for uv-frontend"
    );
    assert_eq!(labels["org.example.team"], "data");
    assert_eq!(config["StopSignal"], "SIGINT");
    assert_eq!(
        config["Healthcheck"],
        serde_json::json!({"Test": ["CMD", "hello"], "Interval": 2_000_000_000u64, "Retries": 2})
    );
    assert_eq!(config["ExposedPorts"], serde_json::json!({"8000/tcp": {}}));
    assert_eq!(config["WorkingDir"], "/app");
    // By uid (Kubernetes' runAsNonRoot checks only a numeric user); docker run finds the name.
    assert_eq!(config["User"], "10001");
    assert_eq!(run_entry(tag, "id", &["-un"]).stdout, b"app\n");
    let env = config["Env"].as_array().expect("env");
    assert!(env.contains(&serde_json::json!("APP_ENV=production")));
    assert!(env.contains(&serde_json::json!("VIRTUAL_ENV=/app/.venv")));
    assert_eq!(
        run(tag, &["-e", "X=1"]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
    // Docker runs the health check at its interval: healthy within a few seconds (the default
    // interval is 30 s).
    let started = docker_command()
        .args(["run", "-d", "--rm", "--entrypoint", "sleep", tag, "60"])
        .output()
        .expect("docker run -d");
    let container = String::from_utf8_lossy(&started.stdout).trim().to_string();
    assert!(started.status.success(), "{started:?}");
    let mut status = String::new();
    for _ in 0..40 {
        let inspect = docker_command()
            .args([
                "inspect",
                "--format",
                "{{.State.Health.Status}}",
                &container,
            ])
            .output()
            .expect("docker inspect");
        status = String::from_utf8_lossy(&inspect.stdout).trim().to_string();
        if status == "healthy" {
            break;
        }
        std::thread::sleep(std::time::Duration::from_millis(250));
    }
    let _ = docker_command().args(["rm", "-f", &container]).output();
    assert_eq!(status, "healthy");
}

#[test]
fn managed_python_is_installed_by_uv_from_a_mirror_and_runs_on_a_base_without_python() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.use_cache(&fresh_cache_id(), None);
    // The builder has no Python either: only the test bed's mirror of one, which its
    // UV_PYTHON_DOWNLOADS_JSON_URL names (scripts/testbed/base-images.sh).
    let spec = project.read("uv.build").replace(
        "builder = \"127.0.0.1:5000/python:3.11-bookworm\"",
        "builder = \"127.0.0.1:5000/debian:bookworm-uv-python-mirror\"\n\
         base = \"127.0.0.1:5000/debian:bookworm-nopython\"\n\
         managed-python = \"3.11\"",
    );
    project.write("uv.build", &spec);
    let tag = "uv-frontend-e2e/plain:managed-python";
    // The install is not keyed on the project: rerun it so that its output shows.
    let build = project.build(tag, &["--no-cache-filter", "deps"]);
    build.expect_success();
    let install = "[deps 1/3] uv python install 3.11";
    assert!(
        build
            .output(install)
            .iter()
            .any(|l| l.contains("Installed Python 3.11.2")),
        "{}",
        build.log()
    );
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
    let home = run_entry(
        tag,
        "/app/.venv/bin/python",
        &["-c", "import sys; print(sys.base_prefix)"],
    );
    assert_eq!(
        String::from_utf8_lossy(&home.stdout).trim(),
        "/opt/uv-python/cpython-3.11-linux-x86_64-gnu",
        "the venv runs uv's Python (through uv's minor-version link): {}",
        String::from_utf8_lossy(&home.stderr)
    );
    let writable = run_entry(
        tag,
        "/bin/sh",
        &[
            "-c",
            "find /opt/uv-python /app -perm -o+w ! -type l; ls -A /opt/uv-python",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&writable.stdout).trim(),
        ".gitignore\ncpython-3.11-linux-x86_64-gnu\ncpython-3.11.2-linux-x86_64-gnu",
        "nothing world-writable, no uv lock or temporary directory"
    );
    let system = run_entry(
        tag,
        "/bin/sh",
        &[
            "-c",
            "ls /usr/bin/python* /usr/lib/python3* 2>/dev/null | wc -l",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&system.stdout).trim(),
        "0",
        "the base has no Python of its own"
    );
    assert_lean_non_root(tag);
}

#[test]
fn a_builder_that_says_its_python_is_checked_against_the_projects_before_any_sync() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // Like the official Python images, a builder that says its version in PYTHON_VERSION.
    let image = push_image(
        "127.0.0.1:5000/uv-frontend-e2e/python-official-like:3.11",
        "FROM 127.0.0.1:5000/python:3.11-bookworm\nENV PYTHON_VERSION=3.11.2\n",
        &[],
    );
    let image = image.as_str();

    let project = Project::copy_of("plain");
    let spec = project
        .read("uv.build")
        .replace("127.0.0.1:5000/python:3.11-bookworm", image);
    project.write("uv.build", &spec);
    // It builds while the project asks for 3.11...
    project
        .build("uv-frontend-e2e/plain:official-like", &[])
        .expect_success();
    // ...and fails at the builder's line, before any sync, when it asks for 3.12.
    project.write(".python-version", "3.12\n");
    let build = project.build("uv-frontend-e2e/plain:official-like", &[]);
    assert!(!build.succeeded());
    assert_eq!(
        build.error_line(),
        format!("ERROR: failed to solve: uv.build:4: the builder image {image} has Python 3.11.2, but .python-version asks for 3.12 (fix: use a builder image with the project's Python (or remove [build] builder to get the official one for it), or let uv install it with [build] managed-python)")
    );
    assert!(!build.has_step("uv sync"));
}

#[test]
fn a_reproducible_build_after_a_plain_one_still_has_hash_checked_bytecode() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.use_cache(&fresh_cache_id(), None);
    // A build without SOURCE_DATE_EPOCH keeps a venv whose bytecode records source times...
    project
        .build("uv-frontend-e2e/plain:timestamped", &[])
        .expect_success();
    // ...which a reproducible build must not take: its files get the epoch as their time.
    let tag = "uv-frontend-e2e/plain:epoch";
    project
        .build(tag, &["--build-arg", "SOURCE_DATE_EPOCH=1700000000"])
        .expect_success();
    let code = "import glob; fs = glob.glob('/app/.venv/lib/python3.11/site-packages/idna/__pycache__/*.pyc'); \
                print(len(fs), sorted({int.from_bytes(open(f, 'rb').read()[4:8], 'little') for f in fs}))";
    let (out, err) = python_output(tag, code);
    // PEP 552 flags 3: checked hash, whatever the files' times.
    assert!(
        out.ends_with(" [3]") && !out.starts_with("0 "),
        "{out}\n{err}"
    );
}

#[test]
fn a_run_command_is_looked_up_in_the_built_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // /usr/bin/env is a regular executable file of the base: BuildKit's listing gives its
    // mode, and the command runs.
    let project = Project::copy_of("plain");
    project.append_to_spec("[run]\ncommand = [\"env\", \"hello\"]\n");
    let tag = "uv-frontend-e2e/plain:env-command";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        image_config(tag)["Cmd"],
        serde_json::json!(["env", "hello"])
    );
    assert!(run(tag, &[]).starts_with("hello from hello-uv 0.1.0"));

    // A typo fails the build at its line, before anything is exported.
    let project = Project::copy_of("plain");
    project.append_to_spec("[run]\ncommand = [\"helo\"]\n");
    let build = project.build("uv-frontend-e2e/plain:typo-command", &[]);
    assert!(!build.succeeded());
    let error = build.error_line();
    assert!(
        error.contains("[run] command runs `helo`, which is in no directory of the runtime image's PATH (/app/.venv/bin:/usr/local/sbin:/usr/local/bin:"),
        "{error}"
    );
    assert!(error.contains("(fix: did you mean `hello`?)"), "{error}");
    assert!(build.log().contains(">>> command = [\"helo\"]"));
}

#[test]
fn a_base_entrypoint_wraps_the_command_as_under_a_dockerfile_cmd() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // A platform team's base whose ENTRYPOINT is an `exec "$@"` wrapper.
    let base = push_image(
        "127.0.0.1:5000/uv-frontend-e2e/base:entry",
        "FROM 127.0.0.1:5000/python:3.11-bookworm\nCOPY platform-entry /usr/local/bin/\nENTRYPOINT [\"/usr/local/bin/platform-entry\"]\n",
        &[("platform-entry", "#!/bin/sh\necho wrapped >&2\nexec \"$@\"\n")],
    );
    let project = Project::copy_of("plain");
    with_base(&project, &base);
    let tag = "uv-frontend-e2e/plain:entry-base";
    project.build(tag, &[]).expect_success();
    let config = image_config(tag);
    assert_eq!(
        config["Entrypoint"],
        serde_json::json!(["/usr/local/bin/platform-entry"])
    );
    let out = docker_command()
        .args(["run", "--rm", tag])
        .output()
        .expect("docker run");
    assert_eq!(String::from_utf8_lossy(&out.stderr).trim(), "wrapped");
    assert!(String::from_utf8_lossy(&out.stdout).starts_with("hello from hello-uv 0.1.0"));

    // `entrypoint = []` drops it.
    project.append_to_spec("[run]\nentrypoint = []\n");
    project.build(tag, &[]).expect_success();
    assert!(image_config(tag)["Entrypoint"].is_null());
}

#[test]
fn an_existing_base_users_supplementary_groups_are_kept() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // The image's User is the uid alone: the runtime reads the groups from the account files,
    // as it does for a name (a uid:gid would drop the supplementary ones).
    let base = push_image(
        "127.0.0.1:5000/uv-frontend-e2e/base:svc-groups",
        "FROM 127.0.0.1:5000/python:3.11-bookworm\nRUN groupadd -g 3000 shared && useradd -u 2000 -m -G shared svc\n",
        &[],
    );
    let project = Project::copy_of("plain");
    with_base(&project, &base);
    project.append_to_spec("[run]\nuser = \"svc\"\n");
    let tag = "uv-frontend-e2e/plain:svc-groups";
    project.build(tag, &[]).expect_success();
    assert_eq!(image_config(tag)["User"], "2000");
    assert_eq!(
        run(tag, &["--entrypoint", "id"]),
        "uid=2000(svc) gid=2000(svc) groups=2000(svc),3000(shared)"
    );
}
