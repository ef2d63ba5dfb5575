//! Steps both the builder and the runtime stages take: apt packages, and what of the build
//! context is never copied.

use super::names::STALE_BYTECODE;
use super::{AptInstallStep, CacheMount, Step};
use crate::llb::CacheSharing;
use crate::settings::Settings;

/// `apt-get install` of `packages`, apt's lists and archives on cache mounts whose ids are the
/// uv cache's with a suffix: they cannot be the uv cache, and are shared by every build.
pub(super) fn apt_install(s: &Settings, packages: &[String]) -> Step {
    let cache = |what: &str, target: &str| CacheMount {
        id: format!("{}-apt-{what}", s.cache.id),
        target: target.into(),
        // apt locks its lists and archives; concurrent builds would fail on the lock.
        sharing: CacheSharing::Locked,
    };
    Step::AptInstall(AptInstallStep {
        name: format!("apt-get install {}", crate::plan::short_list(packages, " ")),
        packages: packages.to_vec(),
        caches: [
            cache("lists", "/var/lib/apt/lists"),
            cache("archives", "/var/cache/apt"),
        ],
    })
}

/// What is never copied from the build context into the runtime image: what the build's steps
/// never get ([`Settings::context_excludes`]), bytecode a checkout may hold (a wheel never has it
/// either) and a git checkout's `.git` (phase 2 keeps it: a version may come from it).
pub(super) fn copied_excludes(s: &Settings) -> Vec<String> {
    s.context_excludes
        .iter()
        .map(String::as_str)
        .chain(
            STALE_BYTECODE
                .iter()
                .copied()
                .chain([".git"])
                .filter(|p| !s.context_excludes.iter().any(|e| e == p)),
        )
        .map(str::to_string)
        .collect()
}
