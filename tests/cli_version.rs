//! `uv-frontend --version`: what the people who publish the image check it with.

use std::process::Command;

#[test]
fn version_flag_prints_the_crates_version_and_exits() {
    let output = Command::new(env!("CARGO_BIN_EXE_uv-frontend"))
        .arg("--version")
        .output()
        .expect("the binary runs");
    assert!(output.status.success());
    assert_eq!(
        String::from_utf8_lossy(&output.stdout),
        format!("uv-frontend {}\n", env!("CARGO_PKG_VERSION"))
    );
}
