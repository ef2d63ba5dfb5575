//! Errors in `uv.build` (or in a project file it relies on), located to a line.

use std::fmt;

/// A one-line reason, the file and line at fault, and how to fix it.
#[derive(Debug, Clone, PartialEq, Eq, serde::Serialize)]
pub struct SpecError {
    pub file: String,
    /// 1-based line number.
    pub line: usize,
    pub message: String,
    pub fix: String,
}

impl fmt::Display for SpecError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}:{}: {}", self.file, self.line, self.message)?;
        if !self.fix.is_empty() {
            write!(f, " (fix: {})", self.fix)?;
        }
        Ok(())
    }
}

impl std::error::Error for SpecError {}

impl SpecError {
    /// An error at byte `offset` of `file`.
    pub fn at(
        file: &SpecFile,
        offset: usize,
        message: impl Into<String>,
        fix: impl Into<String>,
    ) -> SpecError {
        SpecError {
            file: file.name.clone(),
            line: line_of(&file.text, offset),
            message: message.into(),
            fix: fix.into(),
        }
    }
}

/// The spec file as read: its name (for messages) and its text.
#[derive(Clone, Debug)]
pub struct SpecFile {
    pub name: String,
    pub text: String,
}

/// 1-based line of byte `offset` in `text`.
pub fn line_of(text: &str, offset: usize) -> usize {
    let end = offset.min(text.len());
    text.as_bytes()[..end]
        .iter()
        .filter(|&&b| b == b'\n')
        .count()
        + 1
}
