//! `--build-arg UVF_<TABLE>_<KEY>=value`: spec values set from the command line, over the file's.
//!
//! The name of a key's build arg is its table and key, upper-cased, `-` as `_`
//! (`[sync] compile-bytecode` is `UVF_SYNC_COMPILE_BYTECODE`). Only the keys in [`OVERRIDES`]
//! can be set so; any other `UVF_*` build arg is an error, so a typo never goes unnoticed. An
//! overridden value has the empty span at offset 0, and goes through the same checks as the
//! file's own values; errors about it name the build arg.

use std::collections::BTreeMap;

use serde::de::IntoDeserializer;
use serde::Deserialize;
use toml::Spanned;

use super::error::{quote, shorten, SpecError, SpecFile};
use super::{CacheSharing, LockMode, Spec};

/// The prefix of every build arg that sets a spec value.
pub const PREFIX: &str = "UVF_";

/// Sets only the tag of the uv image (`[build] uv`, or the default): `UVF_UV_VERSION=0.13.9`.
pub const UV_VERSION_ARG: &str = "UVF_UV_VERSION";

/// What kind of value a build arg holds, as written on the command line.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Kind {
    Text,
    /// `1`, `true`, `yes` or `0`, `false`, `no`.
    Bool,
    /// Comma-separated; empty for none.
    List,
}

/// Every spec key a build arg can set: `(table, key, kind)`.
pub const OVERRIDES: &[(&str, &str, Kind)] = &[
    ("build", "uv", Kind::Text),
    ("build", "builder", Kind::Text),
    ("build", "base", Kind::Text),
    ("build", "managed-python", Kind::Text),
    ("build", "network", Kind::Text),
    ("build", "apt", Kind::List),
    ("sync", "package", Kind::Text),
    ("sync", "extra", Kind::List),
    ("sync", "all-extras", Kind::Bool),
    ("sync", "group", Kind::List),
    ("sync", "dev", Kind::Bool),
    ("sync", "lock", Kind::Text),
    ("sync", "compile-bytecode", Kind::Bool),
    ("sync", "no-editable", Kind::Bool),
    ("cache", "id", Kind::Text),
    ("cache", "dir", Kind::Text),
    ("cache", "sharing", Kind::Text),
    ("run", "workdir", Kind::Text),
    ("run", "apt", Kind::List),
    ("run", "include", Kind::List),
    ("test", "skip", Kind::Bool),
];

/// `UVF_SYNC_COMPILE_BYTECODE` for `("sync", "compile-bytecode")`.
pub fn arg_name(table: &str, key: &str) -> String {
    format!("{PREFIX}{}_{}", table, key)
        .to_uppercase()
        .replace('-', "_")
}

/// Sets the spec values named by `UVF_*` build args.
pub fn apply(
    spec: &mut Spec,
    file: &SpecFile,
    args: &BTreeMap<String, String>,
) -> Result<(), SpecError> {
    // Build args are case-sensitive: `uvf_sync_dev` would otherwise do nothing, unnoticed.
    if let Some(arg) = args
        .keys()
        .find(|a| !a.starts_with(PREFIX) && a.to_ascii_uppercase().starts_with(PREFIX))
    {
        return Err(error(
            file,
            format!(
                "--build-arg {} sets nothing: build arg names are case-sensitive",
                shorten(arg)
            ),
            format!("write {}", shorten(&arg.to_ascii_uppercase())),
        ));
    }
    for (arg, value) in args.iter().filter(|(a, _)| a.starts_with(PREFIX)) {
        let shown = shorten(arg);
        if arg == UV_VERSION_ARG {
            continue;
        }
        let Some(&(table, key, kind)) = OVERRIDES.iter().find(|(t, k, _)| arg_name(t, k) == *arg)
        else {
            let mut known: Vec<String> = OVERRIDES.iter().map(|(t, k, _)| arg_name(t, k)).collect();
            known.push(UV_VERSION_ARG.into());
            let names: Vec<&str> = known.iter().map(String::as_str).collect();
            let fix = match super::suggest::closest(arg, &names) {
                Some(near) => format!(
                    "did you mean {near}? (a UVF_ arg is UVF_<TABLE>_<KEY> of a uv.build key)"
                ),
                None => format!("use one of {}", known.join(", ")),
            };
            return Err(error(
                file,
                format!("--build-arg {shown} sets no uv.build value"),
                fix,
            ));
        };
        set(spec, file, (table, key, kind), arg, value)?;
        if !value.trim().is_empty() || kind == Kind::List {
            spec.set_by
                .insert((table.into(), key.into()), format!("--build-arg {arg}"));
        }
    }
    if let Some(version) = args.get(UV_VERSION_ARG).filter(|v| !v.trim().is_empty()) {
        let version = version.trim();
        if version.is_empty()
            || !version
                .chars()
                .all(|c| c.is_ascii_alphanumeric() || ".-_".contains(c))
        {
            return Err(error(
                file,
                format!(
                    "--build-arg {UV_VERSION_ARG}={} is not a uv version",
                    quote(version)
                ),
                "use a version such as 0.13.9".into(),
            ));
        }
        let image = spec
            .build
            .uv
            .as_ref()
            .map(|v| v.get_ref().clone())
            .unwrap_or_else(|| crate::settings::DEFAULT_UV_IMAGE.into());
        spec.build.uv = Some(spanned(format!("{}:{version}", without_tag(&image))));
        spec.set_by.insert(
            ("build".into(), "uv".into()),
            format!("--build-arg {UV_VERSION_ARG}"),
        );
    }
    Ok(())
}

/// The named contexts that replace an image, as `--build-context <name>=docker-image://<ref>`
/// replaces a Dockerfile's `FROM <name>`: the uv image, the builder and the runtime base.
pub const IMAGE_CONTEXTS: &[&str] = &["uv", "builder", "base"];

/// Sets `[build] uv`, `builder` or `base` from named contexts of those names; other names are
/// not the frontend's and are left alone, as the Dockerfile frontend leaves unused ones.
pub fn apply_named_contexts(
    spec: &mut Spec,
    file: &SpecFile,
    contexts: &BTreeMap<String, String>,
) -> Result<(), SpecError> {
    for name in IMAGE_CONTEXTS {
        let Some(value) = contexts.get(*name) else {
            continue;
        };
        let Some(image) = value.strip_prefix("docker-image://") else {
            return Err(error(
                file,
                format!("--build-context {name}={} is not an image: the {name} image can only be replaced by another image", shorten(value)),
                format!("use --build-context {name}=docker-image://<image>"),
            ));
        };
        let image = Some(spanned(image.to_string()));
        spec.set_by.insert(
            ("build".into(), (*name).into()),
            format!("--build-context {name}"),
        );
        match *name {
            "uv" => spec.build.uv = image,
            "builder" => spec.build.builder = image,
            _ => spec.build.base = image,
        }
    }
    Ok(())
}

/// `registry:5000/astral-sh/uv` of `registry:5000/astral-sh/uv:0.13.9@sha256:...`.
fn without_tag(image: &str) -> &str {
    let image = image.split('@').next().unwrap_or(image);
    match image.rfind(':') {
        Some(colon) if !image[colon..].contains('/') => &image[..colon],
        _ => image,
    }
}

fn error(file: &SpecFile, message: String, fix: String) -> SpecError {
    SpecError {
        file: file.name.clone(),
        line: 1,
        message,
        fix,
    }
}

fn spanned<T>(value: T) -> Spanned<T> {
    Spanned::new(0..0, value)
}

fn set(
    spec: &mut Spec,
    file: &SpecFile,
    (table, key, kind): (&str, &str, Kind),
    arg: &str,
    value: &str,
) -> Result<(), SpecError> {
    // An empty value is no value (CI's `--build-arg UVF_SYNC_DEV=$X` with X unset): the file's
    // stands. For a list, empty is the empty list.
    if value.trim().is_empty() && kind != Kind::List {
        return Ok(());
    }
    let bool_value = || match value.trim().to_ascii_lowercase().as_str() {
        "1" | "true" | "yes" => Ok(true),
        "0" | "false" | "no" => Ok(false),
        _ => Err(error(
            file,
            format!("--build-arg {arg}={} is not a boolean", quote(value)),
            "use true or false".into(),
        )),
    };
    let list = || -> Vec<Spanned<String>> {
        value
            .split(',')
            .map(str::trim)
            .filter(|v| !v.is_empty())
            .map(|v| spanned(v.to_string()))
            .collect()
    };
    let plain_list = || -> Vec<String> { list().into_iter().map(Spanned::into_inner).collect() };
    let text = || Some(spanned(value.to_string()));
    let keyword = |choices: &str| {
        error(
            file,
            format!("--build-arg {arg}={} is not one of {choices}", quote(value)),
            format!("use one of {choices}"),
        )
    };
    match (table, key) {
        ("build", "uv") => spec.build.uv = text(),
        ("build", "builder") => spec.build.builder = text(),
        ("build", "base") => spec.build.base = text(),
        ("build", "managed-python") => spec.build.managed_python = text(),
        ("build", "network") => spec.build.network = text(),
        ("sync", "package") => spec.sync.package = text(),
        ("sync", "extra") => spec.sync.extra = list(),
        ("sync", "all-extras") => spec.sync.all_extras = Some(bool_value()?),
        ("sync", "group") => spec.sync.group = list(),
        ("sync", "dev") => spec.sync.dev = Some(bool_value()?),
        ("sync", "lock") => {
            let mode = LockMode::deserialize(value.into_deserializer())
                .map_err(|_: serde::de::value::Error| keyword("locked, frozen"))?;
            spec.sync.lock = Some(spanned(mode));
        }
        ("sync", "compile-bytecode") => spec.sync.compile_bytecode = Some(bool_value()?),
        ("sync", "no-editable") => spec.sync.no_editable = Some(bool_value()?),
        ("cache", "id") => spec.cache.id = text(),
        ("cache", "dir") => spec.cache.dir = text(),
        ("cache", "sharing") => {
            let sharing = CacheSharing::deserialize(value.into_deserializer())
                .map_err(|_: serde::de::value::Error| keyword("shared, locked, private"))?;
            spec.cache.sharing = Some(sharing);
        }
        ("run", "workdir") => spec.run.workdir = text(),
        ("build", "apt") => spec.build.apt = Some(spanned(plain_list())),
        ("run", "apt") => spec.run.apt = Some(spanned(plain_list())),
        ("run", "include") => spec.run.include = Some(spanned(plain_list())),
        ("test", "skip") => spec.test.skip = Some(bool_value()?),
        _ => unreachable!("every OVERRIDES entry is set above"),
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_table_and_key() {
        assert_eq!(
            arg_name("sync", "compile-bytecode"),
            "UVF_SYNC_COMPILE_BYTECODE"
        );
    }

    #[test]
    fn uv_version_replaces_only_the_tag() {
        assert_eq!(without_tag("127.0.0.1:5000/uv:0.13.9"), "127.0.0.1:5000/uv");
        assert_eq!(without_tag("127.0.0.1:5000/uv"), "127.0.0.1:5000/uv");
        assert_eq!(
            without_tag("ghcr.io/astral-sh/uv:0.9@sha256:ab"),
            "ghcr.io/astral-sh/uv"
        );
    }
}
