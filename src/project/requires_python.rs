//! Whether a `requires-python` specifier set admits any Python version at all: uv reads
//! `>=3.12,<3.11` without complaint and fails only when it resolves, far from the line at fault.

use std::cmp::Ordering;

/// A release version (`3.12.1`), compared as PEP 440 compares them: missing parts are zeros.
type Release = Vec<u64>;

/// One end of the versions a set admits: the version and whether it is admitted itself.
type Bound = (Release, bool);

/// Whether some version satisfies every clause of `specifiers` (comma-separated PEP 440
/// specifiers). A clause this does not read (`!=`, `===`, pre-releases, local versions, epochs)
/// constrains nothing here: only a set that is empty for certain is `false`.
pub fn admits_some_version(specifiers: &str) -> bool {
    let mut lower: Option<Bound> = None;
    let mut upper: Option<Bound> = None;
    for clause in specifiers.split(',').map(str::trim) {
        let Some((low, high)) = bounds(clause) else {
            continue;
        };
        if let Some(low) = low {
            lower = Some(match lower {
                Some(old) if !is_above(&low, &old) => old,
                _ => low,
            });
        }
        if let Some(high) = high {
            upper = Some(match upper {
                Some(old) if !is_above(&old, &high) => old,
                _ => high,
            });
        }
    }
    match (lower, upper) {
        (Some((low, low_in)), Some((high, high_in))) => match compare(&low, &high) {
            Ordering::Less => true,
            Ordering::Equal => low_in && high_in,
            Ordering::Greater => false,
        },
        _ => true,
    }
}

/// Whether bound `a` is above `b` (at the same version, the one that excludes it is above as a
/// lower bound).
fn is_above(a: &Bound, b: &Bound) -> bool {
    match compare(&a.0, &b.0) {
        Ordering::Equal => !a.1 && b.1,
        order => order == Ordering::Greater,
    }
}

/// The lower and upper bound a clause sets; `None` for a clause this does not read.
fn bounds(clause: &str) -> Option<(Option<Bound>, Option<Bound>)> {
    const OPERATORS: [&str; 7] = ["~=", "==", "!=", "<=", ">=", "<", ">"];
    if clause.starts_with("===") {
        return None;
    }
    let op = OPERATORS.iter().find(|op| clause.starts_with(**op))?;
    let version = clause[op.len()..].trim();
    Some(match *op {
        "==" => match version.strip_suffix(".*") {
            Some(prefix) => {
                let low = release(prefix)?;
                (Some((low.clone(), true)), Some((next(&low)?, false)))
            }
            None => {
                let exact = release(version)?;
                (Some((exact.clone(), true)), Some((exact, true)))
            }
        },
        ">=" => (Some((release(version)?, true)), None),
        ">" => (Some((release(version)?, false)), None),
        "<=" => (None, Some((release(version)?, true))),
        "<" => (None, Some((release(version)?, false))),
        // `~=3.12.1` is `>=3.12.1, ==3.12.*`.
        "~=" => {
            let low = release(version)?;
            let prefix = &low[..low.len().checked_sub(1).filter(|&n| n > 0)?];
            (Some((low.clone(), true)), Some((next(prefix)?, false)))
        }
        _ => return None,
    })
}

/// `3.12.1` as numbers; `None` for anything else.
fn release(text: &str) -> Option<Release> {
    text.split('.')
        .map(|part| {
            (!part.is_empty() && part.bytes().all(|b| b.is_ascii_digit()))
                .then(|| part.parse().ok())
                .flatten()
        })
        .collect()
}

/// The first release after every release starting with `prefix` (`3.13` after `3.12.*`).
fn next(prefix: &[u64]) -> Option<Release> {
    let mut next = prefix.to_vec();
    let last = next.last_mut()?;
    *last = last.checked_add(1)?;
    Some(next)
}

fn compare(a: &[u64], b: &[u64]) -> Ordering {
    let n = a.len().max(b.len());
    let at = |v: &[u64], i: usize| v.get(i).copied().unwrap_or(0);
    (0..n)
        .map(|i| at(a, i).cmp(&at(b, i)))
        .find(|o| o.is_ne())
        .unwrap_or(Ordering::Equal)
}

#[cfg(test)]
mod tests {
    use super::admits_some_version;

    #[test]
    fn sets_with_a_version_in_them_are_admitted() {
        for set in [
            ">=3.11",
            ">=3.11, <4",
            "~=3.11",
            "==3.12.*",
            ">=3.12,<=3.12",
            "==3.12,>=3.12.0",
            ">3.12,<3.12.1",
            "!=3.12",
            "",
            ">=3.12,<3.13,!=3.12.1",
            // Not read: constrains nothing.
            ">=3.12,<3.11rc1",
            "===3.12,<3.11",
            ">=99999999999999999999999,<3",
        ] {
            assert!(admits_some_version(set), "{set}");
        }
    }

    #[test]
    fn sets_no_version_satisfies_are_not() {
        for set in [
            ">=3.12,<3.11",
            ">3.12,<=3.12",
            ">=3.12,<3.12",
            "==3.11,==3.12",
            "==3.11.*,>=3.12",
            "~=3.12.1,<3.12.1",
            "~=3.12,>=4",
            "<3.10, >=3.10",
        ] {
            assert!(!admits_some_version(set), "{set}");
        }
    }
}
