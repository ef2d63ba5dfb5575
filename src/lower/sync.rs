//! [`SyncStep`], lowered: `uv sync` (or `uv pip`) with the uv image and the cache mounted,
//! run through the wrapper scripts its plan asks for (secrets as files, bytecode and collection
//! after the sync, tidying, the kept venv).

use crate::llb::{self, Network, State};
use crate::plan::{
    Plan, SyncStep, GIT_AUTH_DIR, KNOWN_HOSTS_FILE, KNOWN_HOSTS_SECRET, SECRETS_DIR,
    SSH_AGENT_SOCKET, UV_MOUNT,
};
use crate::settings::SshAgent;

use super::steps::network_of;
use super::{Images, LowerInputs, RERUN_ENV, SCRIPTS_MOUNT};

/// The sync step on `state`, and what it collected into an output mount (if it collects).
pub(super) fn lower_sync(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    step: &SyncStep,
    rerun: Option<&str>,
) -> (State, Option<State>) {
    let SyncStep {
        name,
        env,
        venv_cache,
        finish,
        offline,
        ..
    } = step;
    let access = &plan.sync_access;
    let (argv, wrapped) = sync_argv(plan, step);
    let argv: Vec<&str> = argv.iter().map(String::as_str).collect();
    let mut on = state.clone();
    for (key, value) in env {
        on = on.env(key, value);
    }
    if *offline {
        on = on.env("UV_OFFLINE", "1");
    }
    if let Some(nonce) = rerun {
        on = on.env(RERUN_ENV, nonce);
    }
    if access.ssh.forwarded() {
        on = on.env("SSH_AUTH_SOCK", SSH_AGENT_SOCKET);
    }
    let mut exec = on
        .run(&argv, name)
        .bind(&images.uv, "/", UV_MOUNT, true)
        .cache(&plan.cache.id, &plan.cache.target, plan.cache.sharing)
        .proxy(inputs.proxy.clone());
    if wrapped {
        exec = exec.bind(&images.scripts, "/", SCRIPTS_MOUNT, true);
    }
    for id in &access.secrets {
        exec = exec.secret(id, &format!("{SECRETS_DIR}/{id}"), true);
    }
    for id in &access.git_auth_secrets {
        exec = exec.secret(id, &format!("{GIT_AUTH_DIR}/{id}"), true);
    }
    if access.ssh.forwarded() {
        let optional = access.ssh != SshAgent::Required;
        exec = exec.ssh("default", SSH_AGENT_SOCKET, optional).secret(
            KNOWN_HOSTS_SECRET,
            KNOWN_HOSTS_FILE,
            true,
        );
    }
    exec = exec
        .network(match access.network {
            _ if *offline => Network::None,
            network => network_of(network),
        })
        .extra_hosts(&access.extra_hosts);
    if let Some(kept) = venv_cache {
        exec = exec.cache(&kept.id, &kept.target, kept.sharing);
    }
    let collect_into = finish.as_ref().and_then(|f| f.collect_into.as_deref());
    if let Some(dir) = collect_into {
        exec = exec.bind(&llb::scratch(), "/", dir, false);
    }
    let collected = collect_into.map(|dir| exec.clone().mount_output(dir));
    // The next steps run with the stage's own environment again.
    (exec.root().with_env_of(state), collected)
}

/// The sync's command line: each wrapper script the step needs runs the rest of the line after
/// its own arguments, and uv comes last. Whether any wrapper is there (then the scripts are
/// mounted).
fn sync_argv(plan: &Plan, step: &SyncStep) -> (Vec<String>, bool) {
    let SyncStep {
        args,
        venv_cache,
        finish,
        tidy,
        ..
    } = step;
    let mut argv: Vec<String> = Vec::new();
    let mut wrap = |script: &str, script_args: &[&str]| {
        argv.push("/bin/sh".into());
        argv.push(format!("{SCRIPTS_MOUNT}/{script}"));
        argv.extend(script_args.iter().map(|a| a.to_string()));
    };
    let git_auth = &plan.sync_access.git_auth_prefixes;
    if !git_auth.is_empty() {
        let args: Vec<&str> = std::iter::once(GIT_AUTH_DIR)
            .chain(git_auth.iter().map(String::as_str))
            .chain(["--"])
            .collect();
        wrap("with-git-auth", &args);
    }
    if !plan.sync_access.secrets.is_empty() {
        wrap("with-secrets", &[SECRETS_DIR]);
    }
    if let Some(finish) = finish {
        let compile = if finish.compile { "1" } else { "0" };
        let collect = finish.collect_into.as_deref().unwrap_or("");
        wrap("sync-then-finish", &[&finish.venv, compile, collect]);
    }
    if let Some(dir) = tidy {
        wrap("then-tidy", &[dir]);
    }
    if let Some(kept) = venv_cache {
        wrap("kept-venv-sync", &[&kept.target]);
    }
    let wrapped = !argv.is_empty();
    argv.push(format!("{UV_MOUNT}/uv"));
    argv.extend(args.iter().cloned());
    (argv, wrapped)
}
