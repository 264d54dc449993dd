//! Figures in words: row counts with how they were had, byte counts that arrive as `u64`.

use crate::api::format_bytes;

/// "500 rows (counted)", "about 490 rows (estimated)" or "not recorded".
pub fn rows_text(count: Option<i64>, method: Option<&str>) -> String {
    match (count, method) {
        (Some(n), Some("count")) => format!("{n} rows (counted)"),
        (Some(n), Some("estimate")) => format!("about {n} rows (estimated)"),
        (Some(n), Some("sstables")) => {
            format!("about {n} rows (estimated from the snapshot's SSTable metadata)")
        }
        (Some(n), Some(other)) => format!("{n} rows ({other})"),
        (Some(n), None) => format!("{n} rows"),
        (None, _) => "not recorded".to_string(),
    }
}

/// Bytes in binary units, for the counts a restore plan keeps as `u64`.
pub fn bytes_u64(n: u64) -> String {
    format_bytes(i64::try_from(n).unwrap_or(i64::MAX))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn row_counts_say_how_they_were_had() {
        assert_eq!(rows_text(Some(1000), Some("count")), "1000 rows (counted)");
        assert_eq!(
            rows_text(Some(990), Some("estimate")),
            "about 990 rows (estimated)"
        );
        assert_eq!(
            rows_text(Some(42), Some("sstables")),
            "about 42 rows (estimated from the snapshot's SSTable metadata)"
        );
        assert_eq!(rows_text(Some(7), Some("sampled")), "7 rows (sampled)");
        assert_eq!(rows_text(Some(7), None), "7 rows");
        assert_eq!(rows_text(None, Some("count")), "not recorded");
    }

    #[test]
    fn u64_byte_counts_saturate() {
        assert_eq!(bytes_u64(1536), "1.5 KiB");
        assert_eq!(bytes_u64(u64::MAX), format_bytes(i64::MAX));
    }
}
