//! End to end: `docker buildx build -f uv.build` through the frontend image on a real BuildKit,
//! then `docker run`. Needs the test bed (`scripts/testbed-up`); CI starts it, and a missing
//! daemon fails these tests rather than skipping them.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::Mutex;

/// Builds share one daemon and its cache; running them one at a time keeps logs attributable.
static DAEMON: Mutex<()> = Mutex::new(());

const BUILD_TIMEOUT_SECS: &str = "600";

fn docker() -> String {
    std::env::var("DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

fn frontend_image() -> String {
    std::env::var("UV_FRONTEND_IMAGE").unwrap_or_else(|_| "127.0.0.1:5000/uv-frontend:dev".into())
}

fn require_daemon() {
    let ok = Command::new(docker())
        .args(["info", "--format", "{{.ServerVersion}}"])
        .output()
        .map(|o| o.status.success())
        .unwrap_or(false);
    assert!(
        ok,
        "no Docker daemon answers at {}: run scripts/testbed-up first (scripts/test does)",
        docker()
    );
}

/// A fresh copy of an example in a temporary directory, with `uv.build` loading the frontend
/// under test.
struct Project {
    dir: PathBuf,
}

impl Project {
    fn copy_of(example: &str) -> Project {
        let src = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples")
            .join(example);
        let dir = std::env::temp_dir().join(format!(
            "uv-frontend-e2e-{example}-{}-{}",
            std::process::id(),
            unique()
        ));
        let status = Command::new("cp")
            .arg("-r")
            .arg(&src)
            .arg(&dir)
            .status()
            .expect("cp runs");
        assert!(status.success());
        let project = Project { dir };
        let spec = project.read("uv.build");
        let spec = spec.replacen(
            "# syntax=127.0.0.1:5000/uv-frontend:dev",
            &format!("# syntax={}", frontend_image()),
            1,
        );
        project.write("uv.build", &spec);
        project
    }

    fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).expect("readable")
    }

    fn write(&self, path: &str, content: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("writable");
    }

    fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.join(path)).expect("removable");
    }

    /// `docker buildx build -f uv.build -t <tag> --load .` with plain progress.
    fn build(&self, tag: &str, extra: &[&str]) -> Build {
        let mut cmd = Command::new("timeout");
        cmd.arg(BUILD_TIMEOUT_SECS)
            .arg(docker())
            .args(["buildx", "build", "--progress=plain", "-f", "uv.build"])
            .args(["-t", tag, "--load"])
            .args(extra)
            .arg(".")
            .current_dir(&self.dir);
        let output = cmd.output().expect("docker runs");
        let build = Build { output };
        assert_ne!(
            build.output.status.code(),
            Some(124),
            "the build did not finish in {BUILD_TIMEOUT_SECS}s (frontend hung?):\n{}",
            build.log()
        );
        build
    }
}

impl Drop for Project {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

struct Build {
    output: Output,
}

impl Build {
    fn log(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    fn succeeded(&self) -> bool {
        self.output.status.success()
    }

    fn expect_success(&self) -> &Build {
        assert!(self.succeeded(), "build failed:\n{}", self.log());
        self
    }

    /// The plain-progress lines of the vertex whose name starts with `prefix`.
    fn vertex_lines(&self, prefix: &str) -> Vec<String> {
        let log = self.log();
        let id = log
            .lines()
            .find_map(|l| {
                let rest = l.strip_prefix('#')?;
                let (num, name) = rest.split_once(' ')?;
                (name.starts_with(prefix) && num.chars().all(|c| c.is_ascii_digit()))
                    .then(|| num.to_string())
            })
            .unwrap_or_else(|| panic!("no vertex named {prefix}* in:\n{log}"));
        log.lines()
            .filter(|l| l.starts_with(&format!("#{id} ")))
            .map(str::to_string)
            .collect()
    }

    /// Names of the frontend's own steps (`[deps 1/2] ...`, ...), in log order.
    fn step_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for line in self.log().lines() {
            let Some((_, name)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else {
                continue;
            };
            let ours = ["[deps ", "[project ", "[runtime "]
                .iter()
                .any(|p| name.starts_with(p));
            if ours && !names.iter().any(|n| n == name) && !name.ends_with("DONE") {
                names.push(name.to_string());
            }
        }
        names
    }

    fn cached(&self, prefix: &str) -> bool {
        self.vertex_lines(prefix)
            .iter()
            .any(|l| l.ends_with(" CACHED"))
    }

    /// Packages uv installed in a sync step (`+ name==version` lines).
    fn installed(&self, prefix: &str) -> Vec<String> {
        self.vertex_lines(prefix)
            .iter()
            .filter_map(|l| {
                let plus = l.find(" + ")?;
                Some(l[plus + 3..].trim().to_string())
            })
            .collect()
    }

    /// The `Prepared N package(s)` count of a sync step: downloaded or built distributions.
    fn prepared(&self, prefix: &str) -> usize {
        self.vertex_lines(prefix)
            .iter()
            .find_map(|l| {
                let rest = &l[l.find("Prepared ")? + 9..];
                rest.split(' ').next()?.parse().ok()
            })
            .unwrap_or(0)
    }
}

/// The image's layers, bottom first: (diff id, uncompressed bytes), from `docker save`.
fn layers(image: &str) -> Vec<(String, u64)> {
    let out = std::env::temp_dir().join(format!(
        "uv-frontend-e2e-save-{}-{}.tar",
        std::process::id(),
        unique()
    ));
    let status = Command::new(docker())
        .args(["save", "-o"])
        .arg(&out)
        .arg(image)
        .status()
        .expect("docker save runs");
    assert!(status.success());
    let manifest = Command::new("tar")
        .arg("-xOf")
        .arg(&out)
        .arg("manifest.json")
        .output()
        .expect("tar");
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.stdout).expect("manifest.json");
    let listing = Command::new("tar")
        .arg("-tvf")
        .arg(&out)
        .output()
        .expect("tar");
    let listing = String::from_utf8_lossy(&listing.stdout).into_owned();
    let _ = std::fs::remove_file(&out);
    manifest[0]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| {
            let path = l.as_str().expect("a path");
            let size = listing
                .lines()
                .find(|line| line.ends_with(&format!(" {path}")))
                .and_then(|line| line.split_whitespace().nth(2))
                .and_then(|s| s.parse().ok())
                .unwrap_or_else(|| panic!("{path} not in the archive"));
            (path.to_string(), size)
        })
        .collect()
}

fn run(image: &str, args: &[&str]) -> String {
    let output = Command::new(docker())
        .args(["run", "--rm"])
        .args(args)
        .arg(image)
        .output()
        .expect("docker runs");
    assert!(
        output.status.success(),
        "docker run {image} failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

fn run_entry(image: &str, entrypoint: &str, args: &[&str]) -> Output {
    Command::new(docker())
        .args(["run", "--rm", "--entrypoint", entrypoint, image])
        .args(args)
        .output()
        .expect("docker runs")
}

/// The runtime image runs as the non-root user and holds neither uv nor the uv cache.
fn assert_lean_non_root(image: &str) {
    assert_eq!(
        run(image, &["--entrypoint", "id"]),
        "uid=10001(app) gid=10001(app) groups=10001(app)"
    );
    let probe = run_entry(
        image,
        "/bin/sh",
        &[
            "-c",
            "command -v uv; find / -xdev \\( -name uv -o -name uvx \\) -type f 2>/dev/null; \
             ls -d /root/.cache/uv 2>/dev/null; \
             find / -xdev -type d \\( -name 'archive-v*' -o -name 'wheels-v*' \\) 2>/dev/null; true",
        ],
    );
    let found = String::from_utf8_lossy(&probe.stdout).trim().to_string();
    assert_eq!(found, "", "uv or its cache is in the runtime image");
    let owner = run_entry(image, "stat", &["-c", "%U", "/app/.venv/bin/python"]);
    assert_eq!(String::from_utf8_lossy(&owner.stdout).trim(), "app");
}

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
    // --no-cache: phase 1 runs even when an earlier build cached it, so its output can be read.
    let build = project.build(tag, &["--no-cache"]);
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
    let steps = again.step_names();
    assert!(steps.len() >= 7, "{steps:?}");
    for step in &steps {
        assert!(
            again.cached(step),
            "{step} not cached on an identical rebuild:\n{}",
            again.log()
        );
    }
    assert_eq!(
        layers(tag),
        first_layers,
        "an identical rebuild gives identical layers"
    );

    let init = "src/hello_uv/__init__.py";
    // A new text every run, so that no earlier run's layer cache can satisfy phase 2.
    let nonce = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    let source = project
        .read(init)
        .replace("hello from", &format!("edited {nonce} hello from"));
    project.write(init, &source);
    let edited = project.build(tag, &[]);
    edited.expect_success();
    assert!(
        edited.cached("[deps 2/2]"),
        "phase 1 reran after a source edit:\n{}",
        edited.log()
    );
    assert!(
        !edited.cached("[project 2/3]"),
        "phase 2 must rerun after a source edit"
    );
    assert_eq!(
        edited.installed("[project 2/3]"),
        ["hello-uv==0.1.0 (from file:///app)"],
        "only the project is reinstalled"
    );
    assert_eq!(
        edited.prepared("[project 2/3]"),
        1,
        "the project is built, nothing is downloaded:\n{}",
        edited.log()
    );
    assert!(run(tag, &[]).starts_with(&format!("edited {nonce} hello from hello-uv")));

    // Layers: only the last (the project's own files) changed, and it is small.
    let edited_layers = layers(tag);
    assert_eq!(edited_layers.len(), first_layers.len());
    let n = first_layers.len();
    assert_eq!(
        edited_layers[..n - 1],
        first_layers[..n - 1],
        "the base and dependency layers are reused"
    );
    assert_ne!(edited_layers[n - 1], first_layers[n - 1]);
    let (deps_bytes, project_bytes) = (edited_layers[n - 2].1, edited_layers[n - 1].1);
    assert!(
        project_bytes * 20 <= deps_bytes + project_bytes,
        "the changed layer ({project_bytes} B) is at most 5% of the venv ({} B)",
        deps_bytes + project_bytes
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
        let spec = project.read("uv.build") + append;
        project.write("uv.build", &spec);
        let build = project.build("uv-frontend-e2e/bad:spec", &[]);
        assert!(!build.succeeded(), "a bad spec must fail");
        let log = build.log();
        let error_line = log
            .lines()
            .find(|l| l.starts_with("ERROR: "))
            .unwrap_or_else(|| panic!("no ERROR line in:\n{log}"));
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

/// A cache id no earlier build used, so that download counts start from an empty uv cache.
fn fresh_cache_id() -> String {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos();
    format!("e2e-{nanos}")
}

impl Project {
    /// Appends `[cache] id = ...` (and optionally another builder) to the spec, and makes phase 1
    /// new to the layer cache: a cache mount's id is not part of BuildKit's cache key, so the id
    /// is also written into `.python-version` (a comment), which phase 1 is keyed on.
    fn use_cache(&self, id: &str, builder: Option<&str>) {
        self.write(".python-version", &format!("3.11\n# {id}\n"));
        let mut spec = self.read("uv.build");
        if let Some(builder) = builder {
            spec = spec.replace(
                "builder = \"127.0.0.1:5000/python:3.11-bookworm\"",
                &format!("builder = \"{builder}\"\nbase = \"127.0.0.1:5000/python:3.11-bookworm\""),
            );
        }
        spec.push_str(&format!("[cache]\nid = \"{id}\"\n"));
        self.write("uv.build", &spec);
    }

    /// Replaces pyproject.toml and uv.lock with a fixture's (a dependency added with `uv add`).
    fn use_fixture(&self, fixture: &str) {
        for file in ["pyproject.toml", "uv.lock"] {
            let path = Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("tests/fixtures")
                .join(fixture)
                .join(file);
            self.write(file, &std::fs::read_to_string(path).expect("fixture"));
        }
    }
}

/// Drops every build-cache record but the cache mounts: a fresh builder whose uv cache survives.
/// (buildx 0.13 takes one `type=` per prune.)
fn prune_all_but_cache_mounts() {
    for kind in [
        "regular",
        "source.local",
        "source.git.checkout",
        "frontend",
        "internal",
    ] {
        let status = Command::new(docker())
            .args(["buildx", "prune", "--all", "--force", "--filter"])
            .arg(format!("type={kind}"))
            .output()
            .expect("docker runs");
        assert!(status.status.success());
    }
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

    // Source edit: phase 1 cached, phase 2 builds the project and downloads nothing.
    let init = "src/hello_uv/__init__.py";
    plain.write(init, &format!("{}\n# {cache}\n", plain.read(init)));
    let edited = plain.build(tag, &[]);
    edited.expect_success();
    assert!(edited.cached(deps));
    assert_eq!(
        edited.prepared("[project 2/3]"),
        1,
        "only the project is built"
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
    assert_eq!(nr.installed(deps).len(), 2, "idna and six installed from the cache");
    assert_eq!(nr.prepared(deps), 0, "non-root builder:\n{}", nr.log());
    assert_eq!(
        run("uv-frontend-e2e/plain:nonroot", &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}
