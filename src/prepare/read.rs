//! Reading `uv.build` and the project files: parsed, and checked against the ignore file in
//! force.

use crate::frontend::BuildError;
use crate::gateway::{Bridge, BuildOpts};
use crate::llb;
use crate::project::{self, ContextFiles, Project};
use crate::reads::read_local_files;
use crate::spec::{self, SpecError, SpecFile};

/// `uv.build` and the project files, read and parsed before any image is looked at.
pub(super) struct Read {
    /// The vertex that loaded the spec.
    pub(super) spec_vertex: String,
    pub(super) spec_file: SpecFile,
    pub(super) spec: spec::Spec,
    /// The files errors can point into ([`sources_of`]).
    pub(super) sources: Vec<(String, String)>,
    pub(super) files: ContextFiles,
    pub(super) project: Project,
}

/// Reads `uv.build` (with `<spec>.dockerignore`) and the project files at once, parses them,
/// and checks that the ignore file in force sends the files the build needs.
pub(super) async fn read_spec_and_project<B: Bridge>(
    bridge: &B,
    opts: &BuildOpts,
    platform: &llb::Platform,
) -> Result<Read, BuildError> {
    let spec_name = opts.filename().to_string();
    // `<spec>.dockerignore` beside the spec wins over the context's .dockerignore, as
    // `Dockerfile.dockerignore` does for Dockerfiles.
    let spec_ignore_name = format!("{spec_name}.dockerignore");
    let spec_names = [spec_name.as_str(), spec_ignore_name.as_str()];
    let spec_vertex =
        crate::reads::local_files_vertex(opts, opts.spec_local(), &spec_names, platform);
    let (spec_files, context_files) = tokio::join!(
        read_local_files(bridge, opts, opts.spec_local(), &spec_names, platform),
        read_local_files(bridge, opts, opts.context_local(), &CONTEXT_FILES, platform),
    );
    let (spec_file, spec, spec_ignore) = parse_spec(opts, &spec_name, spec_files?)?;
    let (files, ignore_file) = context_files_of(context_files?, spec_ignore, &spec_ignore_name);
    let sources = sources_of(&spec_file, &files);
    let project = Project::from_files(&files, &spec_file.name)
        .map_err(|e| BuildError::located(e, &sources))?;
    check_needed_files(&project, &files, &ignore_file)?;
    Ok(Read {
        spec_vertex,
        spec_file,
        spec,
        sources,
        files,
        project,
    })
}

/// The files errors can point into, by name: the spec, `pyproject.toml`, `uv.lock`.
fn sources_of(spec_file: &SpecFile, files: &ContextFiles) -> Vec<(String, String)> {
    [
        (spec_file.name.as_str(), Some(spec_file.text.as_str())),
        (project::PYPROJECT, files.pyproject.as_deref()),
        (project::UV_LOCK, files.uv_lock.as_deref()),
    ]
    .into_iter()
    .filter_map(|(n, t)| Some((n.to_string(), t?.to_string())))
    .collect()
}

/// The project files settings come from.
const CONTEXT_FILES: [&str; 5] = [
    project::PYPROJECT,
    project::UV_LOCK,
    project::PYTHON_VERSION,
    project::UV_TOML,
    project::DOCKERIGNORE,
];

/// `uv.build` parsed, and the text of `<spec>.dockerignore` when there is one.
fn parse_spec(
    opts: &BuildOpts,
    spec_name: &str,
    mut read: std::collections::BTreeMap<String, Vec<u8>>,
) -> Result<(SpecFile, spec::Spec, Option<String>), BuildError> {
    let spec_ignore = read
        .remove(&format!("{spec_name}.dockerignore"))
        .map(|b| String::from_utf8_lossy(&b).into_owned());
    let spec_text = read.remove(spec_name).ok_or_else(|| {
        BuildError::plain(format!(
            "{spec_name} was not found: pass the spec with -f (e.g. docker buildx build -f uv.build .)"
        ))
    })?;
    let spec_file = SpecFile {
        name: spec_name.to_string(),
        text: String::from_utf8_lossy(&spec_text).into_owned(),
    };
    let spec = spec::parse_with_args(&spec_file, &opts.build_args(), &opts.named_contexts())
        .map_err(|e| BuildError::located(e, &[(&spec_file.name, &spec_file.text)]))?;
    Ok((spec_file, spec, spec_ignore))
}

/// The project files as text, and the name of the ignore file in force (the spec's own wins).
fn context_files_of(
    raw: std::collections::BTreeMap<String, Vec<u8>>,
    spec_ignore: Option<String>,
    spec_ignore_name: &str,
) -> (ContextFiles, String) {
    let text = |name: &str| {
        raw.get(name)
            .map(|b| String::from_utf8_lossy(b).into_owned())
    };
    let ignore_file = if spec_ignore.is_some() {
        spec_ignore_name.to_string()
    } else {
        project::DOCKERIGNORE.to_string()
    };
    let files = ContextFiles {
        pyproject: text(project::PYPROJECT),
        uv_lock: text(project::UV_LOCK),
        python_version: text(project::PYTHON_VERSION),
        uv_toml: text(project::UV_TOML),
        dockerignore: spec_ignore.or_else(|| text(project::DOCKERIGNORE)),
    };
    (files, ignore_file)
}

/// The frontend reads the needed files whole; the build's steps see them only if they are
/// sent, so an ignore file that leaves one out is an error at its line.
fn check_needed_files(
    project: &Project,
    files: &ContextFiles,
    ignore_file: &str,
) -> Result<(), BuildError> {
    let Some(ignore) = &files.dockerignore else {
        return Ok(());
    };
    for (name, why) in needed_files(project) {
        if let Some((line, pattern)) = project::excluding_pattern(ignore, &name) {
            let error = SpecError {
                file: ignore_file.to_string(),
                line,
                message: format!(
                    "`{}` leaves {name} out of the build context, but {why}",
                    spec::shorten(&pattern)
                ),
                fix: format!("remove the line, or add `!{name}` after it"),
            };
            return Err(BuildError::located(
                error,
                &[(ignore_file.to_string(), ignore.clone())],
            ));
        }
    }
    Ok(())
}

/// The files at the build context's root that the build's steps need, and why: uv's own, and
/// a package's readme, which building it reads (one in a subdirectory is not checked).
fn needed_files(project: &Project) -> Vec<(String, &'static str)> {
    let mut needed = vec![
        (project::PYPROJECT.to_string(), "uv needs it"),
        (project::UV_LOCK.to_string(), "uv needs it"),
    ];
    let root_is_package = project
        .lock
        .local_packages
        .iter()
        .any(|p| project.is_root(p) && !p.is_virtual());
    if let (true, Some(readme)) = (root_is_package, project.pyproject.readme.as_deref()) {
        let readme = readme.trim_start_matches("./");
        if !readme.contains('/') {
            needed.push((
                readme.to_string(),
                "building the project reads it (pyproject.toml's readme)",
            ));
        }
    }
    needed
}
