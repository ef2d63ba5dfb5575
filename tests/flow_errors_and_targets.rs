//! Errors against a fake LLBBridge, each at its line with its fix (unknown keys, wrong types, a
//! missing lock or gateway cap, images that cannot be loaded, failed steps, a missing entitlement,
//! a .dockerignore that leaves out what uv needs, a panic), and the build's targets: dev, test,
//! an unknown one, `--call=targets`.

mod support;

use support::flow::*;
use support::*;

#[test]
fn unknown_key_fails_with_its_line_in_uv_build() {
    let spec = format!("{EXAMPLE_SPEC}\n[sync]\nextras = [\"pg\"]\n");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let status = bridge.returned_error().expect("an error");
    assert_eq!(
        status.message,
        "uv.build:7: unknown key `extras` in [sync] (fix: did you mean `extra`? [sync] takes: package, extra, all-extras, group, dev, lock, compile-bytecode, no-editable)"
    );
    let detail = source_detail(&bridge);
    assert_eq!(detail["info"]["filename"], "uv.build");
    assert_eq!(detail["ranges"][0]["start"]["line"], 7);
    assert!(bridge.solved.is_empty(), "nothing is built");
}

#[test]
fn wrong_type_fails_with_its_line() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\ndev = \"yes\"\n");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let status = bridge.returned_error().expect("an error");
    assert!(
        status
            .message
            .starts_with("uv.build:6: [sync] dev has the wrong type"),
        "{}",
        status.message
    );
    assert_eq!(source_detail(&bridge)["ranges"][0]["start"]["line"], 6);
}

#[test]
fn missing_lock_fails_naming_uv_lock() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.remove_context_file("uv.lock");
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("an error");
    assert_eq!(
        status.message,
        "uv.build:1: uv.lock is missing from the build context (fix: run `uv lock` and commit uv.lock; check that .dockerignore does not exclude it)"
    );
    assert!(!status.message.contains('\n'), "one line");
}

#[test]
fn missing_gateway_caps_name_the_buildkit_version() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.caps.retain(|c| c != "readdir");
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("an error");
    assert!(status.message.contains("readdir"), "{}", status.message);
    assert!(
        status.message.contains("BuildKit v0.8"),
        "{}",
        status.message
    );
}

#[test]
fn a_builder_whose_python_is_not_the_projects_fails_at_its_line() {
    // Official Python images say their version in PYTHON_VERSION.
    let official = |bridge: &mut FakeBridge| {
        let config = bridge
            .images
            .get_mut("127.0.0.1:5000/python:3.11-bookworm")
            .expect("the builder");
        config["config"]["Env"]
            .as_array_mut()
            .expect("env")
            .push("PYTHON_VERSION=3.11.2".into());
    };
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    official(&mut bridge);
    bridge.set_context_file(".python-version", "3.12\n");
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        "uv.build:4: the builder image 127.0.0.1:5000/python:3.11-bookworm has Python 3.11.2, but .python-version asks for 3.12 (fix: use a builder image with the project's Python (or remove [build] builder to get the official one for it), or let uv install it with [build] managed-python)"
    );
    assert_eq!(bridge.builds(), 0);
    // uv's other spellings of a CPython request too.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    official(&mut bridge);
    bridge.set_context_file(".python-version", "cpython@3.12\n");
    run(&mut bridge, &opts());
    assert!(bridge
        .error_message()
        .contains("has Python 3.11.2, but .python-version asks for 3.12"));

    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    official(&mut bridge);
    bridge.remove_context_file(".python-version");
    bridge.edit_context_file("pyproject.toml", |t| t.replace(">=3.11", ">=3.12"));
    run(&mut bridge, &opts());
    assert!(bridge
        .error_message()
        .contains("has Python 3.11.2, but requires-python is >=3.12"));

    // The same Python: it builds.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    official(&mut bridge);
    run(&mut bridge, &opts());
    bridge.assert_built();
}

#[test]
fn unknown_image_fails_naming_the_role_and_image() {
    let spec = EXAMPLE_SPEC.replace("python:3.11-bookworm", "python:9.9");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let status = bridge.returned_error().expect("an error");
    // At the line that names it, with the fix: not "reading /etc/passwd".
    assert_eq!(
        status.message,
        "uv.build:4: the builder image 127.0.0.1:5000/python:9.9 could not be loaded for linux/amd64: 127.0.0.1:5000/python:9.9: not found (fix: check [build] builder: the image must exist for linux/amd64 and be reachable)"
    );

    let with_base = format!("{EXAMPLE_SPEC}base = \"127.0.0.1:5000/python:9.9-slim\"\n");
    let status = build(PLAIN_EXAMPLE, &with_base).error_message();
    assert!(
        status.starts_with(
            "uv.build:5: the base image 127.0.0.1:5000/python:9.9-slim could not be loaded"
        ),
        "{status}"
    );

    // The default builder, named by nothing in the spec: the fix says how to name one.
    let mut defaulted =
        FakeBridge::with_project(PLAIN_EXAMPLE, "# syntax=127.0.0.1:5000/uv-frontend:dev\n");
    defaulted.images.remove("python:3.11-slim-bookworm");
    defaulted.image_files.remove("python:3.11-slim-bookworm");
    run(&mut defaulted, &opts());
    let status = defaulted.error_message();
    assert!(
        status.starts_with("uv.build:1: the builder image python:3.11-slim-bookworm could not be loaded")
            && status.ends_with("(fix: python:3.11-slim-bookworm is the default, from the project's Python version: set [build] builder to an image this builder can pull)"),
        "{status}"
    );
}

#[test]
fn a_panic_is_returned_as_an_error_not_a_hang() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.panic_on_resolve = true;
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("an error was Returned");
    assert!(
        status
            .message
            .starts_with("uv.build:1: internal error in uv-frontend: resolver exploded"),
        "{}",
        status.message
    );
}

#[test]
fn a_failing_step_is_named_by_its_progress_name_at_its_table() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\ndev = false\n");
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, &spec);
    bridge.build_error = Some(
        "process \"/bin/sh /uv-frontend/scripts/kept-venv-sync /uv-frontend/venv-cache /opt/uv-frontend/uv sync --frozen --no-install-project --no-dev\" did not complete successfully: exit code: 2".into(),
    );
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("fails");
    assert_eq!(
        status.message,
        "uv.build:5: step [deps 2/2] uv sync --frozen --no-install-project --no-dev failed: exit code: 2 (its output is in the step's log)"
    );
}

#[test]
fn a_uv_image_without_uv_is_named_at_its_line() {
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.build_error = Some(
        "process \"/bin/sh /uv-frontend/scripts/kept-venv-sync /uv-frontend/venv-cache /opt/uv-frontend/uv sync --frozen --no-install-project --no-dev\" did not complete successfully: exit code: 127".into(),
    );
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        "uv.build:3: step [deps 2/2] uv sync --frozen --no-install-project --no-dev failed: exit code: 127 (its output is in the step's log) (fix: the uv image 127.0.0.1:5000/uv:0.13.9 must hold the uv binary at /uv, as ghcr.io/astral-sh/uv does: check [build] uv)"
    );
}

#[test]
fn the_dev_target_is_the_builder_with_the_dev_group_and_no_runtime_checks() {
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert("target".into(), "dev".into());
    run(&mut bridge, &o);
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(
        uv_command(&deps),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-install-project"
        ],
        "the dev group is installed"
    );
    assert!(
        ops(def)
            .iter()
            .all(|(d, _)| !name_of(def, d).starts_with("[runtime")),
        "the runtime stage is not built"
    );
    assert!(bridge.check_names().is_empty());
    let config = bridge.returned_config().expect("config");
    assert_eq!(config["config"]["User"], "0");
    assert_eq!(config["config"]["WorkingDir"], "/app");
}

#[test]
fn an_unknown_target_names_the_targets() {
    let bridge = build_with_opts(PLAIN_EXAMPLE, EXAMPLE_SPEC, &[("target", "prod")]);
    assert_eq!(
        bridge.error_message(),
        "uv.build has no target \"prod\": its targets are runtime, dev, test (see --call=targets; buildx 0.13: BUILDX_EXPERIMENTAL=1 --print=targets)"
    );
}

#[test]
fn call_targets_lists_the_targets_without_building() {
    let bridge = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("requestid", "frontend.targets")],
    );
    assert!(bridge.solved.is_empty(), "nothing is built");
    let Some(uv_frontend::gateway::FrontendResult::Metadata(meta)) = &bridge.returned else {
        panic!("a metadata result: {:?}", bridge.returned)
    };
    let list: serde_json::Value = serde_json::from_slice(&meta["result.json"]).expect("JSON");
    assert_eq!(list["Targets"][0]["name"], "runtime");
    assert_eq!(list["Targets"][0]["default"], true);
    assert_eq!(list["Targets"][1]["name"], "dev");

    let other = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("requestid", "frontend.unknown")],
    );
    assert!(other
        .error_message()
        .contains("does not answer the subrequest \"frontend.unknown\""));
}

#[test]
fn the_test_target_runs_the_dev_command_in_the_dev_image() {
    let spec = format!("{EXAMPLE_SPEC}[test]\ndev-command = [\"python\", \"-m\", \"pytest\"]\n");
    let bridge = build_with_opts(PLAIN_EXAMPLE, &spec, &[("target", "test")]);
    bridge.assert_built();
    assert_eq!(bridge.check_names(), ["[test] python -m pytest"]);
    let (_, check) = ops(&bridge.solved[1].0).pop().expect("the tests");
    assert_eq!(exec(&check).meta.as_ref().expect("meta").user, "0:0");

    let missing = build_with_opts(PLAIN_EXAMPLE, EXAMPLE_SPEC, &[("target", "test")]);
    assert!(missing.error_message().starts_with(
        "uv.build:1: --target test runs [test] dev-command, which this uv.build does not set"
    ));
}

#[test]
fn a_failed_python_install_points_at_managed_python() {
    let spec = "# syntax=uv-frontend\n[build]\nuv = \"127.0.0.1:5000/uv:0.13.9\"\nmanaged-python = \"3.x\"\n";
    let setup = || {
        let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, spec);
        let debian = serde_json::json!({"config": {"Env": ["PATH=/usr/bin:/bin"]}});
        bridge.images.insert("debian:bookworm-slim".into(), debian);
        bridge.image_files.insert(
            "debian:bookworm-slim".into(),
            [("etc/passwd".to_string(), PASSWD.as_bytes().to_vec())].into(),
        );
        bridge
    };
    let mut planned = setup();
    run(&mut planned, &opts());
    let (_, install) = vertex(planned.result_definition(), "[deps 1/3] uv python install");
    let args = exec(&install).meta.as_ref().expect("meta").args.join(" ");
    let mut failing = setup();
    failing.build_error = Some(format!(
        "process \"{args}\" did not complete successfully: exit code: 2"
    ));
    run(&mut failing, &opts());
    let message = failing.error_message();
    assert!(
        message.starts_with("uv.build:4: step [deps 1/3] uv python install"),
        "{message}"
    );
}

#[test]
fn a_dockerignore_that_leaves_out_the_lock_or_pyproject_fails_at_its_line() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", ".venv\n*.lock\n");
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        ".dockerignore:2: `*.lock` leaves uv.lock out of the build context, but uv needs it (fix: remove the line, or add `!uv.lock` after it)"
    );
    assert_eq!(bridge.builds(), 0, "nothing is built");

    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "*.toml\n");
    run(&mut bridge, &opts());
    assert!(bridge
        .error_message()
        .starts_with(".dockerignore:1: `*.toml` leaves pyproject.toml out of the build context"));

    // The package's readme, which building it reads.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace("requires-python", "readme = \"README.md\"\nrequires-python")
    });
    bridge.set_context_file("README.md", "# hello\n");
    bridge.set_context_file(".dockerignore", ".venv\n*.md\n");
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        ".dockerignore:2: `*.md` leaves README.md out of the build context, but building the project reads it (pyproject.toml's readme) (fix: remove the line, or add `!README.md` after it)"
    );

    // Taken back by a later `!`: sent, and built.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "*.lock\n!uv.lock\n");
    run(&mut bridge, &opts());
    bridge.assert_built();
}

#[test]
fn a_uv_image_that_cannot_be_loaded_is_named_at_its_line() {
    let spec = EXAMPLE_SPEC.replace("uv:0.13.9", "uv:0.99.0");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    bridge.build_error =
        Some("failed to load cache key: 127.0.0.1:5000/uv:0.99.0: not found".into());
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        "uv.build:3: the uv image 127.0.0.1:5000/uv:0.99.0 could not be loaded for linux/amd64: failed to load cache key: 127.0.0.1:5000/uv:0.99.0: not found (fix: check [build] uv: the image must exist for linux/amd64 and be reachable)"
    );
}

#[test]
fn a_default_image_of_managed_python_that_cannot_be_loaded_says_so() {
    let spec = "# syntax=uv-frontend\n[build]\nuv = \"127.0.0.1:5000/uv:0.13.9\"\nmanaged-python = \"3.12\"\n";
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, spec);
    run(&mut bridge, &opts());
    let message = bridge.error_message();
    assert!(
        message
            .starts_with("uv.build:4: the builder image debian:bookworm-slim could not be loaded"),
        "{message}"
    );
    assert!(
        message.ends_with("(fix: debian:bookworm-slim is the default with [build] managed-python: set [build] builder (and base) to an image this builder can pull)"),
        "{message}"
    );
}

#[test]
fn the_host_network_without_its_entitlement_is_named_with_the_flag() {
    let spec = format!("{EXAMPLE_SPEC}network = \"host\"\n");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    bridge.build_error = Some("failed to load LLB: network.host is not allowed".into());
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        "uv.build:5: [build] network = \"host\" needs the network.host entitlement, which this build was not given (fix: pass --allow network.host to docker buildx build (a docker-container builder must also be created with --buildkitd-flags '--allow-insecure-entitlement network.host'))"
    );
}
