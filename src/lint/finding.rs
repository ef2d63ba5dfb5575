//! What a finding is, and where findings about `uv.build` point.

use serde::Serialize;

use crate::spec::SpecFile;

/// One finding: a rule, what it means, and where.
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
pub struct Finding {
    /// CamelCase, as BuildKit's Dockerfile rules are named.
    pub rule: &'static str,
    /// What the rule checks.
    pub description: &'static str,
    /// This finding, with its fix.
    pub detail: String,
    /// The file it is about (`uv.build`, `pyproject.toml`, `uv.lock`, `.dockerignore`), and a
    /// 1-based line in it when there is one.
    pub file: String,
    pub line: Option<usize>,
}

/// The line of `key` under `[table]` in the spec, if it is written there.
pub fn key_line(spec_file: &SpecFile, table: &str, key: &str) -> Option<usize> {
    let mut current = String::new();
    for (i, line) in spec_file.text.lines().enumerate() {
        let line = line.trim();
        if let Some(name) = line.strip_prefix('[').and_then(|l| l.strip_suffix(']')) {
            current = name.trim().to_string();
        } else if current == table && line.split('=').next().is_some_and(|k| k.trim() == key) {
            return Some(i + 1);
        }
    }
    None
}
