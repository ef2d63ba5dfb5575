//! The runtime image's layers against a fake LLBBridge: base and user, the dependency layers
//! (big packages each in a layer of their own), the project's files and its modules, stacked
//! by MergeOp and DiffOp or, without them, copied one onto the other; nothing runs in them.

mod support;

use support::flow::*;
use support::*;
use uv_frontend::llb::pb;

/// A definition's ops by digest.
type Ops = std::collections::BTreeMap<String, pb::Op>;

#[test]
fn runtime_stacks_base_dependency_and_project_layers() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    let marshalled_result = result_digest(def);
    // The image: the runtime without the project's files (a merge of its own, which the
    // interpreter check runs on), then the project's venv files, the build context at the
    // workdir and its module, each a layer.
    let image = &all[&marshalled_result];
    let Some(pb::op::Op::Merge(m)) = &image.op else {
        panic!("the runtime is a MergeOp: {image:?}")
    };
    assert_eq!(m.inputs.len(), 4);
    let (deps_merge_digest, _) = vertex(def, "[runtime-deps] stack layers");
    assert_eq!(image.inputs[0].digest, deps_merge_digest);
    let merge = &all[&deps_merge_digest];
    let Some(pb::op::Op::Merge(m)) = &merge.op else {
        panic!("the runtime without the project is a MergeOp: {merge:?}")
    };
    assert_eq!(m.inputs.len(), 2);
    // The interpreter check runs on that very merge: inside the image's graph, it is a result
    // a registry cache of the image holds, so a fresh CI runner loads nothing more for it.
    let check = bridge
        .solved
        .iter()
        .map(|(d, _)| d)
        .find(|d| {
            ops(d)
                .iter()
                .any(|(digest, _)| name_of(d, digest).starts_with("[check]"))
        })
        .expect("the interpreter check");
    let (_, check_op) = vertex(check, "[check]");
    assert_eq!(check_op.inputs[0].digest, deps_merge_digest);
    assert_user_layer(def, &all, merge);
    let idna_layer = assert_idna_unit_layer(def, &all, merge);
    let project_base = assert_project_phase_stacks_the_context(def, &all, &idna_layer);
    assert_project_layer(def, &all, image, &project_base);
    assert_context_and_module_layers(&all, image);
}

/// 1: the base image with the user added to its account files.
fn assert_user_layer(def: &pb::Definition, all: &Ops, merge: &pb::Op) {
    let input = |i: usize| &all[&merge.inputs[i].digest];
    let (user_digest, _) = vertex(def, "[runtime-deps 1/2] add user app (10001:10001)");
    assert_eq!(merge.inputs[0].digest, user_digest);
    let Some(pb::op::Op::File(add_user)) = &input(0).op else {
        panic!("account files are a file op")
    };
    let Some(pb::file_action::Action::Mkdir(etc)) = &add_user.actions[0].action else {
        panic!("/etc is made first, for a base without one")
    };
    assert_eq!((etc.path.as_str(), etc.make_parents), ("/etc", true));
    let Some(pb::file_action::Action::Mkfile(passwd)) = &add_user.actions[1].action else {
        panic!("passwd is written")
    };
    assert_eq!(passwd.path, "/etc/passwd");
    assert!(String::from_utf8_lossy(&passwd.data)
        .ends_with("app:x:10001:10001::/home/app:/usr/sbin/nologin\n"));
}

/// 2: idna, what its step left in the venv, copied onto scratch; returns the layer's digest.
fn assert_idna_unit_layer(def: &pb::Definition, all: &Ops, merge: &pb::Op) -> String {
    let input = |i: usize| &all[&merge.inputs[i].digest];
    // 2: idna, what its step (`uv venv`, then the install) left in the venv (an empty mount of
    // its own: the venv's files alone, no DiffOp), copied onto scratch at the venv's path.
    let (idna_layer, _) = vertex(def, "[deps 1/1] layer: idna");
    assert_eq!(merge.inputs[1].digest, idna_layer);
    let idna_copy = file_copy(input(1));
    assert_eq!(
        (idna_copy.src.as_str(), idna_copy.dest.as_str()),
        ("/", "/app/.venv")
    );
    assert_eq!(owner_ids(idna_copy), (10001, 10001));
    let (install, install_op) = vertex(def, "[deps 1/1] uv pip install idna==");
    let venv_mount = exec(&install_op)
        .mounts
        .iter()
        .find(|m| m.dest == "/app/.venv")
        .expect("the venv is a mount of its own");
    assert_eq!(
        (venv_mount.input, venv_mount.readonly),
        (-1, false),
        "an empty, writable mount"
    );
    assert_eq!(input(1).inputs[0].digest, install, "the install's result");
    assert_eq!(
        input(1).inputs[0].index,
        venv_mount.output,
        "what the venv's mount holds"
    );
    let script = &exec(&install_op).meta.as_ref().expect("meta").args[2];
    assert!(
        script.contains("/uv venv --quiet /app/.venv --python \"$3\" && "),
        "{script}"
    );
    assert!(
        ops(def)
            .iter()
            .all(|(d, _)| !name_of(def, d).contains("uv venv")),
        "no step of its own makes the empty venv"
    );
    idna_layer
}

/// Phase 2's input: the builder, the unit layers and the context's copy in one MergeOp; returns
/// that merge's digest.
fn assert_project_phase_stacks_the_context(
    def: &pb::Definition,
    all: &Ops,
    idna_layer: &str,
) -> String {
    // Phase 2 runs on the builder with the same layers and the context's copy stacked on, in
    // one MergeOp (the context is no step after the dependencies).
    let (project_base, project_merge) = vertex(def, "[project] stack layers");
    let (context_layer, _) = vertex(def, "[project 1/2] copy build context to /app");
    let stacked: Vec<&str> = project_merge
        .inputs
        .iter()
        .map(|i| i.digest.as_str())
        .collect();
    assert_eq!(stacked[1..], [idna_layer, context_layer.as_str()]);
    let Some(pb::op::Op::Source(builder)) = &all[stacked[0]].op else {
        panic!("the builder image first")
    };
    assert!(builder
        .identifier
        .starts_with("docker-image://127.0.0.1:5000/python:3.11-bookworm@"));
    let context_copy = file_copy(&all[&context_layer]);
    assert_eq!(
        (context_copy.src.as_str(), context_copy.dest.as_str()),
        ("/", "/app")
    );
    assert_eq!(all[&context_layer].inputs.len(), 1, "copied onto scratch");
    project_base
}

/// 3: the project's files, a DiffOp of phase 2 over its input.
fn assert_project_layer(def: &pb::Definition, all: &Ops, image: &pb::Op, project_base: &str) {
    // 3: the project's files: what phase 2 changed over what it ran on (a DiffOp).
    let project_copy = &all[&image.inputs[1].digest];
    assert_eq!(owner_ids(file_copy(project_copy)), (10001, 10001));
    let diff = &all[&project_copy.inputs[0].digest];
    let Some(pb::op::Op::Diff(_)) = &diff.op else {
        panic!("the project layer comes from a DiffOp: {diff:?}")
    };
    let (compiled, _) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(
        diff.inputs[0].digest, project_base,
        "lower: phase 1 and the context"
    );
    assert_eq!(
        diff.inputs[1].digest, compiled,
        "upper: phase 2 with bytecode"
    );
}

/// 4 and 5: the build context at the workdir less the module, and the module, each onto nothing.
fn assert_context_and_module_layers(all: &Ops, image: &pb::Op) {
    // 4: the build context at the workdir, less the module (a layer of its own), onto nothing.
    let context_copy = &all[&image.inputs[2].digest];
    let copy = file_copy(context_copy);
    assert_eq!((copy.src.as_str(), copy.dest.as_str()), ("/", "/app"));
    assert_eq!(owner_ids(copy), (10001, 10001));
    let local = &all[&context_copy.inputs[0].digest];
    let Some(pb::op::Op::Source(source)) = &local.op else {
        panic!("the context layer is copied from the local source: {local:?}")
    };
    let excluded = &source.attrs["local.excludepatterns"];
    assert!(excluded.contains("src/hello_uv") && excluded.contains(".venv"));

    // 5: the module, from the build context, onto nothing.
    let module_copy = &all[&image.inputs[3].digest];
    let copy = file_copy(module_copy);
    assert_eq!(
        (copy.src.as_str(), copy.dest.as_str()),
        ("/src/hello_uv", "/app/src/hello_uv")
    );
    assert_eq!(owner_ids(copy), (10001, 10001));
    assert_eq!(module_copy.inputs.len(), 1, "copied onto scratch");
}

#[test]
fn without_mergeop_the_layers_are_copied_in_turn_and_phase_two_collects_the_project_layer() {
    let mut bridge = FakeBridge::without_mergeop(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    assert!(all.values().all(|op| !matches!(
        op.op,
        Some(pb::op::Op::Merge(_)) | Some(pb::op::Op::Diff(_))
    )));
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (deps_copy, deps) = vertex(
        def,
        "[runtime-deps 2/2] copy /app/.venv dependencies from deps",
    );
    let (project_digest, project) = vertex(
        def,
        "[runtime 1/3] copy /app/.venv project files from project",
    );
    let (context_digest, context) = vertex(def, "[runtime 2/3] copy build context to /app");
    let (_, module) = vertex(
        def,
        "[runtime 3/3] copy src/hello_uv from the build context to /app/src/hello_uv",
    );
    assert_eq!(context.inputs[0].digest, project_digest, "then the context");
    assert_eq!(
        module.inputs[0].digest, context_digest,
        "then the module, as the last layer"
    );
    assert_eq!(
        deps.inputs[0].digest, user,
        "dependencies are copied onto the base"
    );
    assert_eq!(
        project.inputs[0].digest, deps_copy,
        "then the project's files"
    );
    assert_eq!(owner_ids(file_copy(&project)), (10001, 10001));

    // The project's files come from phase 2's own output mount, where it collected what it
    // wrote: not from its rootfs (the whole venv), and with no second step walking the venv.
    let written = &project.inputs[1];
    let (phase2_digest, phase2_op) = vertex(def, "[project 2/2] uv sync");
    assert_eq!(written.digest, phase2_digest);
    let phase2 = exec(&phase2_op);
    let out = phase2
        .mounts
        .iter()
        .find(|m| m.dest == "/uv-frontend/written")
        .expect("an output mount");
    assert_eq!(written.index, out.output);
    assert_eq!(out.input, -1, "it starts empty");
    assert!(!out.readonly);
    let (_, args) = script_of(def, &phase2_op, "sync-then-finish");
    assert_eq!(
        args[2], "/uv-frontend/written",
        "the script collects into it"
    );
    assert!(
        !all.keys().any(|d| name_of(def, d).contains("compare")),
        "no compare step"
    );
}

#[test]
fn the_runtime_chain_never_runs_uv_nor_mounts_its_cache() {
    let bridge = build(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let def = bridge.result_definition();
    let all: std::collections::BTreeMap<_, _> = ops(def).into_iter().collect();
    let (user_digest, _) = vertex(def, "[runtime-deps 1/2] add user");
    let mut digest = user_digest;
    loop {
        let op = &all[&digest];
        assert!(
            !matches!(op.op, Some(pb::op::Op::Exec(_))),
            "nothing runs in the runtime image"
        );
        match op.inputs.first() {
            Some(input) => digest = input.digest.clone(),
            None => break,
        }
    }
    let Some(pb::op::Op::Source(base)) = &all[&digest].op else {
        panic!("the runtime chain starts at an image")
    };
    let image = "127.0.0.1:5000/python:3.11-bookworm";
    assert_eq!(
        base.identifier,
        format!("docker-image://{image}@{}", image_digest(image))
    );
}

/// A built bigwheels venv as phase 1 leaves it: numpy and pandas with their RECORDs, and small
/// packages beside them.
fn bigwheels_venv() -> std::collections::BTreeMap<String, Vec<u8>> {
    let sp = "app/.venv/lib/python3.11/site-packages";
    let mut files = debian_python_venv();
    for (path, content) in [
        ("numpy/__init__.py", ""),
        ("numpy.libs/libscipy_openblas.so", ""),
        (
            "numpy-2.4.6.dist-info/RECORD",
            "numpy/__init__.py,sha256=a,1\nnumpy.libs/libscipy_openblas.so,sha256=b,2\n\
             numpy-2.4.6.dist-info/RECORD,,\n../../../bin/f2py,sha256=c,3\n",
        ),
        ("pandas/__init__.py", ""),
        (
            "pandas-3.1.1.dist-info/RECORD",
            "pandas/__init__.py,sha256=d,4\npandas-3.1.1.dist-info/RECORD,,\n",
        ),
        ("six.py", ""),
        ("six-1.17.0.dist-info/RECORD", "six.py,,\n"),
        ("_virtualenv.pth", ""),
    ] {
        files.insert(format!("{sp}/{path}"), content.as_bytes().to_vec());
    }
    files.insert("app/.venv/bin/f2py".into(), b"#!python".to_vec());
    files.insert("app/.venv/lib64".into(), link("lib"));
    files
}

/// The exact source paths of a copy file op, in order.
fn copied_paths(op: &pb::Op) -> Vec<String> {
    let Some(pb::op::Op::File(file)) = &op.op else {
        panic!("not a file op: {op:?}")
    };
    file.actions
        .iter()
        .map(|a| match &a.action {
            Some(pb::file_action::Action::Copy(c)) => {
                assert_eq!(c.src, c.dest, "copied to the same path");
                assert!(!c.follow_symlink && !c.allow_wildcard, "an exact path");
                c.src.clone()
            }
            other => panic!("not a copy: {other:?}"),
        })
        .collect()
}

#[test]
fn big_packages_are_copied_in_layers_of_their_own_read_from_the_built_dependency_phase() {
    let mut bridge = FakeBridge::without_mergeop(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    bridge.result_files = bigwheels_venv();
    run(&mut bridge, &opts());
    bridge.assert_built();

    // Phase 1 is solved on its own first: its venv says which files are numpy's and pandas'.
    let first = &bridge.solved[0].0;
    let (terminal, _) = ops(first).pop().expect("an op");
    let (phase1, _) = vertex(first, "[deps 2/2] uv sync");
    assert_eq!(terminal, phase1, "the first solve is the dependency phase");

    // The image: base + user, numpy, pandas, the rest, then the project, each a layer.
    let def = bridge.result_definition();
    let (phase1_in_image, _) = vertex(def, "[deps 2/2] uv sync");
    assert_eq!(phase1_in_image, phase1, "the image reuses that very result");
    let sp = "/app/.venv/lib/python3.11/site-packages";
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (numpy_digest, numpy) = vertex(
        def,
        "[runtime-deps 2/2] copy numpy into /app/.venv from deps (a layer of its own)",
    );
    let (pandas_digest, pandas) = vertex(def, "[runtime-deps 2/2] copy pandas into /app/.venv");
    let (rest_digest, rest) = vertex(def, "[runtime-deps 2/2] copy the rest of /app/.venv");
    let (_, project) = vertex(def, "[runtime 1/3] copy /app/.venv project files");
    assert_eq!(numpy.inputs[0].digest, user);
    assert_eq!(pandas.inputs[0].digest, numpy_digest);
    assert_eq!(rest.inputs[0].digest, pandas_digest);
    assert_eq!(project.inputs[0].digest, rest_digest);
    for op in [&numpy, &pandas, &rest] {
        assert_eq!(op.inputs[1].digest, phase1, "copied from phase 1");
    }
    assert_eq!(
        copied_paths(&numpy),
        [
            format!("{sp}/numpy"),
            format!("{sp}/numpy-2.4.6.dist-info"),
            format!("{sp}/numpy.libs")
        ]
    );
    assert_eq!(
        copied_paths(&pandas),
        [
            format!("{sp}/pandas"),
            format!("{sp}/pandas-3.1.1.dist-info")
        ]
    );
    assert_eq!(
        copied_paths(&rest),
        [
            "/app/.venv/bin".to_string(),
            format!("{sp}/_virtualenv.pth"),
            format!("{sp}/six-1.17.0.dist-info"),
            format!("{sp}/six.py"),
            "/app/.venv/lib64".into(),
            "/app/.venv/pyvenv.cfg".into(),
        ]
    );
}

#[test]
fn with_mergeop_each_package_is_installed_on_its_own_and_big_ones_get_layers_of_their_own() {
    let bridge = build(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    bridge.assert_built();
    assert_eq!(
        bridge.solved.len(),
        2,
        "the image and its check: nothing is read from phase 1 first"
    );
    let def = bridge.result_definition();
    // numpy at the version the lock picks for Python 3.11 (its marker), pinned by its hashes.
    let (_, numpy) = vertex(def, "[deps 1/1] uv pip install numpy==2.4.6");
    let args = &exec(&numpy).meta.as_ref().expect("meta").args;
    // `sh -c <script> uv-frontend <requirement> <index> <python>`
    let requirement = &args[4];
    assert!(
        requirement.starts_with("numpy==2.4.6 --hash=sha256:"),
        "{requirement}"
    );
    assert!(args[2].contains("pip install --no-deps --require-hashes"));
    assert!(ops(def)
        .iter()
        .all(|(d, _)| !name_of(def, d).contains("numpy==2.5")));
    let layer = |label: &str| vertex(def, &format!("[deps 1/1] layer: {label}")).0;
    let (user, _) = vertex(def, "[runtime-deps 1/2] add user");
    let (_, runtime) = vertex(def, "[runtime-deps] stack layers");
    let inputs: Vec<&str> = runtime.inputs.iter().map(|i| i.digest.as_str()).collect();
    assert_eq!(inputs[..3], [&user, &layer("numpy"), &layer("pandas")]);
    // The small packages share layers; the builder stacks the very same layers (and the
    // context's copy last, for phase 2).
    let (_, project) = vertex(def, "[project] stack layers");
    let last = project.inputs.len() - 1;
    let builder_layers: Vec<&str> = project.inputs[1..last]
        .iter()
        .map(|i| i.digest.as_str())
        .collect();
    assert_eq!(builder_layers, inputs[1..]);
    assert!(inputs.len() > 3);
}

#[test]
fn the_dev_target_reads_no_venv_layout() {
    let bridge = build_with_opts(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC, &[("target", "dev")]);
    bridge.assert_built();
    assert_eq!(
        bridge.solved.len(),
        1,
        "one solve: the dev image, no phase 1 alone"
    );
}

#[test]
fn a_venv_laid_out_otherwise_is_copied_as_one_layer() {
    let mut bridge = FakeBridge::without_mergeop(BIGWHEELS_EXAMPLE, EXAMPLE_SPEC);
    // No lib/python3.X/site-packages to read: the venv is copied whole.
    run(&mut bridge, &opts());
    bridge.assert_built();
    let def = bridge.result_definition();
    let (_, deps) = vertex(def, "[runtime-deps 2/2] copy /app/.venv dependencies");
    assert_eq!(file_copy(&deps).src, "/app/.venv");
}
