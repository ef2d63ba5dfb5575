//! A password-protected package index for e2e tests (`private_index.py`), and a project that
//! depends on it, locked with the host's copy of the test bed's uv.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};

use super::e2e::{docker_command, nanos, tempdir, Project};

/// The private index of `tests/support/private_index.py`, stopped on drop.
pub struct PrivateIndex {
    child: Child,
    pub port: u16,
}

impl PrivateIndex {
    pub fn start(user: &str, password: &str) -> PrivateIndex {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/private_index.py");
        let mut child = Command::new("python3")
            .arg(script)
            .args(["--user", user, "--password", password])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the private index");
        let mut line = String::new();
        BufReader::new(child.stdout.take().expect("stdout"))
            .read_line(&mut line)
            .expect("the index prints its port");
        let port = line.trim().parse().expect("a port");
        PrivateIndex { child, port }
    }
}

impl Drop for PrivateIndex {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// The uv binary of the test bed's uv image, copied out once, to lock projects on the host.
pub fn host_uv() -> PathBuf {
    let dir = std::env::temp_dir().join(format!("uv-frontend-e2e-uv-{}", std::process::id()));
    let uv = dir.join("uv");
    if uv.exists() {
        return uv;
    }
    std::fs::create_dir_all(&dir).expect("mkdir");
    let id = docker_command()
        .args(["create", "127.0.0.1:5000/uv:0.13.9", "/uv"])
        .output()
        .expect("docker create");
    assert!(
        id.status.success(),
        "{}",
        String::from_utf8_lossy(&id.stderr)
    );
    let id = String::from_utf8_lossy(&id.stdout).trim().to_string();
    let cp = docker_command()
        .args(["cp", &format!("{id}:/uv")])
        .arg(&uv)
        .status()
        .expect("docker cp");
    let _ = docker_command().args(["rm", &id]).output();
    assert!(cp.success());
    uv
}

pub const SECRET_VALUE: &str = "from the private index";

/// The plain example turned into `needs-secret`, which depends on `secret-pkg` from the index
/// `team-private` at `port`, locked with the host's uv.
pub fn project_on_private_index(port: u16, user: &str, password: &str) -> Project {
    let project = Project::copy_of("plain");
    project.write(
        "pyproject.toml",
        &format!(
            r#"[project]
name = "needs-secret"
version = "0.1.0"
requires-python = ">=3.11"
dependencies = ["secret-pkg==1.0"]

[project.scripts]
needs-secret = "needs_secret:main"

[[tool.uv.index]]
name = "team-private"
url = "http://127.0.0.1:{port}/simple"
explicit = true

[tool.uv.sources]
secret-pkg = {{ index = "team-private" }}

[build-system]
requires = ["uv_build>=0.9,<0.14"]
build-backend = "uv_build"
"#
        ),
    );
    std::fs::remove_dir_all(project.dir.join("src/hello_uv")).expect("rm");
    project.write(
        "src/needs_secret/__init__.py",
        "def main() -> None:\n    import secret_pkg\n\n    print(\"secret-pkg:\", secret_pkg.VALUE)\n",
    );
    let lock = Command::new(host_uv())
        .args(["lock", "--quiet"])
        .env("UV_INDEX_TEAM_PRIVATE_USERNAME", user)
        .env("UV_INDEX_TEAM_PRIVATE_PASSWORD", password)
        .env("UV_PYTHON_DOWNLOADS", "never")
        .env("UV_CACHE_DIR", project.dir.join(".uv-cache"))
        .current_dir(&project.dir)
        .output()
        .expect("uv lock runs");
    assert!(
        lock.status.success(),
        "uv lock: {}",
        String::from_utf8_lossy(&lock.stderr)
    );
    std::fs::remove_dir_all(project.dir.join(".uv-cache")).expect("rm the host cache");
    assert!(
        !project.read("uv.lock").contains(password),
        "uv never writes credentials into uv.lock"
    );
    project
}

pub fn contains(haystack: &[u8], needle: &[u8]) -> bool {
    haystack.windows(needle.len()).any(|w| w == needle)
}

/// A project that needs the private index, the index with a password no earlier run used, and
/// the credentials as files for `--secret id=...,src=...`.
pub struct PrivateProject {
    pub index: PrivateIndex,
    pub project: Project,
    pub password: String,
    secrets: PathBuf,
}

impl PrivateProject {
    pub fn new() -> PrivateProject {
        let user = "ci-reader";
        let password = format!("pw-{}-{}", nanos(), std::process::id());
        let index = PrivateIndex::start(user, &password);
        let project = project_on_private_index(index.port, user, &password);
        let secrets = tempdir("secrets");
        std::fs::write(secrets.join("user"), user).expect("write");
        std::fs::write(secrets.join("password"), &password).expect("write");
        PrivateProject {
            index,
            project,
            password,
            secrets,
        }
    }

    /// `--secret` arguments passing the credentials under the ids uv's variables have.
    pub fn secret_args(&self) -> Vec<String> {
        [("USERNAME", "user"), ("PASSWORD", "password")]
            .iter()
            .flat_map(|(var, file)| {
                [
                    "--secret".to_string(),
                    format!(
                        "id=UV_INDEX_TEAM_PRIVATE_{var},src={}",
                        self.secrets.join(file).display()
                    ),
                ]
            })
            .collect()
    }

    /// A directory beside the secrets, for what a test writes (an exported image).
    pub fn scratch_dir(&self) -> &Path {
        &self.secrets
    }
}

impl Drop for PrivateProject {
    fn drop(&mut self) {
        let _ = std::fs::remove_dir_all(&self.secrets);
    }
}
