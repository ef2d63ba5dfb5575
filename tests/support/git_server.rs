//! A git server for e2e tests: the host's `sshd` on a free port of 127.0.0.1, serving a bare
//! repository of a small package, an `ssh-agent` holding the one key it accepts, the same
//! repository over HTTP behind a token (`git_http_server.py`), and the plain example turned
//! into a project that depends on that package from either, locked with the host's copy of the
//! test bed's uv.

use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use super::e2e::{tempdir, Project};
use super::private_index::host_uv;

/// What the package in the repository says when the project's command imports it.
pub const GIT_VALUE: &str = "from git over ssh";

/// `sshd` and `ssh-agent`, stopped on drop, with the files a build needs from them.
pub struct GitServer {
    sshd: Child,
    agent: Child,
    dir: PathBuf,
    pub port: u16,
}

impl GitServer {
    pub fn start() -> GitServer {
        for tool in [
            "/usr/sbin/sshd",
            "/usr/bin/ssh-agent",
            "/usr/bin/ssh-keygen",
        ] {
            assert!(
                Path::new(tool).exists(),
                "{tool} is missing: scripts/testbed-up installs openssh-server and openssh-client"
            );
        }
        let dir = tempdir("git-server");
        for key in ["host_key", "client_key"] {
            run(Command::new("ssh-keygen")
                .args([
                    "-q",
                    "-t",
                    "ed25519",
                    "-N",
                    "",
                    "-C",
                    "uv-frontend-e2e",
                    "-f",
                ])
                .arg(dir.join(key)));
        }
        std::fs::copy(dir.join("client_key.pub"), dir.join("authorized_keys")).expect("cp");
        // sshd's privilege separation directory.
        std::fs::create_dir_all("/run/sshd").expect("mkdir /run/sshd");
        let port = free_port();
        let config = format!(
            "Port {port}\nListenAddress 127.0.0.1\nHostKey {dir}/host_key\n\
             AuthorizedKeysFile {dir}/authorized_keys\nPermitRootLogin prohibit-password\n\
             PasswordAuthentication no\nKbdInteractiveAuthentication no\nUsePAM no\n\
             StrictModes no\nPidFile none\n",
            dir = dir.display()
        );
        std::fs::write(dir.join("sshd_config"), config).expect("write");
        let sshd = Command::new("/usr/sbin/sshd")
            .args(["-D", "-e", "-f"])
            .arg(dir.join("sshd_config"))
            .stdout(Stdio::null())
            .stderr(std::fs::File::create(dir.join("sshd.log")).expect("log"))
            .spawn()
            .expect("sshd starts");
        let agent = Command::new("ssh-agent")
            .args(["-D", "-a"])
            .arg(dir.join("agent.sock"))
            .stdout(Stdio::null())
            .spawn()
            .expect("ssh-agent starts");
        let server = GitServer {
            sshd,
            agent,
            dir,
            port,
        };
        server.wait_until_up();
        run(Command::new("ssh-add")
            .arg("-q")
            .arg(server.dir.join("client_key"))
            .env("SSH_AUTH_SOCK", server.agent_socket()));
        server.init_repository();
        server
    }

    fn wait_until_up(&self) {
        let start = Instant::now();
        while std::net::TcpStream::connect(("127.0.0.1", self.port)).is_err()
            || !self.agent_socket().exists()
        {
            assert!(
                start.elapsed() < Duration::from_secs(10),
                "sshd or ssh-agent did not start: {}",
                std::fs::read_to_string(self.dir.join("sshd.log")).unwrap_or_default()
            );
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// A bare repository `private-lib.git` with one commit, tagged `v1`: the package
    /// `private-lib` 1.0.0, built with uv_build.
    fn init_repository(&self) {
        let work = self.dir.join("private-lib");
        std::fs::create_dir_all(work.join("src/private_lib")).expect("mkdir");
        std::fs::write(
            work.join("src/private_lib/__init__.py"),
            format!("VALUE = \"{GIT_VALUE}\"\n"),
        )
        .expect("write");
        std::fs::write(
            work.join("pyproject.toml"),
            "[project]\nname = \"private-lib\"\nversion = \"1.0.0\"\nrequires-python = \">=3.11\"\n\n\
             [build-system]\nrequires = [\"uv_build>=0.9,<0.14\"]\nbuild-backend = \"uv_build\"\n",
        )
        .expect("write");
        let git = |args: &[&str]| {
            run(Command::new("git")
                .args(["-c", "user.email=e2e@uv-frontend", "-c", "user.name=e2e"])
                .args(args)
                .current_dir(&work))
        };
        git(&["init", "-q", "-b", "main", "."]);
        git(&["add", "-A"]);
        git(&["commit", "-q", "-m", "private-lib 1.0.0"]);
        git(&["tag", "v1"]);
        run(Command::new("git")
            .args(["clone", "-q", "--bare"])
            .arg(&work)
            .arg(self.repository()));
    }

    fn repository(&self) -> PathBuf {
        self.dir.join("private-lib.git")
    }

    /// The repository's URL, as a project depends on it.
    pub fn url(&self) -> String {
        format!(
            "ssh://root@127.0.0.1:{}{}",
            self.port,
            self.repository().display()
        )
    }

    /// The agent's socket, for `--ssh default=<socket>`.
    pub fn agent_socket(&self) -> PathBuf {
        self.dir.join("agent.sock")
    }

    /// The client's private key, which must never reach an image.
    pub fn private_key(&self) -> Vec<u8> {
        std::fs::read(self.dir.join("client_key")).expect("the key")
    }

    /// A `known_hosts` file with the server's host key, for `--secret id=known_hosts,src=...`.
    pub fn known_hosts(&self) -> PathBuf {
        let path = self.dir.join("known_hosts");
        let key = std::fs::read_to_string(self.dir.join("host_key.pub")).expect("host key");
        let key: Vec<&str> = key.split_whitespace().take(2).collect();
        std::fs::write(
            &path,
            format!("[127.0.0.1]:{} {}\n", self.port, key.join(" ")),
        )
        .expect("write");
        path
    }

    /// The plain example depending on `private-lib` from this server over SSH (its command
    /// prints the package's value), locked with the host's uv.
    pub fn project(&self) -> Project {
        let ssh = format!(
            "ssh -i {} -o UserKnownHostsFile={} -o IdentitiesOnly=yes",
            self.dir.join("client_key").display(),
            self.known_hosts().display()
        );
        self.project_from(&self.url(), &[("GIT_SSH_COMMAND", ssh)])
    }

    /// The same repository served over HTTP to clients with `token` (as `GIT_AUTH_TOKEN` gives
    /// it), and the project depending on it from there.
    pub fn over_http(&self, token: &str) -> (GitHttpServer, Project) {
        let server = GitHttpServer::start(&self.dir, token);
        let url = format!("http://127.0.0.1:{}/private-lib.git", server.port);
        let header = format!(
            "Authorization: basic {}",
            base64_of(&format!("x-access-token:{token}"))
        );
        let project = self.project_from(
            &url,
            &[
                ("GIT_CONFIG_COUNT", "1".to_string()),
                (
                    "GIT_CONFIG_KEY_0",
                    format!("http.http://127.0.0.1:{}/.extraheader", server.port),
                ),
                ("GIT_CONFIG_VALUE_0", header),
            ],
        );
        (server, project)
    }

    /// The plain example depending on `private-lib @ git+<url>@v1`, locked with the host's uv
    /// given `env` (how its git reaches the server).
    fn project_from(&self, url: &str, env: &[(&str, String)]) -> Project {
        let project = Project::copy_of("plain");
        let pyproject = project.read("pyproject.toml").replace(
            "dependencies = [\"idna>=3.7\"]",
            &format!("dependencies = [\"idna>=3.7\", \"private-lib @ git+{url}@v1\"]"),
        );
        assert!(pyproject.contains("private-lib @ git+"));
        project.write("pyproject.toml", &pyproject);
        project.write(
            "src/hello_uv/__init__.py",
            "def main() -> None:\n    import private_lib\n\n    print(\"private-lib:\", private_lib.VALUE)\n",
        );
        let cache = self.dir.join("uv-cache");
        let mut lock = Command::new(host_uv());
        lock.args(["lock", "--quiet"])
            .env("UV_PYTHON_DOWNLOADS", "never")
            .env("UV_CACHE_DIR", &cache)
            .current_dir(&project.dir);
        for (name, value) in env {
            lock.env(name, value);
        }
        run(&mut lock);
        let _ = std::fs::remove_dir_all(cache);
        let scheme = url.split("://").next().expect("a scheme");
        assert!(
            project
                .read("uv.lock")
                .contains(&format!("source = {{ git = \"{scheme}://")),
            "uv locks the package from git:\n{}",
            project.read("uv.lock")
        );
        project
    }
}

/// `tests/support/git_http_server.py`: `git http-backend` behind the token, stopped on drop.
pub struct GitHttpServer {
    child: Child,
    pub port: u16,
}

impl GitHttpServer {
    fn start(root: &Path, token: &str) -> GitHttpServer {
        let script = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/support/git_http_server.py");
        let mut child = Command::new("python3")
            .arg(script)
            .arg("--root")
            .arg(root)
            .args(["--token", token])
            .stdout(Stdio::piped())
            .stderr(Stdio::null())
            .spawn()
            .expect("python3 runs the git server");
        let mut line = String::new();
        std::io::BufRead::read_line(
            &mut std::io::BufReader::new(child.stdout.take().expect("stdout")),
            &mut line,
        )
        .expect("the server prints its port");
        let port = line.trim().parse().expect("a port");
        GitHttpServer { child, port }
    }
}

impl Drop for GitHttpServer {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Standard base64 of `text`, padded.
pub fn base64_of(text: &str) -> String {
    let bytes = text.as_bytes();
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = String::new();
    for chunk in bytes.chunks(3) {
        let n = chunk
            .iter()
            .enumerate()
            .fold(0u32, |n, (i, b)| n | u32::from(*b) << (16 - 8 * i));
        for i in 0..4 {
            if i <= chunk.len() {
                out.push(char::from(ALPHABET[(n >> (18 - 6 * i) & 63) as usize]));
            } else {
                out.push('=');
            }
        }
    }
    out
}

impl Drop for GitServer {
    fn drop(&mut self) {
        for child in [&mut self.sshd, &mut self.agent] {
            let _ = child.kill();
            let _ = child.wait();
        }
        let _ = std::fs::remove_dir_all(&self.dir);
    }
}

/// Runs `cmd`, failing with its stderr unless it succeeds.
fn run(cmd: &mut Command) {
    let out = cmd.output().expect("the command runs");
    assert!(
        out.status.success(),
        "{cmd:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
}

/// A port of 127.0.0.1 no one listens on.
fn free_port() -> u16 {
    std::net::TcpListener::bind(("127.0.0.1", 0))
        .and_then(|l| l.local_addr())
        .expect("a free port")
        .port()
}
