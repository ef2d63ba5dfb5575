//! End to end: `docker buildx build -f uv.build` through the frontend image on a real BuildKit,
//! then `docker run`. Needs the test bed (`scripts/testbed-up`); CI starts it, and a missing
//! daemon fails these tests rather than skipping them.

mod support;

use support::e2e::*;

#[test]
fn plain_project_builds_runs_and_is_lean() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let tag = "uv-frontend-e2e/plain:test";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
    assert_lean_non_root(tag);
}

#[test]
fn workspace_builds_runs_and_is_lean() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("workspace");
    let tag = "uv-frontend-e2e/workspace:test";
    // A cache of its own: phase 1 runs and installs even when an earlier build cached it, so its
    // output can be read.
    project.use_cache(&fresh_cache_id(), None);
    let build = project.build(tag, &[]);
    build.expect_success();
    assert_eq!(
        build.installed("[deps 2/2]"),
        ["six==1.17.0"],
        "phase 1 installs third-party packages only"
    );
    assert_eq!(
        run(tag, &[]),
        "ws-app: Hello, workspace! (greeter 0.1.0, six 1.17.0)"
    );
    assert_lean_non_root(tag);
}

#[test]
fn rebuilds_are_cached_and_source_edits_download_nothing() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let tag = "uv-frontend-e2e/plain:cache";
    project.build(tag, &[]).expect_success();

    let first_layers = layers(tag);
    let again = project.build(tag, &[]);
    again.expect_success();
    again.assert_fully_cached();
    assert_eq!(
        layers(tag),
        first_layers,
        "an identical rebuild gives identical layers"
    );

    let init = "src/hello_uv/__init__.py";
    // A new text every run, so that no earlier run's layer cache can satisfy phase 2.
    let nonce = nanos();
    let source = project
        .read(init)
        .replace("hello from", &format!("edited {nonce} hello from"));
    project.write(init, &source);
    let edited = project.build(tag, &[]);
    edited.expect_success();
    // The project is installed editable from everything but its module, which is copied to
    // the image as it is: a source edit reruns no sync at all, only that copy.
    edited.assert_no_sync_reran();
    assert!(
        !edited.cached("[runtime 3/3] copy src/hello_uv from the build context"),
        "the module must be copied again"
    );
    assert!(run(tag, &[]).starts_with(&format!("edited {nonce} hello from hello-uv")));

    // Layers: only the last (the module) changed, and it is small.
    let edited_layers = layers(tag);
    let n = first_layers.len();
    // The base, dependency and installed-project layers reused.
    assert_layers_kept(&first_layers, &edited_layers, n - 1);
    // Below the module: the dependencies' and the project's venv layers, then the context.
    let venv_bytes = edited_layers[n - 4].1 + edited_layers[n - 3].1;
    let module_bytes = edited_layers[n - 1].1;
    assert!(
        module_bytes * 20 <= venv_bytes,
        "the changed layer ({module_bytes} B) is at most 5% of the venv ({venv_bytes} B)"
    );
}

#[test]
fn spec_errors_fail_with_the_line_of_uv_build() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let cases = [
        (
            "\n[sync]\nextras = [\"pg\"]\n",
            "uv.build:7: unknown key `extras` in [sync]",
            ">>> extras = [\"pg\"]",
        ),
        (
            "\n[sync]\ndev = \"yes\"\n",
            "uv.build:7: [sync] dev has the wrong type",
            ">>> dev = \"yes\"",
        ),
    ];
    for (append, reason, excerpt) in cases {
        let project = Project::copy_of("plain");
        project.append_to_spec(append);
        let build = project.build("uv-frontend-e2e/bad:spec", &[]);
        assert!(!build.succeeded(), "a bad spec must fail");
        let log = build.log();
        let error_line = build.error_line();
        assert!(error_line.contains(reason), "{error_line}");
        assert!(
            log.contains(excerpt),
            "buildx shows the offending line:\n{log}"
        );
    }

    let project = Project::copy_of("plain");
    project.remove("uv.lock");
    let build = project.build("uv-frontend-e2e/bad:lock", &[]);
    assert!(!build.succeeded());
    let log = build.log();
    assert!(
        log.lines().any(|l| l.starts_with("ERROR: ")
            && l.contains("uv.build:1: uv.lock is missing from the build context")),
        "{log}"
    );
}

#[test]
fn downloads_are_at_the_limit_in_every_scenario() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let cache = fresh_cache_id();
    let deps = "[deps 2/2]";
    let plain = Project::copy_of("plain");
    plain.use_cache(&cache, None);
    let tag = "uv-frontend-e2e/plain:downloads";

    // Cold: the one third-party package is downloaded once.
    let cold = plain.build(tag, &[]);
    cold.expect_success();
    assert_eq!(cold.prepared(deps), 1, "cold:\n{}", cold.log());
    assert_eq!(cold.installed(deps), ["idna==3.20"]);

    // Nothing changed: nothing runs.
    let again = plain.build(tag, &[]);
    again.expect_success();
    assert!(again.cached(deps));

    // Source edit: both phases cached (the module is copied as it is): nothing downloaded.
    let init = "src/hello_uv/__init__.py";
    plain.write(init, &format!("{}\n# {cache}\n", plain.read(init)));
    let edited = plain.build(tag, &[]);
    edited.expect_success();
    assert!(edited.cached(deps));
    assert!(edited.cached("[project 2/2]"), "{}", edited.log());
    assert!(
        !edited.log().contains("Prepared "),
        "nothing is downloaded or built:\n{}",
        edited.log()
    );

    // One dependency added: exactly it is downloaded, and exactly it is installed.
    plain.use_fixture("plain-with-six");
    let added = plain.build(tag, &[]);
    added.expect_success();
    assert_eq!(
        added.prepared(deps),
        1,
        "dependency added:\n{}",
        added.log()
    );
    assert_eq!(
        added.installed(deps),
        ["six==1.17.0"],
        "the kept venv had idna already"
    );

    // Another project on the same builder shares the uv cache: six is not downloaded again.
    let workspace = Project::copy_of("workspace");
    workspace.use_cache(&cache, None);
    let ws = workspace.build("uv-frontend-e2e/workspace:downloads", &[]);
    ws.expect_success();
    assert!(!ws.cached(deps), "a new project runs its phase 1");
    assert_eq!(ws.prepared(deps), 0, "shared cache:\n{}", ws.log());
    assert_eq!(ws.installed(deps), ["six==1.17.0"]);

    // A fresh builder whose cache mount survived: phase 1 runs again and downloads nothing.
    prune_all_but_cache_mounts();
    let fresh = plain.build(tag, &[]);
    fresh.expect_success();
    assert!(!fresh.cached(deps), "the layer cache was pruned");
    assert_eq!(fresh.prepared(deps), 0, "fresh builder:\n{}", fresh.log());
    let fresh_ws = workspace.build("uv-frontend-e2e/workspace:downloads", &[]);
    fresh_ws.expect_success();
    assert!(!fresh_ws.cached(deps));
    assert_eq!(fresh_ws.prepared(deps), 0, "fresh builder, workspace");

    // A builder image whose USER is not root uses the very same cache.
    let nonroot = Project::copy_of("plain");
    nonroot.use_cache(&cache, Some("127.0.0.1:5000/python:3.11-bookworm-nonroot"));
    nonroot.use_fixture("plain-with-six");
    let nr = nonroot.build("uv-frontend-e2e/plain:nonroot", &[]);
    nr.expect_success();
    assert!(!nr.cached(deps), "another builder image runs phase 1");
    assert_eq!(
        nr.installed(deps).len(),
        2,
        "idna and six installed from the cache"
    );
    assert_eq!(nr.prepared(deps), 0, "non-root builder:\n{}", nr.log());
    assert_eq!(
        run("uv-frontend-e2e/plain:nonroot", &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}

#[test]
fn big_packages_keep_their_layers_when_a_dependency_is_added() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let cold = assert_big_packages_keep_their_layers("uv-frontend-e2e/bigwheels:layers");
    // The classic store: the layers are copied one onto the other, no MergeOp.
    assert!(!cold.log().contains("stack layers"), "{}", cold.log());
}

#[test]
fn no_editable_installs_the_project_as_a_compiled_wheel_and_a_source_edit_reruns_phase_two() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.append_to_spec("\n[sync]\nno-editable = true\n");
    let init = "src/hello_uv/__init__.py";
    // A new text every run, so that no earlier run's layers can satisfy phase 2.
    let nonce = nanos();
    let original = project.read(init);
    project.write(
        init,
        &original.replace("hello from", &format!("wheel {nonce} hello from")),
    );
    let tag = "uv-frontend-e2e/plain:no-editable";
    let first = project.build(tag, &[]);
    first.expect_success();
    assert!(
        !first.has_step("from the build context"),
        "no module is copied on its own:\n{}",
        first.log()
    );

    // The module is imported from site-packages, with its bytecode; the build context is at
    // /app beside it, as uv's guide copies the project.
    let (out, err) = python_output(
        tag,
        "import hello_uv, os, importlib.util as u; \
         print(hello_uv.__file__); print(os.path.exists(u.cache_from_source(hello_uv.__file__))); \
         print(os.path.exists('/app/src/hello_uv/__init__.py'))",
    );
    assert_eq!(
        out, "/app/.venv/lib/python3.11/site-packages/hello_uv/__init__.py\nTrue\nTrue",
        "{err}"
    );

    // A source edit reinstalls the project in phase 2: built, nothing downloaded.
    project.write(
        init,
        &original.replace("hello from", &format!("edited {nonce} hello from")),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    assert!(edited.cached("[deps 2/2]"), "{}", edited.log());
    assert!(!edited.cached("[project 2/2]"), "phase 2 reruns");
    assert_eq!(
        edited.installed("[project 2/2]"),
        ["hello-uv==0.1.0 (from file:///app)"]
    );
    assert_eq!(
        edited.prepared("[project 2/2]"),
        1,
        "only the project is built"
    );
    assert!(run(tag, &[]).starts_with(&format!("edited {nonce} hello from hello-uv")));
}

#[test]
fn a_path_dependency_is_skipped_by_phase_one_and_installed_by_phase_two() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.use_fixture("plain-with-path-dep");
    // A new text every run, so that phase 2 (which builds the path dependency) runs.
    let nonce = nanos();
    project.write(
        "libs/helper/src/helper/__init__.py",
        &format!("def greet():\n    return \"helped {nonce}\"\n"),
    );
    let tag = "uv-frontend-e2e/plain:path-dep";
    let build = project.build(tag, &[]);
    build.expect_success();
    // Phase 1 has no sources at all: it installs the third-party packages only.
    let deps = build
        .step_names()
        .into_iter()
        .find(|n| n.starts_with("[deps 2/2]"))
        .expect("phase 1");
    assert!(deps.contains("--no-install-local"), "{deps}");
    assert!(
        !build
            .installed("[deps 2/2]")
            .iter()
            .any(|p| p.starts_with("helper")),
        "{}",
        build.log()
    );
    // Phase 2 builds it, as a wheel (a path dependency is never editable).
    assert!(
        build
            .installed("[project 2/2]")
            .iter()
            .any(|p| p.starts_with("helper==0.1.0")),
        "{}",
        build.log()
    );
    let (out, err) = python_output(tag, "import helper, hello_uv; print(helper.greet())");
    assert_eq!(out, format!("helped {nonce}"), "{err}");
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
    assert!(
        build.has_step("copy src/hello_uv from the build context"),
        "the project's own module is still copied beside its editable install"
    );
}

#[test]
fn a_module_left_out_by_dockerignore_fails_with_the_fix() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    let ignore = project.read(".dockerignore");
    project.write(".dockerignore", &format!("{ignore}src\n"));
    let build = project.build("uv-frontend-e2e/bad:no-module", &[]);
    assert!(!build.succeeded(), "a build without the module must fail");
    let error_line = build.error_line();
    assert!(
        error_line.contains(
            "uv.build:1: src/hello_uv, the module uv's build backend installs for the project, is not in the build context"
        ) && error_line.contains("if .dockerignore excludes it, make it keep it)"),
        "{error_line}"
    );
}

#[test]
fn a_selected_member_image_holds_that_member_and_not_the_root_app() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("workspace");
    project.append_to_spec("\n[sync]\npackage = \"greeter\"\n[run]\ncommand = [\"python\"]\n");
    let tag = "uv-frontend-e2e/workspace:greeter";
    project.build(tag, &[]).expect_success();
    let (out, err) = python_output(
        tag,
        "import greeter, importlib.util as u, os; print(greeter.greet('member')); \
         print(u.find_spec('ws_app') is None, os.path.exists('/app/src/ws_app'), os.getcwd())",
    );
    // The member runs from its own directory, which has its files; the root app's module is
    // neither installed nor copied.
    assert_eq!(
        out, "Hello, member!\nTrue False /app/packages/greeter",
        "{err}"
    );

    // Editing the module of a package this image does not install (the root app's) reruns
    // nothing, and leaves every layer as it was.
    let before = layers(tag);
    let path = "src/ws_app/__init__.py";
    let text = project.read(path);
    project.write(
        path,
        &format!("{text}\n# edited elsewhere in the monorepo\n"),
    );
    let again = project.build(tag, &[]);
    again.expect_success();
    assert!(again.cached("[project 2/2] uv sync"), "{}", again.log());
    assert_eq!(layers(tag), before);
}

#[test]
fn an_application_that_is_not_a_package_runs_from_its_files_and_an_edit_reruns_no_sync() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    // examples/app: no [build-system] (uv init's application), run as `python main.py`.
    let project = Project::copy_of("app");
    // Bytecode a checkout may hold, where .dockerignore does not reach: never copied.
    project.write("templates/__pycache__/stale.cpython-311.pyc", "stale");
    let tag = "uv-frontend-e2e/app:test";
    project.build(tag, &[]).expect_success();
    assert_eq!(run(tag, &[]), "hello from hello-app (idna 3.20)");
    assert_lean_non_root(tag);
    let listing = run_entry(
        tag,
        "/bin/sh",
        &[
            "-c",
            "cd /app && find . -path ./.venv -prune -o -print | sort",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&listing.stdout)
            .lines()
            .collect::<Vec<_>>(),
        [
            ".",
            "./.python-version",
            "./greeting.py",
            "./main.py",
            "./pyproject.toml",
            "./templates",
            "./templates/greeting.txt",
            "./uv.lock",
        ],
        "the build context at /app, without .venv, bytecode and the build's own files"
    );
    let owner = run_entry(tag, "stat", &["-c", "%U", "/app/main.py"]);
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "app");

    // An edit of the code: no sync reruns, and only the last layer changes.
    let before = layers(tag);
    let nonce = nanos();
    project.write(
        "templates/greeting.txt",
        &format!("edited {nonce} hello from hello-app ({{detail}})\n"),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    for phase in ["[deps 2/2]", "[project 2/2]"] {
        assert!(
            edited.cached(phase),
            "{phase} reran after an edit of the app's files:\n{}",
            edited.log()
        );
    }
    assert_eq!(
        run(tag, &[]),
        format!("edited {nonce} hello from hello-app (idna 3.20)")
    );
    let after = layers(tag);
    assert_layers_kept(&before, &after, before.len() - 1);

    // An edit of uv.build that changes no value reruns nothing: the build's own files are no
    // input of any step.
    project.append_to_spec("# a comment\n");
    let again = project.build(tag, &[]);
    again.expect_success();
    again.assert_fully_cached();
    assert_eq!(layers(tag), after);
}

#[test]
fn a_stale_lock_fails_with_uvs_own_words_and_the_fix() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    // A dependency added to pyproject.toml without `uv lock`.
    let pyproject = project.read("pyproject.toml").replace(
        "dependencies = [\"idna>=3.7\"]",
        "dependencies = [\"idna>=3.7\", \"six\"]",
    );
    project.write("pyproject.toml", &pyproject);
    let build = project.build("uv-frontend-e2e/plain:stale", &[]);
    assert!(!build.succeeded(), "{}", build.log());
    assert!(
        build.log().contains(
            "The lockfile at `uv.lock` needs to be updated, but `--locked` was provided."
        ),
        "uv says it, with a network to find that out:\n{}",
        build.log()
    );
    assert!(
        build.error_line().ends_with(
            "(fix: pyproject.toml depends on six which uv.lock does not record: run `uv lock` and commit uv.lock)"
        ),
        "{}",
        build.error_line()
    );
}

#[test]
fn no_cache_reruns_every_sync_but_keeps_the_uv_cache() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("plain");
    project.use_cache(&fresh_cache_id(), None);
    let tag = "uv-frontend-e2e/plain:no-cache";
    let first = project.build(tag, &[]);
    first.expect_success();
    assert_eq!(first.prepared("[deps 2/2]"), 1, "idna, into a new cache");
    // BuildKit empties the cache mounts of a step it rebuilds for --no-cache; the frontend's
    // sync steps rerun without that, so uv finds idna in its cache and the kept venv.
    for flags in [&["--no-cache"][..], &["--no-cache-filter", "deps"][..]] {
        let again = project.build(tag, flags);
        again.expect_success();
        assert!(
            !again.cached("[deps 2/2]"),
            "{flags:?} reruns phase 1:\n{}",
            again.log()
        );
        assert_eq!(
            again.prepared("[deps 2/2]"),
            0,
            "{flags:?} downloads nothing:\n{}",
            again.log()
        );
    }
    assert_eq!(
        run(tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}
