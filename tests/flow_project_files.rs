//! What the runtime image gets of the project besides its venv, against the fake bridge: the
//! build context at the workdir (`[run] include` narrows it), the working directory of a
//! workspace member's image (`[run] workdir`), and `[build] run`'s commands and their layer.

mod support;

use support::*;
use uv_frontend::llb::pb;

const COLLECTSTATIC: &str = "[build]\nrun = [\"python manage.py collectstatic --noinput\"]\n";

fn build(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, spec);
    run(&mut bridge, &opts());
    bridge
}

/// `EXAMPLE_SPEC` with more keys of its `[build]` table and then `rest`.
fn spec_with(build_keys: &str, rest: &str) -> String {
    format!("{EXAMPLE_SPEC}{build_keys}{rest}")
}

/// The local source a copy op reads from, by the copy's digest.
fn local_source_of(def: &pb::Definition, copy: &pb::Op) -> pb::SourceOp {
    let (_, op) = ops(def)
        .into_iter()
        .find(|(d, _)| *d == copy.inputs[0].digest)
        .expect("the copy's source");
    match op.op {
        Some(pb::op::Op::Source(s)) if s.identifier == "local://context" => s,
        other => panic!("not the build context: {other:?}"),
    }
}

fn patterns(source: &pb::SourceOp, key: &str) -> Vec<String> {
    source
        .attrs
        .get(key)
        .map(|v| serde_json::from_str(v).expect("JSON"))
        .unwrap_or_default()
}

#[test]
fn a_failed_build_command_is_named_at_the_run_line_with_where_commands_run() {
    let spec = spec_with(COLLECTSTATIC.trim_start_matches("[build]\n"), "");
    let built = build(DJANGO_EXAMPLE, &spec);
    let mut failing = FakeBridge::with_project(DJANGO_EXAMPLE, &spec);
    failing.build_error = Some(process_failure(
        built.result_definition(),
        "[build 2/2] python manage.py collectstatic",
    ));
    run(&mut failing, &opts());
    assert_eq!(
        failing.error_message(),
        "uv.build:5: step [build 2/2] python manage.py collectstatic --noinput failed: exit code: 1 (its output is in the step's log) (fix: the step's log above names the command that failed; [build] run commands run in the builder from /app, with /app/.venv/bin first on PATH and the whole build context at /app)"
    );
}

#[test]
fn build_commands_run_with_the_venv_active_and_what_they_write_is_a_layer_of_its_own() {
    // [build] is already open in EXAMPLE_SPEC: the key goes under it.
    let spec = spec_with(COLLECTSTATIC.trim_start_matches("[build]\n"), "");
    let bridge = build(DJANGO_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();

    // First the whole context over the project phase (modules, not stand-ins).
    let (context_digest, context) = vertex(
        def,
        "[build 1/2] copy build context to /app for [build] run",
    );
    let (phase2, _) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(context.inputs[0].digest, phase2);

    // Then the commands, from the image's working directory, with the venv first on PATH.
    let (run_digest, run_op) = vertex(def, "[build 2/2] python manage.py collectstatic --noinput");
    assert_eq!(run_op.inputs[0].digest, context_digest);
    let step = exec(&run_op);
    let meta = step.meta.as_ref().expect("meta");
    assert_eq!(
        meta.args,
        [
            // Index credentials reach the commands as they reach uv (a private index's
            // packages downloaded by a build step).
            "/bin/sh",
            "/uv-frontend/scripts/with-secrets",
            "/run/secrets/uv-frontend",
            "/bin/sh",
            "/uv-frontend/scripts/run-then-collect",
            "/app",
            "/app/.venv",
            "/uv-frontend/written",
            "python manage.py collectstatic --noinput"
        ]
    );
    assert_eq!(meta.cwd, "/app");
    assert!(meta
        .env
        .iter()
        .any(|e| e.starts_with("PATH=/app/.venv/bin:/usr/local/bin")));
    assert!(meta.env.contains(&"VIRTUAL_ENV=/app/.venv".to_string()));
    assert!(meta.env.contains(&"PYTHONDONTWRITEBYTECODE=1".to_string()));
    assert!(
        step.mounts
            .iter()
            .all(|m| m.mount_type != pb::MountType::Cache as i32),
        "no uv cache: the commands run the project, not uv"
    );

    // What they wrote is collected into a mount, which the runtime copies as a layer.
    let out = step
        .mounts
        .iter()
        .find(|m| m.dest == "/uv-frontend/written")
        .expect("an output mount");
    let (_, copy) = vertex(
        def,
        "[runtime 3/3] copy what [build] run wrote under /app from build",
    );
    assert_eq!(copy.inputs.len(), 1, "onto scratch: a layer of its own");
    assert_eq!(
        (copy.inputs[0].digest.as_str(), copy.inputs[0].index),
        (run_digest.as_str(), out.output),
        "copied from the commands' output mount"
    );
    let Some(pb::op::Op::File(file)) = &copy.op else {
        panic!("a file op")
    };
    let Some(pb::file_action::Action::Copy(action)) = &file.actions[0].action else {
        panic!("a copy")
    };
    assert_eq!(
        (action.src.as_str(), action.dest.as_str()),
        ("/app", "/app")
    );
}

#[test]
fn build_commands_are_no_step_of_the_dev_image() {
    let spec = spec_with(COLLECTSTATIC.trim_start_matches("[build]\n"), "");
    let bridge = build_with_opts(DJANGO_EXAMPLE, &spec, &[("target", "dev")]);
    bridge.assert_built();
    let def = bridge.result_definition();
    assert!(ops(def)
        .iter()
        .all(|(d, _)| !name_of(def, d).starts_with("[build ")));
}

#[test]
fn run_include_sends_only_its_paths_into_the_image_and_an_empty_list_none() {
    let spec = format!("{EXAMPLE_SPEC}[run]\ninclude = [\"alembic.ini\", \"./migrations/\"]\n");
    let bridge = build(FASTAPI_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, copy) = vertex(
        def,
        "[runtime 2/3] copy alembic.ini migrations from the build context to /app",
    );
    let source = local_source_of(def, &copy);
    assert_eq!(
        patterns(&source, "local.includepattern"),
        ["alembic.ini", "migrations"]
    );
    assert!(patterns(&source, "local.excludepatterns").contains(&".venv".to_string()));

    let spec = format!("{EXAMPLE_SPEC}[run]\ninclude = []\n");
    let bridge = build(FASTAPI_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();
    let runtime: Vec<&str> = ops(def)
        .iter()
        .map(|(d, _)| name_of(def, d))
        .filter(|n| n.starts_with("[runtime "))
        .collect();
    // The venv, and the module its editable install links to.
    assert_eq!(
        runtime,
        [
            "[runtime 1/2] copy /app/.venv project files from project",
            "[runtime 2/2] copy src/notes_api from the build context to /app/src/notes_api"
        ]
    );
}

#[test]
fn a_member_image_runs_from_the_members_directory_unless_run_workdir_says_otherwise() {
    let member = format!("{EXAMPLE_SPEC}[sync]\npackage = \"greeter\"\n");
    let config = build(WORKSPACE_EXAMPLE, &member)
        .returned_config()
        .expect("an image");
    assert_eq!(config["config"]["WorkingDir"], "/app/packages/greeter");

    let config = build(
        WORKSPACE_EXAMPLE,
        &format!("{member}[run]\nworkdir = \"/srv/\"\n"),
    )
    .returned_config()
    .expect("an image");
    assert_eq!(config["config"]["WorkingDir"], "/srv");

    // The root project runs from the workdir.
    let config = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC)
        .returned_config()
        .expect("an image");
    assert_eq!(config["config"]["WorkingDir"], "/app");
}

#[test]
fn bad_include_workdir_and_build_commands_fail_at_their_line() {
    for (table, expected) in [
        (
            "[run]\ninclude = [\"/etc/passwd\"]\n",
            "uv.build:6: [run] include: \"/etc/passwd\" is not a path inside the build context",
        ),
        (
            "[run]\ninclude = [\"src/../../x\"]\n",
            "uv.build:6: [run] include: \"src/../../x\" is not a path inside the build context",
        ),
        (
            "[run]\nworkdir = \"srv\"\n",
            "uv.build:6: [run] workdir \"srv\" must be an absolute directory other than /",
        ),
        ("[test]\nskip = true\n[build]\nrun = [\"  \"]\n", ""),
    ] {
        let bridge = build(PLAIN_EXAMPLE, &format!("{EXAMPLE_SPEC}{table}"));
        let message = bridge.error_message();
        if expected.is_empty() {
            // [build] opened a second time: the TOML error names it; an empty command is
            // checked below.
            assert!(
                message.contains("[build] is opened a second time"),
                "{message}"
            );
        } else {
            assert!(message.starts_with(expected), "{message}");
        }
    }
    let spec = spec_with("run = [\"python manage.py check\", \" \"]\n", "");
    let message = build(PLAIN_EXAMPLE, &spec).error_message();
    assert!(
        message.starts_with("uv.build:5: [build] run has an empty command"),
        "{message}"
    );
}

/// The short texts of the build's warnings.
fn warnings(bridge: &FakeBridge) -> Vec<String> {
    bridge.warnings.iter().map(|w| w.short.clone()).collect()
}

#[test]
fn a_command_naming_a_project_file_the_image_lacks_is_a_warning_at_its_line() {
    let spec = format!(
        "{EXAMPLE_SPEC}[run]\ninclude = [\"migrations\"]\ncommand = [\"alembic\", \"-c\", \"alembic.ini\", \"upgrade\", \"head\"]\n"
    );
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, &spec);
    bridge
        .result_files
        .insert("app/.venv/bin/alembic".into(), b"x".to_vec());
    run(&mut bridge, &opts());
    let found = warnings(&bridge);
    assert!(
        found.iter().any(|w| w.starts_with(
            "CommandPathNotInImage: [run] command names alembic.ini (/app/alembic.ini in the image), but [run] include (migrations) leaves it out"
        )),
        "{found:?}"
    );

    // Left out by .dockerignore instead: its line is named.
    let spec = format!("{EXAMPLE_SPEC}[run]\ncommand = [\"sh\", \"./scripts/prestart.sh\"]\n");
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, &spec);
    bridge.edit_context_file(".dockerignore", |t| format!("{t}scripts\n"));
    run(&mut bridge, &opts());
    let found = warnings(&bridge);
    assert!(
        found.iter().any(|w| w.contains(
            "[run] command names scripts/prestart.sh (/app/scripts/prestart.sh in the image), but line 6 of .dockerignore (`scripts`) leaves it out"
        )),
        "{found:?}"
    );

    // Present: no warning.
    let spec = format!("{EXAMPLE_SPEC}[run]\ncommand = [\"sh\", \"scripts/prestart.sh\"]\n");
    let found = warnings(&build(FASTAPI_EXAMPLE, &spec));
    assert!(
        found
            .iter()
            .all(|w| !w.starts_with("CommandPathNotInImage")),
        "{found:?}"
    );
}

#[test]
fn a_console_script_chosen_for_a_web_service_or_among_entry_points_is_a_warning_naming_it() {
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace(
            "[dependency-groups]",
            "[project.scripts]\nnotes = \"notes_api.cli:main\"\n\n[dependency-groups]",
        )
    });
    run(&mut bridge, &opts());
    let found = warnings(&bridge);
    assert!(
        found.iter().any(|w| w.starts_with(
            "DefaultCommand: [run] command is not set, so the image runs notes-api's console script `notes` ([project.scripts]), but notes-api depends on fastapi"
        )),
        "{found:?}"
    );
    // Other entry points beside the one console script: the same warning, saying so.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace(
            "[dependency-groups]",
            "[project.gui-scripts]\nhello-gui = \"hello_uv:main\"\n\n[dependency-groups]",
        )
    });
    run(&mut bridge, &opts());
    let found = warnings(&bridge);
    assert!(
        found.iter().any(|w| w.starts_with(
            "DefaultCommand: [run] command is not set, so the image runs hello-uv's console script `hello` ([project.scripts]), but hello-uv also declares [project.gui-scripts]"
        )),
        "{found:?}"
    );
    // The plain example alone (one script, no framework): no warning.
    let found = warnings(&build(PLAIN_EXAMPLE, EXAMPLE_SPEC));
    assert!(
        found.iter().all(|w| !w.starts_with("DefaultCommand")),
        "{found:?}"
    );

    // A command set says what runs: no warning.
    let spec = format!("{EXAMPLE_SPEC}[run]\ncommand = [\"notes\"]\n");
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, &spec);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace(
            "[dependency-groups]",
            "[project.scripts]\nnotes = \"notes_api.cli:main\"\n\n[dependency-groups]",
        )
    });
    bridge
        .result_files
        .insert("app/.venv/bin/notes".into(), b"x".to_vec());
    run(&mut bridge, &opts());
    assert!(warnings(&bridge)
        .iter()
        .all(|w| !w.starts_with("DefaultCommand")));
}

#[test]
fn call_check_sets_the_status_buildx_exits_with_one_with_findings_and_zero_without() {
    let status = |spec: &str, edit: bool| {
        let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, spec);
        if edit {
            bridge.remove_context_file(".dockerignore");
        }
        let mut o = opts();
        o.opts.insert("requestid".into(), "frontend.lint".into());
        run(&mut bridge, &o);
        String::from_utf8_lossy(&bridge.returned_metadata()["result.statuscode"]).into_owned()
    };
    let spec = format!("{EXAMPLE_SPEC}[run]\ncommand = [\"uvicorn\", \"notes_api.main:app\"]\n");
    assert_eq!(status(&spec, false), "0");
    // No .dockerignore: VenvNotIgnored and ContextInImage.
    assert_eq!(status(&spec, true), "1");
}
