//! End-to-end helpers: projects copied from examples/, `docker buildx build` through the frontend
//! on the test bed's BuildKit, and what its plain progress output and the image say.

use std::path::{Path, PathBuf};
use std::process::{Command, Output};
use std::sync::{Mutex, OnceLock};

pub static DAEMON: Mutex<()> = Mutex::new(());

/// The daemon the helpers talk to: the test process's DOCKER_HOST (or the client's default),
/// unless a suite aims its whole test binary at another one with `use_docker_host`.
static DOCKER_HOST: OnceLock<String> = OnceLock::new();

/// Aims every helper of this test binary at `host` (e.g. `unix:///run/uvf-containerd.sock`).
pub fn use_docker_host(host: &str) {
    let set = DOCKER_HOST.get_or_init(|| host.to_string());
    assert_eq!(set, host, "one daemon per test binary");
}

/// The client the helpers run and its config directory (`DOCKER_CONFIG`, where its CLI plugins
/// and buildx's state are), when a suite aims its whole test binary at another client with
/// `use_docker_client`.
static DOCKER_CLIENT: OnceLock<(String, String)> = OnceLock::new();

/// Makes every helper of this test binary run `client` with `DOCKER_CONFIG=config` (e.g. Docker
/// 28's client, whose config directory holds buildx 0.29).
pub fn use_docker_client(client: &str, config: &str) {
    let set = DOCKER_CLIENT.get_or_init(|| (client.to_string(), config.to_string()));
    assert_eq!(
        set,
        &(client.to_string(), config.to_string()),
        "one client per test binary"
    );
}

/// `cmd` with DOCKER_HOST set to the helpers' daemon, if a suite chose one (and DOCKER_CONFIG
/// to its client's, if it chose a client).
pub fn aim(cmd: &mut Command) -> &mut Command {
    if let Some(host) = DOCKER_HOST.get() {
        cmd.env("DOCKER_HOST", host);
    }
    if let Some((_, config)) = DOCKER_CLIENT.get() {
        cmd.env("DOCKER_CONFIG", config);
    }
    cmd
}

/// The docker client, aimed at the helpers' daemon.
pub fn docker_command() -> Command {
    let mut cmd = Command::new(docker());
    aim(&mut cmd);
    cmd
}

pub const BUILD_TIMEOUT_SECS: &str = "600";

/// The suite's client (`use_docker_client`), else `$DOCKER`, else the test bed's Docker 26 client.
pub fn docker() -> String {
    if let Some((client, _)) = DOCKER_CLIENT.get() {
        return client.clone();
    }
    std::env::var("DOCKER").unwrap_or_else(|_| "/usr/bin/docker".into())
}

pub fn frontend_image() -> String {
    std::env::var("UV_FRONTEND_IMAGE").unwrap_or_else(|_| "127.0.0.1:5000/uv-frontend:dev".into())
}

pub fn require_daemon() {
    let ok = docker_command()
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
pub struct Project {
    pub dir: PathBuf,
}

impl Project {
    pub fn copy_of(example: &str) -> Project {
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

    pub fn read(&self, path: &str) -> String {
        std::fs::read_to_string(self.dir.join(path)).expect("readable")
    }

    /// Adds `text` at the end of the project's `uv.build`.
    pub fn append_to_spec(&self, text: &str) {
        let spec = self.read("uv.build") + text;
        self.write("uv.build", &spec);
    }

    pub fn write(&self, path: &str, content: &str) {
        let path = self.dir.join(path);
        std::fs::create_dir_all(path.parent().expect("a parent")).expect("mkdir");
        std::fs::write(path, content).expect("writable");
    }

    pub fn remove(&self, path: &str) {
        std::fs::remove_file(self.dir.join(path)).expect("removable");
    }

    /// `docker buildx build -f uv.build -t <tag> --load .` with plain progress.
    pub fn build(&self, tag: &str, extra: &[&str]) -> Build {
        let mut cmd = Command::new("timeout");
        aim(&mut cmd)
            .arg(BUILD_TIMEOUT_SECS)
            .arg(docker())
            .args(["buildx", "build", "--progress=plain", "-f", "uv.build"])
            .args(["-t", tag, "--load"])
            .args(extra)
            .arg(".");
        self.finish_build(cmd)
    }

    /// `DOCKER_BUILDKIT=1 <client> build -f uv.build -t <tag> .`: the classic `docker build` of
    /// an older Docker (its own client), with plain progress.
    pub fn classic_build(&self, client: &str, tag: &str, extra: &[&str]) -> Build {
        let mut cmd = Command::new("timeout");
        aim(&mut cmd)
            .env("DOCKER_BUILDKIT", "1")
            .arg(BUILD_TIMEOUT_SECS)
            .arg(client)
            .args(["build", "--progress=plain", "-f", "uv.build", "-t", tag])
            .args(extra)
            .arg(".");
        self.finish_build(cmd)
    }

    /// `BUILDX_EXPERIMENTAL=1 docker buildx build -f uv.build --print=<what> .`: a subrequest
    /// (buildx 0.13 names `--call` so), with its stdout. Fails unless it succeeds.
    pub fn print(&self, what: &str, extra: &[&str]) -> String {
        let out = aim(&mut Command::new(docker()))
            .env("BUILDX_EXPERIMENTAL", "1")
            .args(["buildx", "build", "-f", "uv.build"])
            .arg(format!("--print={what}"))
            .args(extra)
            .arg(".")
            .current_dir(&self.dir)
            .output()
            .expect("docker runs");
        let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
        assert!(
            out.status.success(),
            "--print={what}: {stdout}{}",
            String::from_utf8_lossy(&out.stderr)
        );
        stdout
    }

    fn finish_build(&self, mut cmd: Command) -> Build {
        cmd.current_dir(&self.dir);
        let build = self.run_build(&mut cmd);
        if !build.lost_its_unpack_to_the_daemons_race() {
            return build;
        }
        // The build itself finished; the containerd-store daemon lost the image while unpacking
        // it (moby/buildkit#6521, open, seen on Docker 26 to 29). Once more, as a user would:
        // everything is cached, so the retry only exports and unpacks again. The first attempt's
        // log stays what the test reads (it shows what the build did); the retry's follows,
        // each line marked so that it is not read as a vertex of the first.
        eprintln!("the daemon lost the unpack (moby/buildkit#6521); building once more");
        let retry = self.run_build(&mut cmd);
        let mut stdout = build.output.stdout;
        stdout
            .extend_from_slice(b"\n== retried: the daemon lost the unpack (moby/buildkit#6521)\n");
        for line in retry.log().lines() {
            stdout.extend_from_slice(format!("retry| {line}\n").as_bytes());
        }
        Build {
            output: Output {
                status: retry.output.status,
                stdout,
                stderr: build.output.stderr,
            },
        }
    }

    fn run_build(&self, cmd: &mut Command) -> Build {
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

pub fn unique() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    N.fetch_add(1, Ordering::SeqCst)
}

pub struct Build {
    pub output: Output,
}

impl Build {
    pub fn log(&self) -> String {
        format!(
            "{}{}",
            String::from_utf8_lossy(&self.output.stdout),
            String::from_utf8_lossy(&self.output.stderr)
        )
    }

    /// The containerd image store's intermittent failure to unpack a built image
    /// (moby/buildkit#6521): every step finished, and `--load` then failed with
    /// `failed to prepare extraction snapshot ... parent snapshot ... does not exist`.
    fn lost_its_unpack_to_the_daemons_race(&self) -> bool {
        let log = self.log();
        !self.succeeded()
            && log.contains("failed to prepare extraction snapshot")
            && log.contains("parent snapshot")
            && log.contains("does not exist")
    }

    pub fn succeeded(&self) -> bool {
        self.output.status.success()
    }

    pub fn expect_success(&self) -> &Build {
        assert!(self.succeeded(), "build failed:\n{}", self.log());
        self
    }

    /// The plain-progress lines of the vertex whose name starts with `prefix`.
    pub fn vertex_lines(&self, prefix: &str) -> Vec<String> {
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
    pub fn step_names(&self) -> Vec<String> {
        let mut names: Vec<String> = Vec::new();
        for line in self.log().lines() {
            let Some((_, name)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else {
                continue;
            };
            let ours = [
                "[deps ",
                "[project ",
                "[build ",
                "[runtime-deps ",
                "[runtime ",
            ]
            .iter()
            .any(|p| name.starts_with(p));
            if ours && !names.iter().any(|n| n == name) && !name.ends_with("DONE") {
                names.push(name.to_string());
            }
        }
        names
    }

    /// The `ERROR: ...` line buildx ends a failed build with.
    pub fn error_line(&self) -> String {
        let log = self.log();
        log.lines()
            .find(|l| l.starts_with("ERROR: "))
            .unwrap_or_else(|| panic!("no ERROR line in:\n{log}"))
            .to_string()
    }

    /// Fails unless this build, after a source edit, ran no sync: the dependency phase and the
    /// project phase both `CACHED` (the module is copied as it is beside an editable install).
    /// With package units (MergeOp and DiffOp), every unit's `uv venv` and `uv pip install`
    /// step counts as the dependency phase.
    pub fn assert_no_sync_reran(&self) {
        let steps = self.step_names();
        let uv_steps: Vec<&String> = steps.iter().filter(|n| n.contains("] uv ")).collect();
        assert!(
            uv_steps.iter().any(|n| n.starts_with("[deps "))
                && uv_steps.iter().any(|n| n.starts_with("[project ")),
            "no dependency or project phase in {steps:?}"
        );
        for step in uv_steps {
            assert!(
                self.cached(step),
                "{step} reran after a source edit:\n{}",
                self.log()
            );
        }
    }

    /// Whether one of the frontend's own steps has `part` in its name.
    pub fn has_step(&self, part: &str) -> bool {
        self.step_names().iter().any(|n| n.contains(part))
    }

    /// Fails unless every step of the frontend's own was cached (an identical rebuild).
    pub fn assert_fully_cached(&self) {
        let steps = self.step_names();
        // deps 1/2, 2/2, project 1/2, 2/2, runtime-deps 1/2, 2/2, runtime 1/n at the least.
        assert!(steps.len() >= 7, "{steps:?}");
        for step in &steps {
            assert!(
                self.cached(step),
                "{step} not cached on an identical rebuild:\n{}",
                self.log()
            );
        }
    }

    pub fn cached(&self, prefix: &str) -> bool {
        self.vertex_lines(prefix)
            .iter()
            .any(|l| l.ends_with(" CACHED"))
    }

    /// What a step printed: its lines `#N <seconds> <text>`, as `<text>`.
    pub fn output(&self, prefix: &str) -> Vec<String> {
        self.vertex_lines(prefix)
            .iter()
            .filter_map(|l| {
                let (_, rest) = l.split_once(' ')?;
                let (time, text) = rest.split_once(' ')?;
                time.parse::<f64>().ok()?;
                Some(text.to_string())
            })
            .collect()
    }

    /// Packages uv installed in a sync step (`+ name==version` lines).
    pub fn installed(&self, prefix: &str) -> Vec<String> {
        self.output(prefix)
            .iter()
            .filter_map(|l| {
                let plus = l.find(" + ")?;
                Some(l[plus + 3..].trim().to_string())
            })
            .collect()
    }

    /// The packages whose unit step (`[deps ...] uv pip install <name>==<version>`) ran and
    /// installed in this build, sorted: on a BuildKit with MergeOp and DiffOp, what a lock
    /// change cost.
    pub fn units_installed(&self) -> Vec<String> {
        let mut names: Vec<String> = self
            .step_names()
            .into_iter()
            .filter_map(|n| Some(n.split_once("] uv pip install ")?.1.to_string()))
            .collect();
        names.sort();
        names.dedup();
        names
            .into_iter()
            .filter(|package| {
                let step = format!("] uv pip install {package}");
                let full = self
                    .step_names()
                    .into_iter()
                    .find(|n| n.ends_with(&step))
                    .expect("a step of that name");
                self.output(&full)
                    .iter()
                    .any(|l| l.starts_with("Installed "))
            })
            .collect()
    }

    /// The `Prepared N package(s)` count of a sync step: downloaded or built distributions.
    pub fn prepared(&self, prefix: &str) -> usize {
        self.output(prefix)
            .iter()
            .find_map(|l| {
                let rest = &l[l.find("Prepared ")? + 9..];
                rest.split(' ').next()?.parse().ok()
            })
            .unwrap_or(0)
    }
}

/// Two builds of one image have the same number of layers, the lowest `kept` of them the very
/// same (diff id and size), and the one above those changed.
pub fn assert_layers_kept(before: &[(String, u64)], after: &[(String, u64)], kept: usize) {
    assert_eq!(after.len(), before.len(), "{before:?}\n{after:?}");
    assert_eq!(
        after[..kept],
        before[..kept],
        "the lowest {kept} layers are reused"
    );
    assert_ne!(after[kept], before[kept], "layer {kept} changed");
}

/// The image's layers, bottom first: (diff id, uncompressed bytes), from `docker save`.
/// The image's config (`docker image inspect`'s `.Config`).
/// Builds `dockerfile` (with `files` beside it, executable) and pushes it as `image`.
pub fn push_image(image: &str, dockerfile: &str, files: &[(&str, &str)]) -> String {
    use std::os::unix::fs::PermissionsExt;
    let dir = tempdir("image");
    std::fs::write(dir.join("Dockerfile"), dockerfile).expect("write the Dockerfile");
    for (name, text) in files {
        let path = dir.join(name);
        std::fs::write(&path, text).expect("write a file");
        std::fs::set_permissions(&path, std::fs::Permissions::from_mode(0o755)).expect("chmod");
    }
    let made = docker_command()
        .args(["buildx", "build", "--progress=plain", "-t", image, "--push"])
        .arg(&dir)
        .output()
        .expect("docker runs");
    assert!(
        made.status.success(),
        "{}",
        String::from_utf8_lossy(&made.stderr)
    );
    image.to_string()
}

pub fn image_config(image: &str) -> serde_json::Value {
    let inspect = docker_command()
        .args(["image", "inspect", "--format", "{{json .Config}}", image])
        .output()
        .expect("docker runs");
    assert!(inspect.status.success(), "docker image inspect {image}");
    serde_json::from_slice(&inspect.stdout).expect("JSON")
}

pub fn layers(image: &str) -> Vec<(String, u64)> {
    let out = std::env::temp_dir().join(format!(
        "uv-frontend-e2e-save-{}-{}.tar",
        std::process::id(),
        unique()
    ));
    let status = docker_command()
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

pub fn run(image: &str, args: &[&str]) -> String {
    let output = docker_command()
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

pub fn run_entry(image: &str, entrypoint: &str, args: &[&str]) -> Output {
    docker_command()
        .args(["run", "--rm", "--entrypoint", entrypoint, image])
        .args(args)
        .output()
        .expect("docker runs")
}

/// What `python -c <code>` writes in the image: its stdout, trimmed, and its stderr (for the
/// message of a failed assertion).
pub fn python_output(image: &str, code: &str) -> (String, String) {
    let output = run_entry(image, "python", &["-c", code]);
    (
        String::from_utf8_lossy(&output.stdout).trim().to_string(),
        String::from_utf8_lossy(&output.stderr).into_owned(),
    )
}

/// The runtime image runs as the non-root user and holds neither uv nor the uv cache.
pub fn assert_lean_non_root(image: &str) {
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

/// Nanoseconds since 1970: a value no earlier test run used (cache ids, edits, passwords).
pub fn nanos() -> u128 {
    std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .expect("after 1970")
        .as_nanos()
}

/// A cache id no earlier build used, so that download counts start from an empty uv cache.
pub fn fresh_cache_id() -> String {
    format!("e2e-{}", nanos())
}

/// A new empty directory outside any build context.
pub fn tempdir(what: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!(
        "uv-frontend-e2e-{what}-{}-{}",
        std::process::id(),
        unique()
    ));
    std::fs::create_dir_all(&dir).expect("mkdir");
    dir
}

/// `docker pull -q` of the frontend under test with `client`, so the daemon's local copy is
/// never an older build (and the registry is known to answer).
pub fn pull_frontend(mut client: Command) {
    let pull = client
        .args(["pull", "-q", &frontend_image()])
        .output()
        .expect("docker pull runs");
    assert!(
        pull.status.success(),
        "pulling {}: {}",
        frontend_image(),
        String::from_utf8_lossy(&pull.stderr)
    );
}

impl Project {
    /// Appends `[cache] id = ...` (and optionally another builder) to the spec, and makes phase 1
    /// new to the layer cache: a cache mount's id is not part of BuildKit's cache key, so the id
    /// is also written into `.python-version` (a comment), which phase 1 is keyed on.
    pub fn use_cache(&self, id: &str, builder: Option<&str>) {
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
    /// Writes every file of `tests/fixtures/<fixture>` over the project's, at the same path.
    pub fn use_fixture(&self, fixture: &str) {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("tests/fixtures")
            .join(fixture);
        let mut dirs = vec![root.clone()];
        while let Some(dir) = dirs.pop() {
            for entry in std::fs::read_dir(&dir).expect("a fixture directory") {
                let path = entry.expect("an entry").path();
                if path.is_dir() {
                    dirs.push(path);
                    continue;
                }
                let relative = path.strip_prefix(&root).expect("under the fixture");
                let text = std::fs::read_to_string(&path).expect("fixture");
                self.write(relative.to_str().expect("a UTF-8 path"), &text);
            }
        }
    }
}

/// Drops every build-cache record but the cache mounts: a fresh builder whose uv cache survives.
/// (buildx 0.13 takes one `type=` per prune.)
pub fn prune_all_but_cache_mounts() {
    for kind in [
        "regular",
        "source.local",
        "source.git.checkout",
        "frontend",
        "internal",
    ] {
        let status = docker_command()
            .args(["buildx", "prune", "--all", "--force", "--filter"])
            .arg(format!("type={kind}"))
            .output()
            .expect("docker runs");
        assert!(status.status.success());
    }
}

const BIGWHEELS_OUTPUT: &str =
    "bigwheels 0.1.0: sum(y)=285 mean(x)=4.5 (numpy 2.4.6, pandas 3.1.1)";

/// Builds examples/bigwheels as `tag` (with a cache of its own), then again with one small
/// dependency added (`packaging`): numpy and pandas have layers of their own, which the second
/// build keeps (their copies cached, their diff-ids unchanged); only the rest's layer (with
/// packaging) and the project's are new, and exactly packaging is downloaded. Returns the first
/// build.
pub fn assert_big_packages_keep_their_layers(tag: &str) -> Build {
    let cache = fresh_cache_id();
    let project = Project::copy_of("bigwheels");
    project.use_cache(&cache, None);
    let cold = project.build(tag, &[]);
    cold.expect_success();
    let numpy = "[runtime-deps 2/2] copy numpy into /app/.venv from deps (a layer of its own)";
    let pandas = "[runtime-deps 2/2] copy pandas into /app/.venv from deps (a layer of its own)";
    let rest = "[runtime-deps 2/2] copy the rest of /app/.venv from deps";
    for step in [numpy, pandas, rest] {
        assert!(
            cold.step_names().iter().any(|n| n == step),
            "no step {step}:\n{}",
            cold.log()
        );
    }
    let before = layers(tag);

    // One small dependency added: exactly it is downloaded and installed, numpy's and pandas'
    // layers are the very same, and only the rest and the project's layers are new.
    project.use_fixture("bigwheels-with-packaging");
    let added = project.build(tag, &[]);
    added.expect_success();
    assert_eq!(added.prepared("[deps 2/2]"), 1, "{}", added.log());
    assert_eq!(added.installed("[deps 2/2]"), ["packaging==26.4"]);
    assert!(
        added.cached(numpy) && added.cached(pandas),
        "{}",
        added.log()
    );
    assert!(!added.cached(rest));
    let after = layers(tag);
    let n = before.len();
    // Base, user, numpy and pandas kept; the rest's layer (with packaging) new; above it the
    // project's installed files, the build context (with the new uv.lock) and its module, a
    // few kB.
    assert_layers_kept(&before, &after, n - 4);
    let big: u64 = after[n - 6..n - 4].iter().map(|(_, size)| size).sum();
    assert!(
        after[n - 4].1 * 20 < big,
        "the rewritten layer ({} B) is small beside the big packages' ({big} B)",
        after[n - 4].1
    );
    let probe = run_entry(
        tag,
        "python",
        &[
            "-c",
            "import numpy, pandas, packaging; print(packaging.__version__)",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "26.4",
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert_eq!(run(tag, &[]), BIGWHEELS_OUTPUT);
    cold
}

/// [`assert_big_packages_keep_their_layers`] on a BuildKit with MergeOp and DiffOp, where each
/// package is installed by a step of its own: adding `packaging` runs its step alone (exactly it
/// is downloaded), numpy's and pandas' layers are the very same, and the new layers (packaging's
/// shared layer, the project's files, the context with the new lock) are small. Returns the
/// first build.
pub fn assert_big_packages_keep_their_unit_layers(tag: &str) -> Build {
    let cache = fresh_cache_id();
    let project = Project::copy_of("bigwheels");
    project.use_cache(&cache, None);
    let cold = project.build(tag, &[]);
    cold.expect_success();
    let numpy = "[deps 1/1] layer: numpy";
    let pandas = "[deps 1/1] layer: pandas";
    for step in [numpy, pandas] {
        assert!(
            cold.step_names().iter().any(|n| n == step),
            "no step {step}:\n{}",
            cold.log()
        );
    }
    assert_eq!(
        cold.units_installed(),
        [
            "numpy==2.4.6",
            "pandas==3.1.1",
            "python-dateutil==4.0.0",
            "tzdata==2026.6"
        ]
    );
    let before = layers(tag);

    project.use_fixture("bigwheels-with-packaging");
    let added = project.build(tag, &[]);
    added.expect_success();
    assert_eq!(
        added.units_installed(),
        ["packaging==26.4"],
        "{}",
        added.log()
    );
    assert!(
        added.cached(numpy) && added.cached(pandas),
        "{}",
        added.log()
    );
    let after = layers(tag);
    let mut biggest = before.clone();
    biggest.sort_by_key(|(_, size)| std::cmp::Reverse(*size));
    let big: u64 = biggest[..2].iter().map(|(_, size)| size).sum();
    for layer in &biggest[..2] {
        assert!(
            after.contains(layer),
            "numpy's and pandas' layers are kept: {layer:?} not in {after:?}"
        );
    }
    let new: Vec<&(String, u64)> = after.iter().filter(|l| !before.contains(l)).collect();
    assert!(new.len() <= 3, "{new:?}");
    for (digest, size) in &new {
        assert!(
            size * 20 < big,
            "the new layer {digest} ({size} B) is small beside the big packages' ({big} B)"
        );
    }
    let probe = run_entry(
        tag,
        "python",
        &[
            "-c",
            "import numpy, pandas, packaging; print(packaging.__version__)",
        ],
    );
    assert_eq!(
        String::from_utf8_lossy(&probe.stdout).trim(),
        "26.4",
        "{}",
        String::from_utf8_lossy(&probe.stderr)
    );
    assert_eq!(run(tag, &[]), BIGWHEELS_OUTPUT);
    cold
}
