//! Phase 1 as package units (BuildKit with MergeOp and DiffOp), against the fake bridge: each
//! locked package a step keyed on its own lock entry, what a lock change reruns, and where the
//! frontend falls back to one `uv sync`.

mod support;

use std::collections::BTreeMap;

use support::*;

/// Each `uv pip install` step's progress name, and its vertex digest.
fn installs(bridge: &FakeBridge) -> BTreeMap<String, String> {
    let def = bridge.result_definition();
    ops(def)
        .into_iter()
        .filter_map(|(digest, _)| {
            let name = name_of(def, &digest);
            name.contains("uv pip install")
                .then(|| (name.to_string(), digest.clone()))
        })
        .collect()
}

fn with_files(project: &str, fixture: &str, files: &[&str]) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, EXAMPLE_SPEC);
    let dir = format!("{}/tests/fixtures/{fixture}", env!("CARGO_MANIFEST_DIR"));
    for file in files {
        let text = std::fs::read_to_string(format!("{dir}/{file}")).expect("fixture");
        bridge.set_context_file(file, &text);
    }
    run(&mut bridge, &opts());
    bridge.assert_built();
    bridge
}

#[test]
fn a_dependency_added_adds_one_step_and_keeps_every_other_steps_key() {
    let mut base = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut base, &opts());
    base.assert_built();
    let before = installs(&base);
    assert_eq!(
        before.keys().collect::<Vec<_>>(),
        ["[deps 1/1] uv pip install idna==3.20"]
    );

    let added = with_files(
        PLAIN_EXAMPLE,
        "plain-with-six",
        &["pyproject.toml", "uv.lock"],
    );
    let after = installs(&added);
    assert_eq!(
        after.keys().collect::<Vec<_>>(),
        [
            "[deps 1/1] uv pip install idna==3.20",
            "[deps 1/1] uv pip install six==1.17.0"
        ]
    );
    // idna's step is the very same vertex: cached on a warm builder and in a registry cache.
    let idna = "[deps 1/1] uv pip install idna==3.20";
    assert_eq!(before[idna], after[idna]);
}

#[test]
fn a_source_edit_or_a_project_version_bump_changes_no_step_of_phase_one() {
    let mut base = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut base, &opts());
    let mut edited = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    edited.set_context_file("src/hello_uv/__init__.py", "def main():\n    print('x')\n");
    edited.edit_context_file("pyproject.toml", |p| {
        p.replace("version = \"0.1.0\"", "version = \"0.2.0\"")
    });
    edited.edit_context_file("uv.lock", |l| {
        l.replacen(
            "name = \"hello-uv\"\nversion = \"0.1.0\"",
            "name = \"hello-uv\"\nversion = \"0.2.0\"",
            1,
        )
    });
    run(&mut edited, &opts());
    edited.assert_built();
    // Phase 1: the builder and the package layers, stacked under the context's copy.
    let stacked = |b: &FakeBridge| {
        let (_, merge) = vertex(b.result_definition(), "[project] stack layers");
        let inputs: Vec<String> = merge.inputs.iter().map(|i| i.digest.clone()).collect();
        inputs[..inputs.len() - 1].to_vec()
    };
    assert_eq!(stacked(&base), stacked(&edited));
}

#[test]
fn a_locked_package_bumped_reruns_its_step_alone() {
    let base = {
        let mut b = FakeBridge::with_project(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
        run(&mut b, &opts());
        b
    };
    let mut bumped = FakeBridge::with_project(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    bumped.edit_context_file("uv.lock", |l| {
        l.replace("version = \"2026.6\"", "version = \"2026.7\"")
    });
    run(&mut bumped, &opts());
    bumped.assert_built();
    let (before, after) = (installs(&base), installs(&bumped));
    for name in ["numpy==2.4.6", "pandas==3.1.1", "python-dateutil==4.0.0"] {
        let step = format!("[deps 1/1] uv pip install {name}");
        assert_eq!(before[&step], after[&step], "{step}");
    }
    assert!(after.contains_key("[deps 1/1] uv pip install tzdata==2026.7"));
    // The big packages' layers are the same vertices too.
    for label in ["numpy", "pandas"] {
        let layer =
            |b: &FakeBridge| vertex(b.result_definition(), &format!("[deps 1/1] layer: {label}")).0;
        assert_eq!(layer(&base), layer(&bumped), "{label}");
    }
}

#[test]
fn a_failing_unit_is_named_by_its_progress_name() {
    let mut ok = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut ok, &opts());
    let mut failing = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    failing.build_error = Some(process_failure(
        ok.result_definition(),
        "[deps 1/1] uv pip install idna",
    ));
    run(&mut failing, &opts());
    assert_eq!(
        failing.error_message(),
        "uv.build:1: step [deps 1/1] uv pip install idna==3.20 failed: exit code: 1 (its output is in the step's log)"
    );
}

#[test]
fn a_lock_the_frontend_cannot_walk_for_certain_gets_one_sync() {
    // A marker on something this frontend cannot know in advance (the kernel's release).
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("uv.lock", |l| {
        l.replacen(
            "{ name = \"idna\" }",
            "{ name = \"idna\", marker = \"platform_release >= '6'\" }",
            1,
        )
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    assert!(installs(&bridge).is_empty());
    vertex(bridge.result_definition(), "[deps 2/2] uv sync");

    // A package from another index may need credentials a unit does not get.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("uv.lock", |l| {
        l.replace(
            "registry = \"https://pypi.org/simple\"",
            "registry = \"https://pypi.corp.example/simple\"",
        )
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    assert!(installs(&bridge).is_empty());
}

#[test]
fn a_marker_false_for_this_platform_leaves_the_package_out() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("uv.lock", |l| {
        l.replacen(
            "{ name = \"idna\" }",
            "{ name = \"idna\", marker = \"sys_platform == 'win32'\" }",
            1,
        )
    });
    run(&mut bridge, &opts());
    bridge.assert_built();
    assert!(installs(&bridge).is_empty());
    // The venv alone.
    vertex(bridge.result_definition(), "[deps 1/1] layer: the venv");
}
