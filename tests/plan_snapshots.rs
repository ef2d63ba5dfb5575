//! Settings defaults and the plans of the example projects, as snapshots.

use std::collections::BTreeMap;

use uv_frontend::plan::plan;
use uv_frontend::project::{ContextFiles, Project};
use uv_frontend::settings::{BuildFacts, Settings};
use uv_frontend::spec::{parse, SpecFile};

fn read(dir: &str, name: &str) -> Option<String> {
    std::fs::read_to_string(format!(
        "{}/examples/{dir}/{name}",
        env!("CARGO_MANIFEST_DIR")
    ))
    .ok()
}

fn settings(dir: &str, spec_text: &str) -> Settings {
    let files = ContextFiles {
        pyproject: read(dir, "pyproject.toml"),
        uv_lock: read(dir, "uv.lock"),
        python_version: read(dir, ".python-version"),
        uv_toml: read(dir, "uv.toml"),
        dockerignore: read(dir, ".dockerignore"),
    };
    let spec_file = SpecFile {
        name: "uv.build".into(),
        text: spec_text.into(),
    };
    let spec = parse(&spec_file).expect("valid spec");
    let project = Project::from_files(&files, "uv.build").expect("valid project");
    Settings::resolve(
        &spec_file,
        &spec,
        &files,
        &project,
        &BTreeMap::new(),
        &facts(),
    )
    .expect("resolves")
}

/// A Debian-like base image on a BuildKit with MergeOp and DiffOp.
fn facts() -> BuildFacts {
    BuildFacts {
        base_passwd: Some("root:x:0:0:root:/root:/bin/bash\n".into()),
        base_group: Some("root:x:0:\n".into()),
        merge_diff: true,
        platform: uv_frontend::llb::Platform::new("linux", "amd64", ""),
        build_args: Default::default(),
        target: uv_frontend::settings::Target::Runtime,
        labels: Default::default(),
        network: None,
        extra_hosts: vec![],
    }
}

#[test]
fn defaults_come_from_the_project() {
    let s = settings("plain", "# syntax=uv-frontend\n");
    assert_eq!(
        s.images.builder, "python:3.11-slim-bookworm",
        ".python-version says 3.11"
    );
    assert_eq!(s.images.base, s.images.builder);
    assert_eq!(s.images.uv, "ghcr.io/astral-sh/uv:0.13.9");
    assert_eq!(s.workdir, "/app");
    assert_eq!(s.venv, "/app/.venv");
    assert_eq!(
        (s.cache.id.as_str(), s.cache.dir.as_str()),
        ("uv", "/root/.cache/uv")
    );
    assert_eq!(s.run.user.name, "app");
    assert_eq!((s.run.user.uid, s.run.user.gid), (10001, 10001));
    assert_eq!(s.run.command, Some(vec!["hello".to_string()]));
    assert!(!s.sync.dev);
    assert!(!s.project.workspace);
    let paths: Vec<&str> = s.dependency_files.iter().map(|f| f.path.as_str()).collect();
    assert_eq!(paths, ["pyproject.toml", "uv.lock", ".python-version"]);
    assert!(
        !s.dependency_files[0].content.contains("description"),
        "pyproject.toml is reduced to its dependency parts"
    );
}

/// The settings of `files` with an empty uv.build (every default).
fn settings_without_spec(files: &ContextFiles) -> Settings {
    let spec_file = SpecFile {
        name: "uv.build".into(),
        text: String::new(),
    };
    let spec = parse(&spec_file).expect("valid");
    let project = Project::from_files(files, "uv.build").expect("valid");
    Settings::resolve(
        &spec_file,
        &spec,
        files,
        &project,
        &BTreeMap::new(),
        &facts(),
    )
    .expect("resolves")
}

#[test]
fn python_version_requests_in_every_cpython_form_pick_the_builder() {
    for (request, builder) in [
        ("3.12\n", "python:3.12-slim-bookworm"),
        ("3.12.4\n", "python:3.12-slim-bookworm"),
        ("cpython@3.12\n", "python:3.12-slim-bookworm"),
        ("cpython-3.12\n", "python:3.12-slim-bookworm"),
        ("cp313\n", "python:3.13-slim-bookworm"),
        ("3.13t\n", "python:3.13-slim-bookworm"),
        // Another implementation: requires-python's lower bound decides.
        ("pypy@3.10\n", "python:3.11-slim-bookworm"),
    ] {
        let files = ContextFiles {
            pyproject: Some(
                "[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.11\"\n".into(),
            ),
            uv_lock: Some("version = 1\n".into()),
            python_version: Some(request.into()),
            ..Default::default()
        };
        let s = settings_without_spec(&files);
        assert_eq!(s.images.builder, builder, "{request:?}");
    }
}

#[test]
fn requires_python_picks_the_builder_without_python_version() {
    let files = ContextFiles {
        pyproject: Some(
            "[project]\nname = \"x\"\nversion = \"1\"\nrequires-python = \">=3.13\"\n".into(),
        ),
        uv_lock: Some("version = 1\n".into()),
        ..Default::default()
    };
    let s = settings_without_spec(&files);
    assert_eq!(s.images.builder, "python:3.13-slim-bookworm");
    assert_eq!(
        s.run.command, None,
        "no console script: keep the base image's command"
    );
}

#[test]
fn unknown_package_is_an_error_at_its_line() {
    let spec_file = SpecFile {
        name: "uv.build".into(),
        text: "[sync]\n\npackage = \"nope\"\n".into(),
    };
    let spec = parse(&spec_file).expect("valid syntax");
    let files = ContextFiles {
        pyproject: read("workspace", "pyproject.toml"),
        uv_lock: read("workspace", "uv.lock"),
        ..Default::default()
    };
    let project = Project::from_files(&files, "uv.build").expect("valid");
    let error = Settings::resolve(
        &spec_file,
        &spec,
        &files,
        &project,
        &BTreeMap::new(),
        &facts(),
    )
    .expect_err("not a member");
    assert_eq!(
        error.to_string(),
        "uv.build:3: [sync] package \"nope\" is not a package of this project (fix: use one of: greeter, ws-app)"
    );
}

#[test]
fn plain_project_plan() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/plain/uv.build"
    ))
    .expect("example spec");
    insta::assert_json_snapshot!(plan(&settings("plain", &spec)));
}

#[test]
fn workspace_plan() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/workspace/uv.build"
    ))
    .expect("example spec");
    insta::assert_json_snapshot!(plan(&settings("workspace", &spec)));
}

/// examples/app is not a package: phase 2 gets only the files uv reads, and the runtime image
/// the build context beside the venv.
#[test]
fn app_project_plan() {
    let spec = std::fs::read_to_string(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/examples/app/uv.build"
    ))
    .expect("example spec");
    insta::assert_json_snapshot!(plan(&settings("app", &spec)));
}

#[test]
fn full_spec_plan() {
    let spec = r#"[build]
base = "python:3.11-slim-bookworm"
workdir = "/srv/app"
[sync]
package = "greeter"
extra = ["fast"]
group = ["prod"]
dev = true
lock = "frozen"
compile-bytecode = false
[cache]
id = "ci-uv"
dir = "/cache/uv"
sharing = "locked"
[run]
user = "svc"
command = ["python", "-m", "greeter"]
env = { APP_ENV = "production" }
expose = [8000, 9090]
"#;
    insta::assert_json_snapshot!(plan(&settings("workspace", spec)));
}

#[test]
fn plan_without_mergeop_copies_dependencies_then_project_files() {
    let mut s = settings("plain", "");
    s.layered = false;
    s.package_units = None;
    let plan = plan(&s);
    let names: Vec<&str> = plan
        .stages
        .iter()
        .filter(|stage| stage.name.starts_with("runtime"))
        .flat_map(|stage| stage.steps.iter().map(|s| s.name()))
        .collect();
    assert_eq!(
        names,
        [
            "[runtime-deps 1/2] add user app (10001:10001)",
            "[runtime-deps 2/2] copy /app/.venv dependencies from deps",
            "[runtime 1/3] copy /app/.venv project files from project",
            "[runtime 2/3] copy build context to /app",
            "[runtime 3/3] copy src/hello_uv from the build context to /app/src/hello_uv"
        ]
    );
    // The project layer is what phase 2 wrote, collected by phase 2 itself: no step walks the
    // whole venv to compare it with phase 1.
    let json = serde_json::to_value(&plan).expect("a plan serializes");
    let project_copy = &json["stages"][3]["steps"][0];
    assert_eq!(project_copy["from"]["diff"]["method"], "written");
    let phase2 = &json["stages"][1]["steps"][1];
    assert_eq!(phase2["finish"]["collect_into"], "/uv-frontend/written");
    let with_diffop = serde_json::to_value(plan_of_layered()).expect("a plan serializes");
    assert_eq!(
        with_diffop["stages"][1]["steps"][1]["finish"]["collect_into"],
        serde_json::Value::Null,
        "with DiffOp nothing is collected"
    );
}

/// A layered plan whose phase 1 is one sync (a lock the frontend cannot walk).
fn plan_of_layered() -> uv_frontend::plan::Plan {
    let mut s = settings("plain", "");
    s.layered = true;
    s.package_units = None;
    plan(&s)
}

#[test]
fn big_packages_get_layers_of_their_own() {
    let mut s = settings("bigwheels", "# syntax=uv-frontend\n");
    // numpy's and pandas' wheels are over 4 MiB; python-dateutil, six and tzdata are not.
    assert_eq!(s.own_layers, ["numpy", "pandas"]);
    // As units: each its own step, and the big ones a layer each; nothing to read first.
    let p = plan(&s);
    assert_eq!(p.venv_layers(), None);
    let json = serde_json::to_value(&p).expect("a plan serializes");
    let layers: Vec<&str> = json["stages"][0]["steps"][0]["layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l["label"].as_str().expect("a label"))
        .collect();
    assert_eq!(layers[..2], ["numpy", "pandas"]);
    // Python 3.11 gets numpy 2.4.6, not 2.5.5: the lock forks on python_full_version.
    let units: Vec<String> = s
        .package_units
        .as_ref()
        .expect("units")
        .packages
        .iter()
        .map(|p| format!("{}=={}", p.name, p.version))
        .collect();
    assert_eq!(
        units,
        [
            "numpy==2.4.6",
            "pandas==3.1.1",
            "python-dateutil==4.0.0",
            "tzdata==2026.6"
        ]
    );

    // With one sync for phase 1, the big packages' files are read from its venv.
    s.package_units = None;
    let p = plan(&s);
    assert_eq!(
        p.venv_layers(),
        Some((
            "deps",
            ["numpy".to_string(), "pandas".to_string()].as_slice()
        ))
    );
    // Small projects keep one dependency layer and need no read of the built venv.
    let mut plain = settings("plain", "# syntax=uv-frontend\n");
    plain.package_units = None;
    assert_eq!(plan(&plain).venv_layers(), None);
}

#[test]
fn the_project_phase_is_offline_only_when_uv_build_builds_every_package() {
    let spec = "# syntax=uv-frontend\n[build]\nuv = \"ghcr.io/astral-sh/uv:0.13.9\"\n";
    assert!(settings("plain", spec).project_offline);
    // A workspace member's pyproject.toml was not read: it might need a build backend.
    assert!(!settings("workspace", spec).project_offline);
    // A uv whose version the tag does not tell, or that uv_build's range excludes.
    assert!(!settings("plain", "# syntax=x\n[build]\nuv = \"uv:latest\"\n").project_offline);
    assert!(!settings("plain", "# syntax=x\n[build]\nuv = \"uv:0.14.0\"\n").project_offline);
}
