//! Figures and values as text: byte counts in binary units, durations in words, and values
//! percent-encoded for query strings and paths.

/// Formats bytes with binary units: `1.5 GiB`.
pub fn format_bytes(bytes: i64) -> String {
    const UNITS: [&str; 6] = ["B", "KiB", "MiB", "GiB", "TiB", "PiB"];
    let mut v = bytes.max(0) as f64;
    let mut unit = 0;
    while v >= 1024.0 && unit < UNITS.len() - 1 {
        v /= 1024.0;
        unit += 1;
    }
    if unit == 0 {
        format!("{} B", bytes.max(0))
    } else {
        format!("{v:.1} {}", UNITS[unit])
    }
}

/// A duration in words, coarsely: `45 s`, `12 min`, `3 h 20 min`, `4.5 days`.
pub fn format_duration_ms(ms: i64) -> String {
    let s = ms.max(0) / 1000;
    if s < 60 {
        format!("{s} s")
    } else if s < 3600 {
        format!("{} min", s / 60)
    } else if s < 86_400 {
        format!("{} h {} min", s / 3600, (s % 3600) / 60)
    } else {
        let days = s as f64 / 86_400.0;
        if (days - days.round()).abs() < 0.05 {
            format!("{} days", days.round() as i64)
        } else {
            format!("{days:.1} days")
        }
    }
}

/// Percent-encodes a query-string value (unreserved characters stay as they are).
pub fn encode_query_value(v: &str) -> String {
    let mut out = String::with_capacity(v.len());
    for b in v.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn bytes_use_binary_units() {
        assert_eq!(format_bytes(0), "0 B");
        assert_eq!(format_bytes(1023), "1023 B");
        assert_eq!(format_bytes(1536), "1.5 KiB");
        assert_eq!(format_bytes(5 * 1024 * 1024 * 1024), "5.0 GiB");
        assert_eq!(format_bytes(-5), "0 B");
    }

    #[test]
    fn durations_read_as_words() {
        assert_eq!(format_duration_ms(45_000), "45 s");
        assert_eq!(format_duration_ms(12 * 60_000 + 5_000), "12 min");
        assert_eq!(
            format_duration_ms(3 * 3_600_000 + 20 * 60_000),
            "3 h 20 min"
        );
        assert_eq!(format_duration_ms(2 * 86_400_000), "2 days");
        assert_eq!(format_duration_ms(108 * 3_600_000), "4.5 days");
    }

    #[test]
    fn values_are_percent_encoded() {
        assert_eq!(
            encode_query_value("snapkeep-2026.x_y~"),
            "snapkeep-2026.x_y~"
        );
        assert_eq!(
            encode_query_value("a b/c?d&e=é"),
            "a%20b%2Fc%3Fd%26e%3D%C3%A9"
        );
    }
}
