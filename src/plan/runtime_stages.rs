//! The runtime stages: the image's dependencies (what the interpreter check runs on), then the
//! project's own files; and the checks run in the finished image.

use super::names::{
    BUILD_STAGE, DEPS_STAGE, INTERPRETER_CHECK_SCRIPT, PROJECT_STAGE, RUNTIME_DEPS_STAGE,
    RUNTIME_STAGE,
};
use super::shared_steps::{apt_install, copied_excludes};
use super::{Check, CheckKind, DiffMethod, PathSource, Step};
use crate::settings::{ImageContext, Settings, Target};

/// The runtime image without the project's own files: the user, uv's Python when it installed
/// one, and the dependency venv.
pub(super) fn runtime_deps_steps(s: &Settings) -> Vec<Step> {
    let user = &s.run.user;
    let owner = s.run.files_owner();
    let mut runtime_steps = Vec::new();
    if let Some(add) = &user.add {
        runtime_steps.push(Step::AddUser {
            name: format!("add user {} ({}:{})", user.name, user.uid, user.gid),
            passwd: add.passwd.clone(),
            group: add.group.clone(),
            home: user.home.clone(),
            uid: user.uid,
            gid: user.gid,
        });
    }
    if !s.run.apt.is_empty() {
        runtime_steps.push(apt_install(s, &s.run.apt));
    }
    if let Some(python) = &s.managed_python {
        // The interpreter the venv links to, at the same path; owned by root, read-only to all.
        runtime_steps.push(Step::CopyPath {
            name: format!("copy Python {} from {DEPS_STAGE}", python.version),
            from: PathSource::Stage(DEPS_STAGE.into()),
            path: python.install_dir.clone(),
            uid: 0,
            gid: 0,
            separate_layer: s.layered,
        });
    }
    if s.package_units.is_some() {
        runtime_steps.push(Step::StackUnits {
            name: format!("stack the layers of {} from {DEPS_STAGE}", s.venv),
            from: DEPS_STAGE.into(),
        });
        return runtime_steps;
    }
    runtime_steps.push(Step::CopyVenv {
        name: format!("copy {} dependencies from {DEPS_STAGE}", s.venv),
        from: DEPS_STAGE.into(),
        venv: s.venv.clone(),
        // The dev and test images are the builder: no runtime layers to lay out, nothing to read.
        own_layers: if s.target.is_builder() {
            Vec::new()
        } else {
            s.own_layers.clone()
        },
        uid: owner.0,
        gid: owner.1,
        separate_layer: s.layered,
    });
    runtime_steps
}

/// The project's own files on top: what phase 2 added to the venv, and each module copied as it
/// is beside an editable install.
pub(super) fn project_layers(s: &Settings) -> Vec<Step> {
    let (uid, gid) = s.run.files_owner();
    // Dependencies and the project's own files in separate layers: a source edit changes only
    // the second. With MergeOp and DiffOp the layers are made apart and stacked, so even a new
    // base image keeps the dependency layer; elsewhere they are copied one after the other.
    let diff_method = if s.layered {
        DiffMethod::DiffOp
    } else {
        DiffMethod::Written
    };
    let mut project_layers = vec![Step::CopyPath {
        name: format!("copy {} project files from {PROJECT_STAGE}", s.venv),
        from: PathSource::Diff {
            lower: DEPS_STAGE.into(),
            upper: PROJECT_STAGE.into(),
            method: diff_method,
        },
        path: s.venv.clone(),
        uid,
        gid,
        separate_layer: s.layered,
    }];
    project_layers.extend(context_layer(s));
    if !s.build_commands.is_empty() {
        project_layers.push(Step::CopyPath {
            name: format!(
                "copy what [build] run wrote under {} from {BUILD_STAGE}",
                s.workdir
            ),
            from: PathSource::Diff {
                lower: PROJECT_STAGE.into(),
                upper: BUILD_STAGE.into(),
                method: DiffMethod::Written,
            },
            path: s.workdir.clone(),
            uid,
            gid,
            separate_layer: s.layered,
        });
    }
    // Each module a layer of its own, straight from the context: a source edit changes that one.
    for module in &s.editable_modules {
        let path = format!("{}/{module}", s.workdir);
        project_layers.push(Step::CopyPath {
            name: format!("copy {module} from the build context to {path}"),
            from: PathSource::Context {
                dir: s.workdir.clone(),
                include: Vec::new(),
                exclude: copied_excludes(s),
            },
            path,
            uid,
            gid,
            separate_layer: s.layered,
        });
    }
    project_layers
}

/// The build context at the workdir, as uv's guide copies the project (commands run from
/// there: `alembic.ini`, `scripts/`, `manage.py`), narrowed by `[run] include`; less the modules
/// that have layers of their own and those of packages the build does not install. `None` when
/// the image gets nothing of it.
fn context_layer(s: &Settings) -> Option<Step> {
    let (uid, gid) = s.run.files_owner();
    let (include, what) = match &s.image_context {
        ImageContext::All => (Vec::new(), "build context".to_string()),
        ImageContext::Paths(paths) if paths.is_empty() => return None,
        ImageContext::Paths(paths) => (
            paths.clone(),
            format!(
                "{} from the build context",
                crate::plan::short_list(paths, " ")
            ),
        ),
    };
    Some(Step::CopyPath {
        name: format!("copy {what} to {}", s.workdir),
        from: PathSource::Context {
            dir: s.workdir.clone(),
            include,
            exclude: copied_excludes(s)
                .into_iter()
                .chain(s.editable_modules.iter().cloned())
                .chain(s.uninstalled_modules.iter().cloned())
                .collect(),
        },
        path: s.workdir.clone(),
        uid,
        gid,
        separate_layer: s.layered,
    })
}

/// What runs in the finished image before it is returned (or in the dev image, for `test`).
pub(super) fn checks(s: &Settings) -> Vec<Check> {
    // As the image's `User` names it: by uid, the groups from the account files.
    let as_user = s.run.user.uid.to_string();
    let mut checks = vec![Check {
        name: format!("[check] {}/bin/python starts in the runtime image", s.venv),
        kind: CheckKind::Interpreter,
        stage: RUNTIME_DEPS_STAGE.into(),
        args: vec![format!("{}/bin/python", s.venv)],
        user: as_user.clone(),
        script: Some(INTERPRETER_CHECK_SCRIPT.into()),
    }];
    if s.target.is_builder() {
        // The dev image is the builder itself: there is no copied venv to check.
        checks.clear();
        if let (Target::Test, Some(command)) = (s.target, &s.dev_test) {
            checks.push(Check {
                name: format!("[test] {}", command.join(" ")),
                kind: CheckKind::DevTests,
                stage: PROJECT_STAGE.into(),
                args: command.clone(),
                user: "0:0".into(),
                script: None,
            });
        }
    } else if let Some(command) = &s.test {
        checks.push(Check {
            name: format!("[test] {}", command.join(" ")),
            kind: CheckKind::SmokeTest,
            stage: RUNTIME_STAGE.into(),
            args: command.clone(),
            user: as_user,
            script: None,
        });
    }
    checks
}
