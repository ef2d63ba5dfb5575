//! The frontend's flow: read `uv.build` and the project files through the gateway, resolve,
//! plan, lower, solve, and Return the result (or the error, located in the file at fault).

use std::collections::BTreeMap;

use futures_util::future::join_all;

use crate::gateway::status::SourceLocation;
use crate::gateway::{error_status, Bridge, BuildOpts, FrontendResult};
use crate::image::runtime_config;
use crate::interpreter_check;
use crate::llb::{self, pb};
use crate::lower::{lower, lower_checks, LowerInputs};
use crate::plan::CheckKind;
use crate::prepare::{findings, prepare, warning_of, Prepared};
use crate::spec::SpecError;
use crate::step_failure::exec_step_names;

/// A failed build: a one-line message and, when it is about a file we read, where.
#[derive(Debug)]
pub struct BuildError {
    pub message: String,
    /// File name, its text and the 1-based line.
    pub location: Option<(String, String, usize)>,
}

impl BuildError {
    pub(crate) fn plain(message: impl Into<String>) -> BuildError {
        BuildError {
            message: message.into(),
            location: None,
        }
    }

    /// A spec (or project file) error, located in whichever of `files` (name, text) it names.
    pub(crate) fn located<S: AsRef<str>>(error: SpecError, files: &[(S, S)]) -> BuildError {
        let location = files
            .iter()
            .find(|(name, _)| name.as_ref() == error.file)
            .map(|(name, text)| {
                (
                    name.as_ref().to_string(),
                    text.as_ref().to_string(),
                    error.line,
                )
            });
        BuildError {
            message: error.to_string(),
            location,
        }
    }

    pub fn to_status(&self) -> bollard_buildkit_proto::google::rpc::Status {
        error_status(
            &self.message,
            self.location
                .as_ref()
                .map(|(filename, text, line)| SourceLocation {
                    filename,
                    text,
                    line: *line,
                }),
        )
    }
}

/// What a successful build returns.
#[derive(Debug)]
pub struct BuiltImage {
    pub reference: String,
    pub config: Vec<u8>,
    /// The config of the base image (the builder's for the dev image).
    pub base_config: Vec<u8>,
}

/// Runs the whole build (or answers the subrequest) and Returns its result to BuildKit. Only a
/// failure to talk to BuildKit is an `Err`; build failures are Returned as errors, and so is a
/// panic: a bug must not leave BuildKit waiting.
pub async fn run<B: Bridge>(bridge: &B, opts: &BuildOpts, now: i64) -> anyhow::Result<()> {
    let result = crate::panic_guard::catch_panics(answer(bridge, opts, now))
        .await
        .unwrap_or_else(|panic| {
            let message = crate::panic_guard::internal_error(opts.filename(), &panic);
            FrontendResult::Error(error_status(&message, None))
        });
    bridge.finish(result).await
}

/// The answer to the request: a subrequest's metadata, the built image(s), or the error.
async fn answer<B: Bridge>(bridge: &B, opts: &BuildOpts, now: i64) -> FrontendResult {
    let Some(request) = opts.subrequest() else {
        return match build_all(bridge, opts, now).await {
            Ok(result) => result,
            Err(error) => FrontendResult::Error(error.to_status()),
        };
    };
    match request {
        crate::subrequests::OUTLINE | crate::subrequests::LINT => {
            match inspect(bridge, opts, request).await {
                Ok(metadata) => FrontendResult::Metadata(metadata),
                Err(error) => FrontendResult::Error(error.to_status()),
            }
        }
        _ => match crate::subrequests::answer(request) {
            Ok(metadata) => FrontendResult::Metadata(metadata),
            Err(message) => FrontendResult::Error(error_status(&message, None)),
        },
    }
}

/// One image, or with several `--platform`s one per platform, built in turn (the first failure
/// ends the build, naming its platform).
async fn build_all<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    now: i64,
) -> Result<FrontendResult, BuildError> {
    let platforms = opts.platforms();
    if let ([platform], false) = (platforms.as_slice(), opts.multi_platform()) {
        let image = build_for(bridge, opts, platform, false, now).await?;
        return Ok(FrontendResult::Image {
            reference: image.reference,
            config: image.config,
            base_config: Some(image.base_config),
        });
    }
    let named = platforms.len() > 1;
    let mut images = Vec::new();
    for platform in &platforms {
        let image = build_for(bridge, opts, platform, named, now)
            .await
            .map_err(|mut e| {
                e.message = format!("{platform}: {}", e.message);
                e
            })?;
        images.push(crate::gateway::PlatformImage {
            platform: platform.clone(),
            reference: image.reference,
            config: image.config,
            base_config: Some(image.base_config),
        });
    }
    Ok(FrontendResult::Images(images))
}

/// `--call=outline` and `--call=check`: what the build would take, and what looks wrong,
/// from the spec and project files, without building anything.
async fn inspect<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    request: &str,
) -> Result<BTreeMap<String, Vec<u8>>, BuildError> {
    let prepared = prepare(bridge, opts, &opts.platform()).await?;
    if request == crate::subrequests::OUTLINE {
        return Ok(crate::subrequests::outline(&prepared));
    }
    let builder_config = prepared
        .image_config(bridge, &prepared.plan.images.builder)
        .await
        .map_err(|cause| prepared.image_failure("builder", &cause))?;
    Ok(crate::subrequests::lint_result(
        &prepared,
        &findings(&prepared, opts, &builder_config),
    ))
}

fn stage_of(lowered: &crate::lower::Lowered, stage: &str) -> Result<llb::State, BuildError> {
    lowered
        .stages
        .get(stage)
        .cloned()
        .ok_or_else(|| BuildError::plain(format!("the plan has no stage {stage}")))
}

/// Reads, resolves, plans, lowers and solves for the first platform. Public for tests.
pub async fn build<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    now: i64,
) -> Result<BuiltImage, BuildError> {
    build_for(bridge, opts, &opts.platform(), false, now).await
}

/// Reads, resolves, plans, lowers and solves for `platform`; `named` puts the platform into
/// every step's progress name, as in a multi-platform build.
async fn build_for<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    platform: &llb::Platform,
    named: bool,
    now: i64,
) -> Result<BuiltImage, BuildError> {
    let prepared = prepare(bridge, opts, platform).await?;
    let platform_name = named.then(|| prepared.platform.to_string());
    let Prepared {
        platform,
        cache_imports,
        resolve_mode,
        settings,
        plan,
        ..
    } = &prepared;
    let (builder_config, base_config) = checked_configs(bridge, opts, &prepared).await?;
    // `--no-cache` (every stage) or `--no-cache-filter` (the named ones): the sync steps of those
    // stages rerun (a nonce in their environment) and their vertices ignore the cache.
    let no_cache = opts.no_cache();
    let mut inputs = LowerInputs {
        platform: platform.clone(),
        session_id: opts.session_id.clone(),
        context_name: opts.context_local().to_string(),
        builder_config: &builder_config,
        base_config: &base_config,
        proxy: proxy_env(&opts.build_args()),
        resolve_mode: resolve_mode.clone(),
        pins: prepared.pins(),
        rerun: no_cache
            .clone()
            .map(|stages| (opts.session_id.clone(), stages)),
        venv_layout: None,
    };
    let mut lowered = lower(plan, &inputs).map_err(BuildError::plain)?;
    let definition_of =
        |state: &llb::State| definition_for(no_cache.as_deref(), platform_name.as_deref(), state);
    let failed = |e: anyhow::Error, step_names: &[(String, String)]| {
        crate::step_failure::build_error(&prepared, &e.to_string(), step_names)
    };
    let layout = venv_layout(bridge, &prepared, &lowered, &definition_of).await?;
    if layout.is_some() {
        inputs.venv_layout = layout.as_ref();
        lowered = lower(plan, &inputs).map_err(BuildError::plain)?;
    }
    let image_base = if settings.target.is_builder() {
        &builder_config
    } else {
        &base_config
    };
    // Checked before it ships: the venv's interpreter is in the runtime image, at the venv's
    // Python version, and starts there; then the spec's smoke test. The checks build on the
    // image, so they are solved with it: each starts as soon as what it runs on is built, side
    // by side (the interpreter check needs only the dependency layers).
    let checks = lower_checks(plan, &lowered, image_base)
        .map_err(BuildError::plain)?
        .into_iter()
        .map(|(check, state)| (check, definition_of(&state)));
    let definition = definition_of(&lowered.result);
    let step_names = exec_step_names(&definition);
    let (built, checked) = tokio::join!(
        bridge.solve(definition, cache_imports, true),
        join_all(checks.map(|(check, definition)| async move {
            let solved = bridge.solve(definition, cache_imports, true).await;
            (check, solved.err())
        })),
    );
    // The image's own failure first: the checks fail with it.
    let reference = built.map_err(|e| failed(e, &step_names))?;

    let created = settings.source_date_epoch.unwrap_or(now);
    let config = runtime_config(
        image_base,
        &plan.image,
        platform,
        &crate::image::rfc3339(created),
    );
    // The image's own commands, looked up in it (a typo would fail every `docker run`).
    if !settings.target.is_builder() {
        crate::command_check::check(bridge, &prepared, &reference, &config).await?;
    }
    for (check, error) in checked {
        if let Some(error) = error {
            return Err(check_failure(bridge, &prepared, &reference, &check, &error).await);
        }
    }

    Ok(BuiltImage {
        reference,
        config: serde_json::to_vec(&config).expect("a JSON value serializes"),
        base_config: serde_json::to_vec(image_base).expect("a JSON value serializes"),
    })
}

/// The builder's and the base image's configs (env for the steps, and the runtime image's base
/// config), once the images are checked for what would fail late (or not at all) and the
/// likely mistakes are sent as build warnings (buildx prints them after the build; never fatal).
async fn checked_configs<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    prepared: &Prepared,
) -> Result<(serde_json::Value, serde_json::Value), BuildError> {
    let images = &prepared.plan.images;
    let builder_config = prepared
        .image_config(bridge, &images.builder)
        .await
        .map_err(|cause| prepared.image_failure("builder", &cause))?;
    let base_config = prepared
        .image_config(bridge, &images.base)
        .await
        .map_err(|cause| prepared.image_failure("base", &cause))?;
    crate::image_checks::check(bridge, prepared, &builder_config, &base_config).await?;
    for finding in findings(prepared, opts, &builder_config) {
        let _ = bridge.warn(&warning_of(prepared, &finding)).await;
    }
    Ok((builder_config, base_config))
}

/// The definition of `state` as this build solves it: the vertices of the stages `--no-cache`
/// names (`no_cache`; empty: every stage) marked to ignore the cache, and with several platforms
/// the platform in every progress name.
fn definition_for(
    no_cache: Option<&[String]>,
    platform_name: Option<&str>,
    state: &llb::State,
) -> pb::Definition {
    let mut definition = match no_cache {
        None => llb::marshal(state).definition,
        // Every vertex, or those of the named stages (vertex names start with `[<stage> `).
        Some(stages) => {
            let ignored = |name: &str| {
                stages.is_empty() || stages.iter().any(|s| name.starts_with(&format!("[{s} ")))
            };
            llb::marshal_ignoring_cache(state, &ignored).definition
        }
    };
    if let Some(name) = platform_name {
        llb::prefix_names(&mut definition, name);
    }
    definition
}

/// Big packages get layers of their own where phase 1 is one sync: which files are theirs is
/// read from the dependency stage's venv, so that stage is built first. Its definition is part
/// of the image's, so the build reuses this result. A venv laid out otherwise than uv makes
/// them is copied as one layer (`None`).
async fn venv_layout<B: Bridge>(
    bridge: &B,
    prepared: &Prepared,
    lowered: &crate::lower::Lowered,
    definition_of: &impl Fn(&llb::State) -> pb::Definition,
) -> Result<Option<crate::venv_layout::VenvLayout>, BuildError> {
    let Some((stage, packages)) = prepared.plan.venv_layers() else {
        return Ok(None);
    };
    let definition = definition_of(&stage_of(lowered, stage)?);
    let step_names = exec_step_names(&definition);
    let deps = bridge
        .solve(definition, &prepared.cache_imports, true)
        .await
        .map_err(|e| crate::step_failure::build_error(prepared, &e.to_string(), &step_names))?;
    Ok(
        crate::venv_layout::read(bridge, &deps, &prepared.settings.venv, packages)
            .await
            .ok(),
    )
}

/// The error of a failed check, at the line of `uv.build` it comes from. The interpreter
/// check's command itself checks the venv's Python version, so a passing check needs no reads;
/// a failing one is explained from the image's files.
async fn check_failure<B: Bridge>(
    bridge: &B,
    prepared: &Prepared,
    reference: &str,
    check: &crate::plan::Check,
    error: &anyhow::Error,
) -> BuildError {
    let Prepared {
        spec_file,
        spec,
        settings,
        plan,
        sources,
        ..
    } = prepared;
    let images_line = spec
        .build
        .base
        .as_ref()
        .or(spec.build.builder.as_ref())
        .map(|v| v.span().start)
        .unwrap_or(0);
    if check.kind == CheckKind::Interpreter {
        if let Err(mismatch) = interpreter_check::check(bridge, reference, &settings.venv).await {
            let message =
                interpreter_check::explain(&mismatch, &plan.images.builder, &plan.images.base);
            return BuildError::located(
                SpecError::at(spec_file, images_line, message, ""),
                sources,
            );
        }
    }
    let message = match check.kind {
        CheckKind::Interpreter => format!(
            "interpreter check: {}/bin/python does not start in the runtime image {}: {error}",
            settings.venv, plan.images.base
        ),
        CheckKind::SmokeTest => format!(
            "smoke test `{}` failed in the runtime image: {error} (its output is in the step's log above; skip it with --build-arg UVF_TEST_SKIP=1)",
            check.args.join(" ")
        ),
        CheckKind::DevTests => format!(
            "the project's tests `{}` failed in the dev image: {error} (their output is in the step's log above)",
            check.args.join(" ")
        ),
    };
    let line = match check.kind {
        CheckKind::Interpreter => images_line,
        CheckKind::SmokeTest => spec.test.command.as_ref().map_or(0, |c| c.span().start),
        CheckKind::DevTests => spec.test.dev_command.as_ref().map_or(0, |c| c.span().start),
    };
    BuildError::located(SpecError::at(spec_file, line, message, ""), sources)
}

/// The predefined proxy build args, passed to exec steps the way the Dockerfile frontend does:
/// outside the cache key and the image.
pub fn proxy_env(args: &BTreeMap<String, String>) -> Option<pb::ProxyEnv> {
    let get = |upper: &str| {
        args.get(upper)
            .or_else(|| args.get(&upper.to_ascii_lowercase()))
            .cloned()
            .unwrap_or_default()
    };
    let proxy = pb::ProxyEnv {
        http_proxy: get("HTTP_PROXY"),
        https_proxy: get("HTTPS_PROXY"),
        ftp_proxy: get("FTP_PROXY"),
        no_proxy: get("NO_PROXY"),
        all_proxy: get("ALL_PROXY"),
    };
    (proxy != pb::ProxyEnv::default()).then_some(proxy)
}
