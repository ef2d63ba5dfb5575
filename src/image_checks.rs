//! Checks of the builder and base images against the build, made before anything runs: what
//! would otherwise fail late in a sync step (or not at all, in a mislabelled image).

use crate::frontend::BuildError;
use crate::gateway::Bridge;
use crate::prepare::Prepared;
use crate::settings::SshAgent;
use crate::spec::SpecError;

/// The images' platform, the builder's Python and, for git sources, its git.
pub async fn check<B: Bridge>(
    bridge: &B,
    prepared: &Prepared,
    builder_config: &serde_json::Value,
    base_config: &serde_json::Value,
) -> Result<(), BuildError> {
    let Prepared {
        platform,
        spec_file,
        spec,
        settings,
        plan,
        sources,
        ..
    } = prepared;
    // An image of another platform (BuildKit takes a single-platform image as it is) would give
    // an image of this platform's name with the other's binaries.
    for (role, config) in [("builder", builder_config), ("base", base_config)] {
        let of = |key: &str| config.get(key).and_then(|v| v.as_str()).unwrap_or("");
        let (os, architecture) = (of("os"), of("architecture"));
        if (!os.is_empty() && os != platform.os)
            || (!architecture.is_empty() && architecture != platform.architecture)
        {
            return Err(
                prepared.image_failure(role, &format!("it is for {os}/{architecture} only"))
            );
        }
    }

    // The builder's Python, where its image says which it is, against the project's.
    if settings.managed_python.is_none() {
        let builder_env = crate::image::env_of(builder_config);
        if let Some(why) = crate::settings::builder_python_mismatch(&prepared.project, &builder_env)
        {
            let offset = spec.build.builder.as_ref().map_or(0, |b| b.span().start);
            return Err(BuildError::located(
                SpecError::at(
                    spec_file,
                    offset,
                    format!("the builder image {} {why}", plan.images.builder),
                    "use a builder image with the project's Python (or remove [build] builder to get the official one for it), or let uv install it with [build] managed-python",
                ),
                sources,
            ));
        }
    }

    check_git_tools(bridge, prepared, builder_config).await
}

/// The builder's `git` for the lock's git sources or a version read from git, and its `ssh`
/// for git sources over SSH, unless `[build] apt` installs them: slim images have neither.
async fn check_git_tools<B: Bridge>(
    bridge: &B,
    prepared: &Prepared,
    builder_config: &serde_json::Value,
) -> Result<(), BuildError> {
    let settings = &prepared.settings;
    let apt_has = |package: &str| settings.build_apt.iter().any(|p| p == package);
    let git = git_needed_for(prepared).filter(|_| !apt_has("git"));
    let ssh =
        (settings.sync.ssh == SshAgent::Required && !apt_has("openssh-client") && !apt_has("ssh"))
            .then_some("ssh");
    let wanted: Vec<&str> = git.as_ref().map(|_| "git").into_iter().chain(ssh).collect();
    if wanted.is_empty() {
        return Ok(());
    }
    let builder = &prepared.plan.images.builder;
    let missing = crate::reads::image_lacks_commands(
        bridge,
        (builder, &prepared.pinned(builder)),
        &prepared.platform,
        &prepared.resolve_mode,
        &prepared.cache_imports,
        &crate::image::env_of(builder_config),
        &wanted,
    )
    .await
    .map_err(|cause| prepared.image_failure("builder", &cause))?;
    let message = match (&git, missing.first()) {
        (_, None) => return Ok(()),
        (Some((why, _)), Some(&"git")) => {
            format!("{why}, and the builder image {builder} has no git on its PATH")
        }
        _ => format!(
            "uv.lock has git sources over SSH ({}), which git fetches with ssh, and the builder image {builder} has no ssh on its PATH",
            settings.sync.ssh_git_hosts.join(", ")
        ),
    };
    let fix = git_tools_fix(&missing, git.is_some_and(|(_, pretend)| pretend));
    let offset = prepared
        .spec
        .build
        .builder
        .as_ref()
        .map_or(0, |b| b.span().start);
    Err(BuildError::located(
        SpecError::at(&prepared.spec_file, offset, message, fix),
        &prepared.sources,
    ))
}

/// How to give the builder the `missing` commands (`git`, `ssh`): packages of their own, or an
/// image that has them; for a version read from git (`pretend`), the other ways too.
fn git_tools_fix(missing: &[&str], pretend: bool) -> String {
    let packages: Vec<String> = missing
        .iter()
        .map(|c| match *c {
            "ssh" => "\"openssh-client\"".to_string(),
            other => format!("\"{other}\""),
        })
        .collect();
    let (them, has) = match missing {
        [only] => (*only, "has it"),
        _ => ("git and ssh", "has both"),
    };
    let fix = format!(
        "add [build] apt = [{}], or use a builder image with {them} (python:<version>-bookworm {has}, the -slim ones do not; the runtime base can stay slim with [build] base)",
        packages.join(", ")
    );
    if pretend {
        format!("{fix}; keep .git in the build context too; or give the version with --build-arg SETUPTOOLS_SCM_PRETEND_VERSION=<version>")
    } else {
        fix
    }
}

/// Why the sync steps need git, if they do: the lock's git sources, or a package whose build
/// reads its version from git (unless `SETUPTOOLS_SCM_PRETEND_VERSION` gives it, which
/// setuptools-scm and hatch-vcs take instead).
fn git_needed_for(prepared: &Prepared) -> Option<(String, bool)> {
    if prepared.project.lock.git_sources {
        return Some((
            "uv.lock has git sources, which uv fetches with git".into(),
            false,
        ));
    }
    let pretend = &prepared.settings.scm_pretend_version;
    prepared
        .settings
        .git_versioned
        .iter()
        .find_map(|(package, requirement)| {
            // setuptools-scm reads SETUPTOOLS_SCM_PRETEND_VERSION, and the _FOR_<PACKAGE>
            // form when its build knows the distribution's name (setuptools); hatch-vcs only
            // the plain form. The other plugins read neither.
            let reads_pretend = matches!(requirement.as_str(), "setuptools-scm" | "hatch-vcs");
            let per_package = format!(
                "SETUPTOOLS_SCM_PRETEND_VERSION_FOR_{}",
                package
                    .to_ascii_uppercase()
                    .replace(|c: char| !c.is_ascii_alphanumeric(), "_")
            );
            let given = reads_pretend
                && (pretend.contains_key("SETUPTOOLS_SCM_PRETEND_VERSION")
                    || (requirement == "setuptools-scm" && pretend.contains_key(&per_package)));
            (!given).then(|| {
                let why = format!(
                    "building the project needs git: its build system requires {requirement}, which reads the version from git"
                );
                let why = match (requirement.as_str(), pretend.contains_key(&per_package)) {
                    ("hatch-vcs", true) => format!(
                        "{why} (hatch-vcs does not read {per_package}, only SETUPTOOLS_SCM_PRETEND_VERSION)"
                    ),
                    _ => why,
                };
                (why, reads_pretend)
            })
        })
}
