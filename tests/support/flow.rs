//! Helpers for the fake-bridge flow tests that more than one of them uses: a build of a project
//! with a spec, and what a definition or a failed build says (the context's source, a copy's
//! action and owner, the error's place in uv.build).

use uv_frontend::gateway::status::SOURCE_DETAIL_TYPE;
use uv_frontend::llb::pb;

use super::{opts, run, vertex, FakeBridge};

/// The build context as the project phase loads it (the runtime loads each module on its own).
pub fn context_source(def: &pb::Definition) -> pb::SourceOp {
    let (_, op) = vertex(def, "load build context");
    match op.op {
        Some(pb::op::Op::Source(s)) if s.identifier == "local://context" => s,
        other => panic!("not the context: {other:?}"),
    }
}

/// `project` built with `spec` as its uv.build and `opts()`.
pub fn build(project: &str, spec: &str) -> FakeBridge {
    let mut bridge = FakeBridge::with_project(project, spec);
    run(&mut bridge, &opts());
    bridge
}

/// The copy a file op makes (its first action).
pub fn file_copy(op: &pb::Op) -> &pb::FileActionCopy {
    let Some(pb::op::Op::File(file)) = &op.op else {
        panic!("not a file op: {op:?}")
    };
    let Some(pb::file_action::Action::Copy(copy)) = &file.actions[0].action else {
        panic!("not a copy")
    };
    copy
}

/// The numeric (uid, gid) a copy gives what it copies.
pub fn owner_ids(copy: &pb::FileActionCopy) -> (u32, u32) {
    let owner = copy.owner.as_ref().expect("an owner");
    let id = |u: &Option<pb::UserOpt>| match u.as_ref().and_then(|u| u.user.as_ref()) {
        Some(pb::user_opt::User::ById(id)) => *id,
        other => panic!("not a numeric owner: {other:?}"),
    };
    (id(&owner.user), id(&owner.group))
}

/// The place in uv.build (file and line range) a failed build's error carries.
pub fn source_detail(bridge: &FakeBridge) -> serde_json::Value {
    let status = bridge.returned_error().expect("the build failed");
    let detail = status
        .details
        .iter()
        .find(|d| d.type_url == SOURCE_DETAIL_TYPE)
        .expect("a source location");
    serde_json::from_slice(&detail.value).expect("JSON")
}
