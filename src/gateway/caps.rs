//! BuildKit's gateway capabilities, from Ping.

use std::collections::BTreeSet;

/// Gateway caps the frontend cannot work without, and the BuildKit release that has them all.
pub const REQUIRED_CAPS: &[&str] = &[
    "solve.base",
    "resolveimage",
    "readfile",
    "readdir",
    "return",
    "importcaches",
];
const REQUIRED_SINCE: &str = "BuildKit v0.8 (Docker 20.10)";

#[derive(Clone, Debug, Default)]
pub struct Capabilities {
    pub frontend: BTreeSet<String>,
    pub llb: BTreeSet<String>,
}

impl Capabilities {
    pub fn has(&self, cap: &str) -> bool {
        self.frontend.contains(cap)
    }

    pub fn has_llb(&self, cap: &str) -> bool {
        self.llb.contains(cap)
    }

    /// An error naming the missing gateway caps and the BuildKit version that has them.
    pub fn check_required(&self) -> Result<(), String> {
        let missing: Vec<&str> = REQUIRED_CAPS
            .iter()
            .copied()
            .filter(|c| !self.has(c))
            .collect();
        if missing.is_empty() {
            return Ok(());
        }
        Err(format!(
            "this BuildKit lacks the gateway capabilities {}: uv-frontend needs {REQUIRED_SINCE} or newer",
            missing.join(", ")
        ))
    }
}
