//! Durations as Docker takes them for health checks: Go's `time.ParseDuration` format, a
//! sequence of numbers with units (`30s`, `1m30s`, `1.5h`, `500ms`).

/// Nanoseconds of `text`, or `None` when it is not a duration (a bare number has no unit).
pub fn nanos(text: &str) -> Option<u64> {
    const UNITS: [(&str, f64); 7] = [
        ("ns", 1.0),
        ("us", 1e3),
        ("µs", 1e3),
        ("ms", 1e6),
        ("s", 1e9),
        ("m", 60e9),
        ("h", 3600e9),
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return None;
    }
    let mut total = 0f64;
    while !rest.is_empty() {
        let number_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number: f64 = rest[..number_len].parse().ok()?;
        rest = &rest[number_len..];
        // The longest unit that matches ("ms" before "m").
        let (unit, scale) = UNITS
            .iter()
            .filter(|(u, _)| rest.starts_with(u))
            .max_by_key(|(u, _)| u.len())?;
        rest = &rest[unit.len()..];
        total += number * scale;
    }
    (total.is_finite() && total < u64::MAX as f64).then_some(total.round() as u64)
}

#[cfg(test)]
mod tests {
    use super::nanos;

    #[test]
    fn go_durations_are_read_and_bare_numbers_are_not() {
        assert_eq!(nanos("30s"), Some(30_000_000_000));
        assert_eq!(nanos("1m30s"), Some(90_000_000_000));
        assert_eq!(nanos("500ms"), Some(500_000_000));
        assert_eq!(nanos("1.5h"), Some(5_400_000_000_000));
        assert_eq!(nanos("30"), None);
        assert_eq!(nanos("30 s"), None);
        assert_eq!(nanos("s"), None);
        assert_eq!(nanos(""), None);
        assert_eq!(nanos("5x"), None);
    }
}
