//! The runtime image against a fake LLBBridge: the interpreter check and the smoke test, the
//! runtime user and who owns the code, managed Python copied to a Python-less base, and the
//! image config (env, command and entrypoint, their lookup on the image's PATH, healthcheck,
//! labels, stop signal, and the base's config kept for the exporter).

mod support;

use support::flow::*;
use support::*;
use uv_frontend::llb::pb;

/// examples/plain run through the frontend with `run_table` as its [run] table, on an image that
/// also has `files`.
fn with_run_table(run_table: &str, files: &[&str]) -> FakeBridge {
    let spec = format!("{EXAMPLE_SPEC}[run]\n{run_table}");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    for file in files {
        bridge.result_files.insert(file.to_string(), b"x".to_vec());
    }
    run(&mut bridge, &opts());
    bridge
}

/// The error of [`with_run_table`], if it failed.
fn lookup_error(run_table: &str, files: &[&str]) -> Option<String> {
    with_run_table(run_table, files)
        .returned_error()
        .map(|s| s.message.clone())
}

/// The image config (its `config` object) of [`with_run_table`] without further files.
fn run_config(run_table: &str) -> serde_json::Value {
    let bridge = with_run_table(run_table, &[]);
    let config = bridge.returned_config().expect("an image");
    config["config"].clone()
}

#[test]
fn runtime_image_config_puts_the_venv_first_and_runs_as_the_app_user_by_its_uid() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let config = bridge.returned_config().expect("a config");
    let c = &config["config"];
    assert_eq!(c["User"], "10001");
    assert_eq!(c["WorkingDir"], "/app");
    assert_eq!(
        c["Cmd"],
        serde_json::json!(["hello"]),
        "the only console script"
    );
    assert!(c["Entrypoint"].is_null());
    let env: Vec<&str> = c["Env"]
        .as_array()
        .expect("env")
        .iter()
        .map(|v| v.as_str().expect("string"))
        .collect();
    assert!(
        env.contains(&"PATH=/app/.venv/bin:/usr/local/bin:/usr/bin:/bin"),
        "{env:?}"
    );
    assert!(env.contains(&"VIRTUAL_ENV=/app/.venv"));
    assert!(env.contains(&"LANG=C.UTF-8"), "base env kept");
    assert_eq!(config["created"], "2026-11-23T15:44:40Z");
    assert_eq!(config["history"][0]["created_by"], "debootstrap");
}

#[test]
fn an_existing_base_user_keeps_its_ids_and_is_not_added() {
    let spec = format!("{EXAMPLE_SPEC}[run]\nuser = \"nobody\"\n");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let def = bridge.result_definition();
    assert!(ops(def)
        .iter()
        .all(|(d, _)| !name_of(def, d).contains("add user")));
    let (_, copy) = vertex(def, "[deps 1/1] layer: idna");
    assert_eq!(owner_ids(file_copy(&copy)), (65534, 65534));
    assert_eq!(
        bridge.returned_config().expect("config")["config"]["User"],
        "65534"
    );
}

const WITH_BASE: &str = r#"# syntax=127.0.0.1:5000/uv-frontend:dev
[build]
uv = "127.0.0.1:5000/uv:0.13.9"
builder = "127.0.0.1:5000/python:3.11-bookworm"
base = "python:3.12-slim-bookworm"
"#;

#[test]
fn interpreter_check_fails_on_a_base_without_the_venvs_python() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, WITH_BASE);
    for path in [
        "usr/bin/python3.11",
        "usr/bin/python3",
        "usr/lib/python3.11/os.py",
    ] {
        bridge.result_files.remove(path);
    }
    bridge
        .failing_checks
        .insert("/app/.venv/bin/python".into(), "exit code: 127".into());
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("the check fails");
    assert_eq!(
        status.message,
        "uv.build:5: interpreter check: the runtime image python:3.12-slim-bookworm has no /usr/bin/python3.11, which the venv's bin/python leads to (/usr/bin/python3.11); the venv was made with Python 3.11.2 of the builder image 127.0.0.1:5000/python:3.11-bookworm (fix: use a base image with the same Python at the same path: remove [build] base to use the builder image, or pick the builder's -slim variant)"
    );
    assert_eq!(source_detail(&bridge)["ranges"][0]["start"]["line"], 5);
}

#[test]
fn interpreter_check_fails_on_another_minor_version() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, WITH_BASE);
    // The venv links to /usr/local/bin/python3, which in this base is Python 3.12.
    bridge.result_files = debian_python_venv();
    bridge.result_files.insert(
        "app/.venv/bin/python".into(),
        link("/usr/local/bin/python3"),
    );
    bridge
        .result_files
        .insert("usr/local/bin/python3".into(), link("python3.12"));
    bridge
        .result_files
        .insert("usr/local/bin/python3.12".into(), b"ELF".to_vec());
    bridge
        .result_files
        .insert("usr/local/lib/python3.12/os.py".into(), b"#".to_vec());
    // Debian-style shared modules beside it: no version of their own.
    bridge.result_files.insert(
        "usr/local/lib/python3/dist-packages/x.py".into(),
        b"#".to_vec(),
    );
    // The check's own command sees the mismatch; the reads explain it.
    bridge
        .failing_checks
        .insert("/app/.venv/bin/python".into(), "exit code: 1".into());
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("the check fails");
    assert!(
        status.message.starts_with(
            "uv.build:5: interpreter check: the runtime image python:3.12-slim-bookworm has /usr/local/bin/python3.12 with Python 3.12 but the venv was made with Python 3.11.2"
        ),
        "{}",
        status.message
    );
}

#[test]
fn interpreter_check_passes_and_the_interpreter_is_started_as_the_runtime_user() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    assert_eq!(
        bridge.check_names(),
        ["[check] /app/.venv/bin/python starts in the runtime image"]
    );
    let (_, check) = ops(&bridge.solved[1].0).pop().expect("the check");
    let meta = exec(&check).meta.clone().expect("meta");
    assert_eq!(meta.user, "10001");
    assert_eq!(meta.cwd, "/app");
    assert!(meta
        .env
        .contains(&"PATH=/app/.venv/bin:/usr/local/bin:/usr/bin:/bin".to_string()));
}

#[test]
fn a_venv_that_does_not_start_fails_the_build() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.failing_checks.insert(
        "/app/.venv/bin/python".into(),
        "process did not complete successfully: exit code: 127".into(),
    );
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("fails");
    assert!(
        status.message.starts_with(
            "uv.build:4: interpreter check: /app/.venv/bin/python does not start in the runtime image 127.0.0.1:5000/python:3.11-bookworm: process did not complete"
        ),
        "{}",
        status.message
    );
}

#[test]
fn the_smoke_test_runs_after_the_interpreter_check_and_can_fail_or_be_skipped() {
    let spec = format!("{EXAMPLE_SPEC}[test]\ncommand = [\"hello\"]\n");
    let passing = build(PLAIN_EXAMPLE, &spec);
    passing.assert_built();
    assert_eq!(
        passing.check_names(),
        [
            "[check] /app/.venv/bin/python starts in the runtime image",
            "[test] hello"
        ]
    );

    let mut failing = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    failing
        .failing_checks
        .insert("hello".into(), "exit code: 1".into());
    run(&mut failing, &opts());
    let status = failing.returned_error().expect("fails");
    assert!(
        status.message.starts_with(
            "uv.build:6: smoke test `hello` failed in the runtime image: exit code: 1"
        ),
        "{}",
        status.message
    );

    let skipped = build_with_opts(PLAIN_EXAMPLE, &spec, &[("build-arg:UVF_TEST_SKIP", "1")]);
    assert_eq!(skipped.check_names().len(), 1, "only the interpreter check");

    let skip_in_spec = format!("{spec}skip = true\n");
    let bridge = build(PLAIN_EXAMPLE, &skip_in_spec);
    assert_eq!(bridge.check_names().len(), 1);
}

#[test]
fn a_base_user_with_uid_0_is_refused_as_root() {
    let spec = format!("{EXAMPLE_SPEC}[run]\nuser = \"toor\"\n");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    let image = "127.0.0.1:5000/python:3.11-bookworm";
    let files = bridge.image_files.get_mut(image).expect("the base's files");
    let passwd = format!("{PASSWD}toor:x:0:0:root:/root:/bin/sh\n");
    files.insert("etc/passwd".into(), passwd.into_bytes());
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        format!("uv.build:6: [run] user toor is root (uid 0) in the base image {image}: the runtime image runs as a non-root user (fix: name another user, or remove the key to get the default user \"app\")")
    );
}

#[test]
fn runtime_user_ids_come_from_the_spec_when_it_is_created() {
    let spec = format!("{EXAMPLE_SPEC}[run]\nuser = \"svc\"\nuid = 2000\ngid = 3000\n");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, copy) = vertex(def, "[deps 1/1] layer: idna");
    assert_eq!(owner_ids(file_copy(&copy)), (2000, 3000));

    let clash = format!("{EXAMPLE_SPEC}[run]\nuser = \"nobody\"\nuid = 2000\n");
    let bridge = build(PLAIN_EXAMPLE, &clash);
    let status = bridge
        .returned_error()
        .expect("an existing user keeps its id");
    assert!(
        status.message.starts_with(
            "uv.build:7: [run] user nobody already exists in the base image 127.0.0.1:5000/python:3.11-bookworm with id 65534, not 2000"
        ),
        "{}",
        status.message
    );

    // A uid the spec asks for is never swapped for another when it is taken.
    let taken = format!("{EXAMPLE_SPEC}[run]\nuser = \"svc\"\nuid = 65534\n");
    let status = build(PLAIN_EXAMPLE, &taken).error_message();
    assert_eq!(
        status,
        "uv.build:7: [run] uid 65534 belongs to another user of the base image 127.0.0.1:5000/python:3.11-bookworm (fix: choose a free uid, or remove uid to get the first free one from 10001)"
    );
    // A gid the base already has is that group's: the user joins it.
    let shared = format!("{EXAMPLE_SPEC}[run]\nuser = \"svc\"\nuid = 2000\ngid = 65534\n");
    let bridge = build(PLAIN_EXAMPLE, &shared);
    bridge.assert_built();
    let (_, copy) = vertex(bridge.result_definition(), "[deps 1/1] layer: idna");
    assert_eq!(owner_ids(file_copy(&copy)), (2000, 65534));
}

#[test]
fn run_env_expands_path_as_a_dockerfile_env_and_warns_when_the_venv_leaves_it() {
    let spec = format!(
        "{EXAMPLE_SPEC}[run]\nenv = {{ PATH = \"/opt/tools/bin:${{PATH}}\", DATA = \"$HOME/data\" }}\n"
    );
    let bridge = build(PLAIN_EXAMPLE, &spec);
    bridge.assert_built();
    let config = bridge.returned_config().expect("config");
    let env: Vec<&str> = config["config"]["Env"]
        .as_array()
        .expect("env")
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert!(
        env.contains(&"PATH=/opt/tools/bin:/app/.venv/bin:/usr/local/bin:/usr/bin:/bin"),
        "{env:?}"
    );
    assert!(
        env.contains(&"DATA=/data"),
        "HOME is not set in this base: {env:?}"
    );
    assert!(bridge
        .warnings
        .iter()
        .all(|w| !w.short.starts_with("VenvNotOnPath")));

    let replaced = format!("{EXAMPLE_SPEC}[run]\nenv = {{ PATH = \"/opt/tools/bin:/usr/bin\" }}\n");
    let bridge = build(PLAIN_EXAMPLE, &replaced);
    let warning = bridge
        .warnings
        .iter()
        .find(|w| w.short.starts_with("VenvNotOnPath"))
        .expect("a warning");
    assert_eq!(
        warning.short,
        "VenvNotOnPath: [run] env sets PATH without /app/.venv/bin or $PATH, so python and the project's scripts are not the venv's (write PATH = \"/more/bin:$PATH\")"
    );
}

#[test]
fn image_config_carries_oci_labels_stop_signal_and_healthcheck() {
    let c = &run_config(
        "stop-signal = \"SIGINT\"\nhealthcheck = [\"hello\"]\nlabels = { \"org.example.team\" = \"data\" }\nexpose = [8000]\nenv = { APP_ENV = \"production\" }\n",
    );
    assert_eq!(c["StopSignal"], "SIGINT");
    assert_eq!(
        c["Healthcheck"]["Test"],
        serde_json::json!(["CMD", "hello"])
    );
    assert_eq!(c["ExposedPorts"], serde_json::json!({"8000/tcp": {}}));
    assert!(c["Env"]
        .as_array()
        .expect("env")
        .contains(&serde_json::json!("APP_ENV=production")));
    let labels = &c["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "hello-uv");
    assert_eq!(labels["org.opencontainers.image.version"], "0.1.0");
    assert_eq!(
        labels["org.opencontainers.image.description"],
        "Minimal uv-managed example project for uv-frontend"
    );
    assert_eq!(labels["org.example.team"], "data");
}

#[test]
fn managed_python_is_installed_by_uv_on_the_cache_and_copied_to_a_python_less_base() {
    let spec = "# syntax=uv-frontend\n[build]\nuv = \"127.0.0.1:5000/uv:0.13.9\"\nmanaged-python = \"3.12\"\n";
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, spec);
    let debian = serde_json::json!({"config": {"Env": ["PATH=/usr/bin:/bin"]}});
    bridge.images.insert("debian:bookworm-slim".into(), debian);
    bridge.image_files.insert(
        "debian:bookworm-slim".into(),
        [("etc/passwd".to_string(), PASSWD.as_bytes().to_vec())].into(),
    );
    let python = "opt/uv-python/cpython-3.12.7-linux-x86_64-gnu";
    bridge.result_files = [
        (
            "app/.venv/pyvenv.cfg".to_string(),
            format!("home = /{python}/bin\nversion_info = 3.12.7\n").into_bytes(),
        ),
        (
            "app/.venv/bin/python".to_string(),
            link(&format!("/{python}/bin/python3.12")),
        ),
        (format!("{python}/bin/python3.12"), b"ELF".to_vec()),
        (format!("{python}/lib/python3.12/os.py"), b"#".to_vec()),
    ]
    .into();
    let mut o = opts();
    o.opts.insert(
        "build-arg:UV_PYTHON_INSTALL_MIRROR".into(),
        "http://127.0.0.1:8000/python".into(),
    );
    run(&mut bridge, &o);
    bridge.assert_built();
    let def = bridge.result_definition();

    let (_, install) = vertex(def, "[deps 1/3] uv python install 3.12");
    let exec_op = exec(&install);
    assert_eq!(
        uv_command(&install),
        ["/opt/uv-frontend/uv", "python", "install", "3.12"]
    );
    // The installation is copied as it is: uv's lock and temporary directory go, and nothing
    // stays world-writable.
    let (tidy, tidy_args) = script_of(def, &install, "then-tidy");
    assert_eq!(tidy_args[0], "/opt/uv-python");
    assert!(tidy.contains("rm -rf \"$dir/.lock\" \"$dir/.temp\""));
    assert!(tidy.contains("chmod -R o-w \"$dir\""));
    let env = &exec_op.meta.as_ref().expect("meta").env;
    for expected in [
        "UV_PYTHON_INSTALL_DIR=/opt/uv-python",
        "UV_PYTHON_CACHE_DIR=/root/.cache/uv/python-downloads",
        "UV_PYTHON_PREFERENCE=only-managed",
        "UV_PYTHON=3.12",
        "UV_PYTHON_DOWNLOADS=manual",
        "UV_PYTHON_INSTALL_MIRROR=http://127.0.0.1:8000/python",
    ] {
        assert!(env.contains(&expected.to_string()), "{expected} in {env:?}");
    }
    assert!(
        exec_op
            .mounts
            .iter()
            .any(|m| m.dest == "/root/.cache/uv"
                && m.cache_opt.as_ref().is_some_and(|c| c.id == "uv")),
        "the download lands on the uv cache"
    );
    let (_, copy) = vertex(def, "[runtime-deps 2/3] copy Python 3.12 from deps");
    let c = file_copy(&copy);
    assert_eq!(
        (c.src.as_str(), c.dest.as_str()),
        ("/opt/uv-python", "/opt/uv-python")
    );
    let config = bridge.returned_config().expect("config");
    assert_eq!(config["config"]["User"], "10001");
    let Some(pb::op::Op::Source(base)) = &ops(def)
        .into_iter()
        .find(|(d, _)| {
            name_of(def, d).starts_with("[base]") || name_of(def, d).starts_with("[builder]")
        })
        .expect("an image")
        .1
        .op
    else {
        panic!("a source")
    };
    assert_eq!(
        base.identifier,
        format!(
            "docker-image://docker.io/library/debian:bookworm-slim@{}",
            image_digest("debian:bookworm-slim")
        )
    );
}

#[test]
fn a_run_command_the_image_lacks_fails_at_its_line_with_the_nearest_name() {
    assert_eq!(
        lookup_error(
            "command = [\"uvicron\", \"app:main\"]\n",
            &["app/.venv/bin/uvicorn"]
        )
        .as_deref(),
        Some("uv.build:6: [run] command runs `uvicron`, which is in no directory of the runtime image's PATH (/app/.venv/bin:/usr/local/bin:/usr/bin:/bin) (fix: did you mean `uvicorn`?)")
    );
}

#[test]
fn a_run_command_on_the_image_path_is_accepted() {
    let bridge = with_run_table(
        "command = [\"uvicorn\", \"app:main\"]\n",
        &["app/.venv/bin/uvicorn"],
    );
    let config = bridge.returned_config().expect("an image");
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["uvicorn", "app:main"])
    );
}

#[test]
fn a_run_command_naming_the_projects_script_is_not_looked_up() {
    // uv makes the project's console scripts: the fake image has no bin/hello, and the build
    // passes without looking for it.
    let bridge = with_run_table("command = [\"hello\", \"--verbose\"]\n", &[]);
    assert!(!bridge.result_files.contains_key("app/.venv/bin/hello"));
    assert!(bridge.returned_config().is_some(), "{:?}", bridge.returned);
}

#[test]
fn a_run_command_path_that_is_not_executable_fails_with_the_fix() {
    assert_eq!(
        lookup_error("command = [\"./serve.sh\"]\n", &["app/serve.sh"]).as_deref(),
        Some("uv.build:6: [run] command runs `./serve.sh`, but /app/serve.sh is not executable (mode 644) (fix: make it executable in the build context (chmod +x), or run it with its interpreter, e.g. [\"sh\", \"./serve.sh\"])")
    );
}

#[test]
fn a_healthcheck_command_the_image_lacks_fails_at_its_line() {
    let message = lookup_error(
        "healthcheck = [\"curl\", \"-f\", \"http://localhost/\"]\n",
        &[],
    )
    .expect("refused");
    assert!(
        message.starts_with("uv.build:6: [run] healthcheck runs `curl`, which is in no directory of the runtime image's PATH"),
        "{message}"
    );
    assert!(
        message.ends_with(
            "(fix: use a console script of the project (hello), or the executable's full path)"
        ),
        "{message}"
    );
}

#[test]
fn health_check_options_are_in_the_image_config_in_nanoseconds() {
    let config = run_config(
        "healthcheck = [\"hello\"]\nhealth-interval = \"1m30s\"\nhealth-timeout = \"5s\"\nhealth-start-period = \"500ms\"\nhealth-retries = 4\n",
    );
    assert_eq!(
        config["Healthcheck"],
        serde_json::json!({
            "Test": ["CMD", "hello"],
            "Interval": 90_000_000_000u64,
            "Timeout": 5_000_000_000u64,
            "StartPeriod": 500_000_000u64,
            "Retries": 4,
        })
    );
}

/// examples/plain on a base whose config has `entrypoint`, with `run_table` as the spec's [run].
fn on_base_with_entrypoint(entrypoint: serde_json::Value, run_table: &str) -> FakeBridge {
    let base = "127.0.0.1:5000/base:entry";
    let spec = format!("{EXAMPLE_SPEC}base = \"{base}\"\n[run]\n{run_table}");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    bridge.alias_image(base, "127.0.0.1:5000/python:3.11-bookworm");
    bridge.images.get_mut(base).expect("aliased")["config"]["Entrypoint"] = entrypoint;
    run(&mut bridge, &opts());
    bridge
}

#[test]
fn a_base_entrypoint_is_kept_under_the_command_unless_it_is_python() {
    let wrapper = on_base_with_entrypoint(serde_json::json!(["/usr/local/bin/platform-entry"]), "");
    let config = wrapper.returned_config().expect("an image");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["/usr/local/bin/platform-entry"])
    );
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["hello"]));

    // distroless python's: it would take the console script for a script file.
    let python = on_base_with_entrypoint(serde_json::json!(["/usr/bin/python3.11"]), "");
    let config = python.returned_config().expect("an image");
    assert!(config["config"]["Entrypoint"].is_null());
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["hello"]));
}

#[test]
fn run_entrypoint_replaces_or_clears_the_bases_and_is_looked_up() {
    let cleared = on_base_with_entrypoint(
        serde_json::json!(["/usr/local/bin/platform-entry"]),
        "entrypoint = []\n",
    );
    let config = cleared.returned_config().expect("an image");
    assert!(config["config"]["Entrypoint"].is_null());

    let mut bridge = FakeBridge::with_project(
        PLAIN_EXAMPLE,
        &format!("{EXAMPLE_SPEC}[run]\nentrypoint = [\"tini\", \"--\"]\n"),
    );
    bridge
        .result_files
        .insert("usr/bin/tini".into(), b"ELF".to_vec());
    run(&mut bridge, &opts());
    let config = bridge.returned_config().expect("an image");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["tini", "--"])
    );
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["hello"]));

    let missing =
        on_base_with_entrypoint(serde_json::Value::Null, "entrypoint = [\"tiny\", \"--\"]\n");
    assert!(
        missing
            .error_message()
            .starts_with("uv.build:7: [run] entrypoint runs `tiny`, which is in no directory"),
        "{}",
        missing.error_message()
    );
}

#[test]
fn the_base_images_oci_labels_give_way_to_the_projects() {
    let base = "127.0.0.1:5000/base:labelled";
    let spec = format!("{EXAMPLE_SPEC}base = \"{base}\"\n");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    bridge.alias_image(base, "127.0.0.1:5000/python:3.11-bookworm");
    bridge.images.get_mut(base).expect("aliased")["config"]["Labels"] = serde_json::json!({
        "org.opencontainers.image.source": "https://github.com/docker-library/python",
        "org.opencontainers.image.revision": "deadbeef",
        "org.opencontainers.image.licenses": "PSF-2.0",
        "com.example.platform.team": "base-images",
    });
    run(&mut bridge, &opts());
    let config = bridge.returned_config().expect("an image");
    let labels = config["config"]["Labels"].as_object().expect("labels");
    // The project's own, and the base's labels that are not about what the image is.
    assert_eq!(labels["org.opencontainers.image.title"], "hello-uv");
    assert_eq!(labels["com.example.platform.team"], "base-images");
    for key in ["source", "revision", "licenses"] {
        assert!(
            !labels.contains_key(&format!("org.opencontainers.image.{key}")),
            "{key}: {labels:?}"
        );
    }
}

#[test]
fn a_stop_signal_in_lower_case_is_taken_as_docker_takes_it() {
    assert_eq!(
        run_config("stop-signal = \"sigint\"\n")["StopSignal"],
        "SIGINT"
    );
}

#[test]
fn code_owner_root_gives_the_venv_and_modules_to_root_and_the_image_keeps_the_users_uid() {
    let bridge = with_run_table("code-owner = \"root\"\n", &[]);
    bridge.assert_built();
    let def = bridge.result_definition();
    for prefix in [
        "[deps 1/1] layer: idna",
        "[runtime 1/3] copy /app/.venv project files",
        "[runtime 3/3] copy src/hello_uv",
    ] {
        let (_, copy) = vertex(def, prefix);
        assert_eq!(owner_ids(file_copy(&copy)), (0, 0), "{prefix}");
    }
    let config = bridge.returned_config().expect("an image");
    assert_eq!(config["config"]["User"], "10001");

    // The default: the user owns them, as uv's guide chowns them.
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let (_, copy) = vertex(
        bridge.result_definition(),
        "[runtime 3/3] copy src/hello_uv",
    );
    assert_eq!(owner_ids(file_copy(&copy)), (10001, 10001));
}

#[test]
fn run_entrypoint_without_a_command_drops_the_bases_cmd() {
    // examples/app is not a package: no default command, so the base's Cmd would be left as
    // the new entrypoint's arguments.
    let spec = format!("{EXAMPLE_SPEC}[run]\nentrypoint = [\"python\", \"main.py\"]\n");
    let mut bridge = FakeBridge::with_project(APP_EXAMPLE, &spec);
    bridge
        .images
        .get_mut("127.0.0.1:5000/python:3.11-bookworm")
        .expect("the builder")["config"]["Cmd"] = serde_json::json!(["python3"]);
    run(&mut bridge, &opts());
    let config = bridge.returned_config().expect("an image");
    assert_eq!(
        config["config"]["Entrypoint"],
        serde_json::json!(["python", "main.py"])
    );
    assert!(config["config"]["Cmd"].is_null(), "{config}");
}

#[test]
fn command_lookup_suggests_paths_with_their_directory_and_short_names_only_when_close() {
    let error =
        lookup_error("command = [\"bin/strat.sh\"]\n", &["app/bin/start.sh"]).expect("refused");
    assert!(
        error.ends_with("(fix: did you mean `bin/start.sh`?)"),
        "{error}"
    );
    // `curl` is two edits from `chrt`: no suggestion for a short name.
    let error = lookup_error("command = [\"curl\"]\n", &["usr/bin/chrt"]).expect("refused");
    assert!(!error.contains("did you mean"), "{error}");
    let error = lookup_error("command = [\"./tools\"]\n", &["app/tools/run"]).expect("refused");
    assert!(
        error.contains("[run] command runs `./tools`, but /app/tools is a directory"),
        "{error}"
    );
    // `..` after a symlink is the link target's parent: not judged.
    assert_eq!(
        lookup_error("command = [\"/opt/link/../bin/x\"]\n", &[]),
        None
    );
}

#[test]
fn an_entrypoint_running_python_through_env_is_cleared_under_a_command() {
    let python = on_base_with_entrypoint(serde_json::json!(["/usr/bin/env", "python3"]), "");
    let config = python.returned_config().expect("an image");
    assert!(config["config"]["Entrypoint"].is_null());
}

#[test]
fn a_docker_imported_bases_build_record_is_not_the_images() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let builder = bridge
        .images
        .get_mut("127.0.0.1:5000/python:3.11-bookworm")
        .expect("the builder");
    builder["comment"] = "Imported from -".into();
    builder["docker_version"] = "26.1.5".into();
    run(&mut bridge, &opts());
    let config = bridge.returned_config().expect("an image");
    assert!(config.get("comment").is_none() && config.get("docker_version").is_none());
}

#[test]
fn the_base_images_config_is_returned_for_the_exporter_and_multi_platform_keys_one_platform() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let Some(uv_frontend::gateway::FrontendResult::Image { base_config, .. }) = &bridge.returned
    else {
        panic!("an image: {:?}", bridge.returned)
    };
    // The exporter tells the base's layers by it (rewrite-timestamp leaves them alone).
    let base: serde_json::Value =
        serde_json::from_slice(base_config.as_ref().expect("a base config")).expect("JSON");
    assert_eq!(
        base["config"]["Env"],
        bridge.images["127.0.0.1:5000/python:3.11-bookworm"]["config"]["Env"]
    );

    // BUILDKIT_MULTI_PLATFORM=1: a result keyed by platform (an index), as for several.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(
        &mut bridge,
        &opts_with_args(&[("BUILDKIT_MULTI_PLATFORM", "1")]),
    );
    let Some(uv_frontend::gateway::FrontendResult::Images(images)) = &bridge.returned else {
        panic!("images: {:?}", bridge.returned)
    };
    assert_eq!(images.len(), 1);
    assert!(images[0].base_config.is_some());
}
