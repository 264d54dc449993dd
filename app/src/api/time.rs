//! Instants and days in UTC as text (`2026-11-24 20:08:40 UTC`, `20261124T200840Z`,
//! `2026-11-24`), and parsed back from what people and Cassandra's manifests write.

/// Formats Unix milliseconds as UTC, e.g. `2026-11-24 20:08:00 UTC`.
pub fn format_utc(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ms);
    format!("{y:04}-{m:02}-{d:02} {hh:02}:{mm:02}:{ss:02} UTC")
}

/// Formats Unix milliseconds as a compact UTC stamp for tags: `20261124T200840Z`.
pub fn format_compact_utc(ms: i64) -> String {
    let (y, m, d, hh, mm, ss) = civil(ms);
    format!("{y:04}{m:02}{d:02}T{hh:02}{mm:02}{ss:02}Z")
}

/// The UTC day of Unix milliseconds: `2026-11-24`.
pub fn format_day(ms: i64) -> String {
    let (y, m, d, ..) = civil(ms);
    format!("{y:04}-{m:02}-{d:02}")
}

/// Days since 1970-01-01 of a civil date (Howard Hinnant's algorithm).
fn days_from_civil(y: i64, m: i64, d: i64) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = if m > 2 { m - 3 } else { m + 9 };
    let doy = (153 * mp + 2) / 5 + d - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn num(s: &str) -> Option<i64> {
    (!s.is_empty() && s.bytes().all(|b| b.is_ascii_digit()))
        .then(|| s.parse().ok())
        .flatten()
}

/// Parses a UTC day `YYYY-MM-DD` into the Unix milliseconds of its midnight.
pub fn parse_day(s: &str) -> Option<i64> {
    let mut parts = s.trim().splitn(3, '-');
    let (y, m, d) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    let days_in_month = match m {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if (y % 4 == 0 && y % 100 != 0) || y % 400 == 0 => 29,
        2 => 28,
        _ => return None,
    };
    if !(1970..=9999).contains(&y) || d < 1 || d > days_in_month {
        return None;
    }
    Some(days_from_civil(y, m, d) * 86_400_000)
}

/// Parses an ISO-8601 UTC time as Cassandra writes it in snapshot manifests
/// (`2026-11-24T20:08:40.123Z`, fraction optional, `Z` or `+00:00`) into Unix milliseconds.
pub fn parse_utc(s: &str) -> Option<i64> {
    let s = s.trim();
    let (date, time) = s.split_once(['T', ' '])?;
    let day = parse_day(date)?;
    let time = time
        .strip_suffix('Z')
        .or_else(|| time.strip_suffix("+00:00"))?;
    let (hms, frac) = match time.split_once('.') {
        Some((a, b)) => (a, b),
        None => (time, ""),
    };
    let mut parts = hms.splitn(3, ':');
    let (h, mi, sec) = (
        num(parts.next()?)?,
        num(parts.next()?)?,
        num(parts.next()?)?,
    );
    if h > 23 || mi > 59 || sec > 60 {
        return None;
    }
    let millis = if frac.is_empty() {
        0
    } else {
        if !frac.bytes().all(|b| b.is_ascii_digit()) {
            return None;
        }
        let mut digits: String = frac.chars().take(3).collect();
        while digits.len() < 3 {
            digits.push('0');
        }
        digits.parse::<i64>().ok()?
    };
    Some(day + (h * 3600 + mi * 60 + sec) * 1000 + millis)
}

/// (year, month, day, hour, minute, second) in UTC of Unix milliseconds.
fn civil(ms: i64) -> (i64, i64, i64, i64, i64, i64) {
    let secs = ms.div_euclid(1000);
    let days = secs.div_euclid(86_400);
    let rem = secs.rem_euclid(86_400);
    // Civil date from days since 1970-01-01 (Howard Hinnant's algorithm).
    let z = days + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = doy - (153 * mp + 2) / 5 + 1;
    let m = if mp < 10 { mp + 3 } else { mp - 9 };
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d, rem / 3600, (rem % 3600) / 60, rem % 60)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn utc_dates_are_civil() {
        assert_eq!(format_utc(0), "1970-01-01 00:00:00 UTC");
        assert_eq!(format_utc(951_782_400_000), "2000-02-29 00:00:00 UTC");
        assert_eq!(format_utc(1_795_550_920_176), "2026-11-24 20:08:40 UTC");
        assert_eq!(format_compact_utc(1_795_550_920_176), "20261124T200840Z");
        assert_eq!(format_day(1_795_550_920_176), "2026-11-24");
    }

    #[test]
    fn manifest_times_and_days_parse() {
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.176Z"),
            Some(1_795_550_920_176)
        );
        assert_eq!(parse_utc("2026-11-24T20:08:40Z"), Some(1_795_550_920_000));
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.1+00:00"),
            Some(1_795_550_920_100)
        );
        assert_eq!(
            parse_utc("2026-11-24T20:08:40.123456789Z"),
            Some(1_795_550_920_123)
        );
        assert_eq!(parse_utc("2000-02-29T00:00:00Z"), Some(951_782_400_000));
        assert_eq!(parse_utc("2026-11-24T20:08:40"), None, "no zone");
        assert_eq!(parse_utc("2026-13-01T00:00:00Z"), None);
        assert_eq!(parse_utc("garbage"), None);
        assert_eq!(parse_day("2026-11-24"), Some(1_795_478_400_000));
        assert_eq!(parse_day("2026-02-30"), None);
        assert_eq!(parse_day("2024-02-29"), Some(1_709_164_800_000));
        assert_eq!(parse_day("24-1-1"), None);
        assert_eq!(parse_day("2026-1x-01"), None);
    }

    proptest::proptest! {
        #[test]
        fn formatting_and_parsing_round_trip(ms in 0i64..253_402_300_799_000) {
            let (y, m, d, hh, mm, ss) = civil(ms);
            let iso = format!("{y:04}-{m:02}-{d:02}T{hh:02}:{mm:02}:{ss:02}.{:03}Z", ms.rem_euclid(1000));
            proptest::prop_assert_eq!(parse_utc(&iso), Some(ms));
            proptest::prop_assert_eq!(parse_day(&format_day(ms)), Some(ms - ms.rem_euclid(86_400_000)));
        }
    }
}
