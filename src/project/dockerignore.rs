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
