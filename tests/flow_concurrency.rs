//! The gateway calls that do not depend on each other are made at once. A probe bridge holds
//! back one call until another has started: a flow that made them one after the other would
//! never start the second, and the held call gives up with an error the test sees.

mod support;

use std::cell::RefCell;

use support::*;
use uv_frontend::gateway::{
    Bridge, CacheImport, Capabilities, DirEntry, FrontendResult, ResolvedImage, Warning,
};
use uv_frontend::llb::{pb, Platform};

/// What a call waits for: a call whose label starts with `until` has started.
struct Hold {
    /// Calls whose label starts with this are held.
    call: &'static str,
    until: &'static str,
}

/// The fake, with every call labelled (`solve <last vertex name>`, `resolve <image>`, ...) and
/// recorded as it starts, and the calls of `holds` held until their partner has started.
struct Probe<'a> {
    inner: FakeSession<'a>,
    holds: Vec<Hold>,
    started: RefCell<Vec<String>>,
    /// Image lookups in flight now, and the most there ever were at once.
    lookups: RefCell<(usize, usize)>,
}

impl Probe<'_> {
    async fn start(&self, label: String) -> anyhow::Result<()> {
        self.started.borrow_mut().push(label.clone());
        for hold in self.holds.iter().filter(|h| label.starts_with(h.call)) {
            let mut waited = 0;
            while !self
                .started
                .borrow()
                .iter()
                .any(|l| l.starts_with(hold.until))
            {
                waited += 1;
                if waited > 1000 {
                    anyhow::bail!("`{label}` waited in vain for `{}` to start", hold.until);
                }
                tokio::task::yield_now().await;
            }
        }
        Ok(())
    }
}

fn last_name(definition: &pb::Definition) -> String {
    let (digest, _) = ops(definition).pop().expect("an op");
    name_of(definition, &digest).to_string()
}

/// `solve <last vertex name>`, and for a source alone (a read) ` <its identifier>` after it.
fn solve_label(definition: &pb::Definition) -> String {
    match ops(definition).as_slice() {
        [(
            _,
            pb::Op {
                op: Some(pb::op::Op::Source(source)),
                ..
            },
        )] => {
            format!("solve {} {}", last_name(definition), source.identifier)
        }
        _ => format!("solve {}", last_name(definition)),
    }
}

impl Bridge for Probe<'_> {
    async fn ping(&self) -> anyhow::Result<Capabilities> {
        self.inner.ping().await
    }

    async fn solve(
        &self,
        definition: pb::Definition,
        cache_imports: &[CacheImport],
        evaluate: bool,
    ) -> anyhow::Result<String> {
        self.start(solve_label(&definition)).await?;
        self.inner.solve(definition, cache_imports, evaluate).await
    }

    async fn read_file(&self, reference: &str, path: &str) -> anyhow::Result<Vec<u8>> {
        self.start(format!("read_file {path}")).await?;
        self.inner.read_file(reference, path).await
    }

    async fn read_dir(&self, reference: &str, dir: &str) -> anyhow::Result<Vec<DirEntry>> {
        self.inner.read_dir(reference, dir).await
    }

    async fn resolve_image_config(
        &self,
        image: &str,
        platform: &Platform,
        mode: &str,
    ) -> anyhow::Result<ResolvedImage> {
        self.start(format!("resolve {image}")).await?;
        {
            let mut lookups = self.lookups.borrow_mut();
            lookups.0 += 1;
            lookups.1 = lookups.1.max(lookups.0);
        }
        // A lookup takes a while: a flow that made another meanwhile would start it now.
        for _ in 0..10 {
            tokio::task::yield_now().await;
        }
        let resolved = self.inner.resolve_image_config(image, platform, mode).await;
        self.lookups.borrow_mut().0 -= 1;
        resolved
    }

    async fn warn(&self, warning: &Warning) -> anyhow::Result<()> {
        self.inner.warn(warning).await
    }

    async fn finish(&self, result: FrontendResult) -> anyhow::Result<()> {
        self.inner.finish(result).await
    }
}

/// Builds examples/plain through the probe; returns the fake and the labels in start order.
fn build_holding(holds: Vec<Hold>) -> (FakeBridge, Vec<String>) {
    let (fake, started, _) = build_probed(EXAMPLE_SPEC, holds);
    (fake, started)
}

/// Builds examples/plain with `spec` through the probe; returns the fake, the labels in start
/// order and the most image lookups that were in flight at once.
fn build_probed(spec: &str, holds: Vec<Hold>) -> (FakeBridge, Vec<String>, usize) {
    let mut fake = FakeBridge::with_project(PLAIN_EXAMPLE, spec);
    let (started, most_lookups) = {
        let probe = Probe {
            inner: FakeSession::new(&mut fake),
            holds,
            started: RefCell::new(Vec::new()),
            lookups: RefCell::new((0, 0)),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(uv_frontend::frontend::run(&probe, &opts(), 1_795_448_680))
            .expect("the fake never fails to answer");
        (probe.started.into_inner(), probe.lookups.into_inner().1)
    };
    (fake, started, most_lookups)
}

#[test]
fn the_spec_and_the_project_files_are_read_at_once() {
    let (fake, _) = build_holding(vec![Hold {
        call: "solve [internal] load uv.build",
        until: "solve [internal] load pyproject.toml",
    }]);
    fake.assert_built();
}

#[test]
fn the_base_images_two_account_files_are_read_at_once() {
    let (fake, started) = build_holding(vec![Hold {
        call: "read_file /etc/passwd",
        until: "read_file /etc/group",
    }]);
    fake.assert_built();
    assert!(started
        .iter()
        .any(|l| l.starts_with("read_file /etc/group")));
}

#[test]
fn the_base_image_is_read_at_the_digest_its_config_resolved_to() {
    let (fake, started) = build_holding(vec![]);
    fake.assert_built();
    let base = "127.0.0.1:5000/python:3.11-bookworm";
    let position = |label: &str| {
        started
            .iter()
            .position(|l| l.starts_with(label))
            .unwrap_or_else(|| panic!("no {label} in {started:?}"))
    };
    assert!(
        position(&format!("resolve {base}")) < position("solve [base]"),
        "{started:?}"
    );
    // Pinned, so loading it asks the registry nothing more; named as the spec names it.
    let pinned = format!("docker-image://{base}@{}", image_digest(base));
    assert!(
        started.contains(&format!("solve [base] {base} {pinned}")),
        "{started:?}"
    );
}

#[test]
fn the_other_images_configs_are_resolved_while_the_accounts_are_read() {
    let (fake, _) = build_holding(vec![Hold {
        call: "read_file /etc/passwd",
        until: "resolve 127.0.0.1:5000/uv:",
    }]);
    fake.assert_built();
}

#[test]
fn image_lookups_are_made_one_at_a_time() {
    // Image lookups made at once stalled each other on a pruned containerd-store builder
    // (docs/benchmarks.md): with a builder, a base and a uv image, three lookups, in turn.
    let spec = format!("{EXAMPLE_SPEC}base = \"python:3.11-slim-bookworm\"\n");
    let (fake, started, most_lookups) = build_probed(&spec, vec![]);
    fake.assert_built();
    let lookups = started.iter().filter(|l| l.starts_with("resolve ")).count();
    assert_eq!(lookups, 3, "{started:?}");
    assert_eq!(most_lookups, 1, "{started:?}");
}

#[test]
fn the_checks_are_solved_beside_the_image() {
    let (fake, started) = build_holding(vec![Hold {
        call: "solve [runtime] stack layers",
        until: "solve [check]",
    }]);
    fake.assert_built();
    let image = started
        .iter()
        .position(|l| l.starts_with("solve [runtime] stack layers"))
        .expect("the image is solved");
    assert!(
        started[image..]
            .iter()
            .any(|l| l.starts_with("solve [check]")),
        "{started:?}"
    );
}

#[test]
fn a_held_call_that_is_never_joined_fails_the_probe() {
    // The probe itself: a partner that never starts makes the held call fail, and the build
    // returns that error, so the tests above can fail.
    let (fake, _) = build_holding(vec![Hold {
        call: "solve [internal] load uv.build",
        until: "solve no such call",
    }]);
    assert!(
        fake.error_message().contains("waited in vain"),
        "{}",
        fake.error_message()
    );
}
