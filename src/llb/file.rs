//! File ops: copies, directories and files, chained on one state in a single vertex.

use super::pb;
use super::state::State;
use super::vertex::{Output, Vertex};

/// Owner of what a file action creates.
#[derive(Clone, Debug, PartialEq, Eq)]
pub enum Chown {
    /// Numeric uid and gid.
    Ids(u32, u32),
    /// A user and group name, looked up in the destination's `/etc/passwd` and `/etc/group`.
    Names(String, String),
}

/// Options of a copy, as `COPY` has them.
#[derive(Clone, Debug, Default)]
pub struct CopyOptions {
    pub owner: Option<Chown>,
    /// Copy the contents of a source directory rather than the directory itself.
    pub contents_only: bool,
    pub include_patterns: Vec<String>,
    pub exclude_patterns: Vec<String>,
    pub create_dest_path: bool,
    pub allow_wildcard: bool,
    pub allow_empty_wildcard: bool,
    pub follow_symlinks: bool,
}

#[derive(Clone, Debug)]
enum Secondary {
    None,
    State(Option<Output>),
}

#[derive(Clone, Debug)]
struct Action {
    action: pb::file_action::Action,
    secondary: Secondary,
}

/// A chain of file actions; each runs on the result of the one before it.
#[derive(Clone, Debug)]
pub struct FileOp {
    base: State,
    actions: Vec<Action>,
    /// Modification time (Unix nanoseconds) of everything the actions create; -1: now.
    timestamp: i64,
}

impl State {
    /// Starts a chain of file actions on this state.
    pub fn file(&self) -> FileOp {
        FileOp {
            base: self.clone(),
            actions: vec![],
            timestamp: -1,
        }
    }
}

fn chown_to_pb(owner: &Option<Chown>, base_input: i64) -> Option<pb::ChownOpt> {
    let user = |u: pb::user_opt::User| Some(pb::UserOpt { user: Some(u) });
    owner.as_ref().map(|owner| match owner {
        Chown::Ids(uid, gid) => pb::ChownOpt {
            user: user(pb::user_opt::User::ById(*uid)),
            group: user(pb::user_opt::User::ById(*gid)),
        },
        Chown::Names(u, g) => pb::ChownOpt {
            user: user(pb::user_opt::User::ByName(pb::NamedUserOpt {
                name: u.clone(),
                input: base_input,
            })),
            group: user(pb::user_opt::User::ByName(pb::NamedUserOpt {
                name: g.clone(),
                input: base_input,
            })),
        },
    })
}

impl FileOp {
    /// Gives everything these actions create the time `unix_seconds` (reproducible builds);
    /// `None` keeps BuildKit's default (the time of the build).
    pub fn created_at(mut self, unix_seconds: Option<i64>) -> FileOp {
        self.timestamp = unix_seconds.map_or(-1, |s| s.saturating_mul(1_000_000_000));
        self
    }

    /// Copies `src` of `from` to `dest`.
    pub fn copy(mut self, from: &State, src: &str, dest: &str, options: &CopyOptions) -> FileOp {
        let copy = pb::FileActionCopy {
            src: src.into(),
            dest: dest.into(),
            owner: chown_to_pb(&options.owner, -1),
            mode: -1,
            follow_symlink: options.follow_symlinks,
            dir_copy_contents: options.contents_only,
            create_dest_path: options.create_dest_path,
            allow_wildcard: options.allow_wildcard,
            allow_empty_wildcard: options.allow_empty_wildcard,
            timestamp: -1,
            include_patterns: options.include_patterns.clone(),
            exclude_patterns: options.exclude_patterns.clone(),
            ..Default::default()
        };
        self.actions.push(Action {
            action: pb::file_action::Action::Copy(copy),
            secondary: Secondary::State(from.output.clone()),
        });
        self
    }

    pub fn mkdir(mut self, path: &str, mode: i32, owner: Option<Chown>) -> FileOp {
        self.actions.push(Action {
            action: pb::file_action::Action::Mkdir(pb::FileActionMkDir {
                path: path.into(),
                mode,
                make_parents: true,
                owner: chown_to_pb(&owner, -1),
                timestamp: -1,
            }),
            secondary: Secondary::None,
        });
        self
    }

    pub fn mkfile(mut self, path: &str, mode: i32, data: &[u8], owner: Option<Chown>) -> FileOp {
        self.actions.push(Action {
            action: pb::file_action::Action::Mkfile(pb::FileActionMkFile {
                path: path.into(),
                mode,
                data: data.to_vec(),
                owner: chown_to_pb(&owner, -1),
                timestamp: -1,
            }),
            secondary: Secondary::None,
        });
        self
    }

    pub fn rm(mut self, path: &str) -> FileOp {
        self.actions.push(Action {
            action: pb::file_action::Action::Rm(pb::FileActionRm {
                path: path.into(),
                allow_not_found: true,
                allow_wildcard: false,
            }),
            secondary: Secondary::None,
        });
        self
    }

    /// The state after every action ran, as one vertex named `name`.
    pub fn done(self, name: &str) -> State {
        if self.actions.is_empty() {
            return self.base;
        }
        let mut inputs: Vec<Output> = Vec::new();
        if let Some(output) = &self.base.output {
            inputs.push(output.clone());
        }
        // Secondary inputs come after the base; an action's input is either an input index or,
        // past the inputs, the result of an earlier action.
        let mut secondary_index = Vec::with_capacity(self.actions.len());
        for action in &self.actions {
            secondary_index.push(match &action.secondary {
                Secondary::None => -1,
                Secondary::State(None) => -1,
                Secondary::State(Some(output)) => {
                    inputs.push(output.clone());
                    inputs.len() as i64 - 1
                }
            });
        }
        let input_count = inputs.len() as i64;
        let last = self.actions.len() - 1;
        let mut caps = vec!["file.base"];
        let actions = self
            .actions
            .into_iter()
            .enumerate()
            .map(|(i, action)| {
                let input = if i == 0 {
                    if self.base.output.is_some() {
                        0
                    } else {
                        -1
                    }
                } else {
                    input_count + i as i64 - 1
                };
                let mut act = action.action;
                set_timestamp(&mut act, self.timestamp);
                // Names are looked up in the action's own input (its destination).
                set_name_lookup_input(&mut act, input);
                if let pb::file_action::Action::Copy(copy) = &act {
                    if !copy.include_patterns.is_empty() || !copy.exclude_patterns.is_empty() {
                        caps.push("file.copy.includeexcludepatterns");
                    }
                }
                pb::FileAction {
                    input,
                    secondary_input: secondary_index[i],
                    output: if i == last { 0 } else { -1 },
                    action: Some(act),
                }
            })
            .collect();
        let op = pb::op::Op::File(pb::FileOp { actions });
        let vertex = Vertex::new(op, inputs, self.base.pb_platform(), name, caps);
        self.base.with_output(vertex.output(0))
    }
}

fn set_timestamp(action: &mut pb::file_action::Action, timestamp: i64) {
    match action {
        pb::file_action::Action::Copy(c) => c.timestamp = timestamp,
        pb::file_action::Action::Mkdir(m) => m.timestamp = timestamp,
        pb::file_action::Action::Mkfile(m) => m.timestamp = timestamp,
        pb::file_action::Action::Symlink(l) => l.timestamp = timestamp,
        pb::file_action::Action::Rm(_) => {}
    }
}

fn set_name_lookup_input(action: &mut pb::file_action::Action, input: i64) {
    let owner = match action {
        pb::file_action::Action::Copy(c) => c.owner.as_mut(),
        pb::file_action::Action::Mkdir(m) => m.owner.as_mut(),
        pb::file_action::Action::Mkfile(m) => m.owner.as_mut(),
        _ => None,
    };
    if let Some(owner) = owner {
        for opt in [owner.user.as_mut(), owner.group.as_mut()]
            .into_iter()
            .flatten()
        {
            if let Some(pb::user_opt::User::ByName(named)) = opt.user.as_mut() {
                named.input = input;
            }
        }
    }
}
