//! The known name a mistyped one most likely meant: for "did you mean" fixes of spec keys,
//! build args and commands.

/// The known name closest to `word`, if it is close enough to be a typo.
pub fn closest<'a>(word: &str, names: &[&'a str]) -> Option<&'a str> {
    // Distances count characters: so does the bound (bytes made `hello` close to 2000 `𓶊`).
    let bound = |n: &str| 2.max(n.chars().count() / 3);
    let length = word.chars().count();
    names
        .iter()
        // No closer than their difference in length: a name that far is not computed.
        .filter(|n| length.abs_diff(n.chars().count()) <= bound(n))
        .map(|n| (edit_distance(word, n), *n))
        .filter(|(d, n)| *d <= bound(n))
        .min()
        .map(|(_, n)| n)
}

/// Levenshtein distance of two names.
pub fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur.push((prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1));
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::closest;

    #[test]
    fn a_close_name_is_close_in_characters_and_long_words_are_close_to_nothing_short() {
        assert_eq!(closest("extras", &["extra", "group"]), Some("extra"));
        // A fuzz find: 2000 four-byte characters counted as 8000 made anything close to them.
        let wide = "\u{936ca}".repeat(2000);
        assert_eq!(closest("hello", &[wide.as_str()]), None);
        assert_eq!(closest(&"x".repeat(100_000), &["extra", "group"]), None);
    }
}
