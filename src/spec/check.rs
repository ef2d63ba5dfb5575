//! A parsed [`Spec`]'s values checked one by one: bad values become [`SpecError`]s naming their
//! line, or the flag that set them.

use toml::Spanned;

use super::error::{quote, SpecError, SpecFile};
use super::{BuildTable, CacheTable, RunTable, Spec, SyncTable, TestTable};

/// Checks a spec's values, naming the file's line of a bad one or the flag that set it.
pub(super) struct Checker<'a> {
    pub(super) file: &'a SpecFile,
    /// The flags that set values instead of the file ([`Spec::set_by`]).
    pub(super) set_by: &'a std::collections::BTreeMap<(String, String), String>,
}

impl Checker<'_> {
    /// An error about `value`, whose message starts with its `[table] key`: a value a flag set
    /// has no line of its own, so the message names the flag.
    fn error<T>(&self, value: &Spanned<T>, message: String, fix: &str) -> SpecError {
        let flag = key_of_message(&message)
            .and_then(|(table, key)| self.set_by.get(&(table.to_string(), key.to_string())));
        let message = match flag {
            Some(flag) => format!("{message} (set by {flag})"),
            None => message,
        };
        SpecError::at(self.file, value.span().start, message, fix)
    }

    /// Checks every value; the first bad one, in this order, is the error.
    pub(super) fn check(&self, spec: &Spec) -> Result<(), SpecError> {
        if let (Some(true), Some(extra)) = (spec.sync.all_extras, spec.sync.extra.first()) {
            return Err(self.error(
                extra,
                "[sync] extra cannot be used with all-extras = true".to_string(),
                "remove one of them: all-extras already installs every extra",
            ));
        }
        self.build_table(&spec.build)?;
        self.apt_packages("[run] apt", &spec.run.apt)?;
        if let Some(dir) = &spec.run.workdir {
            self.absolute_dir("[run] workdir", dir, "/app")?;
        }
        self.context_paths(&spec.run.include)?;
        self.sync_names(&spec.sync)?;
        self.cache_table(&spec.cache)?;
        if let Some(user) = &spec.run.user {
            self.run_user(user)?;
        }
        self.run_process(&spec.run)?;
        self.test_commands(&spec.test)?;
        if let Some(signal) = &spec.run.stop_signal {
            self.stop_signal(signal)?;
        }
        self.command(
            "[run] healthcheck",
            &spec.run.healthcheck,
            r#"["app", "health"]"#,
        )?;
        self.health_options(&spec.run)?;
        self.expose(&spec.run.expose)
    }

    /// `[build]`'s keys checked: the image references, the directories, the managed Python
    /// request, the network mode, the commands and the apt packages.
    fn build_table(&self, b: &BuildTable) -> Result<(), SpecError> {
        for (key, image) in [("uv", &b.uv), ("builder", &b.builder), ("base", &b.base)] {
            if let Some(image) = image {
                self.image_ref(key, image)?;
            }
        }
        if let Some(dir) = &b.python_install_dir {
            self.absolute_dir("[build] python-install-dir", dir, "/opt/uv-python")?;
        }
        if let Some(version) = &b.managed_python {
            let v = version.get_ref();
            if v.is_empty() || v.chars().any(char::is_whitespace) {
                return Err(self.error(
                    version,
                    format!(
                        "[build] managed-python {} is not a Python version request",
                        quote(v)
                    ),
                    "use a version such as \"3.12\" or \"3.12.7\"",
                ));
            }
        }
        if let Some(dir) = &b.workdir {
            self.absolute_dir("[build] workdir", dir, "/app")?;
        }
        if let Some(network) = &b.network {
            let n = network.get_ref();
            if !matches!(n.as_str(), "default" | "host") {
                return Err(self.error(
                    network,
                    format!("[build] network {} is not a network mode", quote(n)),
                    "use \"default\" (BuildKit's sandbox) or \"host\" (with --allow network.host)",
                ));
            }
        }
        self.build_commands(&b.run)?;
        self.apt_packages("[build] apt", &b.apt)
    }

    /// `[sync]`'s names checked: the package, the extras and the groups.
    fn sync_names(&self, sync: &SyncTable) -> Result<(), SpecError> {
        if let Some(package) = &sync.package {
            self.name(
                "[sync] package",
                package,
                "a package name from pyproject.toml",
            )?;
        }
        for extra in &sync.extra {
            self.name(
                "[sync] extra",
                extra,
                "an extra from [project.optional-dependencies]",
            )?;
        }
        for group in &sync.group {
            self.name("[sync] group", group, "a group from [dependency-groups]")?;
        }
        Ok(())
    }

    /// `[cache]`'s keys checked: the cache id and the directory.
    fn cache_table(&self, cache: &CacheTable) -> Result<(), SpecError> {
        if let Some(id) = &cache.id {
            if id.get_ref().is_empty() || id.get_ref().chars().any(char::is_whitespace) {
                return Err(self.error(
                    id,
                    format!("[cache] id {} is not a valid cache id", quote(id.get_ref())),
                    "use a short word without spaces, e.g. id = \"uv\"",
                ));
            }
        }
        if let Some(dir) = &cache.dir {
            self.absolute_dir("[cache] dir", dir, "/root/.cache/uv")?;
        }
        Ok(())
    }

    /// `[run] user`: a name, neither root nor a number.
    fn run_user(&self, user: &Spanned<String>) -> Result<(), SpecError> {
        let name = user.get_ref();
        if name == "root" || name == "0" {
            return Err(self.error(
                user,
                "[run] user must not be root: the runtime image runs as a non-root user".into(),
                "remove the key to get the default user \"app\", or name another user",
            ));
        }
        if !name.is_empty() && name.chars().all(|c| c.is_ascii_digit()) {
            return Err(self.error(
                user,
                format!(
                    "[run] user {} is a number, which Docker takes as a uid, not as this name",
                    quote(name)
                ),
                &format!(
                    "name the user and give it the id with uid: user = \"app\" and uid = {}",
                    name.trim_start_matches('0')
                        .parse::<u64>()
                        .unwrap_or(10001)
                        .max(1)
                ),
            ));
        }
        self.name("[run] user", user, "a user name such as \"app\"")
    }

    /// `[run]`'s process checked: the command and entrypoint, the environment's names and
    /// the uid and gid.
    fn run_process(&self, run: &RunTable) -> Result<(), SpecError> {
        self.command("[run] command", &run.command, r#"["app", "serve"]"#)?;
        // `[]` clears the base image's entrypoint; a list names a program like a command.
        if run
            .entrypoint
            .as_ref()
            .is_some_and(|e| !e.get_ref().is_empty())
        {
            self.command("[run] entrypoint", &run.entrypoint, r#"["tini", "--"]"#)?;
        }
        for (key, value) in &run.env {
            let valid = key
                .chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphabetic() || c == '_')
                && key.chars().all(|c| c.is_ascii_alphanumeric() || c == '_');
            if !valid {
                return Err(self.error(
                    value,
                    format!(
                        "[run] env: {} is not a valid environment variable name",
                        quote(key)
                    ),
                    "use letters, digits and underscores, not starting with a digit",
                ));
            }
        }
        for (key, id) in [("uid", &run.uid), ("gid", &run.gid)] {
            let Some(id) = id else { continue };
            if !(1..=2_147_483_647).contains(id.get_ref()) {
                return Err(self.error(
                    id,
                    format!("[run] {key} {} is not a non-root id", id.get_ref()),
                    "use a number from 1 to 2147483647, e.g. 10001",
                ));
            }
        }
        Ok(())
    }

    /// `[test]`'s commands checked: the dev command, then the command.
    fn test_commands(&self, test: &TestTable) -> Result<(), SpecError> {
        self.command("[test] dev-command", &test.dev_command, r#"["pytest"]"#)?;
        self.command(
            "[test] command",
            &test.command,
            r#"["python", "-c", "import app"]"#,
        )
    }

    /// `[run] stop-signal`: a signal name Docker knows, or a number.
    fn stop_signal(&self, signal: &Spanned<String>) -> Result<(), SpecError> {
        // Docker takes signal names in any case.
        let upper = signal.get_ref().to_ascii_uppercase();
        let v = upper.as_str();
        // The names Docker's signal map has for Linux (with or without SIG): the standard
        // ones, RTMIN to RTMIN+15 and RTMAX-14 to RTMAX; or a number.
        const NAMES: [&str; 34] = [
            "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO", "IOT",
            "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP", "SYS", "TERM",
            "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM", "WINCH", "XCPU",
            "XFSZ",
        ];
        let name = v.strip_prefix("SIG").unwrap_or(v);
        let offset = |prefix: &str| -> Option<u8> {
            name.strip_prefix(prefix)
                .and_then(|rest| rest.parse::<u8>().ok())
        };
        let valid = NAMES.contains(&name)
            || name == "RTMIN"
            || name == "RTMAX"
            || offset("RTMIN+").is_some_and(|n| (1..=15).contains(&n))
            || offset("RTMAX-").is_some_and(|n| (1..=14).contains(&n))
            || v.parse::<u8>().is_ok_and(|n| (1..=64).contains(&n));
        if !valid {
            return Err(self.error(
                signal,
                format!(
                    "[run] stop-signal {} is not a signal",
                    quote(signal.get_ref())
                ),
                "use a name such as \"SIGINT\" or a number",
            ));
        }
        Ok(())
    }

    /// `[run] expose`: TCP port numbers.
    fn expose(&self, ports: &[Spanned<i64>]) -> Result<(), SpecError> {
        for port in ports {
            if !(1..=65535).contains(port.get_ref()) {
                return Err(self.error(
                    port,
                    format!("[run] expose: {} is not a TCP port", port.get_ref()),
                    "use a port number from 1 to 65535",
                ));
            }
        }
        Ok(())
    }

    /// The health check's options: durations Docker takes (at least 1 ms), retries from 1, and
    /// only with a health check to apply to.
    fn health_options(&self, run: &RunTable) -> Result<(), SpecError> {
        for (key, value) in [
            ("health-interval", &run.health_interval),
            ("health-timeout", &run.health_timeout),
            ("health-start-period", &run.health_start_period),
        ] {
            let Some(value) = value else { continue };
            if super::duration::nanos(value.get_ref()).is_none_or(|n| n < 1_000_000) {
                return Err(self.error(
                    value,
                    format!(
                        "[run] {key} {} is not a duration of 1ms or more",
                        quote(value.get_ref())
                    ),
                    "write a number with its unit, e.g. \"30s\", \"1m30s\" or \"500ms\"",
                ));
            }
        }
        if let Some(retries) = &run.health_retries {
            if !(1..=i64::from(i32::MAX)).contains(retries.get_ref()) {
                return Err(self.error(
                    retries,
                    format!(
                        "[run] health-retries {} is not a number of retries",
                        retries.get_ref()
                    ),
                    "use a whole number from 1, e.g. 3",
                ));
            }
        }
        if run.healthcheck.is_none() {
            let set = [
                (
                    "health-interval",
                    run.health_interval.as_ref().map(|v| v.span()),
                ),
                (
                    "health-timeout",
                    run.health_timeout.as_ref().map(|v| v.span()),
                ),
                (
                    "health-start-period",
                    run.health_start_period.as_ref().map(|v| v.span()),
                ),
                (
                    "health-retries",
                    run.health_retries.as_ref().map(|v| v.span()),
                ),
            ];
            if let Some((key, Some(span))) = set.into_iter().find(|(_, span)| span.is_some()) {
                return Err(SpecError::at(
                    self.file,
                    span.start,
                    format!("[run] {key} is an option of [run] healthcheck, which is not set"),
                    "add the health check's command, e.g. healthcheck = [\"app\", \"health\"], or remove it",
                ));
            }
        }
        Ok(())
    }

    /// A command (program and arguments) must name a program.
    fn command(
        &self,
        what: &str,
        command: &Option<Spanned<Vec<String>>>,
        example: &str,
    ) -> Result<(), SpecError> {
        match command {
            Some(c) if c.get_ref().first().is_none_or(|p| p.is_empty()) => Err(self.error(
                c,
                format!("{what} is empty"),
                &format!("give the program and its arguments, e.g. {example}"),
            )),
            _ => Ok(()),
        }
    }

    /// `[build] run`: each command a non-empty shell command line.
    fn build_commands(&self, commands: &Option<Spanned<Vec<String>>>) -> Result<(), SpecError> {
        match commands {
            Some(c) if c.get_ref().iter().any(|line| line.trim().is_empty()) => Err(self.error(
                c,
                "[build] run has an empty command".to_string(),
                "give each command as one shell command line, e.g. run = [\"python manage.py collectstatic --noinput\"]",
            )),
            _ => Ok(()),
        }
    }

    /// `[build] apt`, `[run] apt`: Debian package names (`libpq5`), with an optional
    /// `=version` or `:arch`, as `apt-get install` takes them.
    fn apt_packages(
        &self,
        what: &str,
        packages: &Option<Spanned<Vec<String>>>,
    ) -> Result<(), SpecError> {
        let Some(list) = packages else { return Ok(()) };
        for package in list.get_ref() {
            let name = package.split(['=', ':']).next().unwrap_or("");
            let rest_ok = package[name.len()..]
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || "=:.+~-".contains(c));
            let name_ok = name.len() >= 2
                && name.starts_with(|c: char| c.is_ascii_lowercase() || c.is_ascii_digit())
                && name
                    .chars()
                    .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || "+-.".contains(c));
            if !(name_ok && rest_ok) {
                return Err(self.error(
                    list,
                    format!("{what}: {} is not a Debian package name", quote(package)),
                    "name packages as apt-get install takes them, e.g. apt = [\"libpq5\", \"ffmpeg\"]",
                ));
            }
        }
        Ok(())
    }

    /// `[run] include`: paths (or patterns) relative to the build context, inside it.
    fn context_paths(&self, paths: &Option<Spanned<Vec<String>>>) -> Result<(), SpecError> {
        let Some(list) = paths else { return Ok(()) };
        for path in list.get_ref() {
            let trimmed = path.trim_end_matches('/');
            let outside = trimmed.starts_with('/')
                || trimmed.is_empty()
                || trimmed.split('/').any(|part| part == "..");
            if outside {
                return Err(self.error(
                    list,
                    format!(
                        "[run] include: {} is not a path inside the build context",
                        quote(path)
                    ),
                    "name files or directories relative to the build context, e.g. include = [\"alembic.ini\", \"migrations\"]",
                ));
            }
        }
        Ok(())
    }

    fn image_ref(&self, key: &str, image: &Spanned<String>) -> Result<(), SpecError> {
        let r = image.get_ref();
        if r.is_empty()
            || r.chars()
                .any(|c| c.is_whitespace() || c.is_ascii_uppercase())
        {
            return Err(self.error(
                image,
                format!("[build] {key} {} is not an image reference", quote(r)),
                "use a lowercase reference such as \"python:3.12-slim-bookworm\"",
            ));
        }
        Ok(())
    }

    fn absolute_dir(
        &self,
        what: &str,
        dir: &Spanned<String>,
        example: &str,
    ) -> Result<(), SpecError> {
        let d = dir.get_ref();
        // `//` or `/./` is `/` once its slashes are trimmed: no directory of its own either.
        let is_root = d.split('/').all(|part| part.is_empty() || part == ".");
        if !d.starts_with('/') || is_root || d.split('/').any(|part| part == "..") {
            return Err(self.error(
                dir,
                format!(
                    "{what} {} must be an absolute directory other than /",
                    quote(d)
                ),
                &format!("use an absolute path such as {example:?}"),
            ));
        }
        Ok(())
    }

    fn name(&self, what: &str, value: &Spanned<String>, example: &str) -> Result<(), SpecError> {
        let v = value.get_ref();
        let valid = !v.is_empty()
            && v.chars()
                .next()
                .is_some_and(|c| c.is_ascii_alphanumeric() || c == '_')
            && v.chars()
                .all(|c| c.is_ascii_alphanumeric() || "-_.".contains(c));
        if !valid {
            return Err(self.error(
                value,
                format!("{what} {} is not a valid name", quote(v)),
                &format!("use {example}"),
            ));
        }
        Ok(())
    }
}

/// The `[table] key` an error message starts with (`[sync] extra "x y" is not a name`).
fn key_of_message(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('[')?;
    let (table, rest) = rest.split_once("] ")?;
    let key = rest.split([' ', ':']).next()?;
    Some((table, key))
}
