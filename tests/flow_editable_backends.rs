//! Projects built by third-party backends (hatchling, setuptools, pdm-backend, flit-core,
//! poetry-core) against the fake bridge: installed editable beside their module, copied as it
//! is, where the layout allows; as wheels where it does not, and `--call=outline` says which.

mod support;

use support::*;

/// examples/fastapi (hatchling, `packages = ["src/notes_api"]`) with its pyproject edited.
fn fastapi_with(edit: impl FnOnce(&str) -> String) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file("pyproject.toml", edit);
    bridge
}

/// The `PROJECT INSTALL:` line of `--call=outline`'s text.
fn outline_install_line(mut bridge: FakeBridge) -> String {
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.outline".into());
    run(&mut bridge, &o);
    let text = String::from_utf8_lossy(&bridge.returned_metadata()["result.txt"]).into_owned();
    text.lines()
        .find(|l| l.starts_with("PROJECT INSTALL: "))
        .unwrap_or_else(|| panic!("no PROJECT INSTALL line in {text}"))
        .to_string()
}

#[test]
fn a_hatchling_package_is_installed_editable_from_a_stand_in_and_its_module_copied() {
    let mut bridge = FakeBridge::with_project(FASTAPI_EXAMPLE, EXAMPLE_SPEC);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    vertex(
        def,
        "[project 1/2] copy build context to /app, module src/notes_api as an empty stand-in",
    );
    let (_, phase2) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        uv_command(&phase2),
        ["/opt/uv-frontend/uv", "sync", "--locked", "--no-dev"],
        "editable: no --no-editable"
    );
    vertex(
        def,
        "[runtime 3/3] copy src/notes_api from the build context to /app/src/notes_api",
    );
    assert_eq!(
        outline_install_line(FakeBridge::with_project(FASTAPI_EXAMPLE, EXAMPLE_SPEC)),
        "PROJECT INSTALL: editable, with src/notes_api copied as they are: a source edit reruns no sync"
    );
}

#[test]
fn a_discovered_module_is_used_only_where_the_context_has_it() {
    // No packages setting: hatchling discovers src/notes_api (the name's module).
    let without_packages = |t: &str| {
        t.replace(
            "[tool.hatch.build.targets.wheel]\npackages = [\"src/notes_api\"]\n",
            "",
        )
        .replace("name = \"notes-api\"", "name = \"notes_api\"")
    };
    let mut bridge = fastapi_with(without_packages);
    run(&mut bridge, &opts());
    bridge.assert_built();
    vertex(
        bridge.result_definition(),
        "[runtime 3/3] copy src/notes_api from the build context",
    );

    // Another name: neither src/<name> nor <name> is there, so it is a wheel.
    let renamed =
        move |t: &str| without_packages(t).replace("name = \"notes_api\"", "name = \"other\"");
    let line = outline_install_line(fastapi_with(renamed));
    assert_eq!(
        line,
        // The lock (not edited) names the package.
        "PROJECT INSTALL: as wheels (notes-api: no module directory with an __init__.py at src/other or other): a source edit reruns the project phase"
    );
}

#[test]
fn build_hooks_and_a_setup_py_make_the_project_a_wheel_and_the_outline_says_why() {
    let hooked = |t: &str| format!("{t}\n[tool.hatch.build.hooks.custom]\npath = \"hook.py\"\n");
    let mut bridge = fastapi_with(hooked);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, phase2) = vertex(def, "[project 2/2] uv sync");
    assert!(uv_command(&phase2).contains(&"--no-editable".to_string()));
    assert_eq!(
        outline_install_line(fastapi_with(hooked)),
        "PROJECT INSTALL: as wheels (notes-api: hatchling: [tool.hatch.build] hooks changes what is installed): a source edit reruns the project phase"
    );

    let setuptools = |t: &str| {
        t.replace(
            "requires = [\"hatchling\"]\nbuild-backend = \"hatchling.build\"",
            "requires = [\"setuptools\"]\nbuild-backend = \"setuptools.build_meta\"",
        )
    };
    let mut bridge = fastapi_with(setuptools);
    bridge.set_context_file("setup.py", "from setuptools import setup\nsetup()\n");
    let line = outline_install_line(bridge);
    assert!(
        line.contains("notes-api: its setup.py may build extensions"),
        "{line}"
    );
}
