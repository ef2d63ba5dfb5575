//! Exec ops: a command run on a state, with extra mounts.

use std::collections::BTreeMap;

use super::pb;
use super::state::State;
use super::vertex::{Output, Vertex};

/// How BuildKit shares a cache mount between concurrent builds.
#[derive(Clone, Copy, Debug, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum CacheSharing {
    Shared,
    Private,
    Locked,
}

impl CacheSharing {
    fn to_pb(self) -> i32 {
        match self {
            CacheSharing::Shared => pb::CacheSharingOpt::Shared as i32,
            CacheSharing::Private => pb::CacheSharingOpt::Private as i32,
            CacheSharing::Locked => pb::CacheSharingOpt::Locked as i32,
        }
    }
}

/// The network an exec step gets.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Default)]
pub enum Network {
    #[default]
    Sandbox,
    Host,
    None,
}

#[derive(Clone, Debug)]
enum MountKind {
    Bind {
        from: Option<Output>,
        selector: String,
        readonly: bool,
    },
    Cache {
        id: String,
        sharing: CacheSharing,
    },
    Tmpfs,
    /// A client secret as a file, readable by root only; never in any layer.
    Secret {
        id: String,
        optional: bool,
    },
    /// The client's forwarded SSH agent socket.
    Ssh {
        id: String,
        optional: bool,
    },
}

#[derive(Clone, Debug)]
struct ExtraMount {
    target: String,
    kind: MountKind,
}

/// An exec step being described; [`Exec::root`] turns it into the resulting state.
#[derive(Clone, Debug)]
pub struct Exec {
    base: State,
    args: Vec<String>,
    mounts: Vec<ExtraMount>,
    name: String,
    proxy: Option<pb::ProxyEnv>,
    network: Network,
    secret_env: Vec<pb::SecretEnv>,
    extra_hosts: Vec<pb::HostIp>,
}

impl State {
    /// Runs `args` on this state, with its environment, working directory and user.
    pub fn run(&self, args: &[&str], name: &str) -> Exec {
        Exec {
            base: self.clone(),
            args: args.iter().map(|a| a.to_string()).collect(),
            mounts: vec![],
            name: name.into(),
            proxy: None,
            network: Network::Sandbox,
            secret_env: vec![],
            extra_hosts: vec![],
        }
    }
}

impl Exec {
    /// Mounts (a directory of) `from` at `target`.
    pub fn bind(mut self, from: &State, selector: &str, target: &str, readonly: bool) -> Exec {
        self.mounts.push(ExtraMount {
            target: target.into(),
            kind: MountKind::Bind {
                from: from.output.clone(),
                selector: selector.into(),
                readonly,
            },
        });
        self
    }

    /// Mounts the persistent cache `id` at `target`. No uid, gid or mode is ever set: those make
    /// BuildKit start the cache from a different state, i.e. a different cache.
    pub fn cache(mut self, id: &str, target: &str, sharing: CacheSharing) -> Exec {
        self.mounts.push(ExtraMount {
            target: target.into(),
            kind: MountKind::Cache {
                id: id.into(),
                sharing,
            },
        });
        self
    }

    pub fn tmpfs(mut self, target: &str) -> Exec {
        self.mounts.push(ExtraMount {
            target: target.into(),
            kind: MountKind::Tmpfs,
        });
        self
    }

    /// Mounts the client's secret `id` as a file at `target` (root, mode 0400). An `optional`
    /// secret the client did not pass is simply absent. Secrets never enter the cache key.
    pub fn secret(mut self, id: &str, target: &str, optional: bool) -> Exec {
        self.mounts.push(ExtraMount {
            target: target.into(),
            kind: MountKind::Secret {
                id: id.into(),
                optional,
            },
        });
        self
    }

    /// Sets the environment variable `name` to the client's secret `id` for this step only
    /// (LLB cap `exec.secretenv`); an `optional` secret the client did not pass leaves it unset.
    pub fn secret_env(mut self, id: &str, name: &str, optional: bool) -> Exec {
        self.secret_env.push(pb::SecretEnv {
            id: id.into(),
            name: name.into(),
            optional,
        });
        self.secret_env.sort_by(|a, b| a.name.cmp(&b.name));
        self
    }

    /// Mounts the client's forwarded SSH agent `id` (`--ssh id`) as a socket at `target`.
    pub fn ssh(mut self, id: &str, target: &str, optional: bool) -> Exec {
        self.mounts.push(ExtraMount {
            target: target.into(),
            kind: MountKind::Ssh {
                id: id.into(),
                optional,
            },
        });
        self
    }

    pub fn proxy(mut self, proxy: Option<pb::ProxyEnv>) -> Exec {
        self.proxy = proxy;
        self
    }

    /// Entries (name, IP) added to the step's `/etc/hosts`, as `--add-host` does for RUN.
    pub fn extra_hosts(mut self, hosts: &[(String, String)]) -> Exec {
        self.extra_hosts
            .extend(hosts.iter().map(|(host, ip)| pb::HostIp {
                host: host.clone(),
                ip: ip.clone(),
            }));
        self
    }

    pub fn network(mut self, network: Network) -> Exec {
        self.network = network;
        self
    }

    /// The state after the command ran: the root filesystem, with the same defaults.
    pub fn root(self) -> State {
        let base = self.base.clone();
        let vertex = self.into_vertex();
        base.with_output(vertex.output(0))
    }

    /// What the command left in the writable bind mount at `target`, as a state of its own.
    /// Panics if no writable bind mount has that target (a bug in the caller).
    pub fn mount_output(self, target: &str) -> State {
        let writable = |m: &&ExtraMount| {
            matches!(
                m.kind,
                MountKind::Bind {
                    readonly: false,
                    ..
                }
            )
        };
        assert!(
            self.mounts
                .iter()
                .filter(writable)
                .any(|m| m.target == target),
            "a writable bind mount at {target}"
        );
        // Outputs are numbered in the order of the marshalled mounts, sorted by target (as
        // BuildKit returns an exec's results in mount order): after the root's, 0.
        let index = 1 + self
            .mounts
            .iter()
            .filter(writable)
            .filter(|m| m.target.as_str() < target)
            .count() as i64;
        let platform = self.base.platform.clone();
        let vertex = self.into_vertex();
        let mut state = State::from_output(Some(vertex.output(index)), platform);
        state.env = BTreeMap::new();
        state
    }

    fn into_vertex(self) -> Vertex {
        let mut inputs: Vec<Output> = Vec::new();
        let mut caps = vec!["exec.meta.base", "exec.mount.bind"];
        let mut mounts = Vec::new();
        let root_input = match &self.base.output {
            Some(output) => {
                inputs.push(output.clone());
                0
            }
            None => -1,
        };
        mounts.push(pb::Mount {
            input: root_input,
            dest: "/".into(),
            output: 0,
            ..Default::default()
        });
        for mount in &self.mounts {
            mounts.push(mount_to_pb(mount, &mut inputs, &mut caps));
        }
        // Sorted by target so that the op does not depend on the order mounts were added in;
        // then writable binds get their outputs in that order, which is the order BuildKit
        // returns an exec's results in (not the numbers the mounts carry).
        mounts[1..].sort_by(|a, b| a.dest.cmp(&b.dest));
        let mut next_output = 1;
        for pm in &mut mounts[1..] {
            if pm.mount_type == pb::MountType::Bind as i32 && !pm.readonly {
                pm.output = next_output;
                next_output += 1;
            }
        }
        let env: Vec<String> = self
            .base
            .env
            .iter()
            .map(|(k, v)| format!("{k}={v}"))
            .collect();
        if self.proxy.is_some() {
            caps.push("exec.meta.proxyenv");
        }
        if !self.secret_env.is_empty() {
            caps.push("exec.secretenv");
        }
        let network = match self.network {
            Network::Sandbox => pb::NetMode::Unset,
            Network::Host => {
                caps.push("exec.meta.network");
                pb::NetMode::Host
            }
            Network::None => {
                caps.push("exec.meta.network");
                pb::NetMode::None
            }
        };
        let op = pb::op::Op::Exec(pb::ExecOp {
            meta: Some(pb::Meta {
                args: self.args,
                env,
                cwd: self.base.cwd.clone(),
                user: self.base.user.clone(),
                proxy_env: self.proxy,
                extra_hosts: self.extra_hosts,
                ..Default::default()
            }),
            mounts,
            network: network as i32,
            secretenv: self.secret_env,
            ..Default::default()
        });
        Vertex::new(op, inputs, self.base.pb_platform(), self.name, caps)
    }
}

/// `mount` as BuildKit's `pb::Mount`, its input (if it has one) added to `inputs` and the
/// caps it needs to `caps`. Outputs are numbered later, once the mounts are sorted.
fn mount_to_pb(
    mount: &ExtraMount,
    inputs: &mut Vec<Output>,
    caps: &mut Vec<&'static str>,
) -> pb::Mount {
    let mut pm = pb::Mount {
        dest: mount.target.clone(),
        input: -1,
        output: -1,
        ..Default::default()
    };
    match &mount.kind {
        MountKind::Bind {
            from,
            selector,
            readonly,
        } => {
            if let Some(output) = from {
                pm.input = inputs.len() as i64;
                inputs.push(output.clone());
            }
            if !selector.is_empty() && selector != "/" {
                pm.selector = selector.clone();
                caps.push("exec.mount.selector");
            }
            pm.readonly = *readonly;
        }
        MountKind::Cache { id, sharing } => {
            pm.mount_type = pb::MountType::Cache as i32;
            pm.cache_opt = Some(pb::CacheOpt {
                id: id.clone(),
                sharing: sharing.to_pb(),
            });
            caps.push("exec.mount.cache");
            caps.push("exec.mount.cache.sharing");
        }
        MountKind::Tmpfs => {
            pm.mount_type = pb::MountType::Tmpfs as i32;
            caps.push("exec.mount.tmpfs");
        }
        MountKind::Secret { id, optional } => {
            pm.mount_type = pb::MountType::Secret as i32;
            pm.secret_opt = Some(pb::SecretOpt {
                id: id.clone(),
                uid: 0,
                gid: 0,
                mode: 0o400,
                optional: *optional,
            });
            caps.push("exec.mount.secret");
        }
        MountKind::Ssh { id, optional } => {
            pm.mount_type = pb::MountType::Ssh as i32;
            pm.ssh_opt = Some(pb::SshOpt {
                id: id.clone(),
                uid: 0,
                gid: 0,
                mode: 0o600,
                optional: *optional,
            });
            caps.push("exec.mount.ssh");
        }
    }
    pm
}

#[cfg(test)]
mod tests {
    use prost::Message;

    use crate::llb::{marshal, pb, scratch, CopyOptions};

    /// The exec op and the op that copies from the mount at `target`, from a definition whose
    /// exec has writable mounts at `/z` and `/a`, added in that (unsorted) order.
    fn copy_of_mount(target: &str) -> (pb::ExecOp, pb::Input) {
        let on = scratch();
        let ran = on
            .run(&["/bin/true"], "run")
            .bind(&scratch(), "/", "/z", false)
            .bind(&scratch(), "/", "/a", false);
        let copied = scratch()
            .file()
            .copy(
                &ran.mount_output(target),
                "/",
                "/out",
                &CopyOptions::default(),
            )
            .done("copy");
        let definition = marshal(&copied).definition;
        let ops: Vec<pb::Op> = definition
            .def
            .iter()
            .map(|b| pb::Op::decode(b.as_slice()).expect("an op"))
            .collect();
        let exec = ops
            .iter()
            .find_map(|op| match &op.op {
                Some(pb::op::Op::Exec(exec)) => Some(exec.clone()),
                _ => None,
            })
            .expect("the exec");
        let copy = ops
            .iter()
            .find(|op| matches!(op.op, Some(pb::op::Op::File(_))))
            .expect("the copy");
        (exec, copy.inputs[0].clone())
    }

    #[test]
    fn a_mounts_output_is_numbered_in_the_order_buildkit_returns_results_in() {
        // BuildKit returns an exec's results in the order of its (sorted) mounts, whatever
        // numbers they carry: the outputs must follow that order, and a state of a mount's
        // output must name the output of that mount.
        for target in ["/a", "/z"] {
            let (exec, input) = copy_of_mount(target);
            let outputs: Vec<(&str, i64)> = exec
                .mounts
                .iter()
                .map(|m| (m.dest.as_str(), m.output))
                .collect();
            assert_eq!(outputs, [("/", 0), ("/a", 1), ("/z", 2)]);
            let mount = exec
                .mounts
                .iter()
                .find(|m| m.output == input.index)
                .expect("an output");
            assert_eq!(mount.dest, target);
        }
    }
}
