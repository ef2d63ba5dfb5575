//! Reproducible exports, for the e2e tests that build twice and compare digests: a build
//! exported as an OCI archive with `rewrite-timestamp=true`, what the archive holds, and the
//! base image's first layer to compare it with.

use std::path::Path;
use std::process::Command;

use super::e2e::{docker_command, tempdir, Project};

/// What an OCI export of a build gave.
pub struct OciExport {
    /// The image digest (`--metadata-file`'s `containerimage.digest`).
    pub digest: String,
    /// The digest of the image's first layer, read from the archive.
    pub first_layer: String,
    /// The build's output, for assertions on BuildKit's messages.
    pub log: String,
}

/// `docker buildx build -f uv.build <extra> --output type=oci,...,rewrite-timestamp=true .`
/// with the client `docker_command()` aims at; fails the test when the build fails.
pub fn oci_export(project: &Project, extra: &[&str]) -> OciExport {
    let dir = tempdir("oci-export");
    let (meta, archive) = (dir.join("metadata.json"), dir.join("image.tar"));
    let out = docker_command()
        .args(["buildx", "build", "--progress=plain", "-f", "uv.build"])
        .args(extra)
        .arg("--metadata-file")
        .arg(&meta)
        .arg("--output")
        .arg(format!(
            "type=oci,dest={},rewrite-timestamp=true",
            archive.display()
        ))
        .arg(".")
        .current_dir(&project.dir)
        .output()
        .expect("docker runs");
    let log = format!(
        "{}{}",
        String::from_utf8_lossy(&out.stdout),
        String::from_utf8_lossy(&out.stderr)
    );
    assert!(out.status.success(), "{log}");
    let meta: serde_json::Value =
        serde_json::from_slice(&std::fs::read(&meta).expect("metadata file")).expect("JSON");
    let digest = meta["containerimage.digest"]
        .as_str()
        .expect("a digest")
        .to_string();
    let first_layer = first_layer_of_archive(&archive);
    let _ = std::fs::remove_dir_all(&dir);
    OciExport {
        digest,
        first_layer,
        log,
    }
}

/// The JSON file `name` of an OCI archive.
pub fn tar_file(archive: &Path, name: &str) -> serde_json::Value {
    let out = Command::new("tar")
        .arg("-xOf")
        .arg(archive)
        .arg(name)
        .output()
        .expect("tar runs");
    assert!(out.status.success(), "{name} in {}", archive.display());
    serde_json::from_slice(&out.stdout).expect("JSON")
}

/// The digest of the first layer of the (single-platform) image in an OCI archive.
pub fn first_layer_of_archive(archive: &Path) -> String {
    let blob = |digest: &str| format!("blobs/sha256/{}", digest.trim_start_matches("sha256:"));
    let mut manifest = tar_file(archive, "index.json");
    // index.json, possibly an image index, down to the image manifest.
    while let Some(next) = manifest["manifests"][0]["digest"].as_str() {
        manifest = tar_file(archive, &blob(next));
    }
    manifest["layers"][0]["digest"]
        .as_str()
        .expect("a layer")
        .to_string()
}

/// The digest of the test bed's base image's first layer, from the registry.
pub fn first_layer_of_base() -> String {
    let out = docker_command()
        .args(["buildx", "imagetools", "inspect", "--raw"])
        .arg("127.0.0.1:5000/python:3.11-bookworm")
        .output()
        .expect("docker runs");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let manifest: serde_json::Value = serde_json::from_slice(&out.stdout).expect("JSON");
    manifest["layers"][0]["digest"]
        .as_str()
        .expect("a single-platform manifest")
        .to_string()
}
