//! Every way a `uv.build` can be wrong gives one line naming the file, the line and the fix.

use uv_frontend::spec::{parse, SpecFile};

fn error_of(text: &str) -> String {
    let file = SpecFile {
        name: "uv.build".into(),
        text: text.into(),
    };
    let error = parse(&file).expect_err("the spec is invalid");
    let message = error.to_string();
    assert!(!message.contains('\n'), "one line: {message}");
    message
}

#[test]
fn spec_errors() {
    let cases = [
        (
            "unknown key",
            "[build]\nbuilder = \"python:3.12\"\nbulider = \"x\"\n",
        ),
        ("unknown table", "# syntax=x\n[runn]\nuser = \"app\"\n"),
        (
            "unknown top-level key",
            "uv = \"ghcr.io/astral-sh/uv:0.13.9\"\n",
        ),
        ("wrong type", "[sync]\ndev = \"yes\"\n"),
        ("wrong list type", "[sync]\nextra = \"pg\"\n"),
        ("bad lock mode", "[sync]\nlock = \"sometimes\"\n"),
        ("bad sharing", "[cache]\nsharing = \"global\"\n"),
        ("relative workdir", "[build]\nworkdir = \"app\"\n"),
        ("relative cache dir", "[cache]\ndir = \"cache/uv\"\n"),
        ("root user", "[run]\nuser = \"root\"\n"),
        ("empty command", "[run]\ncommand = []\n"),
        ("bad port", "[run]\nexpose = [8000, 70000]\n"),
        ("bad env name", "[run]\nenv = { \"1X\" = \"y\" }\n"),
        ("uppercase image", "[build]\nbuilder = \"Python:3.12\"\n"),
        ("cache id with spaces", "[cache]\nid = \"my cache\"\n"),
        ("invalid toml", "[build]\nuv = \"unterminated\n"),
        (
            "unknown key in a sub-table",
            "[run]\nuser = \"app\"\n[run.envs]\nFOO = \"x\"\n",
        ),
        (
            "unknown key after a sub-table",
            "[test]\nskip = false\n[sync.extras]\npg = 1\n",
        ),
        (
            "array of tables",
            "[build]\nuv = \"u\"\n[[sync]]\ndev = true\n",
        ),
        ("dotted key of another table", "[build]\nsync.dev = true\n"),
        (
            "wrong type in a multi-line list",
            "[run]\ncommand = [\n  \"hello\",\n  42,\n]\n",
        ),
        ("integer as a string", "[run]\nuid = \"10001\"\n"),
        ("duplicate key", "[run]\nuser = \"app\"\nuser = \"bob\"\n"),
        (
            "duplicate table",
            "[sync]\ndev = true\n[sync]\nlock = \"frozen\"\n",
        ),
        ("key of another table", "[build]\ndev = true\n"),
        ("root uid", "[run]\nuid = 0\n"),
        ("empty user", "[run]\nuser = \"\"\n"),
        ("numeric user", "[run]\nuser = \"00\"\n"),
        ("bad stop signal", "[run]\nstop-signal = \"SIGFOO\"\n"),
        (
            "real-time signal Docker does not name",
            "[run]\nstop-signal = \"sigrtmin+20\"\n",
        ),
        (
            "non-ASCII signal",
            "[run]\nstop-signal = \"SIGRTMIN\u{e9}\"\n",
        ),
        (
            "health interval without a unit",
            "[run]\nhealthcheck = [\"app\", \"health\"]\nhealth-interval = \"30\"\n",
        ),
        (
            "no health retries",
            "[run]\nhealthcheck = [\"app\", \"health\"]\nhealth-retries = 0\n",
        ),
        (
            "health option without a health check",
            "[run]\nuser = \"web\"\nhealth-timeout = \"5s\"\n",
        ),
    ];
    let report: Vec<String> = cases
        .iter()
        .map(|(what, text)| format!("{what}: {}", error_of(text)))
        .collect();
    insta::assert_snapshot!(report.join("\n"));
}

#[test]
fn a_file_with_only_the_directive_is_valid() {
    let file = SpecFile {
        name: "uv.build".into(),
        text: "# syntax=127.0.0.1:5000/uv-frontend:dev\n".into(),
    };
    let spec = parse(&file).expect("valid");
    assert!(spec.build.builder.is_none());
    assert!(spec.run.command.is_none());
}

#[test]
fn the_issue_example_is_valid() {
    let file = SpecFile {
        name: "uv.build".into(),
        text: r#"# syntax=127.0.0.1:5000/uv-frontend:dev
[build]
uv = "ghcr.io/astral-sh/uv:0.13.9"
builder = "python:3.12-slim-bookworm"
base = "python:3.12-slim-bookworm"
workdir = "/app"
[sync]
package = "api"
extra = ["pg"]
group = ["prod"]
dev = false
lock = "locked"
[cache]
id = "uv"
dir = "/root/.cache/uv"
sharing = "shared"
[run]
user = "app"
command = ["app"]
env = { APP_ENV = "production" }
expose = [8000]
"#
        .into(),
    };
    let spec = parse(&file).expect("valid");
    assert_eq!(spec.sync.package.expect("set").into_inner(), "api");
    assert_eq!(spec.run.expose[0].get_ref(), &8000);
}
