//! How `bench/run` reads a build's log: what uv downloaded, and which downloads it had to
//! start again (uv's read timeout on a stalled connection, docs/benchmarks.md), so that a run
//! slowed by the network says so instead of passing for the frontend's time.

use std::process::Command;

/// `parse_build_log` of `bench/run` on `log`: downloads, large downloads, retried downloads.
fn parse(log: &str) -> String {
    let script = r#"
import importlib.util, sys
from importlib.machinery import SourceFileLoader
loader = SourceFileLoader("bench_run", "bench/run")
bench = importlib.util.module_from_spec(importlib.util.spec_from_loader("bench_run", loader))
sys.modules["bench_run"] = bench  # its dataclasses look their module up
loader.exec_module(bench)
facts = bench.parse_build_log(sys.stdin.read())
print(facts.downloads, facts.large_downloads, facts.retried_downloads)
"#;
    let mut child = Command::new("python3")
        .args(["-c", script])
        .current_dir(env!("CARGO_MANIFEST_DIR"))
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped())
        .spawn()
        .expect("python3 runs");
    use std::io::Write;
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(log.as_bytes())
        .expect("log written");
    let out = child.wait_with_output().expect("python3 ends");
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stdout)
    );
    String::from_utf8(out.stdout)
        .expect("utf-8")
        .trim()
        .to_string()
}

#[test]
fn a_download_started_twice_in_one_step_is_a_retry() {
    let log = "\
#17 [deps 1/1] uv pip install pandas==3.1.1
#17 0.690 Downloading pandas (11.8MiB)
#17 44.54 Downloading pandas (11.8MiB)
#17 45.25 Prepared 1 package in 44.56s
#17 DONE 46.0s
#21 [deps 1/1] uv pip install numpy==2.4.6
#21 0.882 Downloading numpy (16.1MiB)
#21 1.160 Prepared 1 package in 1.1s
#21 DONE 3.1s
";
    assert_eq!(
        parse(log),
        "2 ['pandas (11.8MiB)', 'numpy (16.1MiB)'] ['pandas']"
    );
}

#[test]
fn the_same_package_downloaded_by_two_steps_is_no_retry() {
    // Two builds' worth of steps in one log (a baseline and its rebuild) each download pandas.
    let log = "\
#10 [builder 4/6] RUN uv sync --locked --no-install-project --no-dev
#10 0.260 Downloading pandas (11.8MiB)
#10 0.613 Prepared 1 package in 390ms
#10 DONE 1.0s
#12 [builder 6/6] RUN uv sync --locked --no-dev
#12 0.216 Downloading pandas (11.8MiB)
#12 0.300 Prepared 1 package in 5ms
#12 DONE 0.4s
";
    assert_eq!(parse(log), "2 ['pandas (11.8MiB)', 'pandas (11.8MiB)'] []");
}
