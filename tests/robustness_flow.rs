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

/// The error `spec` (examples/plain's spec plus `extra`) fails with, after checking that it was
/// Returned at a line of uv.build.
fn spec_error(extra: &str) -> String {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &format!("{EXAMPLE_SPEC}{extra}"));
    run(&mut bridge, &opts());
    bridge.error_message()
}

#[test]
fn a_directory_that_is_the_root_once_its_slashes_are_trimmed_is_rejected_at_its_line() {
    for (table, key, value, example) in [
        ("build", "workdir", "//", "/app"),
        ("build", "workdir", "/./", "/app"),
        ("cache", "dir", "///", "/root/.cache/uv"),
        ("build", "python-install-dir", "//", "/opt/uv-python"),
    ] {
        // EXAMPLE_SPEC ends in [build]: a [build] key goes on line 5, others under their table.
        let extra = if table == "build" {
            format!("{key} = {value:?}\n")
        } else {
            format!("[{table}]\n{key} = {value:?}\n")
        };
        let line = if table == "build" { 5 } else { 6 };
        assert_eq!(
            spec_error(&extra),
            format!("uv.build:{line}: [{table}] {key} {value:?} must be an absolute directory other than / (fix: use an absolute path such as {example:?})")
        );
    }
}

#[test]
fn long_values_are_quoted_cut_in_errors() {
    let long = "a".repeat(100_000);
    for extra in [
        format!("workdir = \"{long}\"\n"),
        format!("base = \"A{long}\"\n"),
        format!("[run]\nstop-signal = \"{long}\"\n"),
        format!("[sync]\nlock = \"{long}\"\n"),
        format!("[sync]\ndev = \"{long}\"\n"),
        format!("[sync]\n{long} = 1\n"),
        format!("apt = [\"{long}A\"]\n"),
        format!("[run]\ninclude = [\"/{long}\"]\n"),
    ] {
        let message = spec_error(&extra);
        assert!(
            message.len() < 600,
            "{} bytes: {}",
            message.len(),
            message.chars().take(600).collect::<String>()
        );
        assert!(message.contains("… (100"), "{message}");
    }
}

#[test]
fn a_panic_in_a_subrequest_is_returned_as_an_error_not_a_dead_frontend() {
    // The fake's resolver panics, standing in for a bug: --call=check resolves the builder.
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.panic_on_resolve = true;
    let mut o = opts();
    o.opts.insert("requestid".into(), "frontend.lint".into());
    run(&mut bridge, &o);
    assert_eq!(
        bridge.error_message(),
        "uv.build:1: internal error in uv-frontend: resolver exploded (please report it)"
    );
}

#[test]
fn a_dockerignore_star_storm_is_matched_and_quoted_cut() {
    let storm = "*".repeat(50_000);
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.set_context_file(".dockerignore", &format!("{storm}a\n{storm}k\n"));
    run(&mut bridge, &opts());
    // Line 2 ends in k, as uv.lock does; line 1 matches nothing the build needs.
    assert_eq!(
        bridge.error_message(),
        format!(
            ".dockerignore:2: `{}… (50001 characters)` leaves uv.lock out of the build context, but uv needs it (fix: remove the line, or add `!uv.lock` after it)",
            "*".repeat(80)
        )
    );
}

/// The error examples/plain fails with once `edit` has rewritten its context file `path`,
/// with the file the Returned location names.
fn project_file_error(path: &str, edit: impl FnOnce(&str) -> String) -> (String, String) {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    bridge.edit_context_file(path, edit);
    run(&mut bridge, &opts());
    let detail = &bridge.returned_error().expect("an error").details[0];
    let source: serde_json::Value = serde_json::from_slice(&detail.value).expect("JSON");
    let file = source["info"]["filename"]
        .as_str()
        .expect("a file")
        .to_string();
    (bridge.error_message(), file)
}

#[test]
fn project_values_uv_would_reject_later_fail_at_their_line() {
    let (message, file) = project_file_error("pyproject.toml", |t| {
        t.replace("name = \"hello-uv\"", "name = 5")
    });
    assert_eq!(
        (message.as_str(), file.as_str()),
        ("pyproject.toml:2: [project] name is an integer (5), not a string (fix: write it in quotes, e.g. name = \"my-app\")", "pyproject.toml")
    );
    let (message, _) =
        project_file_error("pyproject.toml", |t| t.replace(">=3.11", ">=3.12,<3.11"));
    assert!(
        message.starts_with(
            "pyproject.toml:5: [project] requires-python \">=3.12,<3.11\" admits no Python version"
        ),
        "{message}"
    );
    let (message, file) =
        project_file_error("uv.lock", |t| t.replacen("version = 1", "version = 99", 1));
    assert_eq!(
        (message.as_str(), file.as_str()),
        ("uv.lock:1: uv.lock has version = 99, a lock version uv does not read (it reads version 1) (fix: regenerate it with `uv lock` and commit it)", "uv.lock")
    );
}

#[test]
fn long_option_values_are_quoted_cut_in_errors() {
    let long = "\u{1b}".repeat(100_000);
    let builder = format!("127.0.0.1:5000/{}", "a".repeat(100_000));
    let spec = format!(
        "{EXAMPLE_SPEC}[run]\ncommand = [\"{}\"]\n",
        "b".repeat(100_000)
    );
    for (spec, option, value) in [
        (EXAMPLE_SPEC, "force-network-mode", long.as_str()),
        (EXAMPLE_SPEC, "image-resolve-mode", long.as_str()),
        (EXAMPLE_SPEC, "requestid", long.as_str()),
        (EXAMPLE_SPEC, "target", long.as_str()),
        (EXAMPLE_SPEC, "build-arg:UVF_UV_VERSION", long.as_str()),
        (
            EXAMPLE_SPEC,
            "build-arg:UVF_BUILD_BUILDER",
            builder.as_str(),
        ),
        (spec.as_str(), "target", "runtime"),
    ] {
        let bridge = build_with_opts(PLAIN_EXAMPLE, spec, &[(option, value)]);
        let message = bridge.error_message();
        assert!(
            message.chars().count() < 700,
            "{option}: {} characters: {}",
            message.chars().count(),
            message.chars().take(700).collect::<String>()
        );
        assert!(message.contains("… (100"), "{option}: {message}");
    }
}

#[test]
fn a_solve_error_with_the_failed_marker_before_the_process_is_returned_as_it_is() {
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let odd = " did not complete successfully process \"";
    bridge.build_error = Some(odd.into());
    run(&mut bridge, &opts());
    assert_eq!(bridge.error_message(), format!("uv.build:1: {odd}"));
}

/// examples/plain with `[run] command = ["missing"]` and the image's PATH set to `dirs`.
fn missing_command_on_path(dirs: &[String]) -> FakeBridge {
    let spec = format!(
        "{EXAMPLE_SPEC}[run]\ncommand = [\"missing\"]\nenv = {{ PATH = \"{}\" }}\n",
        dirs.join(":")
    );
    let mut bridge = FakeBridge::with_project(PLAIN_EXAMPLE, &spec);
    run(&mut bridge, &opts());
    bridge
}

#[test]
fn a_path_longer_than_any_system_has_is_left_to_the_runtime_and_quoted_cut() {
    // 20 000 directories would be 20 000 reads through the gateway: not judged.
    let many: Vec<String> = (0..20_000).map(|i| format!("/d{i}")).collect();
    missing_command_on_path(&many).assert_built();
    // Repeats are read once: 20 000 times /bin is one directory, which lacks the command.
    let repeated = vec!["/bin".to_string(); 20_000];
    let message = missing_command_on_path(&repeated).error_message();
    assert!(
        message.starts_with("uv.build:6: [run] command runs `missing`, which is in no directory of the runtime image's PATH (/bin)"),
        "{message}"
    );
    // Few but long directories are quoted cut.
    let long: Vec<String> = (0..10)
        .map(|i| format!("/{i}{}", "x".repeat(10_000)))
        .collect();
    let message = missing_command_on_path(&long).error_message();
    assert!(message.chars().count() < 800, "{message}");
    assert!(message.contains("… (100"), "{message}");
}
