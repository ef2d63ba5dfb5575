//! Before anything is built: read `uv.build` and the project files through the gateway, check
//! the BuildKit's caps, resolve the settings and make the plan. Builds and subrequests
//! (`--call`) share it.

mod read;

use crate::frontend::BuildError;
use crate::gateway::Bridge;
use crate::gateway::BuildOpts;
use crate::llb;
use crate::plan::plan;
use crate::project::{ContextFiles, Project};
use crate::reads::{read_accounts, read_members, resolve_config, BaseAccounts, ResolvedConfig};
use crate::settings::{BuildFacts, Settings, SyncNetwork, Target};
use crate::spec::{self, SpecError, SpecFile};
use read::{read_spec_and_project, Read};

/// Everything a build (or a subrequest about it) knows before it solves anything but reads.
pub struct Prepared {
    pub caps: crate::gateway::Capabilities,
    pub platform: llb::Platform,
    pub cache_imports: Vec<crate::gateway::CacheImport>,
    /// BuildKit's image resolve mode (`pull` with `--pull`), for every image.
    pub resolve_mode: String,
    pub spec_file: SpecFile,
    pub spec: spec::Spec,
    /// The files errors can point into: the spec, `pyproject.toml`, `uv.lock`.
    pub sources: Vec<(String, String)>,
    pub files: ContextFiles,
    pub project: Project,
    /// The workspace packages' own `pyproject.toml` files, by package name.
    pub members: std::collections::BTreeMap<String, crate::project::PyProject>,
    pub settings: Settings,
    pub plan: crate::plan::Plan,
    /// The vertex that loaded the spec: warnings about it belong there.
    pub spec_vertex: String,
    /// The base's, builder's and uv image's configs (and digests), by image name.
    configs: Configs,
}

/// Resolved image configs by image name; an error is kept for whoever needs the image.
type Configs = std::collections::BTreeMap<String, Result<ResolvedConfig, String>>;

/// Reads `uv.build` and the project files, resolves the settings and makes the plan.
///
/// Gateway calls that do not depend on each other are made at once: `uv.build` and the project
/// files; then the base image's config; then the members' files, the base image's accounts and
/// the other images' configs.
pub async fn prepare<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    platform: &llb::Platform,
) -> Result<Prepared, BuildError> {
    let caps = checked_caps(bridge).await?;
    let platform = platform.clone();
    let cache_imports = opts.cache_imports().map_err(BuildError::plain)?;
    let resolve_mode = opts
        .image_resolve_mode()
        .map_err(BuildError::plain)?
        .to_string();
    let facts = build_facts(opts, &caps, &platform)?;
    let Read {
        spec_vertex,
        spec_file,
        spec,
        sources,
        files,
        mut project,
    } = read_spec_and_project(bridge, opts, &platform).await?;

    let (members, accounts, configs) = read_images(
        bridge,
        opts,
        (&spec, &project),
        (&platform, &resolve_mode),
        &cache_imports,
    )
    .await;
    let base_image = crate::settings::base_image(&spec, &project);
    let (members, present_layout_files) = members;
    project.present_layout_files = present_layout_files;
    let accounts = accounts.map_err(|cause| {
        image_failure(
            &spec_file,
            &spec,
            &sources,
            "base",
            &base_image,
            &platform,
            &cause,
        )
    })?;
    let facts = BuildFacts {
        base_passwd: accounts.passwd,
        base_group: accounts.group,
        ..facts
    };
    let settings = Settings::resolve(&spec_file, &spec, &files, &project, &members, &facts)
        .map_err(|e| BuildError::located(e, &sources))?;
    let plan = plan(&settings);
    Ok(Prepared {
        caps,
        platform,
        cache_imports,
        resolve_mode,
        spec_file,
        spec,
        sources,
        files,
        project,
        members,
        settings,
        plan,
        spec_vertex,
        configs,
    })
}

/// BuildKit's caps, logged, once they are checked to hold the ones the frontend needs.
async fn checked_caps<B: Bridge>(bridge: &B) -> Result<crate::gateway::Capabilities, BuildError> {
    let caps = bridge
        .ping()
        .await
        .map_err(|e| BuildError::plain(e.to_string()))?;
    // stderr goes to BuildKit's log, for operators; users see vertex names and Return errors.
    eprintln!(
        "uv-frontend: gateway caps [{}]; LLB caps [{}]",
        caps.frontend.iter().cloned().collect::<Vec<_>>().join(" "),
        caps.llb.iter().cloned().collect::<Vec<_>>().join(" ")
    );
    caps.check_required().map_err(BuildError::plain)?;
    Ok(caps)
}

/// What the build's options and BuildKit's caps say, before anything is read (the base image's
/// accounts come later).
fn build_facts(
    opts: &BuildOpts,
    caps: &crate::gateway::Capabilities,
    platform: &llb::Platform,
) -> Result<BuildFacts, BuildError> {
    let extra_hosts = opts.extra_hosts().map_err(BuildError::plain)?;
    let network = opts
        .network_mode()
        .map_err(BuildError::plain)?
        .map(|mode| match mode {
            "host" => SyncNetwork::Host,
            "none" => SyncNetwork::None,
            _ => SyncNetwork::Default,
        });
    let target = Target::named(opts.target()).ok_or_else(|| {
        BuildError::plain(format!(
            "uv.build has no target {}: its targets are {} (see --call=targets; buildx 0.13: BUILDX_EXPERIMENTAL=1 --print=targets)",
            crate::spec::quote(opts.target()),
            Target::ALL
                .iter()
                .map(|(n, _, _)| *n)
                .collect::<Vec<_>>()
                .join(", ")
        ))
    })?;
    Ok(BuildFacts {
        base_passwd: None,
        base_group: None,
        merge_diff: caps.has_llb("mergeop") && caps.has_llb("diffop"),
        platform: platform.clone(),
        build_args: opts.build_args(),
        target,
        labels: opts.labels(),
        network,
        extra_hosts,
    })
}

/// The workspace members' `pyproject.toml` files by package name, and which of the module
/// directories third-party backends would find are there ([`read_members`]).
type Members = (
    std::collections::BTreeMap<String, crate::project::PyProject>,
    std::collections::BTreeSet<String>,
);

/// The workspace members' files, the base image's accounts, and the images' configs.
///
/// The base image is named in the spec (or defaulted from the project) and its account files
/// decide the runtime user's ids, so they are read before settings are resolved. Its config
/// comes first: the digest it resolves to pins the image, so that the accounts' read and the
/// build load it without asking the registry again. The other images' configs (which pin them
/// too) are resolved while the accounts and the members' files are read, one after the other:
/// on a pruned containerd-store builder, image lookups made at once stalled each other for
/// 0.4-1.5 s where one after the other each took 30-90 ms (docs/benchmarks.md).
async fn read_images<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    (spec, project): (&spec::Spec, &Project),
    (platform, resolve_mode): (&llb::Platform, &str),
    cache_imports: &[crate::gateway::CacheImport],
) -> (Members, Result<BaseAccounts, String>, Configs) {
    let base_image = crate::settings::base_image(spec, project);
    let mut configs = Configs::new();
    let base = std::slice::from_ref(&base_image);
    resolve_configs(bridge, &mut configs, base, platform, resolve_mode).await;
    let pinned_base = pinned(&configs, &base_image);
    let others = [
        crate::settings::builder_image(spec, project),
        crate::settings::uv_image(spec),
    ];
    let (members, accounts, ()) = tokio::join!(
        read_members(bridge, opts, project, platform),
        read_accounts(
            bridge,
            (&base_image, &pinned_base),
            platform,
            resolve_mode,
            cache_imports
        ),
        resolve_configs(bridge, &mut configs, &others, platform, resolve_mode),
    );
    (members, accounts, configs)
}

/// Adds the configs of `images` not in `configs` yet, one after the other.
async fn resolve_configs<B: Bridge>(
    bridge: &B,
    configs: &mut Configs,
    images: &[String],
    platform: &llb::Platform,
    resolve_mode: &str,
) {
    for image in images {
        if !configs.contains_key(image) {
            let config = resolve_config(bridge, image, platform, resolve_mode).await;
            configs.insert(image.clone(), config);
        }
    }
}

/// `image` pinned to the digest its config resolved to, or as named when it did not resolve.
fn pinned(configs: &Configs, image: &str) -> String {
    match configs.get(image) {
        Some(Ok(resolved)) => resolved.pinned(image),
        _ => image.to_string(),
    }
}

impl Prepared {
    /// The config of `image` for this build's platform: resolved already for the builder and
    /// base images the project defaults to, else now.
    pub async fn image_config<B: Bridge>(
        &self,
        bridge: &B,
        image: &str,
    ) -> Result<serde_json::Value, String> {
        match self.configs.get(image) {
            Some(resolved) => resolved.clone().map(|r| r.config),
            None => resolve_config(bridge, image, &self.platform, &self.resolve_mode)
                .await
                .map(|r| r.config),
        }
    }

    /// `image` pinned to the digest its config resolved to, or as named when it did not.
    pub fn pinned(&self, image: &str) -> String {
        pinned(&self.configs, image)
    }

    /// Each image whose config resolved, by name: the name pinned to its digest.
    pub fn pins(&self) -> std::collections::BTreeMap<String, String> {
        self.configs
            .keys()
            .map(|image| (image.clone(), pinned(&self.configs, image)))
            .collect()
    }

    /// [`image_failure`] for this build's `role` image (`builder` or `base`).
    pub fn image_failure(&self, role: &str, cause: &str) -> BuildError {
        let image = match role {
            "base" => &self.plan.images.base,
            "uv" => &self.plan.images.uv,
            _ => &self.plan.images.builder,
        };
        image_failure(
            &self.spec_file,
            &self.spec,
            &self.sources,
            role,
            image,
            &self.platform,
            cause,
        )
    }
}

/// An image that could not be loaded or resolved, as an error at the key of `uv.build` that
/// names it (the base defaults to the builder), or at the top when it is a default.
pub fn image_failure(
    spec_file: &SpecFile,
    spec: &spec::Spec,
    sources: &[(String, String)],
    role: &str,
    image: &str,
    platform: &llb::Platform,
    cause: &str,
) -> BuildError {
    // Without [build] base, the base is the builder image: call it that.
    let (role, key) = match (role, &spec.build.base) {
        ("base", Some(base)) => ("base", Some(base)),
        ("uv", _) => ("uv", spec.build.uv.as_ref()),
        _ => ("builder", spec.build.builder.as_ref()),
    };
    // The image as the spec names it, and BuildKit's reason, which names it too: both cut.
    let image = &spec::shorten(image);
    let message = format!(
        "the {role} image {image} could not be loaded for {platform}: {}",
        spec::shorten_to(cause, 2 * spec::QUOTED_MAX + 200)
    );
    let (offset, fix) = match key {
        Some(v) => (
            v.span().start,
            match spec.set_by("build", role) {
                Some(flag) => format!(
                    "check {flag}: the image must exist for {platform} and be reachable"
                ),
                None => format!(
                    "check [build] {role}: the image must exist for {platform} and be reachable"
                ),
            },
        ),
        None if role == "uv" => (
            0,
            format!("{image} is the default uv image: set [build] uv to an image holding /uv that this builder can pull"),
        ),
        None if spec.build.managed_python.is_some() => (
            spec.build.managed_python.as_ref().map_or(0, |v| v.span().start),
            format!("{image} is the default with [build] managed-python: set [build] builder (and base) to an image this builder can pull"),
        ),
        None => (
            0,
            format!("{image} is the default, from the project's Python version: set [build] builder to an image this builder can pull"),
        ),
    };
    BuildError::located(SpecError::at(spec_file, offset, message, fix), sources)
}

/// The lint findings of a prepared build, with its options and the builder image's config.
pub fn findings(
    prepared: &Prepared,
    opts: &BuildOpts,
    builder_config: &serde_json::Value,
) -> Vec<crate::lint::Finding> {
    crate::lint::lint(
        &prepared.spec_file,
        &prepared.spec,
        &prepared.settings,
        &prepared.files,
        opts,
        &crate::image::env_of(builder_config),
    )
}

/// A finding as a build warning, located in its file when it has a line there.
pub fn warning_of(prepared: &Prepared, finding: &crate::lint::Finding) -> crate::gateway::Warning {
    let location = finding.line.and_then(|line| {
        prepared
            .sources
            .iter()
            .find(|(name, _)| *name == finding.file)
            .map(|(name, text)| (name.clone(), text.clone(), line))
    });
    crate::gateway::Warning {
        vertex: prepared.spec_vertex.clone(),
        short: format!("{}: {}", finding.rule, finding.detail),
        detail: vec![finding.description.to_string()],
        url: String::new(),
        location,
    }
}
