//! Text to [`Spec`]: TOML errors and bad values become [`SpecError`]s naming their line.

use toml::Spanned;

use super::error::{line_of, quote, shorten, SpecError, SpecFile};
use super::Spec;

const TABLES: &[&str] = &["build", "sync", "cache", "run", "test"];

/// Parses and checks the spec file.
pub fn parse(file: &SpecFile) -> Result<Spec, SpecError> {
    parse_with_args(file, &Default::default(), &Default::default())
}

/// Parses the spec file, sets the values `UVF_*` build args and the `uv`, `builder` and `base`
/// named contexts name ([`super::overrides`]), and checks the result.
pub fn parse_with_args(
    file: &SpecFile,
    build_args: &std::collections::BTreeMap<String, String>,
    named_contexts: &std::collections::BTreeMap<String, String>,
) -> Result<Spec, SpecError> {
    let (name, text) = (file.name.as_str(), file.text.as_str());
    let mut spec: Spec = toml::from_str(text).map_err(|e| from_toml_error(name, text, &e))?;
    super::overrides::apply(&mut spec, file, build_args)?;
    super::overrides::apply_named_contexts(&mut spec, file, named_contexts)?;
    Checker {
        file,
        set_by: &spec.set_by,
    }
    .check(&spec)?;
    Ok(spec)
}

struct Checker<'a> {
    file: &'a SpecFile,
    /// The flags that set values instead of the file ([`Spec::set_by`]).
    set_by: &'a std::collections::BTreeMap<(String, String), String>,
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

    fn check(&self, spec: &Spec) -> Result<(), SpecError> {
        if let (Some(true), Some(extra)) = (spec.sync.all_extras, spec.sync.extra.first()) {
            return Err(self.error(
                extra,
                "[sync] extra cannot be used with all-extras = true".to_string(),
                "remove one of them: all-extras already installs every extra",
            ));
        }
        let b = &spec.build;
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
        self.apt_packages("[build] apt", &b.apt)?;
        self.apt_packages("[run] apt", &spec.run.apt)?;
        if let Some(dir) = &spec.run.workdir {
            self.absolute_dir("[run] workdir", dir, "/app")?;
        }
        self.context_paths(&spec.run.include)?;
        if let Some(package) = &spec.sync.package {
            self.name(
                "[sync] package",
                package,
                "a package name from pyproject.toml",
            )?;
        }
        for extra in &spec.sync.extra {
            self.name(
                "[sync] extra",
                extra,
                "an extra from [project.optional-dependencies]",
            )?;
        }
        for group in &spec.sync.group {
            self.name("[sync] group", group, "a group from [dependency-groups]")?;
        }
        if let Some(id) = &spec.cache.id {
            if id.get_ref().is_empty() || id.get_ref().chars().any(char::is_whitespace) {
                return Err(self.error(
                    id,
                    format!("[cache] id {} is not a valid cache id", quote(id.get_ref())),
                    "use a short word without spaces, e.g. id = \"uv\"",
                ));
            }
        }
        if let Some(dir) = &spec.cache.dir {
            self.absolute_dir("[cache] dir", dir, "/root/.cache/uv")?;
        }
        if let Some(user) = &spec.run.user {
            let name = user.get_ref();
            if name == "root" || name == "0" {
                return Err(self.error(
                    user,
                    "[run] user must not be root: the runtime image runs as a non-root user".into(),
                    "remove the key to get the default user \"app\", or name another user",
                ));
            }
            if name.chars().all(|c| c.is_ascii_digit()) {
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
            self.name("[run] user", user, "a user name such as \"app\"")?;
        }
        self.command("[run] command", &spec.run.command, r#"["app", "serve"]"#)?;
        // `[]` clears the base image's entrypoint; a list names a program like a command.
        if spec
            .run
            .entrypoint
            .as_ref()
            .is_some_and(|e| !e.get_ref().is_empty())
        {
            self.command(
                "[run] entrypoint",
                &spec.run.entrypoint,
                r#"["tini", "--"]"#,
            )?;
        }
        for (key, value) in &spec.run.env {
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
        for (key, id) in [("uid", &spec.run.uid), ("gid", &spec.run.gid)] {
            let Some(id) = id else { continue };
            if !(1..=2_147_483_647).contains(id.get_ref()) {
                return Err(self.error(
                    id,
                    format!("[run] {key} {} is not a non-root id", id.get_ref()),
                    "use a number from 1 to 2147483647, e.g. 10001",
                ));
            }
        }
        self.command(
            "[test] dev-command",
            &spec.test.dev_command,
            r#"["pytest"]"#,
        )?;
        self.command(
            "[test] command",
            &spec.test.command,
            r#"["python", "-c", "import app"]"#,
        )?;
        if let Some(signal) = &spec.run.stop_signal {
            // Docker takes signal names in any case.
            let upper = signal.get_ref().to_ascii_uppercase();
            let v = upper.as_str();
            // The names Docker's signal map has for Linux (with or without SIG): the standard
            // ones, RTMIN to RTMIN+15 and RTMAX-14 to RTMAX; or a number.
            const NAMES: [&str; 34] = [
                "ABRT", "ALRM", "BUS", "CHLD", "CLD", "CONT", "FPE", "HUP", "ILL", "INT", "IO",
                "IOT", "KILL", "PIPE", "POLL", "PROF", "PWR", "QUIT", "SEGV", "STKFLT", "STOP",
                "SYS", "TERM", "TRAP", "TSTP", "TTIN", "TTOU", "URG", "USR1", "USR2", "VTALRM",
                "WINCH", "XCPU", "XFSZ",
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
        }
        self.command(
            "[run] healthcheck",
            &spec.run.healthcheck,
            r#"["app", "health"]"#,
        )?;
        self.health_options(&spec.run)?;
        for port in &spec.run.expose {
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
    fn health_options(&self, run: &super::RunTable) -> Result<(), SpecError> {
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

/// The `[table]` header in force at byte `offset`, if any.
fn table_at(text: &str, offset: usize) -> Option<String> {
    // Up to the end of the line at `offset`: an error on a header is about that table.
    let offset = offset.min(text.len());
    let end = text[offset..].find('\n').map_or(text.len(), |i| offset + i);
    let before = &text[..end];
    before.lines().rev().find_map(|line| {
        let line = line.split('#').next().unwrap_or("").trim();
        (line.starts_with('[') && line.ends_with(']')).then(|| {
            // `[run.env]` is in [run]; `[[sync]]` names sync too.
            let name = line.trim_matches(|c| c == '[' || c == ']').trim();
            name.split('.').next().unwrap_or(name).trim().to_string()
        })
    })
}

/// The key whose value is at `line`: that line's, or for an item of a multi-line list, the
/// nearest `key =` above it in the same table.
fn key_at(text: &str, line: usize) -> Option<String> {
    let lines: Vec<&str> = text.lines().collect();
    for l in lines[..line.min(lines.len())].iter().rev() {
        let trimmed = l.trim_start();
        if trimmed.starts_with('[') && !trimmed.starts_with("[\"") {
            return None;
        }
        if let Some(key) = key_on_line_text(l) {
            return Some(key);
        }
    }
    None
}

/// The `key` of a `key = value` line.
fn key_on_line(text: &str, line: usize) -> Option<String> {
    key_on_line_text(text.lines().nth(line.saturating_sub(1))?)
}

fn key_on_line_text(l: &str) -> Option<String> {
    let (key, _) = l.split_once('=')?;
    let key = key.trim().trim_matches('"');
    let bare = key
        .chars()
        .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
    (!key.is_empty() && bare).then(|| key.to_string())
}

/// Text between the first pair of backticks after `after` in `message`.
fn quoted(message: &str, after: &str) -> Option<String> {
    let rest = &message[message.find(after)? + after.len()..];
    let start = rest.find('`')? + 1;
    let end = rest[start..].find('`')? + start;
    Some(rest[start..end].to_string())
}

/// Every backticked word in `message` after `after`.
fn all_quoted(message: &str, after: &str) -> Vec<String> {
    let Some(pos) = message.find(after) else {
        return vec![];
    };
    message[pos + after.len()..]
        .split('`')
        .skip(1)
        .step_by(2)
        .map(str::to_string)
        .collect()
}

fn from_toml_error(file: &str, text: &str, e: &toml::de::Error) -> SpecError {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let line = line_of(text, offset);
    let raw = e.message().trim().replace('\n', " ");
    // Keys and values quoted from the text are cut when long.
    let key_on_line = |text: &str, line: usize| key_on_line(text, line).map(|k| shorten(&k));
    let table = table_at(text, offset);
    let place = match &table {
        Some(t) => format!("[{t}]"),
        None => "the top level".to_string(),
    };
    let this_line = text.lines().nth(line - 1).unwrap_or("").trim();
    let header = this_line
        .strip_prefix('[')
        .and_then(|l| l.split('#').next())
        .map(|l| {
            l.trim()
                .trim_end_matches(']')
                .trim_start_matches('[')
                .trim()
        });
    let (message, fix) = if let (Some(name), true) = (header, this_line.starts_with("[[")) {
        (
            format!("[[{name}]] makes a list of tables, but [{name}] is one table"),
            format!("write [{name}], once"),
        )
    } else if raw.contains("duplicate key") {
        match (header, key_on_line(text, line)) {
            (Some(name), _) => (
                format!("[{name}] is opened a second time"),
                format!("put these keys into the first [{name}]"),
            ),
            (None, Some(key)) => (
                format!("`{key}` is set a second time in {place}"),
                "keep one of the two".to_string(),
            ),
            (None, None) => (
                format!("invalid TOML: {}", shorten(&raw)),
                "a key is set a second time: keep one of the two".to_string(),
            ),
        }
    } else if let Some(key) = quoted(&raw, "unknown field").map(|k| shorten(&k)) {
        let expected = all_quoted(&raw, "expected");
        let is_header = text
            .lines()
            .nth(line - 1)
            .is_some_and(|l| l.trim_start().starts_with('['));
        if table.is_none() && !is_header && !TABLES.contains(&key.as_str()) {
            let fix = match table_of_key(&key) {
                Some(t) => format!("put it under [{t}]"),
                None => {
                    "keys go in one of the tables [build], [sync], [cache], [run] and [test]".into()
                }
            };
            (format!("unknown key `{key}` at the top level"), fix)
        } else if let (Some(t), true) = (&table, TABLES.contains(&key.as_str())) {
            // `sync.dev = true` under [build], or a [[sync]] / [run.x] header gone wrong.
            (
                format!("unknown key `{key}` in [{t}]"),
                format!("[{key}] is a table of its own: write its keys under a [{key}] header"),
            )
        } else if table.is_none()
            || TABLES.contains(&key.as_str())
            || expected.iter().any(|k| k == "build")
        {
            let fix = match closest(&key, TABLES) {
                Some(near) => format!("did you mean [{near}]? uv.build has the tables [build], [sync], [cache], [run] and [test]"),
                None => "uv.build has the tables [build], [sync], [cache], [run] and [test]".to_string(),
            };
            (format!("unknown table [{key}]"), fix)
        } else {
            let names: Vec<&str> = expected.iter().map(String::as_str).collect();
            let known = names.join(", ");
            let elsewhere = table_of_key(&key).filter(|t| Some(*t) != table.as_deref());
            let fix = match (elsewhere, closest(&key, &names)) {
                (Some(t), _) => format!("`{key}` belongs in [{t}]: move it there"),
                (None, Some(near)) => format!("did you mean `{near}`? {place} takes: {known}"),
                (None, None) => format!("remove it; {place} takes: {known}"),
            };
            (format!("unknown key `{key}` in {place}"), fix)
        }
    } else if let Some(variant) = quoted(&raw, "unknown variant") {
        let key = key_on_line(text, line).unwrap_or_default();
        let expected = all_quoted(&raw, "expected");
        (
            format!(
                "{place} {key}: {} is not one of the accepted values",
                quote(&variant)
            ),
            format!("use one of: {}", expected.join(", ")),
        )
    } else if raw.starts_with("invalid type") {
        let key = key_at(text, line).map(|k| shorten(&k)).unwrap_or_default();
        let expected = match raw.split("expected").nth(1).unwrap_or("").trim() {
            "a sequence" => "a list, e.g. [\"a\", \"b\"]".to_string(),
            "a map" => "a table, e.g. { KEY = \"value\" }".to_string(),
            // serde names Rust's integer types.
            int if int.len() > 1
                && (int.starts_with('i') || int.starts_with('u'))
                && int[1..].chars().all(|c| c.is_ascii_digit()) =>
            {
                "a whole number".to_string()
            }
            "f32" | "f64" => "a number".to_string(),
            other => other.to_string(),
        };
        let got = shorten(
            raw.trim_start_matches("invalid type:")
                .split(", expected")
                .next()
                .unwrap_or("")
                .trim(),
        );
        (
            format!("{place} {key} has the wrong type: {got}"),
            format!("write {expected}"),
        )
    } else {
        (
            format!("invalid TOML: {}", shorten(&raw)),
            "check the quoting and brackets on this line".to_string(),
        )
    };
    SpecError {
        file: file.into(),
        line,
        message: message.replace("  ", " "),
        fix,
    }
}

/// The `[table] key` an error message starts with (`[sync] extra "x y" is not a name`).
fn key_of_message(message: &str) -> Option<(&str, &str)> {
    let rest = message.strip_prefix('[')?;
    let (table, rest) = rest.split_once("] ")?;
    let key = rest.split([' ', ':']).next()?;
    Some((table, key))
}

/// The table a key belongs in, for keys written at the top level by mistake.
fn table_of_key(key: &str) -> Option<&'static str> {
    Some(match key {
        "uv" | "builder" | "base" | "workdir" | "managed-python" | "python-install-dir"
        | "network" => "build",
        "include" => "run",
        "package" | "extra" | "all-extras" | "group" | "dev" | "lock" | "compile-bytecode"
        | "no-editable" => "sync",
        "id" | "dir" | "sharing" => "cache",
        "user"
        | "uid"
        | "gid"
        | "command"
        | "entrypoint"
        | "code-owner"
        | "env"
        | "expose"
        | "labels"
        | "stop-signal"
        | "healthcheck"
        | "health-interval"
        | "health-timeout"
        | "health-start-period"
        | "health-retries" => "run",
        "skip" | "dev-command" => "test",
        _ => return None,
    })
}

/// The known name closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    // Distances count characters: so does the bound (bytes made `hello` close to 2000 `𓶊`).
    let bound = |n: &str| 2.max(n.chars().count() / 3);
    let length = word.chars().count();
    names
        .iter()
        // No closer than their difference in length: a name that far is not computed.
        .filter(|n| length.abs_diff(n.chars().count()) <= bound(n))
        .map(|n| (edit_distance(word, n), *n))
        .filter(|(d, n)| *d <= bound(n))
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance of two names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::{closest, parse};

    #[test]
    fn a_close_name_is_close_in_characters_and_long_words_are_close_to_nothing_short() {
        assert_eq!(closest("extras", &["extra", "group"]), Some("extra"));
        // A fuzz find: 2000 four-byte characters counted as 8000 made anything close to them.
        let wide = "\u{936ca}".repeat(2000);
        assert_eq!(closest("hello", &[wide.as_str()]), None);
        assert_eq!(closest(&"x".repeat(100_000), &["extra", "group"]), None);
    }
    use crate::spec::SpecFile;

    fn stop_signal_ok(signal: &str) -> bool {
        let file = SpecFile {
            name: "uv.build".into(),
            text: format!("[run]\nstop-signal = {signal:?}\n"),
        };
        parse(&file).is_ok()
    }

    #[test]
    fn stop_signals_are_the_ones_docker_takes() {
        for ok in [
            "SIGINT",
            "sigint",
            "TERM",
            "SIGPOLL",
            "SIGCLD",
            "SIGRTMIN",
            "SIGRTMIN+15",
            "rtmax-14",
            "SIGRTMAX",
            "9",
            "64",
        ] {
            assert!(stop_signal_ok(ok), "{ok}");
        }
        for bad in [
            "SIGFOO",
            "SIGRTMIN+16",
            "SIGRTMAX-15",
            "SIGRTMIN+",
            "0",
            "65",
            "SIGRTMIN\u{e9}",
        ] {
            assert!(!stop_signal_ok(bad), "{bad}");
        }
    }
}
