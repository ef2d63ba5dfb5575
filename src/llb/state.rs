//! Immutable build states: a filesystem (an output of a vertex, or scratch) plus the defaults
//! that exec steps run with (environment, working directory, user) and the target platform.

use std::collections::BTreeMap;

use super::pb;
use super::vertex::Output;

/// The platform ops run for, e.g. `linux/amd64`.
#[derive(Clone, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize)]
pub struct Platform {
    pub os: String,
    pub architecture: String,
    #[serde(skip_serializing_if = "String::is_empty")]
    pub variant: String,
}

impl Platform {
    pub fn new(os: &str, architecture: &str, variant: &str) -> Platform {
        Platform {
            os: os.into(),
            architecture: architecture.into(),
            variant: variant.into(),
        }
    }

    /// Parses `os/arch[/variant]`, as `--platform` takes it.
    pub fn parse(text: &str) -> Option<Platform> {
        let parts: Vec<&str> = text.trim().split('/').collect();
        match parts.as_slice() {
            [os, arch] if !os.is_empty() && !arch.is_empty() => Some(Platform::new(os, arch, "")),
            [os, arch, variant] if !os.is_empty() && !arch.is_empty() => {
                Some(Platform::new(os, arch, variant))
            }
            _ => None,
        }
    }

    pub fn to_pb(&self) -> pb::Platform {
        pb::Platform {
            os: self.os.clone(),
            architecture: self.architecture.clone(),
            variant: self.variant.clone(),
            ..Default::default()
        }
    }
}

impl std::fmt::Display for Platform {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}/{}", self.os, self.architecture)?;
        if !self.variant.is_empty() {
            write!(f, "/{}", self.variant)?;
        }
        Ok(())
    }
}

/// A filesystem and the defaults exec steps on it run with.
#[derive(Clone, Debug)]
pub struct State {
    pub(crate) output: Option<Output>,
    pub(crate) env: BTreeMap<String, String>,
    pub(crate) cwd: String,
    pub(crate) user: String,
    pub(crate) platform: Option<Platform>,
}

impl State {
    pub(crate) fn from_output(output: Option<Output>, platform: Option<Platform>) -> State {
        State {
            output,
            env: BTreeMap::new(),
            cwd: "/".into(),
            user: String::new(),
            platform,
        }
    }

    /// The same filesystem with another output (used by ops that produce a new one).
    pub(crate) fn with_output(&self, output: Output) -> State {
        State {
            output: Some(output),
            ..self.clone()
        }
    }

    pub fn output(&self) -> Option<&Output> {
        self.output.as_ref()
    }

    pub fn is_scratch(&self) -> bool {
        self.output.is_none()
    }

    pub fn env(mut self, key: &str, value: &str) -> State {
        self.env.insert(key.into(), value.into());
        self
    }

    /// Adds `KEY=VALUE` entries as an image config's `Env` lists them.
    pub fn env_list<'a>(mut self, entries: impl IntoIterator<Item = &'a str>) -> State {
        for entry in entries {
            let (key, value) = entry.split_once('=').unwrap_or((entry, ""));
            self.env.insert(key.into(), value.into());
        }
        self
    }

    pub fn get_env(&self, key: &str) -> Option<&str> {
        self.env.get(key).map(String::as_str)
    }

    pub fn cwd(mut self, dir: &str) -> State {
        self.cwd = dir.into();
        self
    }

    pub fn user(mut self, user: &str) -> State {
        self.user = user.into();
        self
    }

    pub fn platform(&self) -> Option<&Platform> {
        self.platform.as_ref()
    }

    pub(crate) fn pb_platform(&self) -> Option<pb::Platform> {
        self.platform.as_ref().map(Platform::to_pb)
    }
}

impl State {
    /// This filesystem with `other`'s environment (used after a step that ran with extra env).
    pub fn with_env_of(mut self, other: &State) -> State {
        self.env = other.env.clone();
        self
    }
}
