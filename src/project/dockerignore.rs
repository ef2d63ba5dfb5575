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
/// or `!`), and `\` escapes.
fn matches_segment(glob: &[u8], name: &[u8]) -> bool {
    match glob.split_first() {
        None => name.is_empty(),
        Some((b'*', rest)) => (0..=name.len()).any(|skip| matches_segment(rest, &name[skip..])),
        Some((b'?', rest)) => !name.is_empty() && matches_segment(rest, &name[1..]),
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
            let mut found = false;
            let mut i = 0;
            while i < class.len() {
                if i + 2 < class.len() && class[i + 1] == b'-' {
                    found |= class[i] <= c && c <= class[i + 2];
                    i += 3;
                } else {
                    found |= class[i] == c;
                    i += 1;
                }
            }
            found != negated && matches_segment(after, name_rest)
        }
        Some((b'\\', rest)) if !rest.is_empty() => {
            name.first() == Some(&rest[0]) && matches_segment(&rest[1..], &name[1..])
        }
        Some((&literal, rest)) => {
            name.first() == Some(&literal) && matches_segment(rest, &name[1..])
        }
    }
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
}
