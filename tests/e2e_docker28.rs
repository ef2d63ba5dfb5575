//! End to end on Docker 28.5 with buildx 0.29 and containerd 2.1, all three from Debian's
//! unstable suite (sid), on the containerd image store: the test bed unpacks them beside its
//! Docker 26 and starts that dockerd with a containerd 2.1 of its own
//! (`scripts/testbed/side-daemon.sh docker28 up`, run by `scripts/testbed-up`). The tests drive
//! it with its own client, whose config directory holds buildx 0.29, so that what buildx 0.13
//! cannot do is tested through a current buildx: the subrequests through a real `--call`, whose
//! results buildx prints itself. Besides those, the core build: both examples build and run, a
//! rebuild is fully cached, a source edit reruns no sync, and two fresh builders give one image
//! digest. A missing daemon fails these tests rather than skipping them.

mod support;

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::MutexGuard;

use support::e2e::*;
use support::oci_export::{first_layer_of_base, oci_export};

const HOST: &str = "unix:///run/uvf-docker28.sock";

fn testbed_cache() -> PathBuf {
    PathBuf::from(
        std::env::var("TESTBED_CACHE").unwrap_or_else(|_| "/var/cache/uv-frontend-testbed".into()),
    )
}

/// sid's docker-cli 28.5, unpacked by side-daemon.sh (`DOCKER28_ROOT`).
fn client() -> String {
    std::env::var("DOCKER28_CLIENT").unwrap_or_else(|_| {
        let path = testbed_cache().join("docker-28/sid/usr/bin/docker");
        path.to_string_lossy().into_owned()
    })
}

/// That client's own config directory (`DOCKER28_CONFIG`): buildx 0.29 in its `cli-plugins/`,
/// so Docker 26's client keeps buildx 0.13.
fn client_config() -> String {
    std::env::var("DOCKER28_CONFIG").unwrap_or_else(|_| {
        let path = testbed_cache().join("docker-28/client");
        path.to_string_lossy().into_owned()
    })
}

fn side_daemon() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed/side-daemon.sh")
}

/// What a helper command printed, for assertion messages.
fn text(out: &Output) -> String {
    format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    )
}

/// Takes the daemon lock, aims the helpers at Docker 28 with its own client, and fails unless
/// it answers as Docker 28.5 on the containerd image store with buildx 0.29.
fn docker28() -> MutexGuard<'static, ()> {
    let guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    use_docker_host(HOST);
    use_docker_client(&client(), &client_config());
    let up = "run scripts/testbed-up (scripts/test does), or scripts/testbed/side-daemon.sh \
              docker28 up";
    assert!(
        Path::new(&client()).exists(),
        "no Docker 28 client at {}: {up}",
        client()
    );
    let version = docker_command()
        .args([
            "version",
            "--format",
            "{{.Server.Version}} {{.Client.Version}}",
        ])
        .output()
        .expect("the Docker 28 client runs");
    let versions = String::from_utf8_lossy(&version.stdout).trim().to_string();
    assert!(
        versions.starts_with("28.5.") && versions.contains(" 28.5."),
        "no Docker 28.5 answers at {HOST} (server and client: {versions:?}; {}): {up}",
        String::from_utf8_lossy(&version.stderr).trim()
    );
    let buildx = docker_command()
        .args(["buildx", "version"])
        .output()
        .expect("docker buildx runs");
    let buildx = text(&buildx);
    assert!(
        buildx.contains(" 0.29."),
        "the Docker 28 client's buildx is not 0.29 (DOCKER_CONFIG={}): {buildx}",
        client_config()
    );
    let driver = docker_command()
        .args(["info", "--format", "{{json .DriverStatus}}"])
        .output()
        .expect("docker info runs");
    let driver = text(&driver);
    assert!(
        driver.contains("io.containerd.snapshotter.v1"),
        "the Docker 28 daemon does not use the containerd image store: {driver}"
    );
    // The containerd store resolves `# syntax=` against the registry; the pull checks it answers.
    pull_frontend(docker_command());
    guard
}

const PLAIN_OUTPUT: &str = "hello from hello-uv 0.1.0 (idna 3.20) dev=absent";
const INIT: &str = "src/hello_uv/__init__.py";

#[test]
fn both_examples_build_and_run_with_buildx_0_29() {
    let _guard = docker28();
    for (example, tag, expected) in [
        ("plain", "uv-frontend-e2e-28/plain:latest", PLAIN_OUTPUT),
        (
            "workspace",
            "uv-frontend-e2e-28/workspace:latest",
            "ws-app: Hello, workspace! (greeter 0.1.0, six 1.17.0)",
        ),
    ] {
        let project = Project::copy_of(example);
        let build = project.build(tag, &[]);
        build.expect_success();
        // This BuildKit has MergeOp and DiffOp: the runtime image is stacked from layers made
        // apart, and the project layer is the changes over the dependencies.
        for vertex in ["[runtime] stack layers", "[project] changes over deps"] {
            assert!(
                build
                    .log()
                    .lines()
                    .any(|l| l.ends_with(&format!(" {vertex}"))),
                "no `{vertex}` vertex:\n{}",
                build.log()
            );
        }
        assert_eq!(run(tag, &[]), expected, "{example}");
        assert_lean_non_root(tag);
    }
}

#[test]
fn a_rebuild_is_fully_cached_and_a_source_edit_reruns_no_sync() {
    let _guard = docker28();
    let project = Project::copy_of("plain");
    let tag = "uv-frontend-e2e-28/plain:cache";
    project.build(tag, &[]).expect_success();

    let again = project.build(tag, &[]);
    again.expect_success();
    again.assert_fully_cached();

    // A new text every run, so no earlier run's layers can match.
    let edit = format!("edited {} on 28: ", nanos());
    let source = project.read(INIT);
    project.write(
        INIT,
        &source.replacen("f\"hello from", &format!("f\"{edit}hello from"), 1),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    edited.assert_no_sync_reran();
    assert!(
        edited.cached("[deps 1/1] layer: idna"),
        "the dependency layer is kept:\n{}",
        edited.log()
    );
    assert!(
        !edited.cached("[runtime 3/3] copy src/hello_uv from the build context"),
        "{}",
        edited.log()
    );
    assert_eq!(run(tag, &[]), format!("{edit}{PLAIN_OUTPUT}"));
}

/// `docker buildx build -f uv.build --call=<what> <extra> .` through buildx 0.29 (a real
/// `--call`, no `BUILDX_EXPERIMENTAL`), quiet, so stdout is what buildx printed of the result.
fn call(project: &Project, what: &str, extra: &[&str]) -> Output {
    docker_command()
        .args(["buildx", "build", "--quiet", "-f", "uv.build"])
        .arg(format!("--call={what}"))
        .args(extra)
        .arg(".")
        .current_dir(&project.dir)
        .output()
        .expect("docker buildx runs")
}

fn stdout(out: &Output) -> String {
    String::from_utf8_lossy(&out.stdout).into_owned()
}

#[test]
fn call_targets_lists_runtime_dev_and_test() {
    let _guard = docker28();
    let project = Project::copy_of("plain");
    let out = call(&project, "targets", &[]);
    assert!(out.status.success(), "{}", text(&out));
    let printed = stdout(&out);
    // buildx prints the frontend's targets as a table: TARGET, DESCRIPTION.
    let names: Vec<&str> = printed
        .lines()
        .skip_while(|l| !l.starts_with("TARGET"))
        .skip(1)
        .filter_map(|l| l.split_whitespace().next())
        .collect();
    assert_eq!(names, ["runtime", "dev", "test"], "{printed}");
    assert!(
        printed
            .lines()
            .any(|l| l.starts_with("runtime (default)") && l.contains("the runtime image")),
        "{printed}"
    );
}

#[test]
fn call_check_prints_no_warnings_or_the_findings_with_their_lines() {
    let _guard = docker28();
    let clean = Project::copy_of("plain");
    let out = call(&clean, "check", &[]);
    assert!(out.status.success(), "{}", text(&out));
    assert_eq!(
        stdout(&out).trim(),
        "Check complete, no warnings found.",
        "{}",
        text(&out)
    );

    let project = Project::copy_of("plain");
    project.append_to_spec("[sync]\ndev = true\n");
    project.write(".dockerignore", "__pycache__\n");
    let line = project.read("uv.build").lines().count();
    let out = call(&project, "check", &[]);
    let printed = stdout(&out);
    assert!(
        printed.contains("Check complete, 2 warnings have been found!"),
        "{}",
        text(&out)
    );
    assert!(printed.contains("WARNING: VenvNotIgnored"), "{printed}");
    assert!(
        printed.contains("the build context's .dockerignore does not exclude .venv"),
        "{printed}"
    );
    assert!(
        printed.contains("WARNING: DevDependenciesInRuntime"),
        "{printed}"
    );
    assert!(
        printed.contains("[sync] dev = true puts the dev group into the runtime image"),
        "{printed}"
    );
    // buildx shows the finding's line of uv.build, marked in an excerpt of the file.
    assert!(printed.contains(&format!("uv.build:{line}")), "{printed}");
    assert!(
        printed.contains(&format!("{line:>4} | >>> dev = true")),
        "{printed}"
    );
    // buildx exits with the result's `result.statuscode`: 1 with findings, so CI can fail on
    // them.
    assert_eq!(out.status.code(), Some(1), "{}", text(&out));

    // The same findings as JSON, with the rule names and the line.
    let out = call(&project, "check,format=json", &[]);
    let json: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!("--call=check,format=json: {e}: {}", text(&out));
    });
    let rules: Vec<&str> = json["warnings"]
        .as_array()
        .expect("warnings")
        .iter()
        .filter_map(|w| w["ruleName"].as_str())
        .collect();
    assert_eq!(rules, ["VenvNotIgnored", "DevDependenciesInRuntime"]);
    assert_eq!(
        json["warnings"][1]["location"]["ranges"][0]["start"]["line"],
        line as u64
    );
}

#[test]
fn call_outline_prints_the_build_args_with_this_builds_values() {
    let _guard = docker28();
    let project = Project::copy_of("plain");
    let dev = ["--build-arg", "UVF_SYNC_DEV=true"];
    let out = call(&project, "outline", &dev);
    assert!(out.status.success(), "{}", text(&out));
    let printed = stdout(&out);
    assert!(
        printed.lines().any(|l| l == "TARGET:      runtime"),
        "{printed}"
    );
    // The BUILD ARG table: name, value, description.
    let arg = |name: &str| -> Vec<String> {
        printed
            .lines()
            .find(|l| l.split_whitespace().next() == Some(name))
            .unwrap_or_else(|| panic!("no build arg {name} in:\n{printed}"))
            .split_whitespace()
            .map(str::to_string)
            .collect()
    };
    assert_eq!(arg("UVF_SYNC_DEV")[1], "true", "the value of this build");
    assert_eq!(arg("UVF_SYNC_LOCK")[1], "locked");
    assert_eq!(
        arg("UVF_BUILD_BUILDER")[1],
        "127.0.0.1:5000/python:3.11-bookworm"
    );
    assert_eq!(arg("UVF_CACHE_ID")[1], "uv");
    assert!(printed.contains("SOURCE_DATE_EPOCH"), "{printed}");
    // Optional index secrets.
    assert!(
        printed.lines().any(|l| l.trim_end() == "UV_INDEX_URL"),
        "{printed}"
    );

    let out = call(&project, "outline,format=json", &dev);
    let outline: serde_json::Value = serde_json::from_str(&stdout(&out)).unwrap_or_else(|e| {
        panic!("--call=outline,format=json: {e}: {}", text(&out));
    });
    let value = outline["args"]
        .as_array()
        .expect("args")
        .iter()
        .find(|a| a["name"] == "UVF_SYNC_DEV")
        .expect("UVF_SYNC_DEV is listed");
    assert_eq!(value["value"], "true");
}

/// Down, delete the data root (images, build cache, cache mounts, cache keys; containerd's root
/// is under it), up: a builder as new as a CI runner's.
fn fresh_builder() {
    let out = Command::new(side_daemon())
        .args(["docker28", "reset"])
        .output()
        .expect("side-daemon.sh runs");
    assert!(
        out.status.success(),
        "side-daemon.sh docker28 reset: {}",
        text(&out)
    );
    // The reset daemon has nothing: pull the frontend again (as docker28() does).
    pull_frontend(docker_command());
}

const EPOCH: [&str; 2] = ["--build-arg", "SOURCE_DATE_EPOCH=1700000000"];

#[test]
fn two_fresh_builders_give_the_same_image_digest_with_rewrite_timestamp() {
    let _guard = docker28();
    let project = Project::copy_of("plain");

    // Docker 28.5's image store refuses it: its image exporter always unpacks the image, and
    // BuildKit cannot unpack rewritten layers (moby/buildkit#4230). The OCI exporter below can.
    let refused = docker_command()
        .args(["buildx", "build", "--progress=plain", "-f", "uv.build"])
        .args(EPOCH)
        .args([
            "--output",
            "type=image,name=uv-frontend-e2e-28/repro:latest,rewrite-timestamp=true",
            ".",
        ])
        .current_dir(&project.dir)
        .output()
        .expect("docker runs");
    assert!(!refused.status.success(), "{}", text(&refused));
    assert!(
        text(&refused).contains(
            "ERROR: failed to build: failed to solve: exporter option \"rewrite-timestamp\" \
             conflicts with \"unpack\""
        ),
        "{}",
        text(&refused)
    );

    fresh_builder();
    let first = oci_export(&project, &EPOCH);
    assert!(
        first
            .log
            .contains("rewriting layers with source-date-epoch 1700000000"),
        "{}",
        first.log
    );
    fresh_builder();
    let second = oci_export(&project, &EPOCH);
    eprintln!("image digest {} twice", first.digest);
    assert_eq!(
        first.digest, second.digest,
        "SOURCE_DATE_EPOCH + rewrite-timestamp give one digest on two fresh builders"
    );
    // The base image's layers are the base's own, not rewritten.
    assert_eq!(first.first_layer, first_layer_of_base());
}
