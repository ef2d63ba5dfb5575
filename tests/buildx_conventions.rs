//! `docker buildx build` conventions at the LLB level: build args that set spec values, secrets
//! for private indexes and host networking, as the definition carries them (SSH agent
//! forwarding: `flow_git_sources.rs`).

mod support;

use support::*;
use uv_frontend::llb::pb;

fn build_with(bridge: &mut FakeBridge, args: &[(&str, &str)]) {
    run(bridge, &opts_with_args(args));
}

#[test]
fn build_args_set_images_sync_options_and_cache_id() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let other = "127.0.0.1:5000/python:3.11-other";
    bridge.alias_image(other, "127.0.0.1:5000/python:3.11-bookworm");
    bridge.edit_context_file("pyproject.toml", |text| {
        format!("{text}\n[project.optional-dependencies]\na = []\nb = []\n")
    });
    build_with(
        &mut bridge,
        &[
            ("UVF_BUILD_BASE", "127.0.0.1:5000/python:3.11-other"),
            ("UVF_SYNC_EXTRA", "a, b"),
            ("UVF_SYNC_DEV", "true"),
            ("UVF_SYNC_LOCK", "frozen"),
            ("UVF_SYNC_NO_EDITABLE", "true"),
            ("UVF_CACHE_ID", "team-cache"),
            ("UVF_UV_VERSION", "0.13.8"),
        ],
    );
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, project) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&project),
        [
            "/opt/uv-frontend/uv",
            "sync",
            "--frozen",
            "--no-editable",
            "--extra",
            "a",
            "--extra",
            "b"
        ]
    );
    for sync in sync_steps(def) {
        let cache = exec(&sync)
            .mounts
            .iter()
            .find(|m| m.dest == "/root/.cache/uv")
            .expect("the cache");
        assert_eq!(cache.cache_opt.as_ref().expect("cache").id, "team-cache");
    }
    let images: Vec<String> = ops(def)
        .into_iter()
        .filter_map(|(_, op)| match op.op {
            Some(pb::op::Op::Source(s)) if s.identifier.starts_with("docker-image://") => {
                Some(s.identifier)
            }
            _ => None,
        })
        .collect();
    // Each loaded at the digest its config resolved to, as named by the build args.
    for image in [
        "127.0.0.1:5000/python:3.11-other",
        "127.0.0.1:5000/uv:0.13.8",
    ] {
        let pinned = format!("docker-image://{image}@{}", image_digest(image));
        assert!(images.contains(&pinned), "{pinned} not in {images:?}");
    }
}

#[test]
fn a_bad_or_unknown_uvf_build_arg_names_itself() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_SYNC_DEVV", "1")]);
    let message = bridge.error_message();
    assert_eq!(
        message,
        "uv.build:1: --build-arg UVF_SYNC_DEVV sets no uv.build value (fix: did you mean UVF_SYNC_DEV? (a UVF_ arg is UVF_<TABLE>_<KEY> of a uv.build key))"
    );
    assert!(bridge.solved.is_empty(), "nothing is built");
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_WHATEVER", "1")]);
    let message = bridge.error_message();
    assert!(
        message.starts_with("uv.build:1: --build-arg UVF_WHATEVER sets no uv.build value (fix: use one of UVF_BUILD_UV, "),
        "{message}"
    );

    // Build args are case-sensitive: a lower-case one would do nothing.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("uvf_sync_dev", "true")]);
    assert_eq!(
        bridge.error_message(),
        "uv.build:1: --build-arg uvf_sync_dev sets nothing: build arg names are case-sensitive (fix: write UVF_SYNC_DEV)"
    );
    // Empty is not given (CI's UVF_SYNC_DEV=$X with X unset): the file's value stands.
    let mut bridge = FakeBridge::with_project(
        PLAIN_EXAMPLE,
        &format!("{EXAMPLE_SPEC}[sync]\ndev = true\n"),
    );
    build_with(
        &mut bridge,
        &[
            ("UVF_SYNC_DEV", ""),
            ("UVF_BUILD_BUILDER", " "),
            ("UVF_UV_VERSION", ""),
        ],
    );
    bridge.assert_built();
    let (_, project) = vertex(bridge.result_definition(), "[project 2/2] uv sync");
    assert!(!uv_command(&project).contains(&"--no-dev".to_string()));

    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_SYNC_DEV", "maybe")]);
    assert_eq!(
        bridge.error_message(),
        "uv.build:1: --build-arg UVF_SYNC_DEV=\"maybe\" is not a boolean (fix: use true or false)"
    );

    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_SYNC_EXTRA", "not a name")]);
    let message = bridge.error_message();
    assert!(
        message.contains("(set by --build-arg UVF_SYNC_EXTRA)"),
        "{message}"
    );
}

const PRIVATE_INDEX: &str = r#"
[[tool.uv.index]]
name = "team-private"
url = "http://127.0.0.1:8099/simple"
"#;

#[test]
fn index_credentials_come_from_optional_secrets_as_uv_variables() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |text| format!("{text}{PRIVATE_INDEX}"));
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let syncs = sync_steps(def);
    assert_eq!(syncs.len(), 2, "both phases");
    for sync in syncs {
        let exec = exec(&sync);
        let secrets: Vec<(&str, &pb::SecretOpt)> = exec
            .mounts
            .iter()
            .filter(|m| m.mount_type == pb::MountType::Secret as i32)
            .map(|m| (m.dest.as_str(), m.secret_opt.as_ref().expect("secret opt")))
            .collect();
        let ids: Vec<&str> = secrets.iter().map(|(_, s)| s.id.as_str()).collect();
        for id in [
            "UV_INDEX_TEAM_PRIVATE_USERNAME",
            "UV_INDEX_TEAM_PRIVATE_PASSWORD",
            "UV_INDEX_URL",
        ] {
            assert!(ids.contains(&id), "{id} in {ids:?}");
        }
        for (dest, secret) in &secrets {
            assert_eq!(*dest, format!("/run/secrets/uv-frontend/{}", secret.id));
            assert!(secret.optional, "a build without the secret still works");
            assert_eq!((secret.uid, secret.mode), (0, 0o400));
        }
        let meta = exec.meta.as_ref().expect("meta");
        // The wrapper exports them for uv; nothing secret is in the op itself.
        let (wrapper, args) = script_of(def, &sync, "with-secrets");
        assert!(wrapper.contains("export \"$name=$value\""));
        assert_eq!(args[0], "/run/secrets/uv-frontend");
        assert!(!meta.env.iter().any(|e| e.starts_with("UV_INDEX_")));
    }
}

#[test]
fn indexes_of_uv_toml_get_their_secrets_too() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(
        "uv.toml",
        "[[index]]\nname = \"corp\"\nurl = \"https://pypi.corp.example/simple\"\n",
    );
    run(&mut bridge, &opts());
    bridge.assert_built();
    let (_, deps) = vertex(bridge.result_definition(), "[deps 2/2]");
    let ids: Vec<String> = exec(&deps)
        .mounts
        .iter()
        .filter_map(|m| m.secret_opt.as_ref().map(|s| s.id.clone()))
        .collect();
    assert!(
        ids.contains(&"UV_INDEX_CORP_PASSWORD".to_string()),
        "{ids:?}"
    );
}

#[test]
fn credential_mistakes_are_named_a_refusal_gets_the_secrets_to_pass() {
    let private = |bridge: &mut FakeBridge| {
        bridge.edit_context_file("pyproject.toml", |text| format!("{text}{PRIVATE_INDEX}"));
    };
    // Credentials as build args: not used, and said so.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    private(&mut bridge);
    build_with(&mut bridge, &[("UV_INDEX_TEAM_PRIVATE_PASSWORD", "pw")]);
    bridge.assert_built();
    assert!(
        bridge.warnings.iter().any(|w| w.short.starts_with(
            "CredentialsAsBuildArgs: --build-arg UV_INDEX_TEAM_PRIVATE_PASSWORD is not used"
        )),
        "{:?}",
        bridge.warnings
    );
    // --call=check says so too, and of the run options it does not apply.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    private(&mut bridge);
    let mut o = opts_with_args(&[("UV_INDEX_TEAM_PRIVATE_PASSWORD", "pw")]);
    o.opts.insert("requestid".into(), "frontend.lint".into());
    o.opts.insert("shm-size".into(), "67108864".into());
    run(&mut bridge, &o);
    let result: serde_json::Value =
        serde_json::from_slice(&bridge.returned_metadata()["result.json"]).expect("JSON");
    let rules: Vec<&str> = result["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["ruleName"].as_str())
        .collect();
    assert!(rules.contains(&"CredentialsAsBuildArgs"), "{rules:?}");
    assert!(rules.contains(&"IgnoredRunOptions"), "{rules:?}");
    // A password in an index URL: warned at its line, never printed.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |text| {
        format!(
            "{text}{}",
            PRIVATE_INDEX.replace("http://", "http://ci:s3cret@")
        )
    });
    run(&mut bridge, &opts());
    let warning = bridge
        .warnings
        .iter()
        .find(|w| {
            w.short
                .starts_with("CredentialsInIndexUrl: pyproject.toml has an index URL")
        })
        .expect("a warning");
    assert!(!warning.short.contains("s3cret"));
    // Its line is the warning's location (shown once, by buildx), not part of its text.
    let (file, _, line) = warning.location.as_ref().expect("located");
    assert_eq!(file, "pyproject.toml");
    assert!(*line > 1);
    // A refused sync: the fix names the secrets this project's indexes take.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    private(&mut bridge);
    bridge.build_error = Some(
        "process \"/bin/sh /uv-frontend/scripts/with-secrets /run/secrets/uv-frontend /bin/sh /uv-frontend/scripts/kept-venv-sync /uv-frontend/venv-cache /opt/uv-frontend/uv sync --frozen --no-install-project --no-dev\" did not complete successfully: exit code: 2".into(),
    );
    run(&mut bridge, &opts());
    let message = bridge.error_message();
    assert!(
        message.ends_with("(fix: if uv's error above is 401 or 403 from an index, pass its credentials: --secret id=UV_INDEX_TEAM_PRIVATE_PASSWORD,env=UV_INDEX_TEAM_PRIVATE_PASSWORD --secret id=UV_INDEX_TEAM_PRIVATE_USERNAME,env=UV_INDEX_TEAM_PRIVATE_USERNAME)"),
        "{message}"
    );
}

#[test]
fn secrets_are_files_a_wrapper_exports_even_where_buildkit_has_secret_env() {
    // BuildKit's optional secret env sets a secret the client did not pass to "", and an empty
    // UV_INDEX_<NAME>_PASSWORD overrides the credentials uv would find in the index URL or
    // .netrc. Files that a wrapper exports only when they exist leave it unset.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.llb_caps.push("exec.secretenv".into());
    bridge.edit_context_file("pyproject.toml", |text| format!("{text}{PRIVATE_INDEX}"));
    run(&mut bridge, &opts());
    bridge.assert_built();
    for sync in sync_steps(bridge.result_definition()) {
        let exec = exec(&sync);
        assert!(exec.secretenv.is_empty(), "no secret env");
        let files: Vec<&str> = exec
            .mounts
            .iter()
            .filter(|m| m.mount_type == pb::MountType::Secret as i32)
            .map(|m| m.dest.as_str())
            .collect();
        assert!(
            files.contains(&"/run/secrets/uv-frontend/UV_INDEX_TEAM_PRIVATE_PASSWORD"),
            "{files:?}"
        );
        let args = &exec.meta.as_ref().expect("meta").args;
        assert!(
            args.iter().any(|a| a.ends_with("/with-secrets")),
            "the wrapper"
        );
    }
}

#[test]
fn host_network_can_come_from_a_build_arg() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_BUILD_NETWORK", "host")]);
    let networks: Vec<i32> = sync_steps(bridge.result_definition())
        .iter()
        .map(|sync| exec(sync).network)
        .collect();
    // The dependency phase on the host's network; the project phase needs none.
    assert_eq!(
        networks,
        [pb::NetMode::Host as i32, pb::NetMode::None as i32]
    );
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    build_with(&mut bridge, &[("UVF_BUILD_NETWORK", "bridge")]);
    let message = bridge.error_message();
    assert!(
        message.contains("[build] network \"bridge\" is not a network mode (set by --build-arg UVF_BUILD_NETWORK)"),
        "{message}"
    );
}

#[test]
fn label_add_host_network_and_pull_are_applied_as_buildx_passes_them() {
    let bridge = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[
            ("label:org.opencontainers.image.revision", "abc123"),
            ("label:org.opencontainers.image.title", "from-the-cli"),
            ("add-hosts", "index.internal=10.0.0.7"),
            ("force-network-mode", "host"),
            ("image-resolve-mode", "pull"),
            ("shm-size", "67108864"),
        ],
    );
    bridge.assert_built();
    // --label: on the image, over the project's own labels.
    let config = bridge.returned_config().expect("a config");
    let labels = &config["config"]["Labels"];
    assert_eq!(labels["org.opencontainers.image.revision"], "abc123");
    assert_eq!(labels["org.opencontainers.image.title"], "from-the-cli");
    assert_eq!(labels["org.opencontainers.image.version"], "0.1.0");

    // --add-host and --network: the sync steps (phase 2 of this project needs no network).
    let def = bridge.result_definition();
    let syncs = sync_steps(def);
    assert_eq!(syncs.len(), 2);
    for sync in &syncs {
        let meta = exec(sync).meta.as_ref().expect("meta");
        assert_eq!(
            meta.extra_hosts,
            [pb::HostIp {
                host: "index.internal".into(),
                ip: "10.0.0.7".into()
            }]
        );
    }
    let networks: Vec<i32> = syncs.iter().map(|s| exec(s).network).collect();
    assert_eq!(
        networks,
        [pb::NetMode::Host as i32, pb::NetMode::None as i32]
    );

    // --pull: every image source and every config resolution asks the registry.
    let images: Vec<pb::SourceOp> = ops(def)
        .into_iter()
        .filter_map(|(_, op)| match op.op {
            Some(pb::op::Op::Source(s)) if s.identifier.starts_with("docker-image://") => Some(s),
            _ => None,
        })
        .collect();
    assert_eq!(
        images.len(),
        2,
        "uv, and the Python image builder and base share"
    );
    for image in &images {
        assert_eq!(
            image.attrs["image.resolvemode"], "pull",
            "{}",
            image.identifier
        );
    }
    assert!(!bridge.resolve_modes.is_empty());
    assert!(bridge.resolve_modes.iter().all(|(_, mode)| mode == "pull"));

    // What it does not apply, it says.
    assert!(bridge.warnings.iter().any(|w| w.short
        == "IgnoredRunOptions: uv-frontend does not apply --shm-size (its uv sync steps have no use for them)"));

    // Without them: no hosts, BuildKit's network, images as BuildKit resolves them by default.
    let plain = build_with_opts(PLAIN_EXAMPLE, EXAMPLE_SPEC, &[]);
    let def = plain.result_definition();
    let deps = &sync_steps(def)[0];
    assert!(exec(deps)
        .meta
        .as_ref()
        .expect("meta")
        .extra_hosts
        .is_empty());
    assert_eq!(exec(deps).network, pb::NetMode::Unset as i32);
    assert!(plain
        .resolve_modes
        .iter()
        .all(|(_, mode)| mode == "default"));
    assert!(plain
        .warnings
        .iter()
        .all(|w| !w.short.starts_with("IgnoredRunOptions")));
}

#[test]
fn the_network_of_the_spec_wins_over_the_network_flag() {
    let none = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("force-network-mode", "none")],
    );
    assert_eq!(
        exec(&sync_steps(none.result_definition())[0]).network,
        pb::NetMode::None as i32
    );
    let spec = format!("{EXAMPLE_SPEC}network = \"host\"\n");
    let host = build_with_opts(PLAIN_EXAMPLE, &spec, &[("force-network-mode", "none")]);
    assert_eq!(
        exec(&sync_steps(host.result_definition())[0]).network,
        pb::NetMode::Host as i32
    );
    let bad = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("add-hosts", "index=nowhere")],
    );
    assert_eq!(
        bad.error_message(),
        "--add-host index=nowhere: nowhere is not an IP address"
    );
}

#[test]
fn extras_and_groups_are_checked_against_pyproject_at_their_line() {
    let error = |sync: &str, args: &[(&str, &str)]| {
        let mut bridge =
            FakeBridge::with_project(PLAIN_EXAMPLE, &format!("{EXAMPLE_SPEC}[sync]\n{sync}"));
        build_with(&mut bridge, args);
        bridge.returned_error().map(|e| e.message.clone())
    };
    assert_eq!(
        error("extra = [\"pg\"]\n", &[]).as_deref(),
        Some("uv.build:6: [sync] extra \"pg\" is not defined in [project.optional-dependencies] (fix: pyproject.toml defines none: remove [sync] extra, or define it in [project.optional-dependencies])")
    );
    assert_eq!(
        error("group = [\"docs\"]\n", &[]).as_deref(),
        Some("uv.build:6: [sync] group \"docs\" is not defined in [dependency-groups] (fix: use one of: dev)")
    );
    assert_eq!(
        error("all-extras = true\nextra = [\"pg\"]\n", &[]).as_deref(),
        Some("uv.build:7: [sync] extra cannot be used with all-extras = true (fix: remove one of them: all-extras already installs every extra)")
    );
    assert_eq!(
        error("", &[("UVF_SYNC_ALL_EXTRAS", "true"), ("UVF_SYNC_EXTRA", "pg")]).as_deref(),
        Some("uv.build:1: [sync] extra cannot be used with all-extras = true (set by --build-arg UVF_SYNC_EXTRA) (fix: remove one of them: all-extras already installs every extra)")
    );
    // Names as uv compares them (PEP 685/735).
    assert_eq!(error("group = [\"DEV\"]\n", &[]), None);
    // A value a build arg set: the error names it, and the fix says what to change.
    assert_eq!(
        error("", &[("UVF_SYNC_EXTRA", "foo")]).as_deref(),
        Some("uv.build:1: [sync] extra \"foo\" is not defined in [project.optional-dependencies] (set by --build-arg UVF_SYNC_EXTRA) (fix: pyproject.toml defines none: drop --build-arg UVF_SYNC_EXTRA, or define it in [project.optional-dependencies])")
    );
    assert_eq!(
        error("", &[("UVF_SYNC_PACKAGE", "nope")]).as_deref(),
        Some("uv.build:1: [sync] package \"nope\" is not a package of this project (set by --build-arg UVF_SYNC_PACKAGE) (fix: use one of: hello-uv)")
    );
    let image = error("", &[("UVF_BUILD_BUILDER", "127.0.0.1:5000/python:nope")]).expect("fails");
    assert!(
        image.ends_with("(fix: check --build-arg UVF_BUILD_BUILDER: the image must exist for linux/amd64 and be reachable)"),
        "{image}"
    );
    // A named context that replaced the image is named as such.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let mut o = opts();
    o.opts.insert(
        "context:builder".into(),
        "docker-image://127.0.0.1:5000/python:nope".into(),
    );
    run(&mut bridge, &o);
    let image = bridge.error_message();
    assert!(
        image.ends_with("(fix: check --build-context builder: the image must exist for linux/amd64 and be reachable)"),
        "{image}"
    );
}

#[test]
fn a_version_from_git_needs_git_in_the_builder_or_a_pretend_version() {
    let hatch_vcs = |bridge: &mut FakeBridge| {
        bridge.edit_context_file("pyproject.toml", |t| {
            t.replace(
                "requires = [\"uv_build>=0.9,<0.14\"]",
                "requires = [\"hatchling\", \"hatch-vcs>=0.4\"]",
            )
            .replace("\"uv_build\"", "\"hatchling.build\"")
        });
    };
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    hatch_vcs(&mut bridge);
    run(&mut bridge, &opts());
    assert_eq!(
        bridge.error_message(),
        "uv.build:4: building the project needs git: its build system requires hatch-vcs, which reads the version from git, and the builder image 127.0.0.1:5000/python:3.11-bookworm has no git on its PATH (fix: add [build] apt = [\"git\"], or use a builder image with git (python:<version>-bookworm has it, the -slim ones do not; the runtime base can stay slim with [build] base); keep .git in the build context too; or give the version with --build-arg SETUPTOOLS_SCM_PRETEND_VERSION=<version>)"
    );
    // hatch-vcs does not know the distribution's name, so the per-package form does not reach
    // it (setuptools-scm says so in the build's log, after the sync started).
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    hatch_vcs(&mut bridge);
    build_with(
        &mut bridge,
        &[("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_HELLO_UV", "1.2.3")],
    );
    assert!(bridge.error_message().contains(
        "(hatch-vcs does not read SETUPTOOLS_SCM_PRETEND_VERSION_FOR_HELLO_UV, only SETUPTOOLS_SCM_PRETEND_VERSION)"
    ));
    // setuptools-scm with setuptools knows it, so that form is enough there.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace(
            "requires = [\"uv_build>=0.9,<0.14\"]",
            "requires = [\"setuptools>=64\", \"setuptools-scm>=8\"]",
        )
        .replace("\"uv_build\"", "\"setuptools.build_meta\"")
    });
    build_with(
        &mut bridge,
        &[("SETUPTOOLS_SCM_PRETEND_VERSION_FOR_HELLO_UV", "1.2.3")],
    );
    bridge.assert_built();
    // setuptools-scm's pretend version (which hatch-vcs takes too) needs no git: it reaches the
    // project phase, whose build reads it.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    hatch_vcs(&mut bridge);
    build_with(&mut bridge, &[("SETUPTOOLS_SCM_PRETEND_VERSION", "1.2.3")]);
    bridge.assert_built();
    let (_, phase2) = vertex(bridge.result_definition(), "[project 2/2] uv sync");
    let env = &exec(&phase2).meta.as_ref().expect("meta").env;
    assert!(
        env.contains(&"SETUPTOOLS_SCM_PRETEND_VERSION=1.2.3".to_string()),
        "{env:?}"
    );
    // uv would reuse its build of the directory (keyed on file times) with the old version.
    let args = &exec(&phase2).meta.as_ref().expect("meta").args;
    assert!(
        args.windows(2)
            .any(|w| w == ["--reinstall-package", "hello-uv"]),
        "{args:?}"
    );
    let (_, phase1) = vertex(bridge.result_definition(), "[deps 1/1] uv pip install");
    assert!(!exec(&phase1)
        .meta
        .as_ref()
        .expect("meta")
        .env
        .iter()
        .any(|e| e.starts_with("SETUPTOOLS_SCM")));
}

#[test]
fn named_contexts_replace_the_uv_builder_and_base_images() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let other = "127.0.0.1:5000/python:3.11-other";
    bridge.alias_image(other, "127.0.0.1:5000/python:3.11-bookworm");
    let mut o = opts();
    o.opts
        .insert("context:base".into(), format!("docker-image://{other}"));
    o.opts
        .insert("context:unrelated".into(), "local:unrelated".into());
    run(&mut bridge, &o);
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, base) = vertex(def, &format!("[base] {other}"));
    let Some(pb::op::Op::Source(source)) = base.op else {
        panic!("an image source")
    };
    assert_eq!(
        source.identifier,
        format!("docker-image://{other}@{}", image_digest(other))
    );

    let bridge = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("context:builder", "local:builder")],
    );
    assert_eq!(
        bridge.error_message(),
        "uv.build:1: --build-context builder=local:builder is not an image: the builder image can only be replaced by another image (fix: use --build-context builder=docker-image://<image>)"
    );
}

#[test]
fn call_outline_lists_build_args_with_their_values_secrets_and_cache() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |text| format!("{text}{PRIVATE_INDEX}"));
    let mut o = opts_with_args(&[("UVF_SYNC_DEV", "true")]);
    o.opts.insert("requestid".into(), "frontend.outline".into());
    run(&mut bridge, &o);
    assert_eq!(bridge.builds(), 0, "nothing is built");
    let meta = bridge.returned_metadata();
    assert_eq!(meta["version"], b"1.0.0");
    let outline: serde_json::Value = serde_json::from_slice(&meta["result.json"]).expect("JSON");
    assert_eq!(outline["name"], "runtime");
    let arg = |name: &str| {
        outline["args"]
            .as_array()
            .expect("args")
            .iter()
            .find(|a| a["name"] == name)
            .unwrap_or_else(|| panic!("{name} in {outline}"))
            .clone()
    };
    assert_eq!(
        arg("UVF_SYNC_DEV")["value"],
        "true",
        "the value this build uses"
    );
    assert_eq!(
        arg("UVF_BUILD_BUILDER")["value"],
        "127.0.0.1:5000/python:3.11-bookworm"
    );
    assert_eq!(arg("UVF_CACHE_ID")["value"], "uv");
    assert_eq!(arg("UVF_UV_VERSION")["value"], "0.13.9");
    assert_eq!(arg("UVF_TEST_SKIP")["value"], "false", "no [test] skip");
    assert_eq!(arg("UVF_SYNC_NO_EDITABLE")["value"], "false");
    // Every spec value a build arg can set is listed.
    for (table, key, _) in uv_frontend::spec::overrides::OVERRIDES {
        arg(&uv_frontend::spec::overrides::arg_name(table, key));
    }
    let secrets: Vec<&str> = outline["secrets"]
        .as_array()
        .expect("secrets")
        .iter()
        .filter_map(|s| s["name"].as_str())
        .collect();
    assert!(
        secrets.contains(&"UV_INDEX_TEAM_PRIVATE_PASSWORD"),
        "{secrets:?}"
    );
    assert_eq!(outline["cache"][0]["ID"], "uv");
    let text = String::from_utf8_lossy(&meta["result.txt"]);
    assert!(text.contains("UVF_SYNC_DEV"), "{text}");
}

#[test]
fn a_stale_lock_keeps_the_project_phase_online_so_uv_can_say_so() {
    // Offline, `uv sync --locked` on a stale lock only fails to find packages; online it says
    // the lock needs updating.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", with_unlocked_dependency);
    run(&mut bridge, &opts());
    let networks: Vec<i32> = sync_steps(bridge.result_definition())
        .iter()
        .map(|s| exec(s).network)
        .collect();
    assert_eq!(
        networks,
        [pb::NetMode::Unset as i32, pb::NetMode::Unset as i32]
    );

    // When that sync fails, the error says why and what to do.
    let mut failing = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    failing.edit_context_file("pyproject.toml", with_unlocked_dependency);
    failing.build_error = Some(process_failure(
        bridge.result_definition(),
        "[project 2/2] uv sync",
    ));
    run(&mut failing, &opts());
    assert_eq!(
        failing.error_message(),
        "uv.build:1: step [project 2/2] uv sync --locked --no-dev, then bytecode failed: exit code: 1 (its output is in the step's log) (fix: pyproject.toml depends on packaging which uv.lock does not record: run `uv lock` and commit uv.lock)"
    );

    let fresh = build_with_opts(PLAIN_EXAMPLE, EXAMPLE_SPEC, &[]);
    let networks: Vec<i32> = sync_steps(fresh.result_definition())
        .iter()
        .map(|s| exec(s).network)
        .collect();
    assert_eq!(
        networks,
        [pb::NetMode::Unset as i32, pb::NetMode::None as i32]
    );
}

#[test]
fn call_check_reports_findings_with_their_lines_and_builds_warn_them() {
    let spec = format!(
        "{EXAMPLE_SPEC}[sync]\ndev = true\n[run]\nenv = {{ UV_LINK_MODE = \"copy\", PYTHONDONTWRITEBYTECODE = \"1\" }}\n"
    );
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    // A dependency added to pyproject.toml without `uv lock`.
    bridge.edit_context_file("pyproject.toml", with_unlocked_dependency);
    bridge.set_context_file(".dockerignore", "__pycache__\n");
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.lint".into());
    run(&mut bridge, &o);
    assert_eq!(bridge.builds(), 0, "nothing is built");
    let result: serde_json::Value =
        serde_json::from_slice(&bridge.returned_metadata()["result.json"]).expect("JSON");
    let rules: Vec<(&str, i64, i64)> = result["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .map(|w| {
            (
                w["ruleName"].as_str().expect("a rule"),
                w["location"]["sourceIndex"].as_i64().expect("an index"),
                w["location"]["ranges"][0]["start"]["line"]
                    .as_i64()
                    .unwrap_or(0),
            )
        })
        .collect();
    assert_eq!(
        rules,
        [
            ("VenvNotIgnored", -1, 0),
            ("DevDependenciesInRuntime", 0, 6),
            ("BytecodeSettingsConflict", 0, 8),
            ("UvEnvInRuntime", 0, 8),
            ("StaleLock", -1, 0),
        ]
    );
    assert_eq!(result["sources"][0]["filename"], "uv.build");
    let stale = &result["warnings"][4]["detail"];
    assert!(
        stale
            .as_str()
            .expect("detail")
            .starts_with("pyproject.toml depends on packaging which uv.lock does not record"),
        "{stale}"
    );

    // A clean project has nothing to report.
    let mut clean = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    clean.set_context_file(".dockerignore", ".venv\n");
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.lint".into());
    run(&mut clean, &o);
    let result: serde_json::Value =
        serde_json::from_slice(&clean.returned_metadata()["result.json"]).expect("JSON");
    assert_eq!(result["warnings"], serde_json::json!([]));

    // A build sends the same findings as warnings, located in uv.build, and still builds.
    let mut build = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    build.set_context_file(".dockerignore", ".venv\n");
    run(&mut build, &opts());
    build.assert_built();
    let warned: Vec<(&str, Option<usize>)> = build
        .warnings
        .iter()
        .map(|w| {
            (
                w.short.split(':').next().expect("a rule"),
                w.location.as_ref().map(|(_, _, line)| *line),
            )
        })
        .collect();
    assert_eq!(
        warned,
        [
            ("DevDependenciesInRuntime", Some(6)),
            ("BytecodeSettingsConflict", Some(8)),
            ("UvEnvInRuntime", Some(8)),
        ]
    );
    assert!(build
        .warnings
        .iter()
        .all(|w| w.vertex.starts_with("sha256:")));
}

#[test]
fn an_image_of_another_platform_fails_rather_than_mislabel_the_result() {
    // BuildKit takes a single-platform image whatever platform is asked: the arm64 image would
    // hold amd64 binaries.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge
        .single_platform
        .insert("127.0.0.1:5000/python:3.11-bookworm".into());
    let mut o = opts();
    o.opts.insert("platform".into(), "linux/arm64".into());
    run(&mut bridge, &o);
    assert_eq!(
        bridge.error_message(),
        "uv.build:4: the builder image 127.0.0.1:5000/python:3.11-bookworm could not be loaded for linux/arm64: it is for linux/amd64 only (fix: check [build] builder: the image must exist for linux/arm64 and be reachable)"
    );
    // Asked for its own platform, it builds.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge
        .single_platform
        .insert("127.0.0.1:5000/python:3.11-bookworm".into());
    run(&mut bridge, &opts());
    bridge.assert_built();
}

#[test]
fn several_platforms_give_one_image_each_with_its_config_and_named_steps() {
    let bridge = build_with_opts(
        PLAIN_EXAMPLE,
        EXAMPLE_SPEC,
        &[("platform", "linux/amd64,linux/386")],
    );
    let Some(uv_frontend::gateway::FrontendResult::Images(images)) = &bridge.returned else {
        panic!("one image per platform: {:?}", bridge.returned)
    };
    let ids: Vec<String> = images.iter().map(|i| i.platform.to_string()).collect();
    assert_eq!(ids, ["linux/amd64", "linux/386"]);
    for image in images {
        let config: serde_json::Value = serde_json::from_slice(&image.config).expect("JSON");
        assert_eq!(config["architecture"], image.platform.architecture);
        assert_eq!(config["os"], "linux");
    }
    assert_ne!(images[0].reference, images[1].reference);

    // Each platform's definition: its own platform on every op, the platform in every step's
    // name, and its own kept venv (a venv never crosses platforms).
    let builds: Vec<&pb::Definition> = bridge
        .solved
        .iter()
        .map(|(def, _)| def)
        .filter(|def| {
            ops(def)
                .iter()
                .any(|(d, _)| name_of(def, d).contains(" runtime 1/"))
        })
        .collect();
    assert_eq!(builds.len(), 2);
    let mut kept = Vec::new();
    for (def, platform) in builds.iter().zip(["linux/amd64", "linux/386"]) {
        let (digest, install) = vertex(def, &format!("[{platform} deps 1/1] uv pip install idna"));
        let arch = platform.trim_start_matches("linux/");
        assert_eq!(
            install.platform.as_ref().expect("a platform").architecture,
            arch
        );
        kept.push(digest);
    }
    assert_ne!(kept[0], kept[1]);
}

#[test]
fn a_failed_project_phase_of_a_git_versioned_package_names_dot_git_and_the_pretend_version() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", |t| {
        t.replace(
            "requires = [\"uv_build>=0.9,<0.14\"]",
            "requires = [\"hatchling\", \"hatch-vcs>=0.4\"]",
        )
        .replace("\"uv_build\"", "\"hatchling.build\"")
    });
    // A builder with git passes the check; the checkout's .git is what is missing.
    let builder = "127.0.0.1:5000/python:3.11-bookworm";
    bridge
        .image_files
        .get_mut(builder)
        .expect("the builder's files")
        .insert("usr/bin/git".into(), b"ELF".to_vec());
    bridge.build_error = Some(
        // hatchling's editable install of src/hello_uv: no --no-editable.
        "process \"/bin/sh /uv-frontend/scripts/sync-then-finish /app/.venv 1  /opt/uv-frontend/uv sync --locked --no-dev\" did not complete successfully: exit code: 1".into(),
    );
    run(&mut bridge, &opts());
    let message = bridge.error_message();
    assert!(
        message.ends_with("(fix: hello-uv reads its version from git: if the log above says the version cannot be detected, keep .git in the build context (not in .dockerignore), or pass --build-arg SETUPTOOLS_SCM_PRETEND_VERSION=<version>)"),
        "{message}"
    );
}

#[test]
fn venv_not_ignored_says_whether_there_is_a_dockerignore_at_all() {
    let detail = |bridge: &mut FakeBridge| {
        run(bridge, &opts());
        bridge
            .warnings
            .iter()
            .find(|w| w.short.starts_with("VenvNotIgnored"))
            .map(|w| w.short.clone())
            .expect("a warning")
    };
    let mut without = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    without
        .locals
        .get_mut("context")
        .expect("context")
        .remove(".dockerignore");
    assert!(detail(&mut without).contains("the build context has no .dockerignore"));
    let mut other = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    other.set_context_file(".dockerignore", "__pycache__\n");
    assert!(detail(&mut other).contains("the build context's .dockerignore does not exclude .venv"));
}
