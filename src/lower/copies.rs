//! Copies, lowered: where a copied path comes from (a stage, the build context, what a stage
//! changed), the build context's local sources, and the file ops that copy into layers.

use crate::llb::{self, Chown, CopyOptions, LocalOptions, State};
use crate::plan::{CopyContextStep, DiffMethod, PathSource, Plan, Step};
use crate::venv_layout::VenvLayout;

use super::{stage_state, Built, LowerInputs};

/// Where a copied `path` comes from: the source's state, and the path's place in it (the same
/// path, but for the build context, which holds it relative to `dir`).
fn path_source(
    inputs: &LowerInputs<'_>,
    built: &Built,
    from: &PathSource,
    path: &str,
) -> Result<(State, String), String> {
    let state = match from {
        PathSource::Stage(stage) => stage_state(&built.stages, stage)?,
        PathSource::Context {
            dir,
            include,
            exclude,
        } => {
            if path == dir {
                // The whole context (or the paths it includes), as `dir`.
                let progress = format!("load the build context for {dir}");
                let source = filtered_context(inputs, (include, exclude), &progress);
                return Ok((source, "/".to_string()));
            }
            let relative = path
                .strip_prefix(dir.as_str())
                .and_then(|p| p.strip_prefix('/'))
                .ok_or_else(|| format!("{path} is not under {dir}, the build context's place"))?;
            // Only this path is sent, and only it is checksummed.
            let source = context(
                inputs,
                &LocalOptions {
                    include_patterns: vec![relative.to_string()],
                    follow_paths: vec![relative.to_string()],
                    exclude_patterns: exclude.clone(),
                    ..Default::default()
                },
                &format!("load {relative} from the build context"),
            );
            return Ok((source, format!("/{relative}")));
        }
        // Over what the upper stage's steps ran on (the lower stage, and the layers the upper
        // stacked onto it first, such as the context's copy), else over the lower stage.
        PathSource::Diff {
            lower,
            upper,
            method: DiffMethod::DiffOp,
        } => llb::diff(
            &match built.ran_on.get(upper) {
                Some(ran_on) => ran_on.clone(),
                None => stage_state(&built.stages, lower)?,
            },
            &stage_state(&built.stages, upper)?,
            &format!("[{upper}] changes over {lower}"),
        ),
        PathSource::Diff {
            upper,
            method: DiffMethod::Written,
            ..
        } => built.written.get(upper).cloned().ok_or_else(|| {
            format!("the plan takes what stage {upper} wrote, but no sync step there collects it")
        })?,
    };
    Ok((state, path.to_string()))
}

/// A [`CopyContextStep`] onto `onto` (the stage, or scratch for a layer of its own).
pub(super) fn copy_context(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    onto: &State,
    step: &CopyContextStep,
) -> State {
    let CopyContextStep {
        name,
        dir,
        include,
        exclude,
        empty_files,
        ..
    } = step;
    let context = filtered_context(inputs, (include, exclude), "load build context");
    // With SOURCE_DATE_EPOCH the sources get that time too: uv records the project's
    // directory times in its installer metadata (uv_cache.json).
    let mut op = onto.file().created_at(plan.source_date_epoch).copy(
        &context,
        "/",
        dir,
        &copy_options(None),
    );
    for path in empty_files {
        if let Some((parent, _)) = path.rsplit_once('/') {
            op = op.mkdir(&format!("{dir}/{parent}"), 0o755, None);
        }
        op = op.mkfile(&format!("{dir}/{path}"), 0o644, b"", None);
    }
    op.done(name)
}

/// A copy step, lowered: what it copies from, under which path, to whom, and its layers.
pub(super) struct Copies {
    pub(super) source: State,
    /// The path copied, as the source holds it; each part's paths are relative to it.
    pub(super) root: String,
    /// Where it goes in the image.
    pub(super) dest: String,
    pub(super) owner: (u32, u32),
    /// Each layer: its paths (the empty path: all of `root`) and progress name.
    pub(super) parts: Vec<(Vec<String>, String)>,
    /// Made on its own and stacked with MergeOp, or copied onto the stage in turn.
    pub(super) separate_layer: bool,
}

/// The layers of a [`Step::CopyPath`] (one, of its path) or a [`Step::CopyVenv`] (one per
/// own-layer package and the rest, given the venv's layout; else one).
pub(super) fn copies_of(
    step: &Step,
    prefix: &str,
    inputs: &LowerInputs<'_>,
    built: &Built,
) -> Result<Copies, String> {
    Ok(match step {
        Step::CopyPath {
            name,
            from,
            path,
            uid,
            gid,
            separate_layer,
        } => {
            let (source, root) = path_source(inputs, built, from, path)?;
            Copies {
                source,
                root,
                dest: path.clone(),
                owner: (*uid, *gid),
                parts: vec![(vec![String::new()], name.clone())],
                separate_layer: *separate_layer,
            }
        }
        Step::CopyVenv {
            name,
            from,
            venv,
            uid,
            gid,
            separate_layer,
            ..
        } => Copies {
            source: stage_state(&built.stages, from)?,
            root: venv.clone(),
            dest: venv.clone(),
            owner: (*uid, *gid),
            parts: venv_parts(inputs.venv_layout, prefix, name, venv, from),
            separate_layer: *separate_layer,
        },
        other => return Err(format!("{} is not a copy step", other.name())),
    })
}

/// The copies that make up a venv's layers, each its paths (relative to the venv) and progress
/// name: one per own-layer package that is installed, then the rest; without a layout, the
/// whole venv (the empty path) under the step's own name.
fn venv_parts(
    layout: Option<&VenvLayout>,
    prefix: &str,
    name: &str,
    venv: &str,
    from: &str,
) -> Vec<(Vec<String>, String)> {
    let Some(layout) = layout else {
        return vec![(vec![String::new()], name.to_string())];
    };
    // Every part keeps the step's progress prefix (`[runtime-deps 2/2] `).
    let mut parts: Vec<(Vec<String>, String)> = layout
        .own
        .iter()
        .filter(|(_, paths)| !paths.is_empty())
        .map(|(package, paths)| {
            (
                paths.clone(),
                format!("{prefix}copy {package} into {venv} from {from} (a layer of its own)"),
            )
        })
        .collect();
    if !layout.rest.is_empty() {
        parts.push((
            layout.rest.clone(),
            format!("{prefix}copy the rest of {venv} from {from}"),
        ));
    }
    parts
}

/// `paths` under `root` of `from` (the empty path: `root` itself), each copied to the same
/// path under `dest`, owned by `uid:gid`, in one file op: one layer.
pub(super) fn copy_paths(
    onto: &State,
    from: &State,
    (root, dest): (&str, &str),
    paths: &[String],
    (uid, gid): (u32, u32),
    created: Option<i64>,
    name: &str,
) -> State {
    let mut op = onto.file().created_at(created);
    for path in paths {
        if path.is_empty() {
            op = op.copy(from, root, dest, &copy_options(Some(Chown::Ids(uid, gid))));
        } else {
            // Exact paths, so BuildKit checksums just them, and a symlink (lib64) stays one.
            let exact = format!("{root}/{path}");
            let to = format!("{dest}/{path}");
            let options = CopyOptions {
                allow_wildcard: false,
                allow_empty_wildcard: false,
                follow_symlinks: false,
                ..copy_options(Some(Chown::Ids(uid, gid)))
            };
            op = op.copy(from, &exact, &to, &options);
        }
    }
    op.done(name)
}

/// The build context, `include`d paths (all of it when empty) minus `exclude`. The project
/// phase's copy and the image's copy of the context both come from here: with the same
/// patterns they are one source, which BuildKit sends and checks once.
fn filtered_context(
    inputs: &LowerInputs<'_>,
    (include, exclude): (&[String], &[String]),
    progress: &str,
) -> State {
    let options = LocalOptions {
        include_patterns: include.to_vec(),
        exclude_patterns: exclude.to_vec(),
        ..Default::default()
    };
    context(inputs, &options, progress)
}

/// The build context, as `options` filter it, from the client's session.
fn context(inputs: &LowerInputs<'_>, options: &LocalOptions, progress: &str) -> State {
    let options = LocalOptions {
        session_id: inputs.session_id.clone(),
        shared_key_hint: inputs.context_name.clone(),
        ..options.clone()
    };
    llb::local(
        &inputs.context_name,
        &options,
        Some(&inputs.platform),
        progress,
    )
}

/// `COPY`'s defaults: a directory's contents, destination created, symlinks kept as links.
pub(super) fn copy_options(owner: Option<Chown>) -> CopyOptions {
    CopyOptions {
        owner,
        contents_only: true,
        create_dest_path: true,
        allow_wildcard: true,
        allow_empty_wildcard: true,
        follow_symlinks: true,
        ..Default::default()
    }
}
