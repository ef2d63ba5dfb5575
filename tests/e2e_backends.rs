//! End to end: packages built by hatchling, setuptools, pdm-backend, flit-core and
//! poetry-core are installed editable from stand-ins, their module copied to the image as it
//! is, and they run; a source edit reruns no sync. examples/plain with its `[build-system]`
//! replaced (uv.lock does not record the backend, so it stays valid). Needs the test bed.

mod support;

use support::e2e::*;

const PLAIN_OUTPUT: &str = "hello from hello-uv 0.1.0 (idna 3.20) dev=absent";

/// examples/plain built by `requires`/`backend` instead of uv_build.
fn plain_built_by(requires: &str, backend: &str) -> Project {
    let project = Project::copy_of("plain");
    let pyproject = project.read("pyproject.toml").replace(
        "requires = [\"uv_build>=0.9,<0.14\"]\nbuild-backend = \"uv_build\"",
        &format!("requires = [\"{requires}\"]\nbuild-backend = \"{backend}\""),
    );
    assert!(pyproject.contains(backend), "the build system was replaced");
    project.write("pyproject.toml", &pyproject);
    project
}

#[test]
fn each_backend_installs_editable_beside_its_module_copied_as_it_is() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    for (requires, backend) in [
        ("hatchling", "hatchling.build"),
        ("setuptools>=64", "setuptools.build_meta"),
        ("pdm-backend", "pdm.backend"),
        ("flit_core>=3.4", "flit_core.buildapi"),
        ("poetry-core>=2", "poetry.core.masonry.api"),
    ] {
        let project = plain_built_by(requires, backend);
        let tag = format!(
            "uv-frontend-e2e/backends:{}",
            backend.replace(['.', '_'], "-")
        );
        let build = project.build(&tag, &[]);
        build.expect_success();
        assert!(
            build.has_step("copy src/hello_uv from the build context to /app/src/hello_uv"),
            "{backend}: {:?}",
            build.step_names()
        );
        assert_eq!(run(&tag, &[]), PLAIN_OUTPUT, "{backend}");
        // Imported from the copied module, not from site-packages.
        let (out, err) = python_output(&tag, "import hello_uv; print(hello_uv.__file__)");
        assert_eq!(out, "/app/src/hello_uv/__init__.py", "{backend}: {err}");
    }
}

#[test]
fn a_flat_setuptools_package_is_found_and_a_source_edit_reruns_no_sync() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = plain_built_by("setuptools>=64", "setuptools.build_meta");
    // The flat layout: the module at the root, no src/.
    let module = project.read("src/hello_uv/__init__.py");
    std::fs::remove_dir_all(project.dir.join("src")).expect("src removed");
    project.write("hello_uv/__init__.py", &module);
    let tag = "uv-frontend-e2e/backends:setuptools-flat";
    let build = project.build(tag, &[]);
    build.expect_success();
    assert!(build.has_step("copy hello_uv from the build context to /app/hello_uv"));
    assert_eq!(run(tag, &[]), PLAIN_OUTPUT);

    let nonce = nanos();
    project.write(
        "hello_uv/__init__.py",
        &module.replace("hello from", &format!("edited {nonce} hello from")),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    edited.assert_no_sync_reran();
    assert!(run(tag, &[]).starts_with(&format!("edited {nonce} hello from hello-uv")));
}
