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

/// Most characters of a value an error message quotes: a longer one is cut, so that an error
/// about a 100 kB value is still one readable line.
pub const QUOTED_MAX: usize = 80;

/// `value` quoted as `{:?}` quotes it; longer than [`QUOTED_MAX`] characters, its start, `…`
/// and its length: `"aaa…"… (100000 characters)`.
pub fn quote(value: &str) -> String {
    // Cut where the quoted text reaches the limit: `\u{1b}` is one character but 6 quoted.
    let mut quoted_len = 0;
    let end = value.char_indices().find_map(|(i, c)| {
        quoted_len += c.escape_debug().count();
        (quoted_len > QUOTED_MAX).then_some(i)
    });
    match end {
        None => format!("{value:?}"),
        Some(end) => format!(
            "{:?}… ({} characters)",
            &value[..end],
            value.chars().count()
        ),
    }
}

/// `text` (a name or a flag, written without quotes) as it is, or cut as [`quote`] cuts.
pub fn shorten(text: &str) -> String {
    shorten_to(text, QUOTED_MAX)
}

/// `text` as it is, or its first `max` characters, `…` and its length.
pub fn shorten_to(text: &str, max: usize) -> String {
    match cut(text, max) {
        None => text.to_string(),
        Some(start) => format!("{start}… ({} characters)", text.chars().count()),
    }
}

/// The first `max` characters of `text`, when it has more.
fn cut(text: &str, max: usize) -> Option<&str> {
    let (end, _) = text.char_indices().nth(max)?;
    Some(&text[..end])
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

#[cfg(test)]
mod tests {
    use super::{quote, shorten};

    #[test]
    fn long_values_are_quoted_cut_with_their_length_and_short_ones_whole() {
        assert_eq!(quote("/app"), "\"/app\"");
        assert_eq!(shorten("UVF_SYNC_DEV"), "UVF_SYNC_DEV");
        let long = "é".repeat(100_000);
        let quoted = quote(&long);
        assert_eq!(
            quoted,
            format!("\"{}\"… (100000 characters)", "é".repeat(80))
        );
        assert_eq!(
            shorten(&"x".repeat(81)),
            format!("{}… (81 characters)", "x".repeat(80))
        );
        assert_eq!(quote(&"x".repeat(80)), format!("{:?}", "x".repeat(80)));
        // Cut by the length quoted: an escape counts for the characters it takes.
        assert_eq!(
            quote(&"\u{1b}".repeat(100)),
            format!("{:?}… (100 characters)", "\u{1b}".repeat(13))
        );
    }
}
