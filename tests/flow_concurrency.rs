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
        self.start(format!("solve {}", last_name(&definition)))
            .await?;
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
        self.inner.resolve_image_config(image, platform, mode).await
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
    let mut fake = FakeBridge::with_project(PLAIN_EXAMPLE, EXAMPLE_SPEC);
    let started = {
        let probe = Probe {
            inner: FakeSession::new(&mut fake),
            holds,
            started: RefCell::new(Vec::new()),
        };
        let rt = tokio::runtime::Builder::new_current_thread()
            .build()
            .expect("runtime");
        rt.block_on(uv_frontend::frontend::run(&probe, &opts(), 1_795_448_680))
            .expect("the fake never fails to answer");
        probe.started.into_inner()
    };
    (fake, started)
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
fn image_configs_are_resolved_only_after_the_base_image_is_loaded() {
    // Image lookups made at once stalled each other on a pruned containerd-store builder: the
    // accounts' read of the base image does not wait for a config resolve, it comes first.
    let (fake, _) = build_holding(vec![Hold {
        call: "read_file /etc/passwd",
        until: "resolve ",
    }]);
    assert!(
        fake.error_message().contains("waited in vain"),
        "{}",
        fake.error_message()
    );
    let (fake, started) = build_holding(vec![]);
    fake.assert_built();
    let first_resolve = started
        .iter()
        .position(|l| l.starts_with("resolve "))
        .expect("a config is resolved");
    let accounts = started
        .iter()
        .position(|l| l.starts_with("read_file /etc/passwd"))
        .expect("the accounts are read");
    assert!(accounts < first_resolve, "{started:?}");
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
