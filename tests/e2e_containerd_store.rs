//! End to end on the test bed's second dockerd, the one with the containerd image store
//! (`scripts/testbed/containerd-daemon.sh`, started by `scripts/testbed-up`). Its BuildKit has
//! the LLB caps `mergeop` and `diffop`, so the runtime image is stacked with MergeOp and the
//! project layer is a DiffOp; and its docker driver exports caches, so a registry cache round
//! trip (`--cache-to`/`--cache-from type=registry,mode=max`) can be tested, on a builder made
//! as new as a CI runner's between the builds (`containerd-daemon.sh reset`). A missing daemon
//! fails these tests rather than skipping them.

mod support;

use std::io::Read;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::MutexGuard;
use std::time::Instant;

use sha2::{Digest, Sha256};
use support::e2e::*;
use support::oci_export::{first_layer_of_base, oci_export};

/// The containerd-store daemon's socket (`CTRD_SOCK` of containerd-daemon.sh).
fn host() -> String {
    std::env::var("UVF_CONTAINERD_DOCKER_HOST")
        .unwrap_or_else(|_| "unix:///run/uvf-containerd.sock".into())
}

/// Its log, where BuildKit writes the frontend's stderr.
fn daemon_log() -> PathBuf {
    let dir = std::env::var("TESTBED_LOG_DIR")
        .unwrap_or_else(|_| "/var/cache/uv-frontend-testbed/log".into());
    PathBuf::from(dir).join("containerd-store-dockerd.log")
}

const REGISTRY: &str = "127.0.0.1:5000";

/// Takes the daemon lock, aims the helpers at the containerd-store daemon, and fails unless it
/// answers and really uses the containerd image store.
fn containerd_daemon() -> MutexGuard<'static, ()> {
    let guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    use_docker_host(&host());
    let info = docker_command()
        .args(["info", "--format", "{{json .DriverStatus}}"])
        .output();
    let status = match &info {
        Ok(o) if o.status.success() => String::from_utf8_lossy(&o.stdout).into_owned(),
        Ok(o) => String::from_utf8_lossy(&o.stderr).into_owned(),
        Err(e) => e.to_string(),
    };
    assert!(
        status.contains("io.containerd.snapshotter.v1"),
        "no Docker daemon with the containerd image store answers at {}: run scripts/testbed-up \
         first (scripts/test does; or scripts/testbed/containerd-daemon.sh up). docker info: {status}",
        host()
    );
    // This daemon's BuildKit resolves `# syntax=` against the registry (not local-first as the
    // classic store does); the pull keeps the local tag the same and checks the registry answers.
    pull_frontend(docker_command());
    guard
}

/// Every vertex name of a plain-progress log (`#N name`, first line of each vertex).
fn vertex_names(build: &Build) -> Vec<String> {
    let mut seen: Vec<String> = Vec::new();
    let mut names = Vec::new();
    for line in build.log().lines() {
        let Some((num, name)) = line.strip_prefix('#').and_then(|r| r.split_once(' ')) else {
            continue;
        };
        if num.chars().all(|c| c.is_ascii_digit()) && !seen.iter().any(|n| n == num) {
            seen.push(num.to_string());
            names.push(name.to_string());
        }
    }
    names
}

/// The frontend's `uv-frontend: gateway caps [...]; LLB caps [...]` lines the daemon logged
/// since `offset`.
fn caps_lines_since(offset: u64) -> Vec<String> {
    let mut file = std::fs::File::open(daemon_log()).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the containerd-store daemon logs there; run scripts/testbed-up)",
            daemon_log().display()
        )
    });
    use std::io::Seek;
    file.seek(std::io::SeekFrom::Start(offset)).expect("seek");
    let mut text = String::new();
    file.read_to_string(&mut text).expect("a text log");
    text.lines()
        .filter(|l| l.starts_with("uv-frontend: gateway caps"))
        .map(str::to_string)
        .collect()
}

fn log_len() -> u64 {
    std::fs::metadata(daemon_log())
        .map(|m| m.len())
        .unwrap_or(0)
}

/// `docker history` of an image, top layer first: what created each layer.
fn history(image: &str) -> Vec<String> {
    let out = docker_command()
        .args(["history", "--no-trunc", "--format", "{{.CreatedBy}}", image])
        .output()
        .expect("docker runs");
    assert!(out.status.success());
    String::from_utf8_lossy(&out.stdout)
        .lines()
        .map(str::to_string)
        .collect()
}

/// The image's layers, bottom first, by diff id (`docker image inspect`). Under the containerd
/// store `docker save` holds the compressed blobs, so the support helper `layers()` would give
/// their digests and compressed sizes instead.
fn rootfs_layers(image: &str) -> Vec<String> {
    let inspect = docker_command()
        .args(["image", "inspect", "-f", "{{json .RootFS.Layers}}", image])
        .output()
        .expect("docker runs");
    assert!(inspect.status.success(), "docker image inspect {image}");
    serde_json::from_slice(&inspect.stdout).expect("a JSON list")
}

/// Uncompressed bytes of the image's `top` topmost layers, bottom first, each blob of
/// `docker save` decompressed and checked against its diff id.
fn top_layer_sizes(image: &str, top: usize) -> Vec<u64> {
    let diff_ids = rootfs_layers(image);
    let tar = std::env::temp_dir().join(format!(
        "uv-frontend-e2e-ctrd-save-{}-{}.tar",
        std::process::id(),
        unique()
    ));
    let saved = docker_command()
        .args(["save", "-o"])
        .arg(&tar)
        .arg(image)
        .status()
        .expect("docker save runs");
    assert!(saved.success());
    let manifest = Command::new("tar")
        .arg("-xOf")
        .arg(&tar)
        .arg("manifest.json")
        .output()
        .expect("tar");
    let manifest: serde_json::Value =
        serde_json::from_slice(&manifest.stdout).expect("manifest.json");
    let blobs: Vec<String> = manifest[0]["Layers"]
        .as_array()
        .expect("layers")
        .iter()
        .map(|l| l.as_str().expect("a path").to_string())
        .collect();
    assert_eq!(blobs.len(), diff_ids.len(), "one blob per diff id");
    let skip = blobs.len() - top;
    let sizes = blobs[skip..]
        .iter()
        .zip(&diff_ids[skip..])
        .map(|(blob, diff_id)| {
            // gzip -dcf passes an uncompressed blob through unchanged.
            let out = Command::new("sh")
                .args(["-c", "tar -xOf \"$0\" \"$1\" | gzip -dcf"])
                .arg(&tar)
                .arg(blob)
                .output()
                .expect("sh runs");
            assert!(out.status.success(), "reading {blob}");
            let digest = format!("sha256:{}", hex::encode(Sha256::digest(&out.stdout)));
            assert_eq!(&digest, diff_id, "{blob} decompresses to its diff id");
            out.stdout.len() as u64
        })
        .collect();
    let _ = std::fs::remove_file(&tar);
    sizes
}

/// A builder as new as a fresh CI runner's: `containerd-daemon.sh reset` stops the daemon,
/// deletes its data root and starts it again, so no image, build cache, cache mount or cache
/// key is left and nothing but the registry can provide a layer. (`docker buildx prune -af`
/// empties the build cache and the cache mounts but not always BuildKit's cache-key store: keys
/// of an image can survive it, and then a pruned builder matches a registry cache where a new
/// runner would not, depending on the daemon's history.)
fn fresh_builder() {
    let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("scripts/testbed/containerd-daemon.sh");
    let out = Command::new(&script)
        .arg("reset")
        .output()
        .expect("containerd-daemon.sh runs");
    assert!(
        out.status.success(),
        "{} reset: {}",
        script.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    let du = docker_command()
        .args(["buildx", "du"])
        .output()
        .expect("docker runs");
    let du = String::from_utf8_lossy(&du.stdout).into_owned();
    assert!(
        du.lines()
            .any(|l| l.starts_with("Total:") && l.trim_end().ends_with("0B")),
        "the build cache of a new daemon is not empty:\n{du}"
    );
}

/// Deletes a registry tag (best effort: the registry keeps the blobs until its own GC).
fn delete_registry_tag(repo: &str, tag: &str) {
    let head = Command::new("curl")
        .args([
            "-fsSI",
            "-H",
            "Accept: application/vnd.oci.image.index.v1+json",
        ])
        .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .arg(format!("http://{REGISTRY}/v2/{repo}/manifests/{tag}"))
        .output();
    let Ok(head) = head else { return };
    let headers = String::from_utf8_lossy(&head.stdout).into_owned();
    let Some(digest) = headers.lines().find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case("docker-content-digest")
            .then(|| v.trim().to_string())
    }) else {
        return;
    };
    let _ = Command::new("curl")
        .args(["-fsS", "-X", "DELETE"])
        .arg(format!("http://{REGISTRY}/v2/{repo}/manifests/{digest}"))
        .output();
}

/// Registry tags this run pushed, deleted when the test ends, passed or failed.
struct PushedTags(Vec<(&'static str, String)>);

impl Drop for PushedTags {
    fn drop(&mut self) {
        for (repo, tag) in &self.0 {
            delete_registry_tag(repo, tag);
        }
    }
}

/// What a whole miss of the registry cache on a fresh builder has meant so far.
const MISS_HINT: &str = "if nothing at all was cached: a frontend solve made before the main \
    one without the cache imports (e.g. of the base image, to read its account files) leaves \
    that image's vertex without cache keys on a fresh builder, and no vertex on top of it can \
    match the imported cache; see docs/testbed.md";

const DEPS: &str = "[deps 1/1] uv pip install idna";
/// Phase 2's sync (`[project 2/N] uv sync ...`, N depending on the plan's bytecode step).
const PROJECT_SYNC: &str = "[project 2/";
const DIFF_VERTEX: &str = "[project] changes over deps";
const INIT: &str = "src/hello_uv/__init__.py";

/// Writes a new greeting into the example's source: `<word> <nonce> hello from ...`.
fn edit_source(project: &Project, word: &str) -> String {
    let prefix = format!("{word} {} ", nanos());
    let original = std::fs::read_to_string(
        Path::new(env!("CARGO_MANIFEST_DIR"))
            .join("examples/plain")
            .join(INIT),
    )
    .expect("the example's source");
    assert!(original.contains("f\"hello from"), "{original}");
    project.write(
        INIT,
        &original.replacen("f\"hello from", &format!("f\"{prefix}hello from"), 1),
    );
    prefix
}

/// Packages uv installed in a step: the support helper's `+ name==version` entries, without
/// what it picks up from a step name holding ` + ` (`... uv sync ... + bytecode`).
fn installed(build: &Build, prefix: &str) -> Vec<String> {
    build
        .installed(prefix)
        .into_iter()
        .filter(|p| p.contains("=="))
        .collect()
}

/// Whether a RUN-like vertex ran: its process wrote output (`#N <seconds> <text>` lines).
/// uv sync always writes some ("Using CPython ...", "Resolved ...", "Audited ...").
fn executed(build: &Build, prefix: &str) -> bool {
    build.vertex_lines(prefix).iter().any(|l| {
        l.split(' ')
            .nth(1)
            .is_some_and(|t| t.contains('.') && t.parse::<f64>().is_ok())
    })
}

fn assert_layered_with_diffop(build: &Build) {
    let names = vertex_names(build);
    assert!(
        names.iter().any(|n| n == DIFF_VERTEX),
        "no `{DIFF_VERTEX}` vertex (DiffOp) in {names:?}"
    );
    for merge in [
        "[project] stack layers",
        "[runtime-deps] stack layers",
        "[runtime] stack layers",
    ] {
        assert!(
            names.iter().any(|n| n == merge),
            "no `{merge}` vertex (MergeOp) in {names:?}"
        );
    }
}

#[test]
fn layers_are_stacked_with_mergeop() {
    let _guard = containerd_daemon();
    let project = Project::copy_of("plain");
    // The project phase new to this daemon's cache (the cache id's comment in .python-version
    // is among its inputs), so its DiffOp and the MergeOps really run. The unit steps are keyed
    // on idna's lock entry alone: another test may have made them.
    project.use_cache(&fresh_cache_id(), None);
    let first_text = edit_source(&project, "first");
    let tag = "uv-frontend-e2e-ctrd/plain:layers";

    let offset = log_len();
    let t = Instant::now();
    let build = project.build(tag, &[]);
    build.expect_success();
    eprintln!("containerd store, cold build: {:.1?}", t.elapsed());
    assert_frontend_saw_mergeop_and_diffop(offset);
    assert_layered_with_diffop(&build);
    assert!(
        !build.cached(DIFF_VERTEX),
        "the DiffOp ran:\n{}",
        build.log()
    );

    let history = assert_history_names_the_layers(tag);
    let first_layers = rootfs_layers(tag);
    assert_eq!(
        first_layers.len(),
        history.len(),
        "one layer per history entry: {history:?}"
    );
    assert_eq!(
        run(tag, &[]),
        format!("{first_text}hello from hello-uv 0.1.0 (idna 3.20) dev=absent")
    );

    source_edit_changes_only_the_module_layer(&project, tag, &first_layers);
}

/// The frontend's log line on the daemon names MergeOp and DiffOp among BuildKit's LLB caps.
fn assert_frontend_saw_mergeop_and_diffop(offset: u64) {
    let caps = caps_lines_since(offset);
    let caps = caps.last().unwrap_or_else(|| {
        panic!(
            "the frontend logged no caps line to {}",
            daemon_log().display()
        )
    });
    let llb = caps.split("LLB caps [").nth(1).expect("LLB caps");
    for cap in ["mergeop", "diffop"] {
        assert!(
            llb.trim_end_matches(']').split(' ').any(|c| c == cap),
            "{cap} missing from the LLB caps: {caps}"
        );
    }
}

/// The image's history, top down: the module, the build context, the project's venv files,
/// then idna's layer; returns it.
fn assert_history_names_the_layers(tag: &str) -> Vec<String> {
    // The image's history: the frontend's venv layer (idna's, with the venv's own files), the
    // build context and the module on top.
    let history = history(tag);
    assert!(
        history[0].starts_with("[runtime ")
            && history[0].contains("copy src/hello_uv from the build context"),
        "{history:?}"
    );
    assert!(
        history[1].starts_with("[runtime ") && history[1].contains("copy build context to /app"),
        "{history:?}"
    );
    assert!(
        history[2].starts_with("[runtime ") && history[2].contains("copy /app/.venv project files"),
        "{history:?}"
    );
    // The venv's layer: idna's. Its step is keyed on idna's lock entry and the builder alone,
    // so another test's build (of any project with that idna) may have made it, and a registry
    // cache's layers are named by BuildKit `imported ...`.
    assert!(
        history[3] == "[deps 1/1] layer: idna" || history[3].starts_with("imported sha256:"),
        "{history:?}"
    );
    assert!(
        !history.iter().any(|h| h.contains("layer: the venv")),
        "no layer of the empty venv alone: {history:?}"
    );
    history
}

/// A source edit: both phases and the DiffOp cached (the module is copied as it is, beside the
/// editable install), only the last layer changes.
fn source_edit_changes_only_the_module_layer(
    project: &Project,
    tag: &str,
    first_layers: &[String],
) {
    let edited_text = edit_source(project, "edited");
    let t = Instant::now();
    let edited = project.build(tag, &[]);
    edited.expect_success();
    eprintln!("containerd store, source edit: {:.1?}", t.elapsed());
    assert!(
        edited.cached(DEPS),
        "phase 1 reran after a source edit:\n{}",
        edited.log()
    );
    assert!(edited.cached(PROJECT_SYNC), "{}", edited.log());
    assert_layered_with_diffop(&edited);
    assert!(edited.cached(DIFF_VERTEX), "the DiffOp is kept");
    assert!(!edited.cached("[runtime 3/3] copy src/hello_uv from the build context"));

    let edited_layers = rootfs_layers(tag);
    let n = first_layers.len();
    assert_eq!(edited_layers.len(), n);
    assert_eq!(
        edited_layers[..n - 1],
        first_layers[..n - 1],
        "the base, account and dependency layers are reused"
    );
    assert_ne!(edited_layers[n - 1], first_layers[n - 1]);
    let sizes = top_layer_sizes(tag, 4);
    let (venv_bytes, module_bytes) = (sizes[0] + sizes[1], sizes[3]);
    eprintln!("venv layers {venv_bytes} B, module layer {module_bytes} B");
    assert!(
        module_bytes * 20 <= venv_bytes,
        "the changed layer ({module_bytes} B) is at most 5% of the venv ({venv_bytes} B)"
    );
    assert_eq!(
        run(tag, &[]),
        format!("{edited_text}hello from hello-uv 0.1.0 (idna 3.20) dev=absent")
    );
    assert_lean_non_root(tag);
}

#[test]
fn registry_cache_without_cache_mounts() {
    let _guard = containerd_daemon();
    // CI run 1 is a new runner's: phase 1 new to the builder. A fresh cache id is not enough:
    // BuildKit leaves a cache mount's id out of the step's cache key (moby/buildkit#4585), and
    // idna's unit step is keyed on its lock entry alone, so another test's build of `plain`
    // on this daemon would have made it.
    fresh_builder();
    let id = fresh_cache_id();
    let project = Project::copy_of("plain");
    project.use_cache(&id, None);
    let cache_repo = "uv-frontend-e2e-cache/plain";
    let _pushed = PushedTags(vec![(cache_repo, id.clone())]);
    let tag = "uv-frontend-e2e-ctrd/plain:registry-cache";
    let cache_ref = format!("{REGISTRY}/{cache_repo}:{id}");
    let ci = RegistryCacheRuns {
        project: &project,
        tag,
        cache_to: format!("type=registry,ref={cache_ref},mode=max"),
        cache_from: format!("type=registry,ref={cache_ref}"),
    };

    let first_layers = cold_run_exports_the_cache(&ci);
    // Top down: the module, the context, the project's installed files, idna.
    let deps_layer = first_layers[first_layers.len() - 4].clone();
    fresh_runner_with_nothing_changed_builds_nothing(&ci, &first_layers);
    fresh_runner_with_a_source_edit_runs_no_sync(&ci, &first_layers);
    fresh_runner_with_a_dependency_added_installs_only_it(&ci, &deps_layer);
}

/// The CI runs of [`registry_cache_without_cache_mounts`]: one project, image tag and registry
/// cache.
struct RegistryCacheRuns<'a> {
    project: &'a Project,
    tag: &'a str,
    cache_to: String,
    cache_from: String,
}

/// CI run 1; returns the image's layers.
fn cold_run_exports_the_cache(ci: &RegistryCacheRuns) -> Vec<String> {
    // CI run 1: cold, exporting every intermediate result to the registry.
    let t = Instant::now();
    let first = ci.project.build(ci.tag, &["--cache-to", &ci.cache_to]);
    first.expect_success();
    eprintln!(
        "containerd store, cold build with --cache-to: {:.1?}",
        t.elapsed()
    );
    assert!(!first.cached(DEPS), "phase 1 is new to this run");
    assert_eq!(first.prepared(DEPS), 1, "cold:\n{}", first.log());
    assert!(
        first
            .log()
            .lines()
            .any(|l| l.contains("exporting cache to registry")),
        "no cache export:\n{}",
        first.log()
    );
    rootfs_layers(ci.tag)
}

fn fresh_runner_with_nothing_changed_builds_nothing(
    ci: &RegistryCacheRuns,
    first_layers: &[String],
) {
    let n = first_layers.len();
    let deps_layer = &first_layers[n - 4];
    // CI run 2: a fresh builder with no cache mounts, nothing changed.
    fresh_builder();
    let t = Instant::now();
    let second = ci.project.build(ci.tag, &["--cache-from", &ci.cache_from]);
    second.expect_success();
    eprintln!(
        "containerd store, fresh builder with --cache-from: {:.1?}",
        t.elapsed()
    );
    assert!(
        second.cached(DEPS),
        "phase 1 not taken from the registry cache ({MISS_HINT}):\n{}",
        second.log()
    );
    for step in second.step_names() {
        assert!(
            second.cached(&step),
            "{step} not cached from the registry:\n{}",
            second.log()
        );
    }
    let log = second.log();
    assert!(
        !log.contains("Prepared ") && !log.contains("Downloading"),
        "nothing is downloaded:\n{log}"
    );
    let second_layers = rootfs_layers(ci.tag);
    assert_eq!(
        &second_layers[n - 4],
        deps_layer,
        "the dependency layer is reused"
    );
    assert_eq!(
        second_layers, first_layers,
        "an unchanged project gives the same layers"
    );
    assert_eq!(
        run(ci.tag, &[]),
        "hello from hello-uv 0.1.0 (idna 3.20) dev=absent"
    );
}

fn fresh_runner_with_a_source_edit_runs_no_sync(ci: &RegistryCacheRuns, first_layers: &[String]) {
    let n = first_layers.len();
    let deps_layer = &first_layers[n - 4];
    // CI run 3: a fresh builder again, and a source edit: phase 1 still from the registry.
    fresh_builder();
    let text = edit_source(ci.project, "edited");
    let t = Instant::now();
    let edited = ci.project.build(ci.tag, &["--cache-from", &ci.cache_from]);
    edited.expect_success();
    eprintln!(
        "containerd store, fresh builder with --cache-from, source edit: {:.1?}",
        t.elapsed()
    );
    // Phase 2 needs phase 1's result, so its layer is pulled from the registry under the
    // vertex's name and plain progress shows DONE rather than CACHED: it must not have run.
    assert!(
        !executed(&edited, DEPS) && installed(&edited, DEPS).is_empty(),
        "phase 1 not taken from the registry cache after a source edit ({MISS_HINT}):\n{}",
        edited.log()
    );
    // Phase 2 too: its input is the project without its module, which is copied as it is.
    assert!(
        !executed(&edited, PROJECT_SYNC) && installed(&edited, PROJECT_SYNC).is_empty(),
        "phase 2 not taken from the registry cache after a source edit:\n{}",
        edited.log()
    );
    let log = edited.log();
    assert!(
        !log.contains("Prepared ") && !log.contains("Downloading"),
        "nothing is downloaded or built:\n{log}"
    );
    let edited_layers = rootfs_layers(ci.tag);
    assert_eq!(edited_layers.len(), n);
    assert_eq!(
        &edited_layers[n - 4],
        deps_layer,
        "the dependency layer is reused"
    );
    assert_eq!(edited_layers[..n - 1], first_layers[..n - 1]);
    assert_ne!(edited_layers[n - 1], first_layers[n - 1]);
    assert_eq!(
        run(ci.tag, &[]),
        format!("{text}hello from hello-uv 0.1.0 (idna 3.20) dev=absent")
    );
    assert_lean_non_root(ci.tag);
}

fn fresh_runner_with_a_dependency_added_installs_only_it(ci: &RegistryCacheRuns, deps_layer: &str) {
    // CI run 4 (issue 14): a fresh builder again, and a dependency added. Each package is a
    // step of its own, an ordinary cache record: idna's comes from the registry, and only six
    // is downloaded and installed, where a Dockerfile's `uv sync` would install both again.
    fresh_builder();
    ci.project.use_fixture("plain-with-six");
    let t = Instant::now();
    let added = ci.project.build(ci.tag, &["--cache-from", &ci.cache_from]);
    added.expect_success();
    eprintln!(
        "containerd store, fresh builder with --cache-from, dependency added: {:.1?}",
        t.elapsed()
    );
    assert_eq!(added.units_installed(), ["six==1.17.0"], "{}", added.log());
    assert!(
        !executed(&added, DEPS),
        "idna's step ran on a fresh builder that has it in the registry cache ({MISS_HINT}):\n{}",
        added.log()
    );
    let added_layers = rootfs_layers(ci.tag);
    assert!(
        added_layers.iter().any(|l| l == deps_layer),
        "idna's layer is the same: {deps_layer} not in {added_layers:?}"
    );
}

#[test]
fn two_builds_on_fresh_builders_give_the_same_image_digest_and_keep_the_base_images_layers() {
    let _guard = containerd_daemon();
    let project = Project::copy_of("plain");
    let epoch = ["--build-arg", "SOURCE_DATE_EPOCH=1700000000"];
    fresh_builder();
    let first = oci_export(&project, &epoch);
    fresh_builder();
    let second = oci_export(&project, &epoch);
    assert_eq!(
        first.digest, second.digest,
        "SOURCE_DATE_EPOCH + rewrite-timestamp give one digest"
    );
    // The base image's layers are the base's: the frontend Returns the base's config, by which
    // the exporter tells them and leaves their times alone (shared with every image on it).
    assert_eq!(first.first_layer, first_layer_of_base());
}

#[test]
fn several_platforms_build_one_runnable_image_each() {
    let _guard = containerd_daemon();
    let project = Project::copy_of("plain");
    // Manifest lists of the linux/amd64 and linux/386 images (scripts/testbed/base-images.sh).
    let spec = project
        .read("uv.build")
        .replace("127.0.0.1:5000/uv:0.13.9", "127.0.0.1:5000/uv:0.13.9-multi")
        .replace(
            "127.0.0.1:5000/python:3.11-bookworm",
            "127.0.0.1:5000/python:3.11-bookworm-multi",
        );
    project.write("uv.build", &spec);
    let tag = format!("uv-frontend-e2e/multi:{}", nanos());
    let build = project.build(&tag, &["--platform", "linux/amd64,linux/386"]);
    build.expect_success();
    let names = vertex_names(&build);
    for platform in ["linux/amd64", "linux/386"] {
        assert!(
            names
                .iter()
                .any(|n| n.starts_with(&format!("[{platform} deps 1/1] uv pip install idna"))),
            "each platform's steps carry its name: {names:?}"
        );
    }
    for (platform, bits) in [("linux/amd64", "64"), ("linux/386", "32")] {
        assert_eq!(
            run(&tag, &["--platform", platform]),
            "hello from hello-uv 0.1.0 (idna 3.20) dev=absent",
            "{platform}"
        );
        let python = docker_command()
            .args(["run", "--rm", "--platform", platform])
            .args(["--entrypoint", "/app/.venv/bin/python", &tag])
            .args(["-c", "import struct; print(struct.calcsize('P') * 8)"])
            .output()
            .expect("docker runs");
        assert_eq!(
            String::from_utf8_lossy(&python.stdout).trim(),
            bits,
            "{platform}'s venv runs its platform's interpreter: {}",
            String::from_utf8_lossy(&python.stderr)
        );
    }
}

#[test]
fn big_packages_keep_their_layers_stacked_with_mergeop() {
    let _guard = containerd_daemon();
    let cold = assert_big_packages_keep_their_unit_layers("uv-frontend-e2e-ctrd/bigwheels:layers");
    // Made apart and stacked: base and user, numpy, pandas, the rest, in one MergeOp.
    assert!(
        cold.log()
            .lines()
            .any(|l| l.ends_with(" [runtime-deps] stack layers")),
        "{}",
        cold.log()
    );
}
