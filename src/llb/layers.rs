//! MergeOp and DiffOp: layers stacked without copying, and the changes between two states.

use super::pb;
use super::state::State;
use super::vertex::Vertex;

/// The states stacked in order, each later one over the earlier ones. Their layers are kept as
/// they are, so an unchanged input keeps its layer digest in the exported image. Scratch inputs
/// are skipped. The result keeps the first state's exec defaults.
pub fn merge(states: &[State], name: &str) -> State {
    let outputs: Vec<_> = states.iter().filter_map(|s| s.output.clone()).collect();
    let first = states.first().cloned().unwrap_or_else(super::scratch);
    if outputs.len() <= 1 {
        return first;
    }
    let op = pb::op::Op::Merge(pb::MergeOp {
        inputs: (0..outputs.len() as i64)
            .map(|input| pb::MergeInput { input })
            .collect(),
    });
    let vertex = Vertex::new(op, outputs, first.pb_platform(), name, ["mergeop"]);
    first.with_output(vertex.output(0))
}

/// What `upper` adds to or changes in `lower`, as a state of its own.
pub fn diff(lower: &State, upper: &State, name: &str) -> State {
    let mut inputs = Vec::new();
    let mut index = |state: &State| match &state.output {
        Some(output) => {
            inputs.push(output.clone());
            inputs.len() as i64 - 1
        }
        None => -1,
    };
    let lower_input = index(lower);
    let upper_input = index(upper);
    let op = pb::op::Op::Diff(pb::DiffOp {
        lower: Some(pb::LowerDiffInput { input: lower_input }),
        upper: Some(pb::UpperDiffInput { input: upper_input }),
    });
    let vertex = Vertex::new(op, inputs, upper.pb_platform(), name, ["diffop"]);
    upper.with_output(vertex.output(0))
}
