//! Test support: a fake LLBBridge holding a build context in memory, and helpers to decode
//! the definitions the frontend solves.

#![allow(dead_code)]

pub mod e2e;
pub mod flow;
pub mod git_server;
pub mod oci_export;
pub mod private_index;

use std::collections::BTreeMap;

use uv_frontend::gateway::{
    Bridge, BuildOpts, CacheImport, Capabilities, DirEntry, FrontendResult, ResolvedImage, Warning,
    REQUIRED_CAPS,
};
use uv_frontend::llb::{digest_of, pb, Platform};

use prost::Message;

/// A BuildKit stand-in: locals are maps of path to bytes, images are configs.
#[derive(Default)]
pub struct FakeBridge {
    pub locals: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub images: BTreeMap<String, serde_json::Value>,
    /// Files of images, for reads of solved image references.
    pub image_files: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    pub caps: Vec<String>,
    pub llb_caps: Vec<String>,
    /// Solved references: for local reads, the files they hold.
    refs: BTreeMap<String, BTreeMap<String, Vec<u8>>>,
    /// Every definition solved that was not a plain local read, with its cache imports.
    pub solved: Vec<(pb::Definition, Vec<CacheImport>)>,
    pub warnings: Vec<Warning>,
    pub returned: Option<FrontendResult>,
    /// Makes image resolution panic, standing in for a bug anywhere in the flow.
    pub panic_on_resolve: bool,
    /// Every image config resolved: (image, resolve mode).
    pub resolve_modes: Vec<(String, String)>,
    /// Images that exist for their config's platform only; the others are multi-platform and
    /// answer for whichever is asked.
    pub single_platform: std::collections::BTreeSet<String>,
    /// The files (and symlinks, as [`link`] values) of every built image: what the interpreter
    /// check reads. By default a venv on a Debian-like Python 3.11.
    pub result_files: BTreeMap<String, Vec<u8>>,
    /// Check commands (by their first argument) whose solve fails, with the error.
    pub failing_checks: BTreeMap<String, String>,
    /// An error the build's own solve fails with.
    pub build_error: Option<String>,
    /// The cache imports of every solve, reads included, in order.
    pub solve_imports: Vec<Vec<CacheImport>>,
}

/// A symlink's content in the fake's file maps.
pub fn link(target: &str) -> Vec<u8> {
    format!("\0link:{target}").into_bytes()
}

fn as_link(bytes: &[u8]) -> Option<String> {
    bytes
        .strip_prefix(b"\0link:")
        .map(|t| String::from_utf8_lossy(t).into_owned())
}

/// A venv made by uv 0.13.9 with Debian's Python 3.11 at /usr/bin.
pub fn debian_python_venv() -> BTreeMap<String, Vec<u8>> {
    [
        (
            "app/.venv/pyvenv.cfg",
            b"home = /usr/bin\nimplementation = CPython\nuv = 0.13.9\nversion_info = 3.11.2\ninclude-system-site-packages = false\n".to_vec(),
        ),
        ("app/.venv/bin/python", link("/usr/bin/python3.11")),
        ("usr/bin/python3.11", b"ELF".to_vec()),
        ("usr/bin/python3", link("python3.11")),
        ("usr/lib/python3.11/os.py", b"# os".to_vec()),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v))
    .collect()
}

pub const PASSWD: &str =
    "root:x:0:0:root:/root:/bin/bash\nnobody:x:65534:65534:nobody:/nonexistent:/usr/sbin/nologin\n";
pub const GROUP: &str = "root:x:0:\nnogroup:x:65534:\n";

pub const PLAIN_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/plain");
pub const WORKSPACE_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/workspace");
pub const BIGWHEELS_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/bigwheels");
pub const APP_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/app");
pub const DJANGO_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/django");
pub const FASTAPI_EXAMPLE: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/examples/fastapi");

impl FakeBridge {
    /// A bridge with every cap, `spec` as `uv.build` and the files of `project_dir` as the context.
    pub fn with_project(project_dir: &str, spec: &str) -> FakeBridge {
        let mut bridge = FakeBridge {
            caps: REQUIRED_CAPS
                .iter()
                .map(|c| c.to_string())
                .chain(["proto.refarray".to_string(), "gateway.warnings".to_string()])
                .collect(),
            llb_caps: vec!["mergeop".into(), "diffop".into()],
            result_files: debian_python_venv(),
            ..Default::default()
        };
        bridge
            .locals
            .entry("dockerfile".into())
            .or_default()
            .insert("uv.build".into(), spec.as_bytes().to_vec());
        let context = bridge.locals.entry("context".into()).or_default();
        read_tree(std::path::Path::new(project_dir), "", context);
        let python = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {
                "Env": ["PATH=/usr/local/bin:/usr/bin:/bin", "LANG=C.UTF-8"],
                "Cmd": ["python3"]
            },
            "rootfs": {"type": "layers", "diff_ids": ["sha256:aaaa"]},
            "history": [{"created_by": "debootstrap"}]
        });
        for image in [
            "127.0.0.1:5000/python:3.11-bookworm",
            "python:3.11-slim-bookworm",
            "python:3.12-slim-bookworm",
        ] {
            bridge.images.insert(image.into(), python.clone());
            bridge.image_files.insert(
                image.into(),
                [
                    ("etc/passwd".to_string(), PASSWD.as_bytes().to_vec()),
                    ("etc/group".to_string(), GROUP.as_bytes().to_vec()),
                ]
                .into(),
            );
        }
        // uv images: `/uv` alone, no accounts.
        let uv = serde_json::json!({
            "architecture": "amd64",
            "os": "linux",
            "config": {},
            "rootfs": {"type": "layers", "diff_ids": ["sha256:bbbb"]}
        });
        for image in [
            "127.0.0.1:5000/uv:0.13.9",
            "127.0.0.1:5000/uv:0.13.8",
            "ghcr.io/astral-sh/uv:0.13.9",
        ] {
            bridge.images.insert(image.into(), uv.clone());
        }
        bridge
    }

    /// [`FakeBridge::with_project`] on a BuildKit without MergeOp and DiffOp (the classic
    /// image store), so the runtime layers are copied one onto the other.
    pub fn without_mergeop(project_dir: &str, spec: &str) -> FakeBridge {
        let mut bridge = FakeBridge::with_project(project_dir, spec);
        bridge.llb_caps.clear();
        bridge
    }

    pub fn set_context_file(&mut self, path: &str, content: &str) {
        self.locals
            .get_mut("context")
            .expect("a context")
            .insert(path.into(), content.as_bytes().to_vec());
    }

    /// Rewrites a file of the build context (as the project has it) with `edit`.
    pub fn edit_context_file(&mut self, path: &str, edit: impl FnOnce(&str) -> String) {
        let context = self.locals.get_mut("context").expect("a context");
        let text = String::from_utf8(context.get(path).cloned().expect("the file is there"))
            .expect("text");
        context.insert(path.into(), edit(&text).into_bytes());
    }

    pub fn remove_context_file(&mut self, path: &str) {
        self.locals
            .get_mut("context")
            .expect("a context")
            .remove(path);
    }

    /// The definition of the build's result (the first solve after the reads; the checks of
    /// the finished image come after it).
    pub fn result_definition(&self) -> &pb::Definition {
        &self.solved[self.result_index()].0
    }

    /// Which solve built the image: the first with the project phase in it (the dependency
    /// phase may be solved on its own before, to read its venv).
    fn result_index(&self) -> usize {
        self.solved
            .iter()
            .position(|(def, _)| {
                ops(def)
                    .iter()
                    .any(|(d, _)| name_of(def, d).starts_with("[project "))
            })
            .expect("the build solved the image")
    }

    /// The definitions of the checks run on the finished image, by name.
    pub fn check_names(&self) -> Vec<String> {
        self.solved[self.result_index() + 1..]
            .iter()
            .map(|(def, _)| {
                let (digest, _) = ops(def).pop().expect("an op");
                name_of(def, &digest).to_string()
            })
            .collect()
    }

    /// Fails the test with the returned error unless the build succeeded.
    pub fn assert_built(&self) {
        assert!(
            self.returned_error().is_none(),
            "{:?}",
            self.returned_error()
        );
    }

    /// Makes `alias` a copy of the image `known` (its config and its files).
    pub fn alias_image(&mut self, alias: &str, known: &str) {
        let config = self.images[known].clone();
        self.images.insert(alias.into(), config);
        if let Some(files) = self.image_files.get(known).cloned() {
            self.image_files.insert(alias.into(), files);
        }
    }

    /// The metadata of a subrequest's answer.
    pub fn returned_metadata(&self) -> &BTreeMap<String, Vec<u8>> {
        match &self.returned {
            Some(FrontendResult::Metadata(meta)) => meta,
            other => panic!("a metadata result: {other:?}"),
        }
    }

    /// How many definitions that run something were solved (reads of the spec, the context and
    /// the base image run nothing).
    pub fn builds(&self) -> usize {
        self.solved
            .iter()
            .filter(|(def, _)| {
                ops(def)
                    .iter()
                    .any(|(_, op)| matches!(op.op, Some(pb::op::Op::Exec(_))))
            })
            .count()
    }

    /// The message of the error the build returned; panics when it returned none.
    pub fn error_message(&self) -> String {
        self.returned_error()
            .map(|status| status.message.clone())
            .unwrap_or_else(|| panic!("the build returned no error: {:?}", self.returned))
    }

    pub fn returned_error(&self) -> Option<&bollard_buildkit_proto::google::rpc::Status> {
        match self.returned.as_ref()? {
            FrontendResult::Error(status) => Some(status),
            _ => None,
        }
    }

    pub fn returned_config(&self) -> Option<serde_json::Value> {
        match self.returned.as_ref()? {
            FrontendResult::Image { config, .. } => serde_json::from_slice(config).ok(),
            _ => None,
        }
    }
}

fn read_tree(dir: &std::path::Path, prefix: &str, out: &mut BTreeMap<String, Vec<u8>>) {
    let mut entries: Vec<_> = std::fs::read_dir(dir)
        .expect("readable")
        .flatten()
        .collect();
    entries.sort_by_key(|e| e.file_name());
    for entry in entries {
        let name = entry.file_name().to_string_lossy().into_owned();
        let path = if prefix.is_empty() {
            name.clone()
        } else {
            format!("{prefix}/{name}")
        };
        if entry.file_type().expect("a type").is_dir() {
            read_tree(&entry.path(), &path, out);
        } else {
            out.insert(path, std::fs::read(entry.path()).expect("readable"));
        }
    }
}

/// The digest the fake resolves `image` to: its name's (so each image has its own).
pub fn image_digest(image: &str) -> String {
    digest_of(image.as_bytes())
}

/// Decoded ops of a definition, terminal op excluded, by digest.
pub fn ops(definition: &pb::Definition) -> Vec<(String, pb::Op)> {
    let n = definition.def.len().saturating_sub(1);
    definition.def[..n]
        .iter()
        .map(|b| (digest_of(b), pb::Op::decode(b.as_slice()).expect("an op")))
        .collect()
}

/// The digest of the definition's result: the input of its terminal op.
pub fn result_digest(definition: &pb::Definition) -> String {
    let terminal = pb::Op::decode(definition.def.last().expect("ops").as_slice()).expect("an op");
    terminal.inputs[0].digest.clone()
}

pub fn name_of<'a>(definition: &'a pb::Definition, digest: &str) -> &'a str {
    definition
        .metadata
        .get(digest)
        .and_then(|m| m.description.get("llb.customname"))
        .map(String::as_str)
        .unwrap_or("")
}

/// The digest and op of the vertex whose name starts with `prefix`.
pub fn vertex(definition: &pb::Definition, prefix: &str) -> (String, pb::Op) {
    let found: Vec<_> = ops(definition)
        .into_iter()
        .filter(|(d, _)| name_of(definition, d).starts_with(prefix))
        .collect();
    assert_eq!(
        found.len(),
        1,
        "one vertex named {prefix}*, found {}",
        found.len()
    );
    found.into_iter().next().expect("one")
}

/// BuildKit's error when the process of the vertex of `definition` named `prefix...` fails with
/// exit code 1, as a build's solve returns it: what a fake build fails with to test the message
/// a failed step gets.
pub fn process_failure(definition: &pb::Definition, prefix: &str) -> String {
    let (_, step) = vertex(definition, prefix);
    let args = exec(&step).meta.as_ref().expect("meta").args.join(" ");
    format!("process \"{args}\" did not complete successfully: exit code: 1")
}

pub fn exec(op: &pb::Op) -> &pb::ExecOp {
    match op.op.as_ref() {
        Some(pb::op::Op::Exec(e)) => e,
        other => panic!("not an exec op: {other:?}"),
    }
}

/// The LLBBridge calls, answered from the fake's maps and recorded in it; [`FakeSession`] makes
/// them the frontend's [`Bridge`].
impl FakeBridge {
    pub fn ping(&mut self) -> anyhow::Result<Capabilities> {
        Ok(Capabilities {
            frontend: self.caps.iter().cloned().collect(),
            llb: self.llb_caps.iter().cloned().collect(),
        })
    }

    pub fn solve(
        &mut self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String> {
        self.solve_imports.push(cache_imports.to_vec());
        let decoded = ops(&definition);
        if let [(_, op)] = decoded.as_slice() {
            if let Some(pb::op::Op::Source(source)) = &op.op {
                if let Some(name) = source.identifier.strip_prefix("local://") {
                    let include: Vec<String> = source
                        .attrs
                        .get("local.includepattern")
                        .map(|j| serde_json::from_str(j).expect("JSON list"))
                        .unwrap_or_default();
                    let files: BTreeMap<String, Vec<u8>> = self
                        .locals
                        .get(name)
                        .cloned()
                        .unwrap_or_default()
                        .into_iter()
                        .filter(|(path, _)| include.is_empty() || include.contains(path))
                        .collect();
                    let id = format!("ref-{}", self.refs.len());
                    self.refs.insert(id.clone(), files);
                    return Ok(id);
                }
                if let Some(image) = source.identifier.strip_prefix("docker-image://") {
                    let short = image.trim_start_matches("docker.io/library/");
                    let files = match self.image_files.get(short) {
                        Some(files) => Some(files.clone()),
                        // Pinned by the frontend: only to the digest this fake resolved it to.
                        None => short
                            .split_once('@')
                            .filter(|(name, pin)| *pin == image_digest(name))
                            .and_then(|(name, _)| self.image_files.get(name).cloned()),
                    }
                    .ok_or_else(|| anyhow::anyhow!("{image}: not found"))?;
                    let id = format!("ref-{}", self.refs.len());
                    self.refs.insert(id.clone(), files);
                    return Ok(id);
                }
            }
        }
        // A check: an exec whose first argument names it.
        let last = decoded.last().map(|(_, op)| op.clone());
        if let Some(pb::op::Op::Exec(exec)) = last.as_ref().and_then(|op| op.op.as_ref()) {
            let first = exec.meta.as_ref().and_then(|m| m.args.first()).cloned();
            if let Some(error) = first.and_then(|a| self.failing_checks.get(&a)) {
                // BuildKit reports a failing step only when the result is built.
                assert!(
                    evaluate,
                    "a check is solved with evaluate, or it never runs"
                );
                return Err(anyhow::anyhow!("{error}"));
            }
        }
        if let Some(error) = self.build_error.take() {
            return Err(anyhow::anyhow!("{error}"));
        }
        self.solved.push((definition, cache_imports.to_vec()));
        let id = format!("ref-{}", self.refs.len());
        self.refs.insert(id.clone(), self.result_files.clone());
        Ok(id)
    }

    pub fn read_file(&mut self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        self.refs
            .get(reference)
            .and_then(|files| files.get(path.trim_start_matches('/')))
            .filter(|bytes| as_link(bytes).is_none())
            .cloned()
            .ok_or_else(|| anyhow::anyhow!("open {path}: no such file or directory"))
    }

    pub fn read_dir(&mut self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>> {
        let files = self.refs.get(reference).cloned().unwrap_or_default();
        let prefix = match dir.trim_matches('/') {
            "" => String::new(),
            d => format!("{d}/"),
        };
        let mut entries: Vec<DirEntry> = Vec::new();
        for (path, bytes) in &files {
            let Some(rest) = path.strip_prefix(&prefix) else {
                continue;
            };
            let (name, deeper) = match rest.split_once('/') {
                Some((name, _)) => (name, true),
                None => (rest, false),
            };
            if entries.iter().any(|e| e.name == name) {
                continue;
            }
            entries.push(match (deeper, as_link(bytes)) {
                (true, _) => DirEntry::dir(name),
                (false, Some(target)) => DirEntry::symlink(name, &target),
                // Files in a bin directory stand for executables.
                (false, None) if prefix == "bin/" || prefix.ends_with("/bin/") => DirEntry {
                    mode: 0o755,
                    ..DirEntry::file(name)
                },
                (false, None) => DirEntry::file(name),
            });
        }
        if entries.is_empty() && !prefix.is_empty() {
            anyhow::bail!("{dir}: no such file or directory");
        }
        Ok(entries)
    }

    pub fn resolve_image_config(
        &mut self,
        image: &str,
        platform: &Platform,
        mode: &str,
    ) -> anyhow::Result<ResolvedImage> {
        assert!(!self.panic_on_resolve, "resolver exploded");
        self.resolve_modes
            .push((image.to_string(), mode.to_string()));
        let mut config = self
            .images
            .get(image)
            .ok_or_else(|| anyhow::anyhow!("{image}: not found"))?
            .clone();
        if !self.single_platform.contains(image) {
            config["architecture"] = platform.architecture.clone().into();
        }
        Ok(ResolvedImage {
            digest: image_digest(image),
            config: serde_json::to_vec(&config)?,
        })
    }

    pub fn warn(&mut self, warning: &Warning) -> anyhow::Result<()> {
        self.warnings.push(warning.clone());
        Ok(())
    }

    pub fn finish(&mut self, result: FrontendResult) -> anyhow::Result<()> {
        assert!(self.returned.is_none(), "Return is called once");
        self.returned = Some(result);
        Ok(())
    }
}

/// The fake as the frontend sees it. [`Bridge`] calls take `&self`, since the frontend makes
/// some of them concurrently; each borrows the fake only while it answers (the fake never
/// awaits), so they record into it in the order they are made.
pub struct FakeSession<'a>(std::cell::RefCell<&'a mut FakeBridge>);

impl<'a> FakeSession<'a> {
    pub fn new(fake: &'a mut FakeBridge) -> FakeSession<'a> {
        FakeSession(std::cell::RefCell::new(fake))
    }
}

impl Bridge for FakeSession<'_> {
    async fn ping(&self) -> anyhow::Result<Capabilities> {
        self.0.borrow_mut().ping()
    }

    async fn solve(
        &self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String> {
        self.0
            .borrow_mut()
            .solve(definition, cache_imports, evaluate)
    }

    async fn read_file(&self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        self.0.borrow_mut().read_file(reference, path)
    }

    async fn read_dir(&self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>> {
        self.0.borrow_mut().read_dir(reference, dir)
    }

    async fn resolve_image_config(
        &self,
        image: &str,
        platform: &Platform,
        mode: &str,
    ) -> anyhow::Result<ResolvedImage> {
        self.0
            .borrow_mut()
            .resolve_image_config(image, platform, mode)
    }

    async fn warn(&self, warning: &Warning) -> anyhow::Result<()> {
        self.0.borrow_mut().warn(warning)
    }

    async fn finish(&self, result: FrontendResult) -> anyhow::Result<()> {
        self.0.borrow_mut().finish(result)
    }
}

/// Build options as BuildKit passes them for `docker buildx build -f uv.build .`.
/// examples/plain's pyproject.toml with a dependency its uv.lock does not record.
pub fn with_unlocked_dependency(pyproject: &str) -> String {
    let locked = "dependencies = [\"idna>=3.7\"]";
    assert!(
        pyproject.contains(locked),
        "examples/plain's pyproject.toml"
    );
    pyproject.replace(locked, "dependencies = [\"idna>=3.7\", \"packaging\"]")
}

pub fn opts() -> BuildOpts {
    BuildOpts::from_env([
        (
            "BUILDKIT_FRONTEND_OPT_0".to_string(),
            "filename=uv.build".to_string(),
        ),
        ("BUILDKIT_SESSION_ID".to_string(), "session-1".to_string()),
        (
            "BUILDKIT_WORKERS".to_string(),
            r#"[{"Platforms":[{"os":"linux","architecture":"amd64"}]}]"#.to_string(),
        ),
    ])
}

/// Runs the frontend against `bridge` on a fixed clock.
/// A build of `project` with `spec` and these frontend options besides `opts()`'s (`target`,
/// `platform`, `requestid`, `context:<name>`, ...).
pub fn build_with_opts(project: &str, spec: &str, extra: &[(&str, &str)]) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, spec);
    let mut o = opts();
    for (k, v) in extra {
        o.opts.insert(k.to_string(), v.to_string());
    }
    run(&mut bridge, &o);
    bridge
}

/// `opts()` with `--build-arg`s.
pub fn opts_with_args(args: &[(&str, &str)]) -> BuildOpts {
    let mut o = opts();
    for (k, v) in args {
        o.opts.insert(format!("build-arg:{k}"), v.to_string());
    }
    o
}

/// The uv command of a sync step: its args from the uv binary on (scripts wrap it).
pub fn uv_command(op: &pb::Op) -> Vec<String> {
    let args = &exec(op).meta.as_ref().expect("meta").args;
    let start = args
        .iter()
        .position(|a| a == "/opt/uv-frontend/uv")
        .expect("uv runs");
    args[start..].to_vec()
}

/// The script a sync step runs as `sh -c <script> <label> $1 ...`: the script and its `$1...`.
pub fn script_of(def: &pb::Definition, op: &pb::Op, name: &str) -> (String, Vec<String>) {
    let args = &exec(op).meta.as_ref().expect("meta").args;
    let path = format!("{}/{name}", uv_frontend::lower::SCRIPTS_MOUNT);
    let at = args
        .iter()
        .position(|a| *a == path)
        .unwrap_or_else(|| panic!("no {name} script in {args:?}"));
    assert_eq!(args[at - 1], "/bin/sh");
    (script_file(def, op, name), args[at + 1..].to_vec())
}

/// The names of the scripts in the scripts mount of the exec `op` of `def`.
pub fn script_names(def: &pb::Definition, op: &pb::Op) -> Vec<String> {
    let mount = exec(op)
        .mounts
        .iter()
        .find(|m| m.dest == uv_frontend::lower::SCRIPTS_MOUNT)
        .expect("the scripts are mounted");
    let input = &op.inputs[usize::try_from(mount.input).expect("an input")];
    let all: BTreeMap<String, pb::Op> = ops(def).into_iter().collect();
    let Some(pb::op::Op::File(file)) = &all[&input.digest].op else {
        panic!("the scripts are a file op")
    };
    file.actions
        .iter()
        .filter_map(|a| match &a.action {
            Some(pb::file_action::Action::Mkfile(f)) => {
                Some(f.path.trim_start_matches('/').to_string())
            }
            _ => None,
        })
        .collect()
}

/// The text of script `name` in the scripts mount of the exec `op` of `def`.
pub fn script_file(def: &pb::Definition, op: &pb::Op, name: &str) -> String {
    let mount = exec(op)
        .mounts
        .iter()
        .find(|m| m.dest == uv_frontend::lower::SCRIPTS_MOUNT)
        .expect("the scripts are mounted");
    assert!(mount.readonly, "read-only");
    let input = &op.inputs[usize::try_from(mount.input).expect("an input")];
    let all: BTreeMap<String, pb::Op> = ops(def).into_iter().collect();
    let Some(pb::op::Op::File(file)) = &all[&input.digest].op else {
        panic!("the scripts are a file op")
    };
    file.actions
        .iter()
        .find_map(|a| match &a.action {
            Some(pb::file_action::Action::Mkfile(f)) if f.path == format!("/{name}") => {
                Some(String::from_utf8(f.data.clone()).expect("UTF-8"))
            }
            _ => None,
        })
        .unwrap_or_else(|| panic!("no script {name}"))
}

/// The cache id of the venv a phase-1 sync step keeps.
pub fn kept_venv_id(sync: &pb::Op) -> String {
    exec(sync)
        .mounts
        .iter()
        .find(|m| m.dest == "/uv-frontend/venv-cache")
        .and_then(|m| m.cache_opt.as_ref())
        .expect("a kept venv")
        .id
        .clone()
}

pub fn sync_steps(def: &pb::Definition) -> Vec<pb::Op> {
    ops(def)
        .into_iter()
        .filter(|(d, _)| {
            let name = name_of(def, d);
            name.contains("uv sync") || name.contains("uv pip install")
        })
        .map(|(_, op)| op)
        .collect()
}

pub fn run(bridge: &mut FakeBridge, opts: &BuildOpts) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .expect("runtime");
    rt.block_on(uv_frontend::frontend::run(
        &FakeSession::new(bridge),
        opts,
        1_795_448_680,
    ))
    .expect("the fake bridge never fails");
}

pub const EXAMPLE_SPEC: &str = r#"# syntax=127.0.0.1:5000/uv-frontend:dev
[build]
uv = "127.0.0.1:5000/uv:0.13.9"
builder = "127.0.0.1:5000/python:3.11-bookworm"
"#;
