//! The multi-platform frontend image: `Dockerfile.frontend` built with `--platform
//! linux/amd64,linux/arm64` (cross-compiled on the build platform) by
//! `scripts/testbed/multiarch-image.sh` (run by `scripts/testbed-up`) and pushed as
//! `127.0.0.1:5000/uv-frontend-multiarch:dev`. These tests check what was pushed: an index of
//! exactly those two platforms with the same entrypoint and labels, static binaries of the right
//! machine (the arm64 one an aarch64 ELF that answers `--version` under QEMU user emulation),
//! and a real build of `examples/plain` on the test bed's amd64 dockerd whose `# syntax=` names
//! the arm64 manifest by digest, so BuildKit runs the arm64 binary through binfmt_misc; with
//! the qemu-aarch64 handler disabled the same build fails with `exec format error`. A missing
//! daemon, image or QEMU fails these tests rather than skipping them.
//!
//! Not shown here: the frontend on a real arm64 machine, or building an arm64 *project* (its
//! steps would need arm64 base images, which the test bed does not have).

mod support;

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::{Mutex, MutexGuard};

use support::e2e::*;

const REGISTRY: &str = "127.0.0.1:5000";
const REPOSITORY: &str = "uv-frontend-multiarch";
const CAPS: &str = "moby.buildkit.frontend.subrequests,moby.buildkit.frontend.contexts";
const BINFMT_AARCH64: &str = "/proc/sys/fs/binfmt_misc/qemu-aarch64";

/// Held by every test: one of them switches the qemu-aarch64 handler off for a moment.
static BINFMT: Mutex<()> = Mutex::new(());

fn binfmt_lock() -> MutexGuard<'static, ()> {
    BINFMT.lock().unwrap_or_else(|e| e.into_inner())
}

fn image() -> String {
    std::env::var("MULTIARCH_FRONTEND_IMAGE")
        .unwrap_or_else(|_| format!("{REGISTRY}/{REPOSITORY}:dev"))
}

fn repository() -> String {
    let image = image();
    let without_registry = image
        .strip_prefix(&format!("{REGISTRY}/"))
        .unwrap_or_else(|| panic!("{image} is not in {REGISTRY}"));
    without_registry
        .split([':', '@'])
        .next()
        .expect("a repository")
        .to_string()
}

/// `curl` of the local registry's API (plain HTTP), failing the test on an HTTP error.
fn registry_get(path: &str) -> Vec<u8> {
    let url = format!("http://{REGISTRY}/v2/{}/{path}", repository());
    let out = Command::new("curl")
        .args(["-fsS", "--max-time", "30"])
        .args(["-H", "Accept: application/vnd.oci.image.index.v1+json"])
        .args([
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.list.v2+json",
        ])
        .args(["-H", "Accept: application/vnd.oci.image.manifest.v1+json"])
        .args([
            "-H",
            "Accept: application/vnd.docker.distribution.manifest.v2+json",
        ])
        .arg(&url)
        .output()
        .expect("curl runs");
    assert!(
        out.status.success(),
        "GET {url}: {} (is the registry up, and was {} pushed? run scripts/testbed-up, or \
         scripts/testbed/multiarch-image.sh)",
        String::from_utf8_lossy(&out.stderr).trim(),
        image()
    );
    out.stdout
}

fn json(bytes: &[u8]) -> serde_json::Value {
    serde_json::from_slice(bytes).expect("JSON from the registry")
}

/// The pushed index: (architecture, manifest digest) of each linux manifest.
fn platform_manifests() -> Vec<(String, String)> {
    let tag = image().rsplit_once(':').expect("a tag").1.to_string();
    let index = json(&registry_get(&format!("manifests/{tag}")));
    let manifests = index["manifests"]
        .as_array()
        .unwrap_or_else(|| panic!("{} is not a manifest list: {index}", image()));
    manifests
        .iter()
        .map(|m| {
            assert_eq!(m["platform"]["os"], "linux", "{m}");
            (
                m["platform"]["architecture"]
                    .as_str()
                    .expect("an architecture")
                    .to_string(),
                m["digest"].as_str().expect("a digest").to_string(),
            )
        })
        .collect()
}

fn digest_of(arch: &str) -> String {
    platform_manifests()
        .into_iter()
        .find(|(a, _)| a == arch)
        .unwrap_or_else(|| panic!("{} has no linux/{arch} manifest", image()))
        .1
}

/// The platform manifest's image config.
fn config_of(digest: &str) -> serde_json::Value {
    let manifest = json(&registry_get(&format!("manifests/{digest}")));
    let config = manifest["config"]["digest"].as_str().expect("a config");
    json(&registry_get(&format!("blobs/{config}")))
}

/// `/bin/uv-frontend` of the platform manifest, extracted from its one layer into a new
/// directory.
fn binary_of(digest: &str) -> PathBuf {
    let manifest = json(&registry_get(&format!("manifests/{digest}")));
    let layers = manifest["layers"].as_array().expect("layers");
    assert_eq!(layers.len(), 1, "one layer (the binary): {manifest}");
    let layer = layers[0]["digest"].as_str().expect("a layer digest");
    let blob = registry_get(&format!("blobs/{layer}"));
    let dir = tempdir("multiarch-binary");
    let tarball = dir.join("layer.tar.gz");
    std::fs::write(&tarball, blob).expect("writable");
    let status = Command::new("tar")
        .arg("-xzf")
        .arg(&tarball)
        .arg("-C")
        .arg(&dir)
        .arg("bin/uv-frontend")
        .status()
        .expect("tar runs");
    assert!(
        status.success(),
        "the layer of {digest} holds bin/uv-frontend"
    );
    dir.join("bin/uv-frontend")
}

/// What an ELF header says: (64-bit, little-endian, e_machine, has a PT_INTERP program header).
fn elf_facts(path: &Path) -> (bool, bool, u16, bool) {
    let bytes = std::fs::read(path).expect("readable binary");
    assert_eq!(
        &bytes[..4],
        b"\x7fELF",
        "{} is not an ELF file",
        path.display()
    );
    let is64 = bytes[4] == 2;
    let little = bytes[5] == 1;
    assert!(is64 && little, "a 64-bit little-endian ELF");
    let u16_at = |o: usize| u16::from_le_bytes([bytes[o], bytes[o + 1]]);
    let u32_at = |o: usize| u32::from_le_bytes(bytes[o..o + 4].try_into().unwrap());
    let u64_at = |o: usize| u64::from_le_bytes(bytes[o..o + 8].try_into().unwrap());
    let machine = u16_at(18);
    let phoff = u64_at(32) as usize;
    let phentsize = u16_at(54) as usize;
    let phnum = u16_at(56) as usize;
    const PT_INTERP: u32 = 3;
    let interp = (0..phnum).any(|i| u32_at(phoff + i * phentsize) == PT_INTERP);
    (is64, little, machine, interp)
}

const EM_X86_64: u16 = 62;
const EM_AARCH64: u16 = 183;

fn version_of(binary: &Path) -> String {
    let out = Command::new(binary)
        .arg("--version")
        .output()
        .unwrap_or_else(|e| panic!("{} does not start: {e}", binary.display()));
    assert!(
        out.status.success(),
        "{} --version: {}",
        binary.display(),
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8_lossy(&out.stdout).into_owned()
}

/// The qemu-aarch64 binfmt_misc handler must be there, enabled, with the F flag (the
/// interpreter opened at registration, so it also serves containers, whose filesystems lack it).
fn assert_qemu_aarch64_registered() {
    let entry = std::fs::read_to_string(BINFMT_AARCH64).unwrap_or_else(|e| {
        panic!(
            "{BINFMT_AARCH64}: {e}: no QEMU user emulation for arm64 \
             (scripts/testbed/multiarch-image.sh registers Debian's qemu-user-static)"
        )
    });
    assert!(
        entry.lines().next() == Some("enabled"),
        "qemu-aarch64 disabled: {entry}"
    );
    let flags = entry
        .lines()
        .find_map(|l| l.strip_prefix("flags: "))
        .unwrap_or_default();
    assert!(
        flags.contains('F'),
        "qemu-aarch64 lacks the F flag: {entry}"
    );
}

/// Switches the qemu-aarch64 handler off until dropped.
struct BinfmtOff;

impl BinfmtOff {
    fn new() -> BinfmtOff {
        std::fs::write(BINFMT_AARCH64, "0").expect("qemu-aarch64 can be disabled (root)");
        BinfmtOff
    }
}

impl Drop for BinfmtOff {
    fn drop(&mut self) {
        std::fs::write(BINFMT_AARCH64, "1").expect("qemu-aarch64 can be enabled again");
    }
}

#[test]
fn the_index_holds_amd64_and_arm64_with_the_same_entrypoint_and_labels() {
    let _guard = binfmt_lock();
    let mut arches: Vec<String> = platform_manifests().into_iter().map(|(a, _)| a).collect();
    arches.sort();
    assert_eq!(arches, ["amd64", "arm64"], "{}", image());

    // `docker buildx imagetools inspect`, as docs/publishing.md tells publishers to check.
    let out = Command::new(docker())
        .args(["buildx", "imagetools", "inspect", &image()])
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8_lossy(&out.stdout);
    let mut platforms: Vec<&str> = text
        .lines()
        .filter_map(|l| l.trim().strip_prefix("Platform:"))
        .map(str::trim)
        .collect();
    platforms.sort();
    assert_eq!(platforms, ["linux/amd64", "linux/arm64"], "{text}");

    for arch in ["amd64", "arm64"] {
        let config = config_of(&digest_of(arch));
        assert_eq!(config["architecture"], arch, "{config}");
        assert_eq!(config["os"], "linux", "{config}");
        let cfg = &config["config"];
        assert_eq!(
            cfg["Entrypoint"],
            serde_json::json!(["/bin/uv-frontend"]),
            "{arch}: {cfg}"
        );
        let labels = &cfg["Labels"];
        assert_eq!(
            labels["moby.buildkit.frontend.caps"], CAPS,
            "{arch}: {labels}"
        );
        assert_eq!(
            labels["moby.buildkit.frontend.network.none"], "true",
            "{arch}"
        );
        assert_eq!(
            labels["org.opencontainers.image.version"],
            env!("CARGO_PKG_VERSION"),
            "{arch}: {labels}"
        );
        assert_eq!(
            labels["org.opencontainers.image.title"], "uv-frontend",
            "{arch}"
        );
    }
}

#[test]
fn the_amd64_binary_is_a_static_x86_64_elf_of_this_version() {
    let _guard = binfmt_lock();
    let binary = binary_of(&digest_of("amd64"));
    let (_, _, machine, interp) = elf_facts(&binary);
    assert_eq!(machine, EM_X86_64, "e_machine of the amd64 binary");
    assert!(
        !interp,
        "the amd64 binary asks for a dynamic loader (scratch has none)"
    );
    assert_eq!(
        version_of(&binary),
        format!("uv-frontend {}\n", env!("CARGO_PKG_VERSION"))
    );
}

#[test]
fn the_arm64_binary_is_a_static_aarch64_elf_that_runs_under_qemu() {
    let _guard = binfmt_lock();
    let binary = binary_of(&digest_of("arm64"));
    let (_, _, machine, interp) = elf_facts(&binary);
    assert_eq!(machine, EM_AARCH64, "e_machine of the arm64 binary");
    assert!(
        !interp,
        "the arm64 binary asks for a dynamic loader (scratch has none)"
    );
    assert_qemu_aarch64_registered();
    assert_eq!(
        version_of(&binary),
        format!("uv-frontend {}\n", env!("CARGO_PKG_VERSION"))
    );
    // Without a BuildKit gateway around it, it fails as the amd64 one does: it got as far as
    // reading its environment, on an emulated CPU.
    let out = Command::new(&binary).output().expect("it starts");
    assert!(!out.status.success());
    assert!(
        String::from_utf8_lossy(&out.stderr).contains("uv-frontend"),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
}

fn main_daemon_log() -> PathBuf {
    let dir = std::env::var("TESTBED_LOG_DIR")
        .unwrap_or_else(|_| "/var/cache/uv-frontend-testbed/log".into());
    PathBuf::from(dir).join("dockerd.log")
}

fn log_len() -> u64 {
    std::fs::metadata(main_daemon_log())
        .map(|m| m.len())
        .unwrap_or(0)
}

fn log_since(offset: u64) -> String {
    let bytes = std::fs::read(main_daemon_log()).unwrap_or_else(|e| {
        panic!(
            "{}: {e} (the test bed's dockerd logs there; run scripts/testbed-up)",
            main_daemon_log().display()
        )
    });
    String::from_utf8_lossy(&bytes[(offset as usize).min(bytes.len())..]).into_owned()
}

#[test]
fn the_arm64_frontend_builds_examples_plain_on_the_amd64_daemon() {
    let _guard = binfmt_lock();
    let _daemon = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let arch = docker_command()
        .args(["info", "--format", "{{.Architecture}}"])
        .output()
        .expect("docker runs");
    assert_eq!(
        String::from_utf8_lossy(&arch.stdout).trim(),
        "x86_64",
        "the test bed's daemon is amd64: the arm64 frontend is emulated there"
    );
    assert_qemu_aarch64_registered();

    let arm64 = format!("{REGISTRY}/{}@{}", repository(), digest_of("arm64"));
    let project = Project::copy_of("plain");
    let spec = project.read("uv.build");
    let (first, rest) = spec.split_once('\n').expect("a # syntax= line first");
    assert!(first.starts_with("# syntax="), "{first}");
    project.write("uv.build", &format!("# syntax={arm64}\n{rest}"));

    let offset = log_len();
    let tag = format!(
        "uv-frontend-e2e/plain:arm64-frontend-{}",
        std::process::id()
    );
    let build = project.build(&tag, &[]);
    build.expect_success();
    let log = build.log();
    assert!(
        log.contains(&format!("resolve image config for docker-image://{arm64}")),
        "BuildKit resolved the arm64 frontend by its digest:\n{log}"
    );
    let frontend_lines: Vec<String> = log_since(offset)
        .lines()
        .filter(|l| l.starts_with("uv-frontend: gateway caps"))
        .map(str::to_string)
        .collect();
    assert!(
        !frontend_lines.is_empty(),
        "the frontend logged its caps line into {}",
        main_daemon_log().display()
    );
    assert!(
        run(&tag, &[]).starts_with("hello from hello-uv"),
        "the image built by the arm64 frontend runs"
    );

    // The control: without the qemu-aarch64 handler the kernel cannot run that frontend, so the
    // build above ran the arm64 binary (the image by that digest has no other).
    let offset = log_len();
    let failed = {
        let _off = BinfmtOff::new();
        project.build(&format!("{tag}-no-qemu"), &[])
    };
    assert_qemu_aarch64_registered();
    assert!(
        !failed.succeeded(),
        "with qemu-aarch64 off the arm64 frontend cannot start:\n{}",
        failed.log()
    );
    let daemon_said = log_since(offset);
    assert!(
        daemon_said.contains("exec /bin/uv-frontend: exec format error"),
        "dockerd logged the exec format error of the arm64 frontend:\n{daemon_said}"
    );

    let _ = docker_command().args(["rmi", &tag]).output();
}
