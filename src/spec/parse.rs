//! Text to [`Spec`]: TOML errors and bad values become [`SpecError`]s naming their line.

use super::check::Checker;
use super::error::{line_of, quote, shorten, SpecError, SpecFile};
use super::suggest::closest;
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

/// A TOML error as a [`SpecError`] on its line, in words about the spec's tables and keys.
fn from_toml_error(file: &str, text: &str, e: &toml::de::Error) -> SpecError {
    let offset = e.span().map(|s| s.start).unwrap_or(0);
    let line = line_of(text, offset);
    let raw = e.message().trim().replace('\n', " ");
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
    let at = TomlError {
        text,
        line,
        raw,
        table,
        place,
    };
    let (message, fix) = if let (Some(name), true) = (header, this_line.starts_with("[[")) {
        (
            format!("[[{name}]] makes a list of tables, but [{name}] is one table"),
            format!("write [{name}], once"),
        )
    } else if at.raw.contains("duplicate key") {
        at.duplicate_key(header)
    } else if let Some(key) = quoted(&at.raw, "unknown field").map(|k| shorten(&k)) {
        at.unknown_field(&key)
    } else if let Some(variant) = quoted(&at.raw, "unknown variant") {
        at.unknown_variant(&variant)
    } else if at.raw.starts_with("invalid type") {
        at.invalid_type()
    } else {
        (
            format!("invalid TOML: {}", shorten(&at.raw)),
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

/// Where a TOML error is and what it says, which its message and fix are made from.
struct TomlError<'a> {
    text: &'a str,
    /// The error's line, counted from 1.
    line: usize,
    /// The error's own message, on one line.
    raw: String,
    /// The `[table]` header in force at the error, if any.
    table: Option<String>,
    /// `[table]`, or `the top level` before any header.
    place: String,
}

impl TomlError<'_> {
    /// The key set on the error's line.
    fn line_key(&self) -> Option<String> {
        // Keys and values quoted from the text are cut when long.
        key_on_line(self.text, self.line).map(|k| shorten(&k))
    }

    /// A table opened twice (`header` is the one on the error's line), or a key set twice.
    fn duplicate_key(&self, header: Option<&str>) -> (String, String) {
        let place = &self.place;
        match (header, self.line_key()) {
            (Some(name), _) => (
                format!("[{name}] is opened a second time"),
                format!("put these keys into the first [{name}]"),
            ),
            (None, Some(key)) => (
                format!("`{key}` is set a second time in {place}"),
                "keep one of the two".to_string(),
            ),
            (None, None) => (
                format!("invalid TOML: {}", shorten(&self.raw)),
                "a key is set a second time: keep one of the two".to_string(),
            ),
        }
    }

    /// An unknown `key`: a key outside any table, a table's name used as a key, an unknown
    /// table, or a key its table does not take.
    fn unknown_field(&self, key: &str) -> (String, String) {
        let (table, place) = (&self.table, &self.place);
        let expected = all_quoted(&self.raw, "expected");
        let is_header = self
            .text
            .lines()
            .nth(self.line - 1)
            .is_some_and(|l| l.trim_start().starts_with('['));
        if table.is_none() && !is_header && !TABLES.contains(&key) {
            let fix = match table_of_key(key) {
                Some(t) => format!("put it under [{t}]"),
                None => {
                    "keys go in one of the tables [build], [sync], [cache], [run] and [test]".into()
                }
            };
            (format!("unknown key `{key}` at the top level"), fix)
        } else if let (Some(t), true) = (table, TABLES.contains(&key)) {
            // `sync.dev = true` under [build], or a [[sync]] / [run.x] header gone wrong.
            (
                format!("unknown key `{key}` in [{t}]"),
                format!("[{key}] is a table of its own: write its keys under a [{key}] header"),
            )
        } else if table.is_none() || TABLES.contains(&key) || expected.iter().any(|k| k == "build")
        {
            let fix = match closest(key, TABLES) {
                Some(near) => format!("did you mean [{near}]? uv.build has the tables [build], [sync], [cache], [run] and [test]"),
                None => "uv.build has the tables [build], [sync], [cache], [run] and [test]".to_string(),
            };
            (format!("unknown table [{key}]"), fix)
        } else {
            let names: Vec<&str> = expected.iter().map(String::as_str).collect();
            let known = names.join(", ");
            let elsewhere = table_of_key(key).filter(|t| Some(*t) != table.as_deref());
            let fix = match (elsewhere, closest(key, &names)) {
                (Some(t), _) => format!("`{key}` belongs in [{t}]: move it there"),
                (None, Some(near)) => format!("did you mean `{near}`? {place} takes: {known}"),
                (None, None) => format!("remove it; {place} takes: {known}"),
            };
            (format!("unknown key `{key}` in {place}"), fix)
        }
    }

    /// A value (`variant`) that is not one of the key's accepted values.
    fn unknown_variant(&self, variant: &str) -> (String, String) {
        let (place, key) = (&self.place, self.line_key().unwrap_or_default());
        let expected = all_quoted(&self.raw, "expected");
        (
            format!(
                "{place} {key}: {} is not one of the accepted values",
                quote(variant)
            ),
            format!("use one of: {}", expected.join(", ")),
        )
    }

    /// A value of the wrong type, and the type to write instead.
    fn invalid_type(&self) -> (String, String) {
        let place = &self.place;
        let key = key_at(self.text, self.line)
            .map(|k| shorten(&k))
            .unwrap_or_default();
        let expected = expected_type(&self.raw);
        let got = shorten(
            self.raw
                .trim_start_matches("invalid type:")
                .split(", expected")
                .next()
                .unwrap_or("")
                .trim(),
        );
        (
            format!("{place} {key} has the wrong type: {got}"),
            format!("write {expected}"),
        )
    }
}

/// The type an `invalid type` error expects, as the spec would write it.
fn expected_type(raw: &str) -> String {
    match raw.split("expected").nth(1).unwrap_or("").trim() {
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
    }
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

#[cfg(test)]
mod tests {
    use super::parse;
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
