//! End to end on application-shaped projects: the image's own commands work from it, as the
//! project's Dockerfile would run them. A FastAPI service built by hatchling with Alembic
//! migrations run from the project directory, a Django project whose static files are collected
//! by `[build] run`, and what `[run] include` narrows. Needs the test bed (`scripts/testbed-up`).

mod support;

use std::time::Duration;

use support::e2e::*;

/// A container of `image` started with `args` (after the image), removed when dropped.
struct Running(String);

impl Running {
    fn start(image: &str, args: &[&str]) -> Running {
        let name = format!("uv-frontend-e2e-app-{}", nanos());
        let output = docker_command()
            .args(["run", "-d", "--name", &name, image])
            .args(args)
            .output()
            .expect("docker runs");
        assert!(
            output.status.success(),
            "docker run -d {image}: {}",
            String::from_utf8_lossy(&output.stderr)
        );
        Running(name)
    }

    /// The body of `GET http://127.0.0.1:<port><path>` from inside the container, once the
    /// server answers (up to 30 s).
    fn get(&self, port: u16, path: &str) -> String {
        let code = format!(
            "import urllib.request; print(urllib.request.urlopen('http://127.0.0.1:{port}{path}', timeout=5).read().decode())"
        );
        let mut last = String::new();
        for _ in 0..60 {
            let output = docker_command()
                .args(["exec", &self.0, "python", "-c", &code])
                .output()
                .expect("docker exec runs");
            if output.status.success() {
                return String::from_utf8_lossy(&output.stdout).trim().to_string();
            }
            last = String::from_utf8_lossy(&output.stderr).into_owned();
            std::thread::sleep(Duration::from_millis(500));
        }
        let logs = docker_command()
            .args(["logs", &self.0])
            .output()
            .expect("docker logs runs");
        panic!(
            "GET {path} never answered: {last}\ncontainer log:\n{}{}",
            String::from_utf8_lossy(&logs.stdout),
            String::from_utf8_lossy(&logs.stderr)
        );
    }
}

impl Drop for Running {
    fn drop(&mut self) {
        let _ = docker_command().args(["rm", "-f", &self.0]).output();
    }
}

/// What `sh -c <script>` prints in `image`, as its user and from its working directory; fails
/// the test when it exits non-zero.
fn shell(image: &str, script: &str) -> String {
    let output = run_entry(image, "/bin/sh", &["-c", script]);
    assert!(
        output.status.success(),
        "sh -c {script:?} in {image} failed:\n{}{}",
        String::from_utf8_lossy(&output.stdout),
        String::from_utf8_lossy(&output.stderr)
    );
    String::from_utf8_lossy(&output.stdout).trim().to_string()
}

#[test]
fn a_hatchling_fastapi_service_migrates_with_alembic_and_serves_from_its_image() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("fastapi");
    let tag = "uv-frontend-e2e/fastapi:test";
    project.write("notes.db", "a local database .dockerignore keeps out");
    project.build(tag, &[]).expect_success();
    assert_lean_non_root(tag);

    // The project's files are at /app, owned by the user, without the host's database.
    assert_eq!(
        shell(
            tag,
            "pwd; stat -c %U alembic.ini migrations/versions/0001_notes.py scripts/prestart.sh; \
             test -e notes.db || echo no-db"
        ),
        "/app\napp\napp\napp\nno-db"
    );
    // The project's own prestart script runs the migrations from /app, as its Dockerfile does.
    let migrated = shell(
        tag,
        "sh scripts/prestart.sh && python -c \"import sqlite3; \
         print(sqlite3.connect('notes.db').execute('select body from notes').fetchone()[0])\"",
    );
    assert_eq!(migrated, "migrated by alembic");

    // The server, started as the image says after the migrations, answers from the database.
    let server = Running::start(
        tag,
        &[
            "sh",
            "-c",
            "alembic upgrade head && exec uvicorn notes_api.main:app --host 0.0.0.0 --port 8000",
        ],
    );
    assert_eq!(
        server.get(8000, "/notes"),
        r#"{"notes":["migrated by alembic"]}"#
    );
    // libpq5 ([run] apt), which psycopg loads, is in the image; apt's lists are not.
    let libpq = server.get(8000, "/libpq");
    assert!(libpq.starts_with(r#"{"libpq":15"#), "{libpq}");
    assert_eq!(
        shell(
            tag,
            "ls -A /var/lib/apt/lists | grep -v '^partial$' | wc -l"
        ),
        "0"
    );
    drop(server);

    // hatchling installed the package editable beside its module, copied as it is: a source
    // edit reruns no sync, only the module's copy.
    let main = "src/notes_api/main.py";
    let nonce = nanos();
    project.write(
        main,
        &project.read(main).replace(
            "{\"notes\": [r[0] for r in rows]}",
            &format!("{{\"notes\": [r[0] for r in rows], \"edited\": \"{nonce}\"}}"),
        ),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    edited.assert_no_sync_reran();
    assert!(!edited.cached("[runtime 3/3] copy src/notes_api from the build context"));
    let server = Running::start(
        tag,
        &[
            "sh",
            "-c",
            "alembic upgrade head && exec uvicorn notes_api.main:app --port 8000",
        ],
    );
    assert_eq!(
        server.get(8000, "/notes"),
        format!(r#"{{"notes":["migrated by alembic"],"edited":"{nonce}"}}"#)
    );
    let config = image_config(tag);
    assert_eq!(
        config["Cmd"],
        serde_json::json!([
            "uvicorn",
            "notes_api.main:app",
            "--host",
            "0.0.0.0",
            "--port",
            "8000"
        ])
    );
}

#[test]
fn run_include_narrows_what_the_image_gets_of_the_project() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("fastapi");
    project.append_to_spec("include = [\"alembic.ini\", \"migrations/\"]\n");
    let tag = "uv-frontend-e2e/fastapi:include";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        shell(tag, "ls -A /app | sort | tr '\\n' ' '"),
        ".venv alembic.ini migrations src"
    );
    assert_eq!(
        shell(
            tag,
            "alembic upgrade head >/dev/null 2>&1 && python -c \"import notes_api.db\" && echo ok"
        ),
        "ok"
    );

    // `include = []`: the venv only, and the module its editable install links to.
    let project = Project::copy_of("fastapi");
    project.append_to_spec("include = []\n");
    let tag = "uv-frontend-e2e/fastapi:venv-only";
    project.build(tag, &[]).expect_success();
    assert_eq!(
        shell(tag, "cd /app && find . -path ./.venv -prune -o -print | sort | tr '\\n' ' '"),
        ". ./src ./src/notes_api ./src/notes_api/__init__.py ./src/notes_api/db.py ./src/notes_api/main.py"
    );
}

#[test]
fn a_django_project_collects_static_files_at_build_time_migrates_and_serves() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let project = Project::copy_of("django");
    let tag = "uv-frontend-e2e/django:test";
    let build = project.build(tag, &[]);
    build.expect_success();
    // collectstatic ran in its own step, and `manage.py check` passed as the smoke test.
    assert!(
        build.has_step("[build 2/2] python manage.py collectstatic --noinput"),
        "{:?}",
        build.step_names()
    );
    assert!(build.log().contains("[test] python manage.py check"));
    assert_lean_non_root(tag);

    // Its output is in the image, owned by the user, beside the project's files.
    assert_eq!(
        shell(
            tag,
            "stat -c %U staticfiles/admin/css/base.css staticfiles/polls/style.css manage.py"
        ),
        "app\napp\napp"
    );
    // The project's own commands work: migrations on SQLite, then the server.
    let migrated = shell(tag, "python manage.py migrate --noinput | tail -1");
    assert!(migrated.contains("OK"), "{migrated}");
    let server = Running::start(tag, &[]);
    assert_eq!(server.get(8000, "/health/"), r#"{"ok": true}"#);

    // A source edit (new every run, so no earlier run's cache has it) reruns collectstatic,
    // and no sync.
    let nonce = nanos();
    project.write(
        "mysite/urls.py",
        &project
            .read("mysite/urls.py")
            .replace("\"ok\": True", &format!("\"ok\": \"{nonce}\"")),
    );
    let edited = project.build(tag, &[]);
    edited.expect_success();
    edited.assert_no_sync_reran();
    assert!(!edited.cached("[build 2/2]"));
    let server = Running::start(tag, &[]);
    assert_eq!(
        server.get(8000, "/health/"),
        format!(r#"{{"ok": "{nonce}"}}"#)
    );
}

/// A build of `example` with the line `from` of its `uv.build` replaced by `to`, which must
/// fail; the build, and the line number of `to`.
fn failing_build_with(example: &str, from: &str, to: &str, tag: &str) -> (Build, usize) {
    let project = Project::copy_of(example);
    let spec = project.read("uv.build").replace(from, to);
    project.write("uv.build", &spec);
    let build = project.build(tag, &[]);
    assert!(!build.succeeded(), "{}", build.log());
    let line = spec.lines().position(|l| l == to).expect("the edited line") + 1;
    (build, line)
}

#[test]
fn a_failing_build_command_fails_the_build_at_its_line() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let (build, line) = failing_build_with(
        "django",
        "run = [\"python manage.py collectstatic --noinput\"]",
        "run = [\"python manage.py collectstatic --noinput\", \"python manage.py no-such-command\"]",
        "uv-frontend-e2e/django:failing",
    );
    let error = build.error_line();
    assert!(
        error.contains(&format!("uv.build:{line}: step [build 2/2]")),
        "{error}"
    );
    assert!(
        build
            .log()
            .contains("[build] run: command 2 failed: python manage.py no-such-command"),
        "{}",
        build.log()
    );
}

#[test]
fn an_apt_package_the_base_lacks_fails_at_its_line_before_anything_is_installed() {
    let _guard = DAEMON.lock().unwrap_or_else(|e| e.into_inner());
    require_daemon();
    let (build, line) = failing_build_with(
        "fastapi",
        "apt = [\"libpq5\"]",
        "apt = [\"libpq5\", \"no-such-package-uvf\"]",
        "uv-frontend-e2e/fastapi:no-such-package",
    );
    let error = build.error_line();
    assert!(
        error.contains(&format!(
            "uv.build:{line}: step [runtime-deps 2/3] apt-get install libpq5 no-such-package-uvf failed"
        )),
        "{error}"
    );
    assert!(error.contains("names the packages"), "{error}");
    assert!(
        build
            .log()
            .contains("uv-frontend: not in this image's apt sources: no-such-package-uvf"),
        "{}",
        build.log()
    );
}
