//! [`InstallUnitsStep`], lowered: one step per package that makes the venv with `uv venv` in an
//! empty mount and installs the package into it with `uv pip install`; what the mount holds then
//! is copied, by layer, into scratch.

use crate::llb::{self, Chown, Network, State};
use crate::plan::{InstallUnitsStep, Plan, UnitLayer, UV_MOUNT};
use crate::settings::{PackageUnits, UnitPackage};

use super::copies::copy_options;
use super::steps::network_of;
use super::{Images, LowerInputs, RERUN_ENV};

/// Where a unit's step writes its one-line requirements file (outside the venv, so in no layer).
const REQUIREMENT_FILE: &str = "/tmp/uv-frontend-requirement.txt";

/// The layers of the venv an [`InstallUnitsStep`] makes on `state`: one per [`UnitLayer`] (the
/// empty venv's when there is none), each owned by the step's `uid:gid`. `prefix` is the step's progress prefix.
pub(super) fn unit_layers(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    (step, prefix): (&InstallUnitsStep, &str),
    rerun: Option<&str>,
) -> Result<Vec<State>, String> {
    let InstallUnitsStep {
        venv,
        units,
        layers,
        uid,
        gid,
        ..
    } = step;
    let owner = Chown::Ids(*uid, *gid);
    let layer_of = |from: &[(State, &str)], name: &str| {
        let mut op = llb::scratch().file().created_at(plan.source_date_epoch);
        for (source, root) in from {
            let options = llb::CopyOptions {
                // uv's lock of the venv, which every step touches: no layer's.
                exclude_patterns: vec![".lock".into()],
                // The venv's own links lead into the builder (bin/python to its interpreter),
                // which the venv's mount does not hold: an exact path, no link followed.
                allow_wildcard: false,
                allow_empty_wildcard: false,
                follow_symlinks: false,
                ..copy_options(Some(owner.clone()))
            };
            op = op.copy(source, root, venv, &options);
        }
        op.done(name)
    };
    // Without packages the venv is `uv venv`'s alone. With them, each package's step makes the
    // venv itself before it installs, so its layer holds the venv's few files too (the same in
    // every layer): one container fewer on a cold build's path and one vertex fewer to re-check.
    if layers.is_empty() {
        let empty = empty_venv(images, state, venv, units, &format!("{prefix}uv venv"));
        return Ok(vec![layer_of(
            &[(empty, venv)],
            &format!("{prefix}layer: the venv"),
        )]);
    }
    let mut made = Vec::new();
    for layer in layers {
        let diffs: Vec<(State, &str)> = layer
            .packages
            .iter()
            .map(|name| {
                let package = units
                    .packages
                    .iter()
                    .find(|p| &p.name == name)
                    .ok_or_else(|| {
                        format!("layer {} names {name}, which is no unit", layer.label)
                    })?;
                let installed = install(
                    plan,
                    inputs,
                    images,
                    state,
                    (venv, units, package),
                    prefix,
                    rerun,
                );
                Ok((installed, "/"))
            })
            .collect::<Result<_, String>>()?;
        made.push(layer_of(&diffs, &layer_name(prefix, layer)));
    }
    Ok(made)
}

fn layer_name(prefix: &str, layer: &UnitLayer) -> String {
    format!("{prefix}layer: {}", layer.label)
}

/// `uv venv <venv> --python <version>` on `state`: what every unit installs into.
fn empty_venv(
    images: &Images,
    state: &State,
    venv: &str,
    units: &PackageUnits,
    name: &str,
) -> State {
    let uv = format!("{UV_MOUNT}/uv");
    let argv = [uv.as_str(), "venv", venv, "--python", units.python.as_str()];
    let name = format!("{name} {venv} --python {}", units.python);
    state
        .clone()
        .run(&argv, &name)
        .bind(&images.uv, "/", UV_MOUNT, true)
        .network(Network::None)
        .root()
        .with_env_of(state)
}

/// `uv venv`, then `uv pip install --no-deps --require-hashes` of one package into that venv,
/// from the index the lock names, with the uv cache mounted as sync steps have it. The venv is
/// an empty mount of its own, and what the step leaves there is the result: the venv's files
/// alone, without a DiffOp over the builder (one vertex fewer per package, and one step fewer
/// on a cold build's path).
fn install(
    plan: &Plan,
    inputs: &LowerInputs<'_>,
    images: &Images,
    state: &State,
    (venv, units, package): (&str, &PackageUnits, &UnitPackage),
    prefix: &str,
    rerun: Option<&str>,
) -> State {
    let script = format!(
        "{UV_MOUNT}/uv venv --quiet {venv} --python \"$3\" && \
         printf '%s\\n' \"$1\" > {REQUIREMENT_FILE} && exec {UV_MOUNT}/uv pip install --no-deps \
         --require-hashes --index-url \"$2\" --python {venv}/bin/python -r {REQUIREMENT_FILE}"
    );
    let requirement = package.requirement();
    let argv = [
        "/bin/sh",
        "-c",
        script.as_str(),
        "uv-frontend",
        requirement.as_str(),
        units.index_url.as_str(),
        units.python.as_str(),
    ];
    let mut on = state.clone();
    if let Some(nonce) = rerun {
        on = on.env(RERUN_ENV, nonce);
    }
    let name = format!(
        "{prefix}uv pip install {}=={}",
        package.name, package.version
    );
    let access = &plan.sync_access;
    on.run(&argv, &name)
        .bind(&images.uv, "/", UV_MOUNT, true)
        .bind(&llb::scratch(), "/", venv, false)
        .cache(&plan.cache.id, &plan.cache.target, plan.cache.sharing)
        .proxy(inputs.proxy.clone())
        .network(network_of(access.network))
        .extra_hosts(&access.extra_hosts)
        .mount_output(venv)
}
