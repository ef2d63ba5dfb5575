//! The two-phase sync against a fake LLBBridge: the commands of phase 1 and phase 2, their
//! cache mounts, network and proxies, what reruns them (lock edits, `--no-cache`, the kept venv)
//! and what does not, the build context they load, and the cache imports every solve carries.

mod support;

use support::flow::*;
use support::*;
use uv_frontend::llb::pb;

/// [`build`] on a BuildKit without MergeOp and DiffOp (the classic image store): phase 1 is one
/// `uv sync` into a venv kept on a cache mount.
fn build_kept_venv(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::without_mergeop(project, spec);
    run(&mut bridge, &opts());
    bridge
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
