//! How the project's own code reaches the image, against a fake LLBBridge: uv_build modules
//! copied as they are beside an editable install, projects that are not packages (the build
//! context beside the venv), wheels where modules cannot be copied alone, path dependencies,
//! and what a selected workspace member gets.

mod support;

use support::flow::*;
use support::*;
use uv_frontend::llb::pb;

#[test]
fn a_selected_members_only_script_is_the_command() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\npackage = \"greeter\"\n");
    let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, &spec);
    let member = "packages/greeter/pyproject.toml";
    let text = std::fs::read_to_string(format!("{WORKSPACE_EXAMPLE}/{member}")).expect("member");
    bridge.set_context_file(
        member,
        &text.replace(
            "[build-system]",
            "[project.scripts]\ngreet = \"greeter:main\"\n\n[build-system]",
        ),
    );
    run(&mut bridge, &opts());
    bridge.assert_built();
    let config = bridge.returned_config().expect("a config");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["greet"]));
    // The image is the member's: its name and version label it, not the workspace root's.
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.title"], "greeter");
    assert_eq!(labels["org.opencontainers.image.version"], "0.1.0");
}

/// Every op `digest` depends on, itself included.
fn depends_on(def: &pb::Definition, digest: &str) -> std::collections::BTreeSet<String> {
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    let mut seen = std::collections::BTreeSet::new();
    let mut todo = vec![digest.to_string()];
    while let Some(d) = todo.pop() {
        if let Some(op) = all.get(&d) {
            todo.extend(op.inputs.iter().map(|i| i.digest.clone()));
        }
        seen.insert(d);
    }
    seen
}

/// The build context's local source that loads `path` alone, and its digest.
fn module_source(def: &pb::Definition, path: &str) -> (String, pb::SourceOp) {
    let (digest, op) = vertex(def, &format!("load {path} from the build context"));
    match op.op {
        Some(pb::op::Op::Source(s)) if s.identifier == "local://context" => (digest, s),
        other => panic!("not the context: {other:?}"),
    }
}

#[test]
fn uv_build_modules_are_copied_as_they_are_beside_an_editable_install() {
    let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "**/__pycache__\n");
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let modules = ["packages/greeter/src/greeter", "src/ws_app"];

    // Phase 2 sees the project without its modules, an empty __init__.py standing in for each:
    // all uv_build checks for an editable install. So no source edit can rerun it.
    let (copy_digest, copy) = vertex(
        def,
        "[project 1/2] copy build context to /app, modules packages/greeter/src/greeter src/ws_app as empty stand-ins",
    );
    let Some(pb::op::Op::File(file)) = &copy.op else {
        panic!("a file op")
    };
    let written: Vec<(String, usize)> = file
        .actions
        .iter()
        .filter_map(|a| match &a.action {
            Some(pb::file_action::Action::Mkfile(f)) => Some((f.path.clone(), f.data.len())),
            _ => None,
        })
        .collect();
    assert_eq!(
        written,
        [
            (
                "/app/packages/greeter/src/greeter/__init__.py".to_string(),
                0
            ),
            ("/app/src/ws_app/__init__.py".to_string(), 0)
        ]
    );
    let excludes: Vec<String> =
        serde_json::from_str(&context_source(def).attrs["local.excludepatterns"]).expect("JSON");
    assert_eq!(excludes[excludes.len() - 2..], modules);
    let (phase2_digest, phase2) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&phase2),
        ["/opt/uv-frontend/uv", "sync", "--locked", "--no-dev"],
        "editable: uv writes a .pth naming each module's root"
    );
    let phase2_inputs = depends_on(def, &phase2_digest);
    assert!(phase2_inputs.contains(&copy_digest));

    // Each module: a layer of its own in the runtime image, straight from the context (only
    // that path sent, .dockerignore honoured), owned by the runtime user; never phase 2's input.
    for (i, module) in modules.iter().enumerate() {
        let (source_digest, source) = module_source(def, module);
        assert!(!phase2_inputs.contains(&source_digest), "{module}");
        let patterns =
            |key: &str| -> Vec<String> { serde_json::from_str(&source.attrs[key]).expect("JSON") };
        assert_eq!(patterns("local.includepattern"), [*module]);
        // The .dockerignore, the build's own files, then bytecode a checkout may hold (which a
        // wheel never has) and .git.
        assert_eq!(
            patterns("local.excludepatterns"),
            [
                "**/__pycache__",
                ".venv",
                "**/.venv",
                "uv.build",
                "uv.build.dockerignore",
                ".dockerignore",
                "**/*.pyc",
                "**/*.pyo",
                ".git"
            ]
        );
        let (_, copy) = vertex(
            def,
            &format!(
                "[runtime {}/4] copy {module} from the build context to /app/{module}",
                i + 3
            ),
        );
        let action = file_copy(&copy);
        assert_eq!(action.src, format!("/{module}"));
        assert_eq!(action.dest, format!("/app/{module}"));
        assert_eq!(owner_ids(action), (10001, 10001));
        assert_eq!(copy.inputs.len(), 1, "onto scratch, from the context");
        assert_eq!(copy.inputs[0].digest, source_digest);
    }
}

#[test]
fn a_project_that_is_not_a_package_gets_the_build_context_beside_its_venv() {
    // examples/app: no [build-system], so uv installs only its dependencies and main.py runs
    // from /app.
    let mut bridge = FakeBridge::with_project(APP_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file("notes/__pycache__/old.cpython-311.pyc", "stale");
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();

    let (copy_digest, copy) = vertex(def, "[runtime 2/2] copy build context to /app");
    let action = file_copy(&copy);
    assert_eq!((action.src.as_str(), action.dest.as_str()), ("/", "/app"));
    assert_eq!(owner_ids(action), (10001, 10001));
    assert_eq!(copy.inputs.len(), 1, "onto scratch, from the context");
    let (source_digest, source) = vertex(def, "load the build context for /app");
    assert_eq!(copy.inputs[0].digest, source_digest);
    let Some(pb::op::Op::Source(source)) = source.op else {
        panic!("a source")
    };
    assert_eq!(source.identifier, "local://context");
    assert!(
        !source.attrs.contains_key("local.includepattern"),
        "all of it"
    );
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    // The example's .dockerignore, the build's own files, then bytecode a checkout may hold
    // (and .git, which this .dockerignore already has).
    assert_eq!(
        excludes,
        [
            ".venv",
            "__pycache__",
            "*.pyc",
            ".git",
            "**/.venv",
            "uv.build",
            "uv.build.dockerignore",
            ".dockerignore",
            "**/__pycache__",
            "**/*.pyc",
            "**/*.pyo"
        ]
    );

    // Phase 2 never sees that copy, and the image's last layer is it.
    let (phase2_digest, _) = vertex(def, "[project 2/2] uv sync");
    assert!(!depends_on(def, &phase2_digest).contains(&copy_digest));
    assert!(depends_on(def, &result_digest(def)).contains(&copy_digest));
    // Nor the project's code: it gets only what uv reads, so editing main.py reruns no sync.
    vertex(
        def,
        "[project 1/2] copy pyproject.toml uv.lock .python-version from the build context to /app",
    );
    let includes: Vec<String> =
        serde_json::from_str(&context_source(def).attrs["local.includepattern"]).expect("JSON");
    assert_eq!(includes, ["pyproject.toml", "uv.lock", ".python-version"]);

    // A packaged project gets no such copy: its code is in the venv.
    let packaged = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    assert!(!ops(packaged.result_definition())
        .iter()
        .any(|(d, _)| name_of(packaged.result_definition(), d)
            .contains("copy build context to /app (")));
}

#[test]
fn a_project_that_is_not_a_package_gets_no_default_command_from_scripts_uv_never_installs() {
    let mut bridge = FakeBridge::with_project(APP_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        format!("{t}\n[project.scripts]\nhello-app = \"main:main\"\n")
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    let config = bridge.returned_config().expect("a config");
    assert_eq!(
        config["config"]["Cmd"],
        serde_json::json!(["python3"]),
        "the base image's command, not a script uv skips"
    );
    // Without a .dockerignore, all of the context would go into the image: the build says so.
    let mut unignored = FakeBridge::with_project(APP_EXAMPLE, EXAMPLE_SPEC);
    unignored.remove_context_file(".dockerignore");
    run(&mut unignored, &opts());
    assert!(unignored
        .warnings
        .iter()
        .any(|w| w.short.starts_with("ContextInImage: the runtime image gets the build context at /app and there is no .dockerignore")));
    assert!(bridge
        .warnings
        .iter()
        .all(|w| !w.short.starts_with("ContextInImage")));
    // And the build says so.
    assert!(
        bridge.warnings.iter().any(|w| w.short.starts_with(
            "NoCommand: [run] command is not set and the project has no single console script"
        )),
        "{:?}",
        bridge.warnings
    );
    let packaged = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    assert!(packaged
        .warnings
        .iter()
        .all(|w| !w.short.starts_with("NoCommand")));
}

#[test]
fn a_workspace_whose_root_is_not_a_package_syncs_its_members_from_their_directories() {
    let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("uv.lock", |lock| {
        assert!(lock.contains("source = { editable = \".\" }"));
        lock.replace(
            "source = { editable = \".\" }",
            "source = { virtual = \".\" }",
        )
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    // Phase 2 gets the root's project files and the member, whose module stands in empty.
    let includes: Vec<String> =
        serde_json::from_str(&context_source(def).attrs["local.includepattern"]).expect("JSON");
    assert_eq!(
        includes,
        [
            "pyproject.toml",
            "uv.lock",
            ".python-version",
            "packages/greeter"
        ]
    );
    // The runtime image: the context without the member's module, which has its own layer.
    let (_, source) = vertex(def, "load the build context for /app");
    let Some(pb::op::Op::Source(source)) = source.op else {
        panic!("a source")
    };
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    assert_eq!(
        excludes.last().map(String::as_str),
        Some("packages/greeter/src/greeter")
    );
    vertex(
        def,
        "[runtime 3/3] copy packages/greeter/src/greeter from the build context to /app/packages/greeter/src/greeter",
    );
}

#[test]
fn projects_whose_modules_cannot_be_copied_alone_are_installed_as_wheels() {
    let member = "packages/greeter/pyproject.toml";
    let member_text =
        std::fs::read_to_string(format!("{WORKSPACE_EXAMPLE}/{member}")).expect("member");
    let with_backend_settings = |settings: &str| {
        member_text.replace(
            "[build-system]",
            &format!("[tool.uv.build-backend]\n{settings}\n\n[build-system]"),
        )
    };
    // maturin builds extension modules: its editable install is not a path to copy beside.
    let maturin = {
        let start = member_text.find("[build-system]").expect("a build system");
        format!(
            "{}[build-system]\nrequires = [\"maturin\"]\nbuild-backend = \"maturin\"\n",
            &member_text[..start]
        )
    };
    struct Case {
        why: &'static str,
        spec: String,
        opts: Vec<(&'static str, &'static str)>,
        member: String,
    }
    let cases = vec![
        Case {
            why: "the spec asks for it",
            spec: format!("{EXAMPLE_SPEC}[sync]\nno-editable = true\n"),
            opts: vec![],
            member: member_text.clone(),
        },
        Case {
            why: "the dev image keeps the whole project",
            spec: EXAMPLE_SPEC.to_string(),
            opts: vec![("target", "dev")],
            member: member_text.clone(),
        },
        Case {
            why: "a backend whose editable install is no path builds a member",
            spec: EXAMPLE_SPEC.to_string(),
            opts: vec![],
            member: maturin,
        },
        Case {
            why: "a namespace package",
            spec: EXAMPLE_SPEC.to_string(),
            opts: vec![],
            member: with_backend_settings("namespace = true"),
        },
        Case {
            why: "data directories",
            spec: EXAMPLE_SPEC.to_string(),
            opts: vec![],
            member: with_backend_settings("data = { scripts = \"scripts\" }"),
        },
    ];
    for Case {
        why,
        spec,
        opts: extra,
        member: member_pyproject,
    } in cases
    {
        let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, &spec);
        bridge.set_context_file(member, &member_pyproject);
        let mut o = opts();
        for (k, v) in extra {
            o.opts.insert(k.to_string(), v.to_string());
        }
        run(&mut bridge, &o);
        bridge.assert_built();
        let def = bridge.result_definition();
        let (_, phase2) = vertex(def, "[project 2/2] uv sync");
        assert!(
            uv_command(&phase2).contains(&"--no-editable".to_string()),
            "{why}"
        );
        let (_, copy) = vertex(def, "[project 1/2] copy build context to /app");
        let Some(pb::op::Op::File(file)) = &copy.op else {
            panic!("a file op")
        };
        assert_eq!(file.actions.len(), 1, "{why}: the context alone");
        assert!(
            !ops(def)
                .iter()
                .any(|(d, _)| name_of(def, d).contains("from the build context")),
            "{why}: no module copied on its own"
        );
    }
}

#[test]
fn a_path_dependency_is_skipped_by_phase_one_and_left_to_phase_two() {
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let fixture = concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/tests/fixtures/plain-with-path-dep"
    );
    for file in ["pyproject.toml", "uv.lock", "libs/helper/pyproject.toml"] {
        let text = std::fs::read_to_string(format!("{fixture}/{file}")).expect("fixture");
        bridge.set_context_file(file, &text);
    }
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    // `--no-install-project` would make uv look for the path dependency's sources, which
    // phase 1 does not have.
    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(
        uv_command(&deps),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-install-local",
            "--no-dev"
        ]
    );
    // uv builds a path dependency as a wheel whatever the mode, from the context phase 2 has;
    // the project itself is installed editable, its module copied on its own.
    let (_, phase2) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&phase2),
        ["/opt/uv-frontend/uv", "sync", "--locked", "--no-dev"]
    );
    let excludes: Vec<String> =
        serde_json::from_str(&context_source(def).attrs["local.excludepatterns"]).expect("JSON");
    assert_eq!(excludes.last().map(String::as_str), Some("src/hello_uv"));
    assert!(
        !excludes.iter().any(|e| e.starts_with("libs")),
        "phase 2 has the path dependency's sources: {excludes:?}"
    );
    vertex(
        def,
        "[runtime 3/3] copy src/hello_uv from the build context to /app/src/hello_uv",
    );
}

#[test]
fn a_module_left_out_of_the_context_is_named_with_the_fix() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "src\n");
    // What BuildKit 0.13 says when the module's copy finds nothing at its path.
    bridge.build_error = Some(
        "failed to compute cache key: failed to calculate checksum of ref 78fd::yid9: failed to walk /var/lib/docker/tmp/buildkit-mount385/src: lstat /var/lib/docker/tmp/buildkit-mount385/src: no such file or directory".into(),
    );
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("fails");
    assert_eq!(
        status.message,
        "uv.build:1: src/hello_uv, the module uv's build backend installs for the project, is not in the build context, so it cannot be copied to the image (fix: if the module has another name or place, set module-name or module-root in [tool.uv.build-backend] of pyproject.toml; if .dockerignore excludes it, make it keep it)"
    );

    // Any other failure to compute a cache key is left as BuildKit says it.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let other = "failed to compute cache key: failed to calculate checksum of ref x: \"/etc/missing\": not found";
    bridge.build_error = Some(other.into());
    run(&mut bridge, &opts());
    let status = bridge.returned_error().expect("fails");
    assert_eq!(status.message, format!("uv.build:1: {other}"));
}

#[test]
fn a_selected_member_gets_its_own_modules_and_not_its_neighbours() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\npackage = \"greeter\"\n");
    let bridge = build(WORKSPACE_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();
    let copied: Vec<String> = ops(def)
        .iter()
        .map(|(d, _)| name_of(def, d).to_string())
        .filter(|n| n.starts_with("[runtime ") && n.contains("from the build context"))
        .collect();
    // `uv sync --package greeter` installs greeter (and what it needs), not the root app.
    assert_eq!(
        copied,
        ["[runtime 3/3] copy packages/greeter/src/greeter from the build context to /app/packages/greeter/src/greeter"]
    );
    // The rest of the context is there too, less the neighbour's module.
    let (_, context) = vertex(def, "[runtime 2/3] copy build context to /app");
    let local = ops(def)
        .into_iter()
        .find(|(d, _)| *d == context.inputs[0].digest)
        .expect("the context's source")
        .1;
    let Some(pb::op::Op::Source(source)) = &local.op else {
        panic!("a local source")
    };
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    assert!(excludes.contains(&"src/ws_app".to_string()), "{excludes:?}");
    assert!(excludes.contains(&"packages/greeter/src/greeter".to_string()));
    let (_, phase2) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&phase2),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--locked",
            "--package",
            "greeter",
            "--no-dev"
        ]
    );

    // Without a selection the root app is installed, and the member it depends on.
    let bridge = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    for module in ["packages/greeter/src/greeter", "src/ws_app"] {
        vertex(def, &format!("load {module} from the build context"));
    }
}

#[test]
fn past_the_module_layer_cap_a_workspace_gets_no_module_layers_and_is_installed_as_wheels() {
    // Each module copied as it is would be a layer: a big workspace would pass Docker's layer
    // limit (a run of the image fails with "max depth exceeded").
    let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    let mut lock = String::from_utf8(bridge.locals["context"]["uv.lock"].clone()).expect("text");
    // The root depends on every member, so that the sync installs them all.
    let members: Vec<String> = (0..uv_frontend::settings::MODULE_LAYERS_MAX)
        .map(|n| format!("    {{ name = \"member{n}\" }},\n"))
        .collect();
    lock = lock.replacen(
        "dependencies = [\n    { name = \"greeter\" },\n]",
        &format!(
            "dependencies = [\n    {{ name = \"greeter\" }},\n{}]",
            members.concat()
        ),
        1,
    );
    for n in 0..uv_frontend::settings::MODULE_LAYERS_MAX {
        let name = format!("member{n}");
        bridge.set_context_file(
            &format!("packages/{name}/pyproject.toml"),
            &format!("[project]\nname = \"{name}\"\nversion = \"0.1.0\"\nrequires-python = \">=3.11\"\n\n[build-system]\nrequires = [\"uv_build>=0.9,<0.14\"]\nbuild-backend = \"uv_build\"\n"),
        );
        bridge.set_context_file(&format!("packages/{name}/src/{name}/__init__.py"), "");
        lock.push_str(&format!(
            "\n[[package]]\nname = \"{name}\"\nversion = \"0.1.0\"\nsource = {{ editable = \"packages/{name}\" }}\n"
        ));
    }
    bridge.set_context_file("uv.lock", &lock);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let module_layers = ops(def)
        .iter()
        .filter(|(d, _)| name_of(def, d).contains("from the build context to /app/"))
        .count();
    assert_eq!(module_layers, 0);
    let (_, phase2) = vertex(def, "[project 2/2] uv sync");
    assert!(uv_command(&phase2).contains(&"--no-editable".to_string()));
}

#[test]
fn a_members_image_gives_its_project_phase_no_other_members_modules() {
    // [sync] package = "greeter": the root app is not installed, so editing its module must not
    // rerun greeter's project phase (nor rewrite greeter's layers).
    let spec = format!("{EXAMPLE_SPEC}[sync]\npackage = \"greeter\"\n");
    let bridge = build(WORKSPACE_EXAMPLE, &spec);
    bridge.assert_built();
    let def = bridge.result_definition();
    let excludes: Vec<String> =
        serde_json::from_str(&context_source(def).attrs["local.excludepatterns"]).expect("JSON");
    assert!(excludes.contains(&"src/ws_app".to_string()), "{excludes:?}");
    assert!(
        excludes.contains(&"packages/greeter/src/greeter".to_string()),
        "greeter's own module is a stand-in: {excludes:?}"
    );
    // The whole workspace installs both: only the stand-ins' modules are left out.
    let bridge = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    let excludes: Vec<String> = serde_json::from_str(
        &context_source(bridge.result_definition()).attrs["local.excludepatterns"],
    )
    .expect("JSON");
    assert_eq!(
        excludes.iter().filter(|e| e.contains("src/")).count(),
        2,
        "{excludes:?}"
    );
}
