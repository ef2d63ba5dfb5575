//! The runtime image's config: the base image's config with the plan's settings on top.

use serde_json::{json, Map, Value};

use crate::llb::Platform;
use crate::plan::ImageConfig;

/// PATH when the base image sets none (the Docker default).
pub const DEFAULT_PATH: &str = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

/// `config.Env` of an image config.
pub fn env_of(config: &Value) -> Vec<String> {
    config
        .pointer("/config/Env")
        .and_then(Value::as_array)
        .map(|a| {
            a.iter()
                .filter_map(|v| v.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// The runtime image's environment, `KEY=VALUE` in the base image's order: the base's, with the
/// venv's bin first on PATH and the plan's variables set.
pub fn runtime_env(base: &Value, plan: &ImageConfig) -> Vec<(String, String)> {
    let mut env: Vec<(String, String)> = env_of(base)
        .into_iter()
        .map(|e| match e.split_once('=') {
            Some((k, v)) => (k.to_string(), v.to_string()),
            None => (e, String::new()),
        })
        .collect();
    let path = env
        .iter()
        .find(|(k, _)| k == "PATH")
        .map(|(_, v)| v.clone())
        .unwrap_or_else(|| DEFAULT_PATH.into());
    let path = if path.split(':').next() == Some(plan.path_prepend.as_str()) {
        path
    } else {
        format!("{}:{path}", plan.path_prepend)
    };
    set_env(&mut env, "PATH", &path);
    if let Some(venv) = plan.env.get("VIRTUAL_ENV") {
        set_env(&mut env, "VIRTUAL_ENV", venv);
    }
    // `$PATH` in `[run] env` is the image's PATH so far, as a Dockerfile's ENV expands it.
    let before = env.clone();
    for (k, v) in &plan.env {
        set_env(&mut env, k, &expand(v, &before));
    }
    env
}

/// `$NAME`, `${NAME}`, `${NAME:-word}` and `${NAME:+word}` of `value` from `env`, as the
/// Dockerfile frontend expands ENV values (an unset name is empty; `\$` is a `$`).
pub fn expand(value: &str, env: &[(String, String)]) -> String {
    let lookup = |name: &str| {
        env.iter()
            .find(|(k, _)| k == name)
            .map(|(_, v)| v.as_str())
            .unwrap_or("")
    };
    let is_name = |c: char| c.is_ascii_alphanumeric() || c == '_';
    let mut out = String::new();
    let mut rest = value;
    while let Some(at) = rest.find(['$', '\\']) {
        out.push_str(&rest[..at]);
        let tail = &rest[at..];
        if let Some(escaped) = tail.strip_prefix("\\$") {
            out.push('$');
            rest = escaped;
        } else if let Some(braced) = tail.strip_prefix("${") {
            let Some(end) = braced.find('}') else {
                out.push_str(tail);
                break;
            };
            let inner = &braced[..end];
            let (name, word, when_set) = match (inner.split_once(":-"), inner.split_once(":+")) {
                (Some((n, w)), _) => (n, Some(w), false),
                (None, Some((n, w))) => (n, Some(w), true),
                _ => (inner, None, false),
            };
            let current = lookup(name);
            out.push_str(match (word, when_set) {
                (Some(w), false) if current.is_empty() => w,
                (Some(w), true) if !current.is_empty() => w,
                (Some(_), true) => "",
                _ => current,
            });
            rest = &braced[end + 1..];
        } else if let Some(plain) = tail.strip_prefix('$') {
            let end = plain.find(|c: char| !is_name(c)).unwrap_or(plain.len());
            if end == 0 {
                out.push('$');
            } else {
                out.push_str(lookup(&plain[..end]));
            }
            rest = &plain[end..];
        } else {
            out.push('\\');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

/// The runtime image's config. `created` is an RFC 3339 time.
pub fn runtime_config(
    base: &Value,
    plan: &ImageConfig,
    platform: &Platform,
    created: &str,
) -> Value {
    let mut image = image_record(base, platform, created);
    let mut config = image
        .get("config")
        .and_then(Value::as_object)
        .cloned()
        .unwrap_or_default();

    let env = runtime_env(base, plan);
    config.insert(
        "Env".into(),
        json!(env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect::<Vec<_>>()),
    );
    config.insert("WorkingDir".into(), json!(plan.working_dir));
    config.insert("User".into(), json!(plan.user));
    set_command(&mut config, plan);
    if !plan.exposed_ports.is_empty() {
        let ports = object_entry(&mut config, "ExposedPorts");
        for port in &plan.exposed_ports {
            ports.insert(port.clone(), json!({}));
        }
    }
    if let Some(signal) = &plan.stop_signal {
        config.insert("StopSignal".into(), json!(signal));
    }
    if let Some(test) = &plan.healthcheck {
        config.insert("Healthcheck".into(), healthcheck(test, &plan.health));
    }
    set_labels(&mut config, plan);
    image.insert("config".into(), Value::Object(config));
    Value::Object(image)
}

/// The image's top-level fields: the base's, with this build's platform and time, and without
/// the base's build record.
fn image_record(base: &Value, platform: &Platform, created: &str) -> Map<String, Value> {
    let mut image = match base {
        Value::Object(map) => map.clone(),
        _ => Map::new(),
    };
    image.insert("architecture".into(), json!(platform.architecture));
    image.insert("os".into(), json!(platform.os));
    if !platform.variant.is_empty() {
        image.insert("variant".into(), json!(platform.variant));
    }
    image.insert("created".into(), json!(created));
    // The base's build record, not this image's (`docker import`'s "Imported from -").
    for key in ["container_config", "container", "comment", "docker_version"] {
        image.remove(key);
    }
    image
}

/// `Entrypoint` and `Cmd` of the config: the plan's on top of the base's.
fn set_command(config: &mut Map<String, Value>, plan: &ImageConfig) {
    // As a Dockerfile's CMD keeps the base's ENTRYPOINT (an init or wrapper such as tini or an
    // `exec "$@"` script), so does a command; but an entrypoint that is Python itself (the
    // distroless python images') would take the command for a script file, so it goes.
    match (&plan.entrypoint, &plan.cmd) {
        (Some(entrypoint), _) if entrypoint.is_empty() => {
            config.insert("Entrypoint".into(), Value::Null);
        }
        (Some(entrypoint), cmd) => {
            config.insert("Entrypoint".into(), json!(entrypoint));
            // As a Dockerfile's ENTRYPOINT resets the base's CMD: its arguments were for the
            // base's entrypoint.
            if cmd.is_none() {
                config.insert("Cmd".into(), Value::Null);
            }
        }
        (None, Some(_)) if entrypoint_is_python(config) => {
            config.insert("Entrypoint".into(), Value::Null);
        }
        _ => {}
    }
    if let Some(cmd) = &plan.cmd {
        config.insert("Cmd".into(), json!(cmd));
    }
}

/// The config's `Healthcheck`: its test, and the options the plan sets.
fn healthcheck(test: &[String], health: &crate::settings::HealthOptions) -> Value {
    let mut healthcheck = json!({ "Test": test });
    let options = [
        ("Interval", health.interval),
        ("Timeout", health.timeout),
        ("StartPeriod", health.start_period),
        ("Retries", health.retries.map(u64::from)),
    ];
    for (key, value) in options {
        if let Some(value) = value {
            healthcheck[key] = json!(value);
        }
    }
    healthcheck
}

/// `Labels` of the config: the base's without its OCI labels, and the plan's.
fn set_labels(config: &mut Map<String, Value>, plan: &ImageConfig) {
    // The base image's OCI labels describe the base (its source, revision, licenses, its own
    // base), not this image: scanners would credit the application to them. The ones that
    // describe this image come from the project and the spec.
    if let Some(Value::Object(labels)) = config.get_mut("Labels") {
        labels.retain(|key, _| !key.starts_with("org.opencontainers.image."));
    }
    if !plan.labels.is_empty() {
        let labels = object_entry(config, "Labels");
        for (k, v) in &plan.labels {
            labels.insert(k.clone(), json!(v));
        }
    }
}

/// The object at `key` of the config, made an empty one when it is missing or not an object.
fn object_entry<'a>(config: &'a mut Map<String, Value>, key: &str) -> &'a mut Map<String, Value> {
    let entry = config.entry(key).or_insert_with(|| json!({}));
    if !entry.is_object() {
        *entry = json!({});
    }
    entry.as_object_mut().expect("made an object above")
}

/// The image's `Entrypoint`, when it has one.
pub fn entrypoint_of(config: &Map<String, Value>) -> Option<Vec<String>> {
    let entrypoint: Vec<String> = config
        .get("Entrypoint")?
        .as_array()?
        .iter()
        .filter_map(|v| v.as_str().map(str::to_string))
        .collect();
    (!entrypoint.is_empty()).then_some(entrypoint)
}

/// Whether an image config's `Entrypoint` runs a Python interpreter (`python`, `python3.11`,
/// also through `env`).
fn entrypoint_is_python(config: &Map<String, Value>) -> bool {
    entrypoint_of(config).is_some_and(|e| {
        let basename = |p: &str| p.rsplit('/').next().unwrap_or("").to_string();
        let program = match basename(&e[0]).as_str() {
            "env" => e.get(1).map(|p| basename(p)).unwrap_or_default(),
            first => first.to_string(),
        };
        program
            .strip_prefix("python")
            .is_some_and(|v| v.chars().all(|c| c.is_ascii_digit() || c == '.'))
    })
}

/// Sets `key` in an image's environment, in its place when the base already has it.
fn set_env(env: &mut Vec<(String, String)>, key: &str, value: &str) {
    match env.iter_mut().find(|(k, _)| k == key) {
        Some(entry) => entry.1 = value.into(),
        None => env.push((key.into(), value.into())),
    }
}

/// RFC 3339 (UTC, seconds) of a Unix time, e.g. `2026-11-23T15:44:40Z`.
pub fn rfc3339(unix_seconds: i64) -> String {
    let days = unix_seconds.div_euclid(86_400);
    let secs = unix_seconds.rem_euclid(86_400);
    // Howard Hinnant's civil-from-days.
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let day = doy - (153 * mp + 2) / 5 + 1;
    let month = if mp < 10 { mp + 3 } else { mp - 9 };
    let year = yoe + era * 400 + i64::from(month <= 2);
    format!(
        "{year:04}-{month:02}-{day:02}T{:02}:{:02}:{:02}Z",
        secs / 3600,
        secs % 3600 / 60,
        secs % 60
    )
}

#[cfg(test)]
mod tests {
    use super::{expand, rfc3339};

    #[test]
    fn env_values_expand_as_a_dockerfile_env_does() {
        let env = [
            ("PATH".to_string(), "/app/.venv/bin:/usr/bin".to_string()),
            ("HOME".to_string(), "/home/app".to_string()),
        ];
        assert_eq!(
            expand("/opt/tools/bin:${PATH}", &env),
            "/opt/tools/bin:/app/.venv/bin:/usr/bin"
        );
        assert_eq!(expand("$HOME/data", &env), "/home/app/data");
        assert_eq!(expand("${UNSET:-fallback}", &env), "fallback");
        assert_eq!(expand("${HOME:+set}${UNSET:+x}", &env), "set");
        assert_eq!(
            expand("price: \\$5, $ alone, ${UNSET}.", &env),
            "price: $5, $ alone, ."
        );
        assert_eq!(expand("C:\\dir", &env), "C:\\dir");
    }

    #[test]
    fn formats_unix_times_as_rfc3339() {
        assert_eq!(rfc3339(0), "1970-01-01T00:00:00Z");
        assert_eq!(rfc3339(1_795_448_680), "2026-11-23T15:44:40Z");
        assert_eq!(rfc3339(951_782_400), "2000-02-29T00:00:00Z");
    }
}
