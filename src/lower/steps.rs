//! The steps lowered one after the other onto their stage's state: written files, the context's
//! copy, sync steps, `[build] run`'s commands, apt packages and the runtime user.

use crate::llb::{self, Chown, Network, State};
use crate::plan::{AptInstallStep, Plan, Step, SECRETS_DIR};
use crate::settings::SyncNetwork;

use super::copies::copy_context;
use super::{sync, Images, LowerInputs, SCRIPTS_MOUNT};

/// A step's result state, and for a sync step that collects what it wrote, that collection.
pub(super) fn lower_step(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: State,
    step: &Step,
    rerun: Option<&str>,
) -> Result<(State, Option<State>), String> {
    Ok(match step {
        Step::WriteFiles { name, dir, files } => {
            (write_files(plan, &state, name, dir, files).cwd(dir), None)
        }
        Step::CopyContext(copy) => (
            copy_context(plan, inputs, &state, copy).cwd(&copy.dir),
            None,
        ),
        Step::Sync(sync) => sync::lower_sync(plan, inputs, images, &state, sync, rerun),
        Step::Commands {
            name,
            commands,
            cwd,
            dir,
            venv,
            collect_into,
        } => {
            let (run, collected) = lower_commands(
                plan,
                inputs,
                images,
                &state,
                (name, commands),
                (cwd, dir, venv, collect_into),
            );
            (run, Some(collected))
        }
        Step::AptInstall(apt) => (apt_install(plan, inputs, images, &state, apt), None),
        Step::AddUser {
            name,
            passwd,
            group,
            home,
            uid,
            gid,
        } => (
            state
                .file()
                .created_at(plan.source_date_epoch)
                // A scratch-like base has no /etc; an existing one is left as it is.
                .mkdir("/etc", 0o755, None)
                .mkfile("/etc/passwd", 0o644, passwd.as_bytes(), None)
                .mkfile("/etc/group", 0o644, group.as_bytes(), None)
                .mkdir(home, 0o755, Some(Chown::Ids(*uid, *gid)))
                .done(name),
            None,
        ),
        Step::CopyPath { .. }
        | Step::CopyVenv { .. }
        | Step::InstallUnits(_)
        | Step::StackUnits { .. } => {
            return Err(format!(
                "{} is lowered with its stage's layers",
                step.name()
            ))
        }
    })
}

/// [`Step::WriteFiles`]: `dir`, and `files` in it, written onto `state`.
fn write_files(
    plan: &Plan,
    state: &State,
    name: &str,
    dir: &str,
    files: &[crate::plan::PlannedFile],
) -> State {
    let mut op = state
        .file()
        .created_at(plan.source_date_epoch)
        .mkdir(dir, 0o755, None);
    for file in files {
        op = op.mkfile(
            &format!("{dir}/{}", file.path),
            0o644,
            file.content.as_bytes(),
            None,
        );
    }
    op.done(name)
}

/// An [`AptInstallStep`]: the packages installed by the apt-install script, apt's caches
/// mounted, as root, with the sync steps' network.
fn apt_install(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    step: &AptInstallStep,
) -> State {
    let AptInstallStep {
        name,
        packages,
        caches,
    } = step;
    let mut argv = vec![
        "/bin/sh".to_string(),
        format!("{SCRIPTS_MOUNT}/apt-install"),
    ];
    argv.extend(packages.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    // Every stage runs its steps as root (the images' states are made so).
    let mut exec = state
        .clone()
        .env("DEBIAN_FRONTEND", "noninteractive")
        .run(&argv, name)
        .bind(&images.scripts, "/", SCRIPTS_MOUNT, true)
        .proxy(inputs.proxy.clone())
        .network(network_of(plan.sync_access.network))
        .extra_hosts(&plan.sync_access.extra_hosts);
    for cache in caches {
        exec = exec.cache(&cache.id, &cache.target, cache.sharing);
    }
    exec.root().with_env_of(state)
}

/// The network a step that downloads gets.
pub(super) fn network_of(network: SyncNetwork) -> Network {
    match network {
        SyncNetwork::Default => Network::Sandbox,
        SyncNetwork::Host => Network::Host,
        SyncNetwork::None => Network::None,
    }
}

/// `[build] run`'s step: the commands in turn from `cwd` with the runtime image's environment
/// over the builder's (the venv first on PATH), no bytecode written beside the sources, secrets
/// and network as for sync steps; then what they wrote under `dir` (not `venv`) collected into
/// a mount at `collect_into`. The stage's state, and that collection.
fn lower_commands(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    (name, commands): (&str, &[String]),
    (cwd, dir, venv, collect_into): (&str, &str, &str, &str),
) -> (State, State) {
    let access = &plan.sync_access;
    let mut argv: Vec<String> = Vec::new();
    if !access.secrets.is_empty() {
        argv.extend([
            "/bin/sh".into(),
            format!("{SCRIPTS_MOUNT}/with-secrets"),
            SECRETS_DIR.into(),
        ]);
    }
    argv.extend([
        "/bin/sh".to_string(),
        format!("{SCRIPTS_MOUNT}/run-then-collect"),
        dir.to_string(),
        venv.to_string(),
        collect_into.to_string(),
    ]);
    argv.extend(commands.iter().cloned());
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut on = state.clone().cwd(cwd);
    for (key, value) in crate::image::runtime_env(inputs.builder_config, &plan.image) {
        on = on.env(&key, &value);
    }
    on = on.env("PYTHONDONTWRITEBYTECODE", "1");
    let mut exec = on
        .run(&argv, name)
        .bind(&images.scripts, "/", SCRIPTS_MOUNT, true)
        .bind(&llb::scratch(), "/", collect_into, false)
        .proxy(inputs.proxy.clone());
    for id in &access.secrets {
        exec = exec.secret(id, &format!("{SECRETS_DIR}/{id}"), true);
    }
    exec = exec.network(network_of(access.network));
    exec = exec.extra_hosts(&access.extra_hosts);
    let collected = exec.clone().mount_output(collect_into);
    (exec.root().with_env_of(state).cwd(dir), collected)
}
