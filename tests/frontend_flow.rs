//! The whole frontend flow against a fake LLBBridge: what it reads, what it solves, what it
//! Returns, and the cache properties of the definition it builds.

mod support;

use support::*;
use uv_frontend::gateway::status::SOURCE_DETAIL_TYPE;
use uv_frontend::llb::pb;

fn build(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, spec);
    run(&mut bridge, &opts());
    bridge
}

#[test]
fn plain_project_builds_a_two_phase_sync_and_a_runtime_stage() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    assert!(
        bridge.returned_error().is_none(),
        "{:?}",
        bridge.returned_error()
    );
    let def = bridge.result_definition();

    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    let deps = exec(&deps);
    let meta = deps.meta.as_ref().expect("meta");
    assert_eq!(
        meta.args,
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--locked",
            "--no-install-project",
            "--no-dev"
        ]
    );
    assert_eq!(
        meta.user, "0",
        "sync steps run as root whatever the image's USER"
    );
    assert_eq!(meta.cwd, "/app");

    let (_, project) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        exec(&project).meta.as_ref().expect("meta").args,
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--locked",
            "--no-editable",
            "--no-dev"
        ]
    );
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
        .filter(|(d, _)| name_of(def, d).contains("uv sync"))
        .collect();
    assert_eq!(syncs.len(), 2);
    for (_, op) in &syncs {
        let exec = exec(op);
        let caches: Vec<&pb::Mount> = exec
            .mounts
            .iter()
            .filter(|m| m.mount_type == pb::MountType::Cache as i32)
            .collect();
        assert_eq!(caches.len(), 1);
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
        assert!(env.contains(&"UV_COMPILE_BYTECODE=1".to_string()));
        assert!(env.contains(&"UV_PYTHON_DOWNLOADS=never".to_string()));
        // The builder image's own environment is kept.
        assert!(env.contains(&"LANG=C.UTF-8".to_string()));
    }
}

#[test]
fn workspace_phase_one_is_frozen_and_skips_every_member() {
    let bridge = build(WORKSPACE_EXAMPLE, EXAMPLE_SPEC);
    assert!(
        bridge.returned_error().is_none(),
        "{:?}",
        bridge.returned_error()
    );
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(
        exec(&deps).meta.as_ref().expect("meta").args,
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
        exec(&project).meta.as_ref().expect("meta").args[2],
        "--locked",
        "phase 2 still checks the lock"
    );
    let config = bridge.returned_config().expect("a config");
    assert_eq!(config["config"]["Cmd"], serde_json::json!(["ws-app"]));
}

#[test]
fn phase_one_digest_ignores_sources_and_follows_the_lock() {
    let deps_digest = |bridge: &FakeBridge| vertex(bridge.result_definition(), "[deps 2/2]").0;
    let base = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);

    let mut edited = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    edited.set_context_file(
        "src/hello_uv/__init__.py",
        "def main():\n    print('edited')\n",
    );
    run(&mut edited, &opts());
    assert_eq!(deps_digest(&base), deps_digest(&edited));

    let mut relocked = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
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
fn runtime_image_config_puts_the_venv_first_and_runs_as_the_app_user() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let config = bridge.returned_config().expect("a config");
    let c = &config["config"];
    assert_eq!(c["User"], "app");
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
fn runtime_stage_holds_the_venv_but_neither_uv_nor_its_cache() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    // Walk back from the result: the runtime chain is base image -> ensure user -> copy venv.
    let (copy_digest, copy) = vertex(def, "[runtime 2/2]");
    let Some(pb::op::Op::File(file)) = &copy.op else {
        panic!("copy is a file op")
    };
    let Some(pb::file_action::Action::Copy(c)) = &file.actions[0].action else {
        panic!("a copy")
    };
    assert_eq!(
        (c.src.as_str(), c.dest.as_str()),
        ("/app/.venv", "/app/.venv")
    );
    let owner = c.owner.as_ref().expect("owned by the runtime user");
    assert!(matches!(
        owner.user.as_ref().and_then(|u| u.user.as_ref()),
        Some(pb::user_opt::User::ByName(n)) if n.name == "app"
    ));
    // The runtime's own chain (the copy's destination input) never runs uv.
    let mut digest = copy.inputs[0].digest.clone();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    loop {
        let op = &all[&digest];
        if let Some(pb::op::Op::Exec(e)) = &op.op {
            let args = &e.meta.as_ref().expect("meta").args;
            assert!(
                !args.iter().any(|a| a.contains("uv")),
                "uv ran in the runtime: {args:?}"
            );
            assert!(e
                .mounts
                .iter()
                .all(|m| m.mount_type != pb::MountType::Cache as i32));
        }
        match op.inputs.first() {
            Some(input) => digest = input.digest.clone(),
            None => break,
        }
    }
    let Some(pb::op::Op::Source(base)) = &all[&digest].op else {
        panic!("the runtime chain starts at an image")
    };
    assert_eq!(
        base.identifier,
        "docker-image://127.0.0.1:5000/python:3.11-bookworm"
    );
    assert!(!copy_digest.is_empty());
}

#[test]
fn context_copy_never_takes_a_host_venv_and_honours_dockerignore() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", "# local junk\n/build\n*.log\n");
    run(&mut bridge, &opts());
    let def = bridge.result_definition();
    let (_, local) = ops(def)
        .into_iter()
        .find(|(_, op)| {
            matches!(&op.op, Some(pb::op::Op::Source(s)) if s.identifier == "local://context")
        })
        .expect("the context is loaded");
    let Some(pb::op::Op::Source(source)) = &local.op else {
        unreachable!()
    };
    let excludes: Vec<String> =
        serde_json::from_str(&source.attrs["local.excludepatterns"]).expect("JSON");
    assert_eq!(excludes, ["build", "*.log", ".venv", "**/.venv"]);
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
        "uv.build:7: unknown key `extras` in [sync] (fix: did you mean `extra`? [sync] takes: package, extra, all-extras, group, dev, lock, compile-bytecode)"
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
fn unknown_image_fails_naming_the_role_and_image() {
    let spec = EXAMPLE_SPEC.replace("python:3.11-bookworm", "python:9.9");
    let bridge = build(PLAIN_EXAMPLE, &spec);
    let status = bridge.returned_error().expect("an error");
    assert!(
        status
            .message
            .starts_with("the builder image 127.0.0.1:5000/python:9.9 could not be resolved"),
        "{}",
        status.message
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
    let (_, deps) = vertex(def, "[deps 2/2]");
    let meta = exec(&deps).meta.clone().expect("meta");
    assert_eq!(
        meta.proxy_env.expect("proxy").https_proxy,
        "http://proxy:3128"
    );
    assert!(!meta.env.iter().any(|e| e.contains("proxy:3128")));
}

#[test]
fn no_cache_marks_every_vertex_and_no_cache_filter_only_its_stages() {
    let mut all = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert("no-cache".into(), String::new());
    run(&mut all, &o);
    let def = all.result_definition();
    assert!(def.metadata.values().all(|m| m.ignore_cache));

    let mut filtered = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert("no-cache".into(), "project".into());
    run(&mut filtered, &o);
    let def = filtered.result_definition();
    for (digest, _) in ops(def) {
        let name = name_of(def, &digest);
        assert_eq!(
            def.metadata[&digest].ignore_cache,
            name.starts_with("[project "),
            "{name}"
        );
    }

    let mut cached = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut cached, &opts());
    assert!(cached
        .result_definition()
        .metadata
        .values()
        .all(|m| !m.ignore_cache));
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
            .starts_with("uv-frontend hit an internal error (resolver exploded)"),
        "{}",
        status.message
    );
}
