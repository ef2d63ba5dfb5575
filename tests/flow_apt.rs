//! `[build] apt` and `[run] apt` against the fake bridge: where the install steps go, their
//! cache mounts, and the errors of a failed install at the key's line.

mod support;

use support::*;
use uv_frontend::llb::pb;

fn build(spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, spec);
    run(&mut bridge, &opts());
    bridge
}

/// The cache mounts of an exec op: (id, target, sharing).
fn caches(op: &pb::Op) -> Vec<(String, String, i32)> {
    exec(op)
        .mounts
        .iter()
        .filter_map(|m| {
            let cache = m.cache_opt.as_ref()?;
            Some((cache.id.clone(), m.dest.clone(), cache.sharing))
        })
        .collect()
}

#[test]
fn runtime_packages_are_a_layer_on_the_base_and_build_packages_come_before_phase_one() {
    let spec = format!("{EXAMPLE_SPEC}apt = [\"gcc\", \"libpq-dev\"]\n[run]\napt = [\"libpq5\"]\n");
    let bridge = build(&spec);
    bridge.assert_built();
    let def = bridge.result_definition();

    let (build_apt, build_op) = vertex(def, "[deps 1/2] apt-get install gcc libpq-dev");
    let (_, install) = vertex(def, "[deps 2/2] uv pip install idna==");
    assert_eq!(install.inputs[0].digest, build_apt, "phase 1 builds on it");
    assert_eq!(
        exec(&build_op).meta.as_ref().expect("meta").args,
        [
            "/bin/sh",
            "/uv-frontend/scripts/apt-install",
            "gcc",
            "libpq-dev"
        ]
    );

    let (user, _) = vertex(def, "[runtime-deps 1/3] add user");
    let (run_apt, run_op) = vertex(def, "[runtime-deps 2/3] apt-get install libpq5");
    assert_eq!(run_op.inputs[0].digest, user);
    let (_, stacked) = vertex(def, "[runtime-deps] stack layers");
    assert_eq!(stacked.inputs[0].digest, run_apt);
    for layer in &stacked.inputs[1..] {
        let Some(pb::op::Op::File(copy)) = &ops(def)
            .into_iter()
            .find(|(d, _)| *d == layer.digest)
            .expect("a layer")
            .1
            .op
        else {
            panic!("a venv layer is a copy")
        };
        let Some(pb::file_action::Action::Copy(copy)) = &copy.actions[0].action else {
            panic!("a venv layer is a copy")
        };
        // The whole of a unit's venv mount (the venv's files alone), at the venv's path.
        assert_eq!(
            (copy.src.as_str(), copy.dest.as_str()),
            ("/", "/app/.venv"),
            "the runtime gets the venv, none of the builder's packages"
        );
    }
    let locked = pb::CacheSharingOpt::Locked as i32;
    for op in [&build_op, &run_op] {
        assert_eq!(
            caches(op),
            [
                (
                    "uv-apt-archives".to_string(),
                    "/var/cache/apt".to_string(),
                    locked
                ),
                (
                    "uv-apt-lists".to_string(),
                    "/var/lib/apt/lists".to_string(),
                    locked
                ),
            ],
            "apt's caches, apart from the uv cache (id uv)"
        );
        let env = &exec(op).meta.as_ref().expect("meta").env;
        assert!(env.contains(&"DEBIAN_FRONTEND=noninteractive".to_string()));
    }

    // The layer is keyed on the base and the list: a source edit leaves it as it is.
    let mut edited = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    edited.edit_context_file("src/hello_uv/__init__.py", |t| format!("{t}\n# edited\n"));
    run(&mut edited, &opts());
    let (again, _) = vertex(
        edited.result_definition(),
        "[runtime-deps 2/3] apt-get install",
    );
    assert_eq!(again, run_apt);
}

#[test]
fn a_failed_install_is_named_at_its_apt_line_with_what_went_wrong() {
    let spec = format!("{EXAMPLE_SPEC}[run]\napt = [\"libpq5\", \"nope\"]\n");
    for (code, fix) in [
        (
            4,
            "names the packages 127.0.0.1:5000/python:3.11-bookworm's apt sources lack",
        ),
        (3, "127.0.0.1:5000/python:3.11-bookworm has no apt-get"),
        // Any other failure of apt-get (a broken mirror, a held package): its own words.
        (100, "(fix: apt-get's own error is in the step's log above)"),
    ] {
        let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
        bridge.build_error = Some(format!(
            "process \"/bin/sh /uv-frontend/scripts/apt-install libpq5 nope\" did not complete successfully: exit code: {code}"
        ));
        run(&mut bridge, &opts());
        let message = bridge.error_message();
        assert!(
            message.starts_with(
                "uv.build:6: step [runtime-deps 2/3] apt-get install libpq5 nope failed"
            ),
            "{message}"
        );
        assert!(message.contains(fix), "{message}");
    }
}

#[test]
fn package_names_apt_does_not_take_fail_at_their_line() {
    let spec = format!("{EXAMPLE_SPEC}[run]\napt = [\"libpq5\", \"rm -rf /\"]\n");
    let message = build(&spec).error_message();
    assert!(
        message.starts_with("uv.build:6: [run] apt: \"rm -rf /\" is not a Debian package name"),
        "{message}"
    );
    let spec = format!("{EXAMPLE_SPEC}apt = [\"gcc=4:12.2.0-3\", \"libc6:amd64\"]\n");
    build(&spec).assert_built();
}
