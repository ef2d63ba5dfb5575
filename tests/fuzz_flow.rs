//! A property test of the whole flow (issue 13: no panic and no hang on any input). Each case
//! is a `uv.build` (a mutated valid spec, random keys and values, or random bytes), build args
//! and frontend options, project files (pyproject.toml, uv.lock, .python-version, .dockerignore
//! with star storms) and BuildKit's answers (solve errors with the markers the frontend looks
//! for), run through `frontend::run` against the fake BuildKit. Every case must finish within
//! [`LIMIT`] without a panic (even one the frontend catches) and Return exactly one answer.
//!
//! `UVF_FUZZ_CASES` sets the number of cases (default [`DEFAULT_CASES`], about 30 to 60 s on
//! two cores), `UVF_FUZZ_SECONDS` runs fresh cases for that long instead; docs/fuzzing.md has
//! the long run and its record.

mod support;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use proptest::prelude::*;
use proptest::test_runner::{Config, TestCaseError, TestRunner};
use support::*;
use uv_frontend::gateway::FrontendResult;

/// Cases of a default run.
const DEFAULT_CASES: u32 = 5000;
/// The most CPU time a case may take (its thread's, so that other work on the machine does not
/// count; wall time where Linux's schedstat cannot be read).
const LIMIT: Duration = Duration::from_secs(1);
/// The wall time after which a case counts as hung.
const HANG: Duration = Duration::from_secs(10);

/// The longest error message (in characters) of a case whose BuildKit answers are not errors.
const MESSAGE_MAX: usize = 1500;

/// Every panic of the process, caught or not.
static PANICS: AtomicUsize = AtomicUsize::new(0);
/// Cases that built an image, answered a subrequest, and Returned an error: how far the
/// generated inputs get, printed after the run.
static BUILT: AtomicUsize = AtomicUsize::new(0);
static ANSWERED: AtomicUsize = AtomicUsize::new(0);
static FAILED: AtomicUsize = AtomicUsize::new(0);
/// The longest a case took, in milliseconds.
static SLOWEST_MS: AtomicU64 = AtomicU64::new(0);

/// One input of the flow.
#[derive(Clone)]
struct Case {
    project: &'static str,
    spec: Vec<u8>,
    opts: Vec<(String, String)>,
    /// Context files replaced (`Some`) or removed (`None`).
    files: Vec<(&'static str, Option<Vec<u8>>)>,
    build_error: Option<String>,
    failing_interpreter: Option<String>,
    python_version_env: Option<String>,
    /// Files put into (or over) every built image's.
    image_files: Vec<(String, Vec<u8>)>,
    /// `/etc/passwd` and `/etc/group` of every base image, replaced.
    accounts: Option<(String, String)>,
}

/// Texts as text (lossy), so that a failing case reads as the files it holds.
impl std::fmt::Debug for Case {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let text = |bytes: &[u8]| String::from_utf8_lossy(bytes).into_owned();
        f.debug_struct("Case")
            .field("project", &self.project)
            .field("spec", &text(&self.spec))
            .field("opts", &self.opts)
            .field(
                "files",
                &self
                    .files
                    .iter()
                    .map(|(name, bytes)| (name, bytes.as_deref().map(text)))
                    .collect::<Vec<_>>(),
            )
            .field("build_error", &self.build_error)
            .field("failing_interpreter", &self.failing_interpreter)
            .field("python_version_env", &self.python_version_env)
            .field("accounts", &self.accounts)
            .field(
                "image_files",
                &self
                    .image_files
                    .iter()
                    .map(|(path, bytes)| (path, text(bytes)))
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

const PROJECTS: &[&str] = &[
    PLAIN_EXAMPLE,
    WORKSPACE_EXAMPLE,
    APP_EXAMPLE,
    BIGWHEELS_EXAMPLE,
    DJANGO_EXAMPLE,
    FASTAPI_EXAMPLE,
    concat!(env!("CARGO_MANIFEST_DIR"), "/examples/hatchling"),
];

/// A key and values it takes (as TOML).
type Key = (&'static str, &'static [&'static str]);

/// Every key of the spec by table, with values it takes (as TOML).
const KEYS: &[(&str, &[Key])] = &[
    (
        "build",
        &[
            ("uv", &["\"127.0.0.1:5000/uv:0.13.9\""]),
            (
                "builder",
                &[
                    "\"127.0.0.1:5000/python:3.11-bookworm\"",
                    "\"python:3.12-slim-bookworm\"",
                ],
            ),
            (
                "base",
                &[
                    "\"python:3.11-slim-bookworm\"",
                    "\"127.0.0.1:5000/python:3.11-bookworm\"",
                ],
            ),
            ("workdir", &["\"/app\"", "\"/srv/app\""]),
            ("managed-python", &["\"3.12\"", "\"3.11\""]),
            ("python-install-dir", &["\"/opt/uv-python\""]),
            ("network", &["\"default\"", "\"host\""]),
            (
                "run",
                &["[\"python manage.py collectstatic --noinput\"]", "[\"\"]"],
            ),
            ("apt", &["[\"libpq5\"]", "[\"ffmpeg\", \"curl=7.88\"]"]),
        ],
    ),
    (
        "sync",
        &[
            ("package", &["\"hello-uv\"", "\"member\""]),
            ("extra", &["[]", "[\"pg\"]"]),
            ("all-extras", &["true", "false"]),
            ("group", &["[\"dev\"]", "[]"]),
            ("dev", &["true", "false"]),
            ("lock", &["\"locked\"", "\"frozen\""]),
            ("compile-bytecode", &["true", "false"]),
            ("no-editable", &["true", "false"]),
        ],
    ),
    (
        "cache",
        &[
            ("id", &["\"uv\""]),
            ("dir", &["\"/root/.cache/uv\""]),
            ("sharing", &["\"shared\"", "\"locked\"", "\"private\""]),
        ],
    ),
    (
        "run",
        &[
            ("user", &["\"app\"", "\"nobody\""]),
            ("apt", &["[\"libpq5\"]"]),
            ("workdir", &["\"/app\"", "\"/srv\""]),
            (
                "include",
                &["[\"alembic.ini\", \"migrations\"]", "[\"src\"]"],
            ),
            ("uid", &["10001", "65534"]),
            ("gid", &["10001", "65534"]),
            ("code-owner", &["\"user\"", "\"root\""]),
            ("command", &["[\"hello\"]", "[\"python\", \"-m\", \"app\"]"]),
            ("entrypoint", &["[]", "[\"tini\", \"--\"]"]),
            (
                "env",
                &[
                    "{ A = \"$PATH\" }",
                    "{ PYTHONDONTWRITEBYTECODE = \"1\" }",
                    "{ PATH = \"/more/bin:$PATH\" }",
                    "{ PATH = \"\" }",
                ],
            ),
            ("expose", &["[8000]"]),
            ("labels", &["{ a = \"b\" }"]),
            ("stop-signal", &["\"SIGINT\""]),
            ("healthcheck", &["[\"hello\"]"]),
            ("health-interval", &["\"30s\""]),
            ("health-timeout", &["\"1s\""]),
            ("health-start-period", &["\"0s\""]),
            ("health-retries", &["3"]),
        ],
    ),
    (
        "test",
        &[
            ("command", &["[\"python\", \"-c\", \"1\"]"]),
            ("skip", &["true", "false"]),
            ("dev-command", &["[\"pytest\"]"]),
        ],
    ),
];

/// Strings the frontend gives meaning to, and neighbours of them.
const WORDS: &[&str] = &[
    "",
    "/",
    "//",
    "/./",
    "/app",
    "/opt/uv-python",
    "/root/.cache/uv",
    "..",
    "3.12",
    "3.11",
    "3.13t",
    "cp312",
    "cpé",
    "cp3é",
    "pypy@3.10",
    "host",
    "default",
    "none",
    "locked",
    "frozen",
    "shared",
    "private",
    "SIGINT",
    "SIGRTMIN+",
    "30s",
    "1m30s",
    "0s",
    "app",
    "root",
    "0",
    "user",
    "pg",
    "dev",
    "hello-uv",
    "python:3.12-slim-bookworm",
    "127.0.0.1:5000/python:3.11-bookworm",
    "127.0.0.1:5000/uv:0.13.9",
    "docker-image://127.0.0.1:5000/python:3.11-bookworm",
    "$PATH",
    "${HOME",
    "a=",
    "=1.2.3.4",
    "a=1.2.3.4",
    "linux/amd64",
    "linux/arm64,linux/amd64",
    "true",
    "yes",
    "é",
];

/// Pieces of BuildKit's error texts the frontend parses.
const ERROR_PIECES: &[&str] = &[
    "process \"",
    "\" did not complete successfully",
    " did not complete successfully",
    ": exit code: 1",
    "exit code: 127",
    "/bin/sh /uv-frontend/scripts/kept-venv-sync ",
    "/opt/uv-frontend/uv sync --locked --no-dev",
    "uv sync",
    "uv python install",
    "network.host is not allowed",
    "failed to compute cache key: failed to calculate checksum of ref: ",
    "lstat /var/lib/buildkit/src: no such file or directory",
    "\"/src/hello_uv\": not found",
    "failed to load cache key",
    "127.0.0.1:5000/uv:0.13.9",
    "/v2/uv/manifests/0.13.9",
    "not found",
    "unauthorized",
    "é",
];

fn word() -> BoxedStrategy<String> {
    prop_oneof![
        4 => proptest::sample::select(WORDS).prop_map(str::to_string),
        2 => "\\PC{0,16}",
        2 => "[a-zA-Z0-9/._:@=+-]{0,24}",
        1 => (any::<char>(), 0..20_000usize).prop_map(|(c, n)| c.to_string().repeat(n)),
        1 => (proptest::sample::select(vec!["*", "**/", "a", "/"]), 0..60_000usize)
            .prop_map(|(s, n)| s.repeat(n)),
    ]
    .boxed()
}

/// A TOML value, mostly well-formed.
fn value() -> BoxedStrategy<String> {
    let string = word()
        .prop_map(|w| toml::Value::String(w).to_string())
        .boxed();
    prop_oneof![
        4 => string.clone(),
        1 => any::<i64>().prop_map(|n| n.to_string()),
        1 => any::<bool>().prop_map(|b| b.to_string()),
        2 => proptest::collection::vec(string.clone(), 0..4)
            .prop_map(|items| format!("[{}]", items.join(", "))),
        1 => (word(), string).prop_map(|(k, v)| {
            format!("{{ {} = {v} }}", toml::Value::String(k))
        }),
        1 => "\\PC{0,12}",
    ]
    .boxed()
}

/// A `key = value` of `table` (an index into [`KEYS`]): mostly a value it takes.
fn entry(table: usize) -> impl Strategy<Value = (&'static str, String)> {
    let keys = KEYS[table].1;
    (
        0..keys.len(),
        any::<prop::sample::Index>(),
        any::<bool>(),
        value(),
    )
        .prop_map(move |(k, good, is_good, random)| {
            let (key, values) = keys[k];
            let v = if is_good {
                values[good.index(values.len())].to_string()
            } else {
                random
            };
            (key, v)
        })
}

/// A spec: the example's `[build]` (images the fake knows) and each table once, with a few
/// keys each.
fn structured_spec() -> impl Strategy<Value = String> {
    let table =
        (0..KEYS.len()).prop_flat_map(|t| (Just(t), proptest::collection::vec(entry(t), 0..4)));
    proptest::collection::vec(table, 0..4).prop_map(|tables| {
        let mut values: BTreeMap<usize, BTreeMap<&str, String>> = BTreeMap::new();
        values.entry(0).or_default().extend([
            ("uv", "\"127.0.0.1:5000/uv:0.13.9\"".to_string()),
            (
                "builder",
                "\"127.0.0.1:5000/python:3.11-bookworm\"".to_string(),
            ),
        ]);
        for (t, entries) in tables {
            values.entry(t).or_default().extend(entries);
        }
        let mut text = "# syntax=127.0.0.1:5000/uv-frontend:dev\n".to_string();
        for (t, entries) in values {
            text.push_str(&format!("[{}]\n", KEYS[t].0));
            for (key, value) in entries {
                text.push_str(&format!("{key} = {value}\n"));
            }
        }
        text
    })
}

/// A line of a spec: a table header, a known key, or anything.
fn spec_line() -> impl Strategy<Value = String> {
    let known = (0..KEYS.len())
        .prop_flat_map(|t| (Just(t), entry(t)))
        .prop_map(|(t, (key, value))| format!("[{}]\n{key} = {value}", KEYS[t].0));
    prop_oneof![
        5 => known,
        1 => proptest::sample::select(KEYS.iter().map(|(t, _)| format!("[{t}]")).collect::<Vec<_>>()),
        1 => (word(), value()).prop_map(|(k, v)| format!("{} = {v}", toml::Value::String(k))),
        1 => "\\PC{0,30}",
    ]
}

/// An edit of a text: at a relative position, delete some characters, or insert a piece.
#[derive(Clone, Debug)]
enum Edit {
    Delete(prop::sample::Index, usize),
    Insert(prop::sample::Index, String),
    DuplicateLine(prop::sample::Index),
}

fn edit() -> impl Strategy<Value = Edit> {
    prop_oneof![
        (any::<prop::sample::Index>(), 1..20usize).prop_map(|(i, n)| Edit::Delete(i, n)),
        (
            any::<prop::sample::Index>(),
            prop_oneof![word(), spec_line(), value()]
        )
            .prop_map(|(i, s)| Edit::Insert(i, s)),
        any::<prop::sample::Index>().prop_map(Edit::DuplicateLine),
    ]
}

fn apply(text: &str, edits: &[Edit]) -> String {
    let mut chars: Vec<char> = text.chars().collect();
    for edit in edits {
        let at = |i: &prop::sample::Index, len: usize| i.index(len + 1);
        match edit {
            Edit::Delete(i, n) => {
                let start = at(i, chars.len());
                let end = (start + n).min(chars.len());
                chars.drain(start..end);
            }
            Edit::Insert(i, piece) => {
                let start = at(i, chars.len());
                chars.splice(start..start, piece.chars());
            }
            Edit::DuplicateLine(i) => {
                let text: String = chars.iter().collect();
                let lines: Vec<&str> = text.lines().collect();
                if lines.is_empty() {
                    continue;
                }
                let n = i.index(lines.len());
                let mut out: Vec<&str> = lines.clone();
                out.insert(n, lines[n]);
                chars = (out.join("\n") + "\n").chars().collect();
            }
        }
    }
    chars.into_iter().collect()
}

/// A text: `valid` edited, `valid` with lines added, or random bytes.
fn mutated(valid: String) -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        3 => (Just(valid.clone()), proptest::collection::vec(spec_line(), 0..6))
            .prop_map(|(v, lines)| format!("{v}{}\n", lines.join("\n")).into_bytes()),
        3 => (Just(valid), proptest::collection::vec(edit(), 0..5))
            .prop_map(|(v, edits)| apply(&v, &edits).into_bytes()),
        1 => proptest::collection::vec(any::<u8>(), 0..200),
    ]
}

fn spec() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        6 => structured_spec().prop_map(String::into_bytes),
        1 => structured_spec().prop_flat_map(mutated),
        1 => mutated(EXAMPLE_SPEC.to_string()),
    ]
}

/// Build args and frontend options.
fn opts_pairs() -> impl Strategy<Value = Vec<(String, String)>> {
    let mut args: Vec<String> = uv_frontend::spec::overrides::OVERRIDES
        .iter()
        .map(|(t, k, _)| uv_frontend::spec::overrides::arg_name(t, k))
        .collect();
    args.extend(
        [
            "UVF_UV_VERSION",
            "SOURCE_DATE_EPOCH",
            "BUILDKIT_MULTI_PLATFORM",
            "HTTP_PROXY",
            "SETUPTOOLS_SCM_PRETEND_VERSION",
            "UV_PYTHON_INSTALL_MIRROR",
        ]
        .map(str::to_string),
    );
    let arg_name = prop_oneof![
        4 => proptest::sample::select(args).prop_map(|a| format!("build-arg:{a}")),
        1 => "UVF_[A-Z_]{0,14}".prop_map(|a| format!("build-arg:{a}")),
        1 => "uvf_[a-z_]{0,10}".prop_map(|a| format!("build-arg:{a}")),
    ];
    let option = proptest::sample::select(vec![
        "target",
        "requestid",
        "add-hosts",
        "platform",
        "no-cache",
        "image-resolve-mode",
        "force-network-mode",
        "cache-imports",
        "context:uv",
        "context:builder",
        "context:base",
        "label:org.example",
    ])
    .prop_map(str::to_string);
    let requests = proptest::sample::select(vec![
        "frontend.outline",
        "frontend.lint",
        "frontend.targets",
        "frontend.subrequests.describe",
    ])
    .prop_map(str::to_string);
    let pair = prop_oneof![
        3 => (arg_name, word()),
        2 => (option, word()),
        1 => (Just("requestid".to_string()), requests),
        // A file name the client could have (a few bytes, as file systems allow).
        1 => (Just("filename".to_string()), "[a-zA-Z0-9._-]{0,24}"),
    ];
    prop_oneof![
        2 => Just(Vec::new()),
        3 => proptest::collection::vec(pair, 0..4),
    ]
}

fn dockerignore() -> impl Strategy<Value = Vec<u8>> {
    let line = prop_oneof![
        proptest::sample::select(vec![
            "*",
            "**",
            "uv.lock",
            "!uv.lock",
            "*.lock",
            "pyproject.toml",
            "[a-",
            "\\",
            "src",
            ".venv",
        ])
        .prop_map(str::to_string),
        (1..60_000usize, "[a-z.]{0,3}").prop_map(|(n, tail)| "*".repeat(n) + &tail),
        (1..2_000usize).prop_map(|n| "**/".repeat(n) + "uv.lock"),
        (1..40usize, "[a-z]{0,60}").prop_map(|(n, tail)| "*a".repeat(n) + &tail),
        "\\PC{0,20}",
    ];
    proptest::collection::vec(line, 0..5).prop_map(|l| l.join("\n").into_bytes())
}

/// Replacements of the project's files.
fn files() -> impl Strategy<Value = Vec<(&'static str, Option<Vec<u8>>)>> {
    let plain = |name: &str| {
        String::from_utf8(std::fs::read(format!("{PLAIN_EXAMPLE}/{name}")).expect("the example"))
            .expect("text")
    };
    let pyproject = prop_oneof![
        4 => mutated(plain("pyproject.toml")).prop_map(Some),
        1 => Just(None),
    ];
    let lock = prop_oneof![
        4 => mutated(plain("uv.lock")).prop_map(Some),
        1 => (any::<i64>()).prop_map(move |v| Some(
            plain("uv.lock").replacen("version = 1", &format!("version = {v}"), 1).into_bytes()
        )),
        1 => Just(None),
    ];
    let python_version = word().prop_map(|w| Some(format!("{w}\n").into_bytes()));
    let file = prop_oneof![
        2 => pyproject.prop_map(|f| ("pyproject.toml", f)),
        2 => lock.prop_map(|f| ("uv.lock", f)),
        2 => python_version.prop_map(|f| (".python-version", f)),
        2 => dockerignore().prop_map(|f| (".dockerignore", Some(f))),
    ];
    prop_oneof![
        1 => Just(Vec::new()),
        2 => proptest::collection::vec(file, 0..3),
    ]
}

/// A solve error text made of the pieces the frontend looks for, and anything.
fn error_text() -> impl Strategy<Value = String> {
    let piece = prop_oneof![
        3 => proptest::sample::select(ERROR_PIECES).prop_map(str::to_string),
        1 => word(),
    ];
    proptest::collection::vec(piece, 1..8).prop_map(|p| p.concat())
}

/// Files of the built image (what the venv layout, interpreter and command checks read):
/// the venv's config and links, package records, executables, with random names and content.
fn image_files() -> impl Strategy<Value = Vec<(String, Vec<u8>)>> {
    let site = "app/.venv/lib/python3.11/site-packages";
    let record = proptest::collection::vec(
        (word(), "[a-z0-9_/.-]{0,20}").prop_map(|(a, b)| format!("{a},sha256=x,1\n{b}")),
        0..4,
    )
    .prop_map(|lines| lines.concat().into_bytes());
    let file = prop_oneof![
        (
            Just("app/.venv/pyvenv.cfg".to_string()),
            word().prop_map(|w| {
                format!("home = /usr/bin\nversion_info = {w}\nuv = 0.13.9\n").into_bytes()
            })
        ),
        (
            proptest::sample::select(vec![
                "app/.venv/bin/python",
                "usr/bin/python3.11",
                "usr/bin/python3"
            ])
            .prop_map(str::to_string),
            word().prop_map(|w| link(&w)),
        ),
        (
            proptest::sample::select(vec!["numpy", "pandas", "idna"])
                .prop_map(move |p| format!("{site}/{p}-2.1.0.dist-info/RECORD")),
            record,
        ),
        (
            word().prop_map(move |w| format!("{site}/{w}/__init__.py")),
            Just(b"x".to_vec())
        ),
        (
            word().prop_map(|w| format!("usr/local/bin/{w}")),
            Just(b"x".to_vec())
        ),
    ];
    prop_oneof![
        3 => Just(Vec::new()),
        1 => proptest::collection::vec(file, 1..4),
    ]
}

/// Account files of a base image: lines of any fields, the user the spec names among them or
/// not, and runs of consecutive ids from the default uid.
fn accounts() -> impl Strategy<Value = (String, String)> {
    let line = prop_oneof![
        (word(), any::<i64>(), any::<u32>())
            .prop_map(|(n, u, g)| format!("{n}:x:{u}:{g}::/:/bin/sh")),
        proptest::sample::select(vec![
            "app:x:10001:10001::/home/app:/bin/sh",
            "nobody:x:65534:65534::/:/bin/false",
            "root:x:0:0::/root:/bin/sh"
        ])
        .prop_map(str::to_string),
        "\\PC{0,30}",
    ];
    let run = (0..3000u32).prop_map(|n| {
        (0..n)
            .map(|i| format!("u{i}:x:{}:{}::/:/bin/sh\n", 10_001 + i, 10_001 + i))
            .collect::<String>()
    });
    (
        proptest::collection::vec(line, 0..6),
        run,
        proptest::collection::vec(word(), 0..3),
    )
        .prop_map(|(lines, run, groups)| {
            let passwd = lines.join("\n") + "\n" + &run;
            let group = groups
                .iter()
                .enumerate()
                .map(|(i, g)| format!("{g}:x:{}:\n", 10_001 + i))
                .collect::<String>()
                + &run.replace(":/:/bin/sh", "").replace("::", ":");
            (passwd, group)
        })
}

fn case() -> impl Strategy<Value = Case> {
    (
        proptest::sample::select(PROJECTS),
        spec(),
        opts_pairs(),
        files(),
        proptest::option::weighted(0.3, error_text()),
        proptest::option::weighted(0.1, error_text()),
        proptest::option::weighted(0.2, word()),
        (image_files(), proptest::option::weighted(0.2, accounts())),
    )
        .prop_map(
            |(
                project,
                spec,
                opts,
                files,
                build_error,
                failing_interpreter,
                python,
                (image, accounts),
            )| Case {
                project,
                spec,
                opts,
                files,
                build_error,
                failing_interpreter,
                python_version_env: python,
                image_files: image,
                accounts,
            },
        )
}

impl Case {
    fn bridge(&self) -> FakeBridge {
        let mut bridge = FakeBridge::with_project(self.project, "");
        bridge
            .locals
            .entry("dockerfile".into())
            .or_default()
            .insert("uv.build".into(), self.spec.clone());
        for (name, content) in &self.files {
            match content {
                Some(bytes) => {
                    let context = bridge.locals.get_mut("context").expect("a context");
                    context.insert(name.to_string(), bytes.clone());
                }
                None => bridge.remove_context_file(name),
            }
        }
        bridge.build_error = self.build_error.clone();
        bridge.result_files.extend(self.image_files.iter().cloned());
        if let Some((passwd, group)) = &self.accounts {
            for files in bridge.image_files.values_mut() {
                files.insert("etc/passwd".into(), passwd.clone().into_bytes());
                files.insert("etc/group".into(), group.clone().into_bytes());
            }
        }
        if let Some(error) = &self.failing_interpreter {
            bridge
                .failing_checks
                .insert("/app/.venv/bin/python".into(), error.clone());
        }
        if let Some(version) = &self.python_version_env {
            let images: Vec<String> = bridge.images.keys().cloned().collect();
            for image in images {
                let env = &mut bridge.images.get_mut(&image).expect("an image")["config"]["Env"];
                if let Some(list) = env.as_array_mut() {
                    list.push(format!("PYTHON_VERSION={version}").into());
                }
            }
        }
        bridge
    }

    fn opts(&self) -> uv_frontend::gateway::BuildOpts {
        let mut o = opts();
        for (k, v) in &self.opts {
            o.opts.insert(k.clone(), v.clone());
        }
        o
    }
}

/// What a run of the flow gave: its time, whether `run` failed, and the Returned answer.
type Outcome = (Duration, Result<(), String>, Option<FrontendResult>);

/// The CPU time of the calling thread so far (the first field of Linux's schedstat, in ns).
fn thread_cpu_time() -> Option<Duration> {
    let text = std::fs::read_to_string("/proc/thread-self/schedstat").ok()?;
    let nanos = text.split_whitespace().next()?.parse().ok()?;
    Some(Duration::from_nanos(nanos))
}

/// Runs `case` on a thread of its own, so that a hang fails the case instead of the run.
fn run_case(case: &Case) -> Result<(), TestCaseError> {
    let (tx, rx) = mpsc::channel::<Outcome>();
    let case = case.clone();
    let input = case.clone();
    let panics = PANICS.load(Ordering::SeqCst);
    std::thread::spawn(move || {
        let mut bridge = input.bridge();
        let opts = input.opts();
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .expect("runtime");
        let (start, cpu) = (Instant::now(), thread_cpu_time());
        let result = rt.block_on(uv_frontend::frontend::run(
            &FakeSession::new(&mut bridge),
            &opts,
            1_795_448_680,
        ));
        let elapsed = match (cpu, thread_cpu_time()) {
            (Some(before), Some(after)) => after.saturating_sub(before),
            _ => start.elapsed(),
        };
        let _ = tx.send((
            elapsed,
            result.map_err(|e| e.to_string()),
            bridge.returned.take(),
        ));
    });
    let Ok((elapsed, result, returned)) = rx.recv_timeout(HANG) else {
        return Err(TestCaseError::fail("the flow did not finish: a hang"));
    };
    prop_assert_eq!(
        PANICS.load(Ordering::SeqCst),
        panics,
        "a panic (see stderr)"
    );
    SLOWEST_MS.fetch_max(elapsed.as_millis() as u64, Ordering::SeqCst);
    prop_assert!(elapsed < LIMIT, "took {:?}", elapsed);
    prop_assert_eq!(result, Ok(()));
    match returned {
        None => return Err(TestCaseError::fail("nothing was Returned")),
        Some(FrontendResult::Error(status)) => {
            FAILED.fetch_add(1, Ordering::SeqCst);
            if std::env::var_os("UVF_FUZZ_SHOW").is_some() {
                eprintln!(
                    "{} {}",
                    status.message.len(),
                    status.message.chars().take(160).collect::<String>()
                );
            }
            prop_assert!(!status.message.is_empty(), "an empty error");
            // Values are quoted cut; only BuildKit's own error text may be long.
            let from_buildkit = case.build_error.is_some() || case.failing_interpreter.is_some();
            prop_assert!(
                from_buildkit || status.message.chars().count() <= MESSAGE_MAX,
                "a {}-character error: {}",
                status.message.chars().count(),
                status.message.chars().take(300).collect::<String>()
            );
            prop_assert!(
                !status.message.contains("internal error in uv-frontend"),
                "{}",
                status.message
            );
        }
        Some(FrontendResult::Metadata(_)) => {
            ANSWERED.fetch_add(1, Ordering::SeqCst);
        }
        Some(_) => {
            BUILT.fetch_add(1, Ordering::SeqCst);
        }
    }
    Ok(())
}

/// A whole number from the environment variable `name`.
fn env_number(name: &str) -> Option<u64> {
    std::env::var(name).ok().and_then(|n| n.trim().parse().ok())
}

#[test]
fn no_input_makes_the_flow_panic_hang_or_return_nothing() {
    let default_hook = std::panic::take_hook();
    std::panic::set_hook(Box::new(move |info| {
        PANICS.fetch_add(1, Ordering::SeqCst);
        default_hook(info);
    }));
    // UVF_FUZZ_SECONDS: batches of fresh random cases until that time has passed.
    let seconds = env_number("UVF_FUZZ_SECONDS");
    let batch = match seconds {
        Some(_) => 1000,
        None => env_number("UVF_FUZZ_CASES").map_or(DEFAULT_CASES, |n| n as u32),
    };
    let start = Instant::now();
    let mut cases = 0;
    loop {
        let config = Config {
            cases: batch,
            max_shrink_iters: 200,
            failure_persistence: None,
            ..Config::default()
        };
        // A runner of its own per batch: a fresh seed.
        let outcome = TestRunner::new(config).run(&case(), |case| run_case(&case));
        if let Err(failure) = outcome {
            panic!("after {cases} passing cases: {failure}");
        }
        cases += u64::from(batch);
        if seconds.is_none_or(|s| start.elapsed().as_secs() >= s) {
            break;
        }
    }
    eprintln!(
        "fuzz_flow: {cases} cases in {:.1} s, 0 panics, slowest case {} ms: {} built, {} subrequests answered, {} errors",
        start.elapsed().as_secs_f64(),
        SLOWEST_MS.load(Ordering::SeqCst),
        BUILT.load(Ordering::SeqCst),
        ANSWERED.load(Ordering::SeqCst),
        FAILED.load(Ordering::SeqCst),
    );
}
