//! The whole frontend flow against a fake LLBBridge: what it reads, what it solves, what it
//! Returns, and the cache properties of the definition it builds.

mod support;

use support::*;
use uv_frontend::gateway::status::SOURCE_DETAIL_TYPE;
use uv_frontend::llb::pb;

/// The build context's source op.
/// The build context as the project phase loads it (the runtime loads each module on its own).
fn context_source(def: &pb::Definition) -> pb::SourceOp {
    let (_, op) = vertex(def, "load build context");
    match op.op {
        Some(pb::op::Op::Source(s)) if s.identifier == "local://context" => s,
        other => panic!("not the context: {other:?}"),
    }
}

fn build(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, spec);
    run(&mut bridge, &opts());
    bridge
}

/// [`build`] on a BuildKit without MergeOp and DiffOp (the classic image store): phase 1 is one
/// `uv sync` into a venv kept on a cache mount.
fn build_kept_venv(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::without_mergeop(project, spec);
    run(&mut bridge, &opts());
    bridge
}

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
fn plain_project_builds_a_two_phase_sync_and_a_runtime_stage() {
    let bridge = build_kept_venv(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    let def = bridge.result_definition();

    let (_, deps_op) = vertex(def, "[deps 2/2] uv sync");
    let deps = exec(&deps_op);
    let meta = deps.meta.as_ref().expect("meta");
    assert_eq!(
        uv_command(&deps_op),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-install-project",
            "--no-dev"
        ],
        "phase 1 sees normalized files, so it cannot check the lock: --frozen"
    );
    assert_eq!(
        meta.user, "0",
        "sync steps run as root whatever the image's USER"
    );
    assert_eq!(meta.cwd, "/app");

    let (_, project) = vertex(
        def,
        "[project 2/2] uv sync --locked --no-dev, then bytecode",
    );
    assert_eq!(
        uv_command(&project),
        ["/opt/uv-frontend/uv", "sync", "--locked", "--no-dev"],
        "phase 2 checks the real lock; the project is installed editable, its module beside it"
    );
    let meta = exec(&project).meta.clone().expect("meta");
    assert!(meta.env.contains(&"UV_COMPILE_BYTECODE=0".to_string()));
    // Then, in the same step, bytecode and no o+w files for what the sync wrote.
    let (script, args) = script_of(def, &project, "sync-then-finish");
    assert!(script.contains("find \"$venv\" -cnewer \"$work/marker\""));
    assert_eq!(args[..2], ["/app/.venv", "1"]);
    assert!(script_file(def, &project, "finish.py").contains("compileall.compile_file"));
}

#[test]
fn every_sync_step_uses_the_spec_cache_mount_and_uv_cache_dir() {
    let spec = format!(
        "{EXAMPLE_SPEC}[cache]\nid = \"team-uv\"\ndir = \"/var/cache/uv\"\nsharing = \"locked\"\n"
    );
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let def = bridge.result_definition();
    let syncs: Vec<_> = ops(def)
        .into_iter()
        .filter(|(d, _)| {
            let name = name_of(def, d);
            name.contains("uv sync") || name.contains("uv pip install")
        })
        .collect();
    // The project phase, and the one package phase 1 installs on its own.
    assert_eq!(syncs.len(), 2);
    for (_, op) in &syncs {
        let exec = exec(op);
        let caches: Vec<&pb::Mount> = exec
            .mounts
            .iter()
            .filter(|m| m.mount_type == pb::MountType::Cache as i32)
            .collect();
        let caches: Vec<&pb::Mount> = caches
            .into_iter()
            .filter(|m| m.dest != "/uv-frontend/venv-cache")
            .collect();
        assert_eq!(caches.len(), 1, "one uv cache");
        assert_eq!(caches[0].dest, "/var/cache/uv");
        let opt = caches[0].cache_opt.as_ref().expect("cache opt");
        assert_eq!(opt.id, "team-uv");
        assert_eq!(opt.sharing, pb::CacheSharingOpt::Locked as i32);
        let env = &exec.meta.as_ref().expect("meta").env;
        assert!(
            env.contains(&"UV_CACHE_DIR=/var/cache/uv".to_string()),
            "{env:?}"
        );
        assert!(env.contains(&"UV_LINK_MODE=copy".to_string()));
        assert!(env.iter().any(|e| e.starts_with("UV_COMPILE_BYTECODE=")));
        assert!(env.contains(&"UV_PYTHON_DOWNLOADS=never".to_string()));
        // The builder image's own environment is kept.
        assert!(env.contains(&"LANG=C.UTF-8".to_string()));
    }
}

#[test]
fn workspace_phase_one_is_frozen_and_skips_every_member() {
    let bridge = build_kept_venv(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(
        uv_command(&deps),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-install-workspace",
            "--no-dev"
        ]
    );
    let (_, project) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&project)[2],
        "--locked",
        "phase 2 still checks the lock"
    );
    let config = bridge.returned_config().expect("a config");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["ws-app"]));
}

#[test]
fn workspace_members_dependencies_are_units_and_members_are_left_to_phase_two() {
    let bridge = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    let def = bridge.result_definition();
    let installs: Vec<String> = ops(def)
        .iter()
        .map(|(d, _)| name_of(def, d).to_string())
        .filter(|name| name.contains("uv pip install"))
        .collect();
    // greeter (a member) depends on six; ws-app and greeter are built by phase 2.
    assert_eq!(installs, ["[deps 1/1] uv pip install six==1.17.0"]);
}

#[test]
fn phase_one_digest_ignores_sources_and_follows_the_lock() {
    let deps_digest = |bridge: &FakeBridge| vertex(bridge.result_definition(), "[deps 2/2]").0;
    let base = build_kept_venv(PLAIN_EXAMPLE, EXAMPLE_SPEC);

    let mut edited = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    edited.set_context_file(
        "src/hello_uv/__init__.py",
        "def main():\n    print('edited')\n",
    );
    run(&mut edited, &opts());
    assert_eq!(deps_digest(&base), deps_digest(&edited));

    let mut relocked = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let lock = String::from_utf8(relocked.locals["context"]["uv.lock"].clone()).expect("utf-8");
    relocked.set_context_file("uv.lock", &lock.replace("3.20", "3.21"));
    run(&mut relocked, &opts());
    assert_ne!(deps_digest(&base), deps_digest(&relocked));
}

#[test]
fn same_inputs_give_byte_identical_definitions() {
    use prost::Message;
    let a = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let b = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    assert_eq!(
        a.result_definition().encode_to_vec(),
        b.result_definition().encode_to_vec()
    );
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

fn file_copy(op: &pb::Op) -> &pb::FileActionCopy {
    let Some(pb::op::Op::File(file)) = &op.op else {
        panic!("not a file op: {op:?}")
    };
    let Some(pb::file_action::Action::Copy(copy)) = &file.actions[0].action else {
        panic!("not a copy")
    };
    copy
}

fn owner_ids(copy: &pb::FileActionCopy) -> (u32, u32) {
    let owner = copy.owner.as_ref().expect("an owner");
    let id = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => *id,
        other => panic!("not a numeric owner: {other:?}"),
    };
    (id(&owner.user), id(&owner.group))
}

/// A definition's ops by digest.
type Ops = std::collections::BTreeMap<String, pb::Op>;

#[test]
fn runtime_stacks_base_dependency_and_project_layers() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    let marshalled_result = result_digest(def);
    // The image: the runtime without the project's files (a merge of its own, which the
    // interpreter check runs on), then the project's venv files, the build context at the
    // workdir and its module, each a layer.
    let image = &all[&marshalled_result];
    let Some(pb::op::Op::Merge(m)) = &image.op else {
        panic!("the runtime is a MergeOp: {image:?}")
    };
    assert_eq!(m.inputs.len(), 4);
    let (deps_merge_digest, _) = vertex(def, "[runtime-deps] stack layers");
    assert_eq!(image.inputs[0].digest, deps_merge_digest);
    let merge = &all[&deps_merge_digest];
    let Some(pb::op::Op::Merge(m)) = &merge.op else {
        panic!("the runtime without the project is a MergeOp: {merge:?}")
    };
    assert_eq!(m.inputs.len(), 2);
    // The interpreter check runs on that very merge: inside the image's graph, it is a result
    // a registry cache of the image holds, so a fresh CI runner loads nothing more for it.
    let check = bridge
        .solved
        .iter()
        .map(|(d, _)| d)
        .find(|d| {
            ops(d)
                .iter()
                .any(|(digest, _)| name_of(d, digest).starts_with("[check]"))
        })
        .expect("the interpreter check");
    let (_, check_op) = vertex(check, "[check]");
    assert_eq!(check_op.inputs[0].digest, deps_merge_digest);
    assert_user_layer(def, &all, merge);
    let idna_layer = assert_idna_unit_layer(def, &all, merge);
    let project_base = assert_project_phase_stacks_the_context(def, &all, &idna_layer);
    assert_project_layer(def, &all, image, &project_base);
    assert_context_and_module_layers(&all, image);
}

/// 1: the base image with the user added to its account files.
fn assert_user_layer(def: &pb::Definition, all: &Ops, merge: &pb::Op) {
    let input = |i: usize| &all[&merge.inputs[i].digest];
    let (user_digest, _) = vertex(def, "[runtime-deps 1/2] add user app (10001:10001)");
    assert_eq!(merge.inputs[0].digest, user_digest);
    let Some(pb::op::Op::File(add_user)) = &input(0).op else {
        panic!("account files are a file op")
    };
    let Some(pb::file_action::Action::Mkdir(etc)) = &add_user.actions[0].action else {
        panic!("/etc is made first, for a base without one")
    };
    assert_eq!((etc.path.as_str(), etc.make_parents), ("/etc", true));
    let Some(pb::file_action::Action::Mkfile(passwd)) = &add_user.actions[1].action else {
        panic!("passwd is written")
    };
    assert_eq!(passwd.path, "/etc/passwd");
    assert!(String::from_utf8_lossy(&passwd.data)
        .ends_with("app:x:10001:10001::/home/app:/usr/sbin/nologin\n"));
}

/// 2: idna, what its step left in the venv, copied onto scratch; returns the layer's digest.
fn assert_idna_unit_layer(def: &pb::Definition, all: &Ops, merge: &pb::Op) -> String {
    let input = |i: usize| &all[&merge.inputs[i].digest];
    // 2: idna, what its step (`uv venv`, then the install) left in the venv (an empty mount of
    // its own: the venv's files alone, no DiffOp), copied onto scratch at the venv's path.
    let (idna_layer, _) = vertex(def, "[deps 1/1] layer: idna");
    assert_eq!(merge.inputs[1].digest, idna_layer);
    let idna_copy = file_copy(input(1));
    assert_eq!(
        (idna_copy.src.as_str(), idna_copy.dest.as_str()),
        ("/", "/app/.venv")
    );
    assert_eq!(owner_ids(idna_copy), (10001, 10001));
    let (install, install_op) = vertex(def, "[deps 1/1] uv pip install idna==");
    let venv_mount = exec(&install_op)
        .mounts
        .iter()
        .find(|m| m.dest == "/app/.venv")
        .expect("the venv is a mount of its own");
    assert_eq!(
        (venv_mount.input, venv_mount.readonly),
        (-1, false),
        "an empty, writable mount"
    );
    assert_eq!(input(1).inputs[0].digest, install, "the install's result");
    assert_eq!(
        input(1).inputs[0].index,
        venv_mount.output,
        "what the venv's mount holds"
    );
    let script = &exec(&install_op).meta.as_ref().expect("meta").args[2];
    assert!(
        script.contains("/uv venv --quiet /app/.venv --python \"$3\" && "),
        "{script}"
    );
    assert!(
        ops(def)
            .iter()
            .all(|(d, _)| !name_of(def, d).contains("uv venv")),
        "no step of its own makes the empty venv"
    );
    idna_layer
}

/// Phase 2's input: the builder, the unit layers and the context's copy in one MergeOp; returns
/// that merge's digest.
fn assert_project_phase_stacks_the_context(
    def: &pb::Definition,
    all: &Ops,
    idna_layer: &str,
) -> String {
    // Phase 2 runs on the builder with the same layers and the context's copy stacked on, in
    // one MergeOp (the context is no step after the dependencies).
    let (project_base, project_merge) = vertex(def, "[project] stack layers");
    let (context_layer, _) = vertex(def, "[project 1/2] copy build context to /app");
    let stacked: Vec<&str> = project_merge
        .inputs
        .iter()
        .map(|i| i.digest.as_str())
        .collect();
    assert_eq!(stacked[1..], [idna_layer, context_layer.as_str()]);
    let Some(pb::op::Op::Source(builder)) = &all[stacked[0]].op else {
        panic!("the builder image first")
    };
    assert!(builder
        .identifier
        .starts_with("docker-image://127.0.0.1:5000/python:3.11-bookworm@"));
    let context_copy = file_copy(&all[&context_layer]);
    assert_eq!(
        (context_copy.src.as_str(), context_copy.dest.as_str()),
        ("/", "/app")
    );
    assert_eq!(all[&context_layer].inputs.len(), 1, "copied onto scratch");
    project_base
}

/// 3: the project's files, a DiffOp of phase 2 over its input.
fn assert_project_layer(def: &pb::Definition, all: &Ops, image: &pb::Op, project_base: &str) {
    // 3: the project's files: what phase 2 changed over what it ran on (a DiffOp).
    let project_copy = &all[&image.inputs[1].digest];
    assert_eq!(owner_ids(file_copy(project_copy)), (10001, 10001));
    let diff = &all[&project_copy.inputs[0].digest];
    let Some(pb::op::Op::Diff(_)) = &diff.op else {
        panic!("the project layer comes from a DiffOp: {diff:?}")
    };
    let (compiled, _) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        diff.inputs[0].digest, project_base,
        "lower: phase 1 and the context"
    );
    assert_eq!(
        diff.inputs[1].digest, compiled,
        "upper: phase 2 with bytecode"
    );
}

/// 4 and 5: the build context at the workdir less the module, and the module, each onto nothing.
fn assert_context_and_module_layers(all: &Ops, image: &pb::Op) {
    // 4: the build context at the workdir, less the module (a layer of its own), onto nothing.
    let context_copy = &all[&image.inputs[2].digest];
    let copy = file_copy(context_copy);
    assert_eq!((copy.src.as_str(), copy.dest.as_str()), ("/", "/app"));
    assert_eq!(owner_ids(copy), (10001, 10001));
    let local = &all[&context_copy.inputs[0].digest];
    let Some(pb::op::Op::Source(source)) = &local.op else {
        panic!("the context layer is copied from the local source: {local:?}")
    };
    let excluded = &source.attrs["local.excludepatterns"];
    assert!(excluded.contains("src/hello_uv") && excluded.contains(".venv"));

    // 5: the module, from the build context, onto nothing.
    let module_copy = &all[&image.inputs[3].digest];
    let copy = file_copy(module_copy);
    assert_eq!(
        (copy.src.as_str(), copy.dest.as_str()),
        ("/src/hello_uv", "/app/src/hello_uv")
    );
    assert_eq!(owner_ids(copy), (10001, 10001));
    assert_eq!(module_copy.inputs.len(), 1, "copied onto scratch");
}

#[test]
fn without_mergeop_the_layers_are_copied_in_turn_and_phase_two_collects_the_project_layer() {
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    assert!(all.values().all(|op| !matches!(
        op.op,
        Some(pb::op::Op::Merge(_)) | Some(pb::op::Op::Diff(_))
    )));
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (deps_copy, deps) = vertex(
        def,
        "[runtime-deps 2/2] copy /app/.venv dependencies from deps",
    );
    let (project_digest, project) = vertex(
        def,
        "[runtime 1/3] copy /app/.venv project files from project",
    );
    let (context_digest, context) = vertex(def, "[runtime 2/3] copy build context to /app");
    let (_, module) = vertex(
        def,
        "[runtime 3/3] copy src/hello_uv from the build context to /app/src/hello_uv",
    );
    assert_eq!(context.inputs[0].digest, project_digest, "then the context");
    assert_eq!(
        module.inputs[0].digest, context_digest,
        "then the module, as the last layer"
    );
    assert_eq!(
        deps.inputs[0].digest, user,
        "dependencies are copied onto the base"
    );
    assert_eq!(
        project.inputs[0].digest, deps_copy,
        "then the project's files"
    );
    assert_eq!(owner_ids(file_copy(&project)), (10001, 10001));

    // The project's files come from phase 2's own output mount, where it collected what it
    // wrote: not from its rootfs (the whole venv), and with no second step walking the venv.
    let written = &project.inputs[1];
    let (phase2_digest, phase2_op) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(written.digest, phase2_digest);
    let phase2 = exec(&phase2_op);
    let out = phase2
        .mounts
        .iter()
        .find(|m| m.dest == "/uv-frontend/written")
        .expect("an output mount");
    assert_eq!(written.index, out.output);
    assert_eq!(out.input, -1, "it starts empty");
    assert!(!out.readonly);
    let (_, args) = script_of(def, &phase2_op, "sync-then-finish");
    assert_eq!(
        args[2], "/uv-frontend/written",
        "the script collects into it"
    );
    assert!(
        !all.keys().any(|d| name_of(def, d).contains("compare")),
        "no compare step"
    );
}

#[test]
fn the_runtime_chain_never_runs_uv_nor_mounts_its_cache() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    let (user_digest, _) = vertex(def, "[runtime-deps 1/2] add user");
    let mut digest = user_digest;
    loop {
        let op = &all[&digest];
        assert!(
            !matches!(op.op, Some(pb::op::Op::Exec(_))),
            "nothing runs in the runtime image"
        );
        match op.inputs.first() {
            Some(input) => digest = input.digest.clone(),
            None => break,
        }
    }
    let Some(pb::op::Op::Source(base)) = &all[&digest].op else {
        panic!("the runtime chain starts at an image")
    };
    let image = "127.0.0.1:5000/python:3.11-bookworm";
    assert_eq!(
        base.identifier,
        format!("docker-image://{image}@{}", image_digest(image))
    );
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

#[test]
fn dependency_phase_ignores_tool_tables_descriptions_and_version_bumps() {
    let deps_digest = |bridge: &FakeBridge| vertex(bridge.result_definition(), "[deps 2/2]").0;
    let base = build_kept_venv(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let pyproject =
        String::from_utf8(base.locals["context"]["pyproject.toml"].clone()).expect("utf-8");
    let lock = String::from_utf8(base.locals["context"]["uv.lock"].clone()).expect("utf-8");
    let with = |pyproject: String, lock: String| {
        let mut b = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
        b.set_context_file("pyproject.toml", &pyproject);
        b.set_context_file("uv.lock", &lock);
        run(&mut b, &opts());
        assert!(b.returned_error().is_none(), "{:?}", b.returned_error());
        deps_digest(&b)
    };
    let bumped_lock = lock.replacen(
        "name = \"hello-uv\"\nversion = \"0.1.0\"",
        "name = \"hello-uv\"\nversion = \"0.2.0\"",
        1,
    );
    assert_ne!(bumped_lock, lock, "the lock records the project's version");
    for (what, p, l) in [
        (
            "[tool.ruff]",
            format!("{pyproject}\n[tool.ruff]\nline-length = 88\n"),
            lock.clone(),
        ),
        (
            "description",
            pyproject.replace(
                "Minimal uv-managed example project",
                "A rewritten description of the example",
            ),
            lock.clone(),
        ),
        (
            "version bump",
            pyproject.replace("version = \"0.1.0\"", "version = \"0.2.0\""),
            bumped_lock,
        ),
    ] {
        assert_eq!(with(p, l), deps_digest(&base), "{what} reran phase 1");
    }
    let new_dependency = pyproject.replace("\"idna>=3.7\"", "\"idna>=3.7\", \"six\"");
    assert_ne!(new_dependency, pyproject);
    assert_ne!(with(new_dependency, lock), deps_digest(&base));
}

#[test]
fn the_project_phase_and_the_image_copy_the_context_from_one_local_source() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let (_, project) = vertex(def, "[project 1/2] copy build context");
    let (_, image) = vertex(def, "[runtime 2/3] copy build context");
    assert_eq!(project.inputs[0].digest, image.inputs[0].digest);
    let whole_context = ops(def)
        .iter()
        .filter(|(_, op)| match &op.op {
            Some(pb::op::Op::Source(s)) => {
                s.identifier == "local://context"
                    && !s.attrs.contains_key("local.includepattern")
                    && !s.attrs.contains_key("local.includepatterns")
            }
            _ => false,
        })
        .count();
    assert_eq!(whole_context, 1, "the whole context is sent once");
}

#[test]
fn context_copy_never_takes_a_host_venv_and_honours_dockerignore() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "# local junk\n/build\n*.log\n");
    run(&mut bridge, &opts());
    let def = bridge.result_definition();
    let source = context_source(def);
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    // The module is not part of the project phase's input: it is copied to the image on its own.
    // Nor is a checkout's bytecode, as for the image's copy of the context.
    assert_eq!(
        excludes,
        [
            "build",
            "*.log",
            ".venv",
            "**/.venv",
            "uv.build",
            "uv.build.dockerignore",
            ".dockerignore",
            "**/__pycache__",
            "**/*.pyc",
            "**/*.pyo",
            ".git",
            "src/hello_uv"
        ]
    );
    assert_eq!(source.attrs["local.session"], "session-1");
}

#[test]
fn cache_imports_are_passed_to_the_solve() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut opts = opts();
    opts.opts.insert(
        "cache-imports".into(),
        r#"[{"Type":"registry","Attrs":{"ref":"127.0.0.1:5000/cache:plain"}}]"#.into(),
    );
    run(&mut bridge, &opts);
    let imports = &bridge.solved.last().expect("solved").1;
    assert_eq!(imports.len(), 1);
    assert_eq!(imports[0].kind, "registry");
    assert_eq!(imports[0].attrs["ref"], "127.0.0.1:5000/cache:plain");
}

fn source_detail(bridge: &FakeBridge) -> serde_json::Value {
    let status = bridge.returned_error().expect("the build failed");
    let detail = status
        .details
        .iter()
        .find(|d| d.type_url == SOURCE_DETAIL_TYPE)
        .expect("a source location");
    serde_json::from_slice(&detail.value).expect("JSON")
}

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
fn proxy_build_args_reach_sync_steps_outside_their_env() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut opts = opts();
    opts.opts
        .insert("build-arg:HTTPS_PROXY".into(), "http://proxy:3128".into());
    run(&mut bridge, &opts);
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[deps 1/1] uv pip install idna");
    let meta = exec(&deps).meta.clone().expect("meta");
    assert_eq!(
        meta.proxy_env.expect("proxy").https_proxy,
        "http://proxy:3128"
    );
    assert!(!meta.env.iter().any(|e| e.contains("proxy:3128")));
}

/// The value `--no-cache` puts into a sync step's environment, if any.
fn rerun_value(op: &pb::Op) -> Option<String> {
    let env = &exec(op).meta.as_ref().expect("meta").env;
    env.iter()
        .find_map(|e| e.strip_prefix(&format!("{}=", uv_frontend::lower::RERUN_ENV)))
        .map(str::to_string)
}

#[test]
fn no_cache_marks_every_step_but_the_syncs_which_take_a_per_build_value_and_the_filter_only_its_stages(
) {
    let mut all = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert("no-cache".into(), String::new());
    run(&mut all, &o);
    let def = all.result_definition();
    // BuildKit empties the cache mounts of a step marked to ignore the cache: the sync steps
    // rerun by a value unique to the build instead, so the uv cache survives.
    for (digest, op) in ops(def) {
        let name = name_of(def, &digest);
        let syncs = name.contains("uv sync") || name.contains("uv pip install");
        assert_eq!(def.metadata[&digest].ignore_cache, !syncs, "{name}");
        if syncs {
            assert_eq!(
                rerun_value(&op).as_deref(),
                Some(o.session_id.as_str()),
                "{name}"
            );
        }
    }

    let filtered = build_with_opts(PLAIN_EXAMPLE, EXAMPLE_SPEC, &[("no-cache", "project")]);
    let def = filtered.result_definition();
    for (digest, op) in ops(def) {
        let name = name_of(def, &digest);
        let project = name.starts_with("[project ");
        let syncs = name.contains("uv sync") || name.contains("uv pip install");
        assert_eq!(
            def.metadata[&digest].ignore_cache,
            project && !syncs,
            "{name}"
        );
        if syncs {
            assert_eq!(rerun_value(&op).is_some(), project, "{name}");
        }
    }

    let mut cached = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut cached, &opts());
    let def = cached.result_definition();
    assert!(def.metadata.values().all(|m| !m.ignore_cache));
    assert!(sync_steps(def).iter().all(|op| rerun_value(op).is_none()));
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
fn phase_one_keeps_its_venv_on_a_locked_cache_of_its_own() {
    let bridge = build_kept_venv(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    let kept: Vec<&pb::Mount> = exec(&deps)
        .mounts
        .iter()
        .filter(|m| m.dest == "/uv-frontend/venv-cache")
        .collect();
    assert_eq!(kept.len(), 1);
    let opt = kept[0].cache_opt.as_ref().expect("a cache");
    assert!(opt.id.starts_with("uv-venv-"), "{}", opt.id);
    assert_eq!(opt.sharing, pb::CacheSharingOpt::Locked as i32);
    let (script, args) = script_of(def, &deps, "kept-venv-sync");
    assert_eq!(args[0], "/uv-frontend/venv-cache");
    assert!(script.contains("\"$here/mirror.py\""));
    assert!(script_file(def, &deps, "mirror.py").contains("def remove(p)"));

    let kept_id = |extra: &[(&str, &str)]| {
        let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
        let mut o = opts();
        for (k, v) in extra {
            o.opts.insert(k.to_string(), v.to_string());
        }
        run(&mut bridge, &o);
        let (_, deps) = vertex(bridge.result_definition(), "[deps 2/2] uv sync");
        kept_venv_id(&deps)
    };
    // Another platform never restores this venv.
    assert_ne!(kept_id(&[("platform", "linux/arm64")]), opt.id);
    // Nor does a build with SOURCE_DATE_EPOCH, whose bytecode is hash-checked: this venv's
    // records the times of files the image has with other times. Any epoch shares one venv.
    let reproducible = kept_id(&[("build-arg:SOURCE_DATE_EPOCH", "1700000000")]);
    assert_ne!(reproducible, opt.id);
    assert_eq!(
        kept_id(&[("build-arg:SOURCE_DATE_EPOCH", "1800000000")]),
        reproducible
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
fn naming_the_dev_group_drops_no_dev_from_the_syncs() {
    let spec = format!("{EXAMPLE_SPEC}[sync]\ngroup = [\"dev\"]\n");
    let bridge = build_kept_venv(PLAIN_EXAMPLE, &spec);
    bridge.assert_built();
    let (_, deps) = vertex(bridge.result_definition(), "[deps 2/2] uv sync");
    assert_eq!(
        uv_command(&deps),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-install-project",
            "--group",
            "dev"
        ],
        "uv's --no-dev would win over --group dev"
    );
    for sync in sync_steps(bridge.result_definition()) {
        assert!(!uv_command(&sync).contains(&"--no-dev".to_string()));
    }
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
fn a_dockerignore_beside_the_spec_wins_over_the_contexts() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "from-context\n");
    bridge
        .locals
        .get_mut("dockerfile")
        .expect("the spec's local")
        .insert("uv.build.dockerignore".into(), b"from-spec-dir\n".to_vec());
    run(&mut bridge, &opts());
    let def = bridge.result_definition();
    let source = context_source(def);
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    assert_eq!(
        excludes,
        [
            "from-spec-dir",
            ".venv",
            "**/.venv",
            "uv.build",
            "uv.build.dockerignore",
            ".dockerignore",
            "**/__pycache__",
            "**/*.pyc",
            "**/*.pyo",
            ".git",
            "src/hello_uv"
        ]
    );
}

#[test]
fn every_solve_carries_the_cache_imports() {
    // A vertex first solved without them gets no cache keys in BuildKit, and everything built on
    // it then misses the imported cache (found on a fresh containerd-store builder).
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert(
        "cache-imports".into(),
        r#"[{"Type":"registry","Attrs":{"ref":"r/c"}}]"#.into(),
    );
    run(&mut bridge, &o);
    bridge.assert_built();
    assert!(!bridge.solve_imports.is_empty());
    assert!(
        bridge
            .solve_imports
            .iter()
            .all(|imports| imports.len() == 1),
        "{:?}",
        bridge.solve_imports
    );
}

/// A built bigwheels venv as phase 1 leaves it: numpy and pandas with their RECORDs, and small
/// packages beside them.
fn bigwheels_venv() -> std::collections::BTreeMap<String, Vec<u8>> {
    let sp = "app/.venv/lib/python3.11/site-packages";
    let mut files = debian_python_venv();
    for (path, content) in [
        ("numpy/__init__.py", ""),
        ("numpy.libs/libscipy_openblas.so", ""),
        (
            "numpy-2.4.6.dist-info/RECORD",
            "numpy/__init__.py,sha256=a,1\nnumpy.libs/libscipy_openblas.so,sha256=b,2\n\
             numpy-2.4.6.dist-info/RECORD,,\n../../../bin/f2py,sha256=c,3\n",
        ),
        ("pandas/__init__.py", ""),
        (
            "pandas-3.1.1.dist-info/RECORD",
            "pandas/__init__.py,sha256=d,4\npandas-3.1.1.dist-info/RECORD,,\n",
        ),
        ("six.py", ""),
        ("six-1.17.0.dist-info/RECORD", "six.py,,\n"),
        ("_virtualenv.pth", ""),
    ] {
        files.insert(format!("{sp}/{path}"), content.as_bytes().to_vec());
    }
    files.insert("app/.venv/bin/f2py".into(), b"#!python".to_vec());
    files.insert("app/.venv/lib64".into(), link("lib"));
    files
}

/// The exact source paths of a copy file op, in order.
fn copied_paths(op: &pb::Op) -> Vec<String> {
    let Some(pb::op::Op::File(file)) = &op.op else {
        panic!("not a file op: {op:?}")
    };
    file.actions
        .iter()
        .map(|a| match &a.action {
            Some(pb::file_action::Action::Copy(c)) => {
                assert_eq!(c.src, c.dest, "copied to the same path");
                assert!(!c.follow_symlink && !c.allow_wildcard, "an exact path");
                c.src.clone()
            }
            other => panic!("not a copy: {other:?}"),
        })
        .collect()
}

#[test]
fn big_packages_are_copied_in_layers_of_their_own_read_from_the_built_dependency_phase() {
    let mut bridge = FakeBridge::without_mergeop(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    bridge.result_files = bigwheels_venv();
    run(&mut bridge, &opts());
    bridge.assert_built();

    // Phase 1 is solved on its own first: its venv says which files are numpy's and pandas'.
    let first = &bridge.solved[0].0;
    let (terminal, _) = ops(first).pop().expect("an op");
    let (phase1, _) = vertex(first, "[deps 2/2] uv sync");
    assert_eq!(terminal, phase1, "the first solve is the dependency phase");

    // The image: base + user, numpy, pandas, the rest, then the project, each a layer.
    let def = bridge.result_definition();
    let (phase1_in_image, _) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(phase1_in_image, phase1, "the image reuses that very result");
    let sp = "/app/.venv/lib/python3.11/site-packages";
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (numpy_digest, numpy) = vertex(
        def,
        "[runtime-deps 2/2] copy numpy into /app/.venv from deps (a layer of its own)",
    );
    let (pandas_digest, pandas) = vertex(def, "[runtime-deps 2/2] copy pandas into /app/.venv");
    let (rest_digest, rest) = vertex(def, "[runtime-deps 2/2] copy the rest of /app/.venv");
    let (_, project) = vertex(def, "[runtime 1/3] copy /app/.venv project files");
    assert_eq!(numpy.inputs[0].digest, user);
    assert_eq!(pandas.inputs[0].digest, numpy_digest);
    assert_eq!(rest.inputs[0].digest, pandas_digest);
    assert_eq!(project.inputs[0].digest, rest_digest);
    for op in [&numpy, &pandas, &rest] {
        assert_eq!(op.inputs[1].digest, phase1, "copied from phase 1");
    }
    assert_eq!(
        copied_paths(&numpy),
        [
            format!("{sp}/numpy"),
            format!("{sp}/numpy-2.4.6.dist-info"),
            format!("{sp}/numpy.libs")
        ]
    );
    assert_eq!(
        copied_paths(&pandas),
        [
            format!("{sp}/pandas"),
            format!("{sp}/pandas-3.1.1.dist-info")
        ]
    );
    assert_eq!(
        copied_paths(&rest),
        [
            "/app/.venv/bin".to_string(),
            format!("{sp}/_virtualenv.pth"),
            format!("{sp}/six-1.17.0.dist-info"),
            format!("{sp}/six.py"),
            "/app/.venv/lib64".into(),
            "/app/.venv/pyvenv.cfg".into(),
        ]
    );
}

#[test]
fn with_mergeop_each_package_is_installed_on_its_own_and_big_ones_get_layers_of_their_own() {
    let bridge = build(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    assert_eq!(
        bridge.solved.len(),
        2,
        "the image and its check: nothing is read from phase 1 first"
    );
    let def = bridge.result_definition();
    // numpy at the version the lock picks for Python 3.11 (its marker), pinned by its hashes.
    let (_, numpy) = vertex(def, "[deps 1/1] uv pip install numpy==2.4.6");
    let args = &exec(&numpy).meta.as_ref().expect("meta").args;
    // `sh -c <script> uv-frontend <requirement> <index> <python>`
    let requirement = &args[4];
    assert!(
        requirement.starts_with("numpy==2.4.6 --hash=sha256:"),
        "{requirement}"
    );
    assert!(args[2].contains("pip install --no-deps --require-hashes"));
    assert!(ops(def)
        .iter()
        .all(|(d, _)| !name_of(def, d).contains("numpy==2.5")));
    let layer = |label: &str| vertex(def, &format!("[deps 1/1] layer: {label}")).0;
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (_, runtime) = vertex(def, "[runtime-deps] stack layers");
    let inputs: Vec<&str> = runtime.inputs.iter().map(|i| i.digest.as_str()).collect();
    assert_eq!(inputs[..3], [&user, &layer("numpy"), &layer("pandas")]);
    // The small packages share layers; the builder stacks the very same layers (and the
    // context's copy last, for phase 2).
    let (_, project) = vertex(def, "[project] stack layers");
    let last = project.inputs.len() - 1;
    let builder_layers: Vec<&str> = project.inputs[1..last]
        .iter()
        .map(|i| i.digest.as_str())
        .collect();
    assert_eq!(builder_layers, inputs[1..]);
    assert!(inputs.len() > 3);
}

#[test]
fn the_dev_target_reads_no_venv_layout() {
    let bridge = build_with_opts(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC, &[("target", "dev")]);
    bridge.assert_built();
    assert_eq!(
        bridge.solved.len(),
        1,
        "one solve: the dev image, no phase 1 alone"
    );
}

#[test]
fn a_venv_laid_out_otherwise_is_copied_as_one_layer() {
    let mut bridge = FakeBridge::without_mergeop(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    // No lib/python3.X/site-packages to read: the venv is copied whole.
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[runtime-deps 2/2] copy /app/.venv dependencies");
    assert_eq!(file_copy(&deps).src, "/app/.venv");
}

/// The network mode of each sync step: (phase 1, phase 2).
fn sync_networks(bridge: &FakeBridge) -> Vec<i32> {
    sync_steps(bridge.result_definition())
        .iter()
        .map(|sync| exec(sync).network)
        .collect()
}

#[test]
fn the_project_phase_runs_offline_when_uv_build_builds_every_package() {
    let none = pb::NetMode::None as i32;
    let unset = pb::NetMode::Unset as i32;
    // The workspace: the root and its member both use uv_build (the member's pyproject.toml
    // is read from the context for this).
    let bridge = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    assert_eq!(sync_networks(&bridge), [unset, none]);
    let (_, phase2) = vertex(bridge.result_definition(), "[project 2/2] uv sync");
    let env = &exec(&phase2).meta.as_ref().expect("meta").env;
    assert!(env.contains(&"UV_OFFLINE=1".to_string()), "{env:?}");

    // A member built by another backend needs its build dependencies from an index.
    let mut bridge = FakeBridge::with_project(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    let member = "packages/greeter/pyproject.toml";
    let text = std::fs::read_to_string(format!("{WORKSPACE_EXAMPLE}/{member}")).expect("member");
    let start = text.find("[build-system]").expect("a build system");
    bridge.set_context_file(
        member,
        &format!(
            "{}[build-system]\nrequires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"\n",
            &text[..start]
        ),
    );
    run(&mut bridge, &opts());
    bridge.assert_built();
    assert_eq!(sync_networks(&bridge), [unset, unset]);
    let (_, phase2) = vertex(bridge.result_definition(), "[project 2/2] uv sync");
    let env = &exec(&phase2).meta.as_ref().expect("meta").env;
    assert!(!env.iter().any(|e| e.starts_with("UV_OFFLINE")));
}

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
fn sync_commands_are_one_line_the_scripts_are_mounted_files() {
    // BuildKit prints a failed step's whole command line: it must stay readable.
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let syncs = sync_steps(def);
    assert_eq!(syncs.len(), 2);
    for sync in &syncs {
        let args = &exec(sync).meta.as_ref().expect("meta").args;
        assert!(
            args.iter().all(|a| !a.contains('\n') && a.len() < 100),
            "{args:?}"
        );
        let line = args.join(" ");
        assert!(line.len() < 200, "{line}");
        // Each wrapper (secrets from files here, then the kept venv's or the project's) is a
        // file of the mount, run by the shell.
        let wrappers: Vec<&String> = args
            .iter()
            .filter(|a| a.starts_with("/uv-frontend/scripts/"))
            .collect();
        assert!(wrappers.len() >= 2, "{args:?}");
        for path in wrappers {
            let name = &path["/uv-frontend/scripts/".len()..];
            assert!(!script_file(def, sync, name).is_empty(), "{name}");
            let at = args.iter().position(|a| a == path).expect("there");
            assert_eq!(args[at - 1], "/bin/sh");
        }
    }
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
