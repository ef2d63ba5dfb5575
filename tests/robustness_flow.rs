//! Inputs a fuzz probe of the flow found to panic, hang or mislead (issue 13): each runs through
//! `frontend::run` against the fake BuildKit and gets an answer through Return.

mod support;

use support::*;

#[test]
fn a_non_ascii_python_version_after_cp_is_outlined_not_a_panic() {
    for version in ["cpé\n", "cp3é\n"] {
        let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, "# syntax=x\n");
        bridge.set_context_file(".python-version", version);
        let mut o = opts();
        o.opts.insert("requestid".into(), "frontend.outline".into());
        run(&mut bridge, &o);
        assert!(
            bridge.returned_metadata().contains_key("result.json"),
            "{version:?}"
        );
    }
}
