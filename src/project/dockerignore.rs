//! `.dockerignore` patterns, cleaned as BuildKit's Dockerfile frontend cleans them.

/// One pattern per non-empty, non-comment line; leading `/` and `./` removed, `!` kept.
pub fn parse_dockerignore(text: &str) -> Vec<String> {
    text.lines()
        .map(str::trim)
        .filter(|l| !l.is_empty() && !l.starts_with('#'))
        .filter_map(|l| {
            let (neg, pat) = match l.strip_prefix('!') {
                Some(rest) => ("!", rest.trim()),
                None => ("", l),
            };
            let mut pat = pat.trim_start_matches('/');
            while let Some(rest) = pat.strip_prefix("./") {
                pat = rest;
            }
            let pat = pat.trim_end_matches('/');
            (!pat.is_empty() && pat != ".").then(|| format!("{neg}{pat}"))
        })
        .collect()
}

/// The line (1-based) and pattern of `text` that leaves the file `name`, at the context's root,
/// out of the build context, as BuildKit decides it: the last pattern that matches wins, and a
/// `!` pattern takes the file back. `None` when the file is sent.
pub fn excluding_pattern(text: &str, name: &str) -> Option<(usize, String)> {
    let mut excluded = None;
    for (index, line) in text.lines().enumerate() {
        let Some(pattern) = parse_dockerignore(line).into_iter().next() else {
            continue;
        };
        let (negated, glob) = match pattern.strip_prefix('!') {
            Some(rest) => (true, rest),
            None => (false, pattern.as_str()),
        };
        if matches_root_file(glob, name) {
            excluded = (!negated).then(|| (index + 1, line.trim().to_string()));
        }
    }
    excluded
}

/// Whether a `.dockerignore` glob matches a file at the context's root: `**/` may match no
/// directory at all, and any other `/` needs a directory the file is not in.
fn matches_root_file(glob: &str, name: &str) -> bool {
    let mut glob = glob;
    while let Some(rest) = glob.strip_prefix("**/") {
        glob = rest;
    }
    if glob == "**" {
        return true;
    }
    !glob.contains('/') && matches_segment(glob.as_bytes(), name.as_bytes())
}

/// Go's `filepath.Match` for one path segment: `*`, `?`, `[...]` classes (with ranges and `^`
/// or `!`), and `\` escapes. Every token but `*` matches exactly one byte, so this is the
/// classic two-pointer match that backtracks to the last `*` only: at worst the product of the
/// lengths, never exponential, and no recursion however many `*` a pattern has.
fn matches_segment(glob: &[u8], name: &[u8]) -> bool {
    let tokens = tokens(glob);
    let (mut t, mut n) = (0, 0);
    // The last `*` seen and the name position it is tried up to.
    let mut star: Option<(usize, usize)> = None;
    while n < name.len() {
        match tokens.get(t) {
            Some(Token::Star) => {
                star = Some((t, n));
                t += 1;
            }
            Some(token) if token.matches(name[n]) => {
                t += 1;
                n += 1;
            }
            _ => match star {
                // That `*` takes one byte more, and the rest is tried again after it.
                Some((star_t, star_n)) => {
                    star = Some((star_t, star_n + 1));
                    t = star_t + 1;
                    n = star_n + 1;
                }
                None => return false,
            },
        }
    }
    tokens[t..].iter().all(|token| *token == Token::Star)
}

/// A piece of a segment's glob: `*`, or something that matches one byte.
#[derive(Debug, PartialEq, Eq)]
enum Token<'a> {
    Star,
    Any,
    Byte(u8),
    /// `[...]`: the class's bytes (ranges as `a-z`), and whether it is negated.
    Class(&'a [u8], bool),
    /// A `[` without its `]`: nothing matches it.
    Never,
}

/// Whether `c` is in a `[...]` class's body (ranges `a-z` and single bytes, `^`/`!` already
/// taken off).
fn in_class(class: &[u8], c: u8) -> bool {
    let mut i = 0;
    while i < class.len() {
        if i + 2 < class.len() && class[i + 1] == b'-' {
            if class[i] <= c && c <= class[i + 2] {
                return true;
            }
            i += 3;
        } else {
            if class[i] == c {
                return true;
            }
            i += 1;
        }
    }
    false
}

impl Token<'_> {
    fn matches(&self, c: u8) -> bool {
        match *self {
            Token::Star | Token::Any => true,
            Token::Byte(b) => b == c,
            Token::Class(class, negated) => in_class(class, c) != negated,
            Token::Never => false,
        }
    }
}

/// The tokens of a segment's glob; a run of `*` is one `*`.
fn tokens(glob: &[u8]) -> Vec<Token<'_>> {
    let mut tokens = Vec::new();
    let mut i = 0;
    while i < glob.len() {
        let token = match glob[i] {
            b'*' => {
                i += 1;
                if tokens.last() == Some(&Token::Star) {
                    continue;
                }
                Token::Star
            }
            b'?' => {
                i += 1;
                Token::Any
            }
            b'[' => {
                let rest = &glob[i + 1..];
                let Some(end) = rest.iter().position(|&b| b == b']') else {
                    tokens.push(Token::Never);
                    return tokens;
                };
                i += end + 2;
                match rest[..end].split_first() {
                    Some((b'^' | b'!', tail)) => Token::Class(tail, true),
                    _ => Token::Class(&rest[..end], false),
                }
            }
            b'\\' if i + 1 < glob.len() => {
                i += 2;
                Token::Byte(glob[i - 1])
            }
            literal => {
                i += 1;
                Token::Byte(literal)
            }
        };
        tokens.push(token);
    }
    tokens
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_matching_pattern_decides_for_a_root_file() {
        assert_eq!(
            excluding_pattern("# lock\n*.lock\n", "uv.lock"),
            Some((2, "*.lock".to_string()))
        );
        assert_eq!(excluding_pattern("*.lock\n!uv.lock\n", "uv.lock"), None);
        assert_eq!(
            excluding_pattern("**/uv.lock\n", "uv.lock"),
            Some((1, "**/uv.lock".to_string()))
        );
        assert_eq!(
            excluding_pattern("/pyproject.toml\n", "pyproject.toml"),
            Some((1, "/pyproject.toml".to_string()))
        );
        assert_eq!(excluding_pattern("*\n", "uv.lock"), Some((1, "*".into())));
        assert_eq!(excluding_pattern("*\n!uv.lock\n", "uv.lock"), None);
        assert_eq!(
            excluding_pattern("[a-z]v.loc?\n", "uv.lock"),
            Some((1, "[a-z]v.loc?".into()))
        );
        // Not the root file.
        assert_eq!(
            excluding_pattern("sub/uv.lock\n*.toml.bak\n.venv\n", "uv.lock"),
            None
        );
        assert_eq!(excluding_pattern("[!u]v.lock\n", "uv.lock"), None);
        assert_eq!(excluding_pattern("", "uv.lock"), None);
    }

    #[test]
    fn globs_match_by_segment_as_go_filepath_match_does() {
        let m = |glob: &str, name: &str| matches_segment(glob.as_bytes(), name.as_bytes());
        assert!(m("*", ""));
        assert!(m("*.lock", "uv.lock"));
        assert!(m("u*v*.l*k", "uv.lock"));
        assert!(!m("*.lock", "uv.locks"));
        assert!(m("*a*b", "xaxxab"));
        assert!(!m("*a*b", "xaxxa"));
        assert!(m("\\*x", "*x"));
        assert!(!m("\\*x", "ax"));
        assert!(m("x\\", "x\\"));
        assert!(m("[^a]v.lock", "uv.lock"));
        // The class ends at the first `]`: `[]` is empty and matches nothing.
        assert!(!m("[]a]", "]a]"));
        assert!(!m("[]", "a"));
        assert!(!m("uv.[lock", "uv.[lock"));
        assert!(!m("*[", "a"));
        assert!(m("?v.lock", "uv.lock"));
        assert!(!m("?", ""));
    }

    #[test]
    fn a_star_storm_matches_as_one_star_without_recursing() {
        // A fuzz find: 50 000 stars overflowed the stack, one recursion each.
        let storm = "*".repeat(50_000);
        assert_eq!(
            excluding_pattern(&format!("{storm}a\n"), "uv.lock"),
            None,
            "uv.lock does not end in a"
        );
        assert_eq!(
            excluding_pattern(&format!("{storm}k\n"), "uv.lock"),
            Some((1, format!("{storm}k")))
        );
        assert_eq!(
            excluding_pattern(&format!("**/{storm}/**\n"), "uv.lock"),
            None
        );
    }

    #[test]
    fn thirty_stars_against_a_long_name_that_does_not_match() {
        // Each star used to try every split of the rest: exponential in the stars.
        let glob = format!("{}b", "*a".repeat(30));
        let name = "a".repeat(200);
        assert!(!matches_segment(glob.as_bytes(), name.as_bytes()));
        assert!(matches_segment(
            glob.as_bytes(),
            format!("{name}b").as_bytes()
        ));
        let stars = "*".repeat(30) + "x";
        assert!(!matches_segment(stars.as_bytes(), name.as_bytes()));
    }

    /// The matcher as it was before it was made iterative (exponential in the stars): the
    /// reference the new one must agree with on short globs.
    fn recursive_match(glob: &[u8], name: &[u8]) -> bool {
        match glob.split_first() {
            None => name.is_empty(),
            Some((b'*', rest)) => (0..=name.len()).any(|skip| recursive_match(rest, &name[skip..])),
            Some((b'?', rest)) => !name.is_empty() && recursive_match(rest, &name[1..]),
            Some((b'[', rest)) => {
                let Some((&c, name_rest)) = name.split_first() else {
                    return false;
                };
                let Some(end) = rest.iter().position(|&b| b == b']') else {
                    return false;
                };
                let (class, after) = (&rest[..end], &rest[end + 1..]);
                let (negated, class) = match class.split_first() {
                    Some((b'^' | b'!', tail)) => (true, tail),
                    _ => (false, class),
                };
                super::in_class(class, c) != negated && recursive_match(after, name_rest)
            }
            Some((b'\\', rest)) if !rest.is_empty() => {
                name.first() == Some(&rest[0]) && recursive_match(&rest[1..], &name[1..])
            }
            Some((&literal, rest)) => {
                name.first() == Some(&literal) && recursive_match(rest, &name[1..])
            }
        }
    }

    proptest::proptest! {
        #![proptest_config(proptest::prelude::ProptestConfig::with_cases(5000))]
        #[test]
        fn the_two_pointer_match_agrees_with_the_recursive_one(
            glob in "[ab*?\\[\\]^!\\\\.-]{0,8}",
            name in "[ab.\\]^!\\\\-]{0,8}",
        ) {
            proptest::prop_assert_eq!(
                matches_segment(glob.as_bytes(), name.as_bytes()),
                recursive_match(glob.as_bytes(), name.as_bytes())
            );
        }
    }
}
