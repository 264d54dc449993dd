//! Escaping text for the formats the server writes: a value in a URL (a path segment or a
//! query-string value) and a cell of a CSV file. One function each, used by every caller: the
//! sign-in redirects, the CLI's client, the audit log's and the reports' CSV.

/// Percent-encodes a URL path segment or query-string value: everything but the unreserved
/// characters `A-Z a-z 0-9 - _ . ~`.
pub fn url_component(value: &str) -> String {
    let mut out = String::with_capacity(value.len());
    for b in value.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(b as char);
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// One CSV cell: quoted when it holds a separator, quote or line break; a leading formula
/// character is escaped so spreadsheets show text.
pub fn csv_cell(s: &str) -> String {
    let s = if s.starts_with(['=', '+', '-', '@']) {
        format!("'{s}")
    } else {
        s.to_string()
    };
    if s.contains([',', '"', '\n', '\r']) {
        format!("\"{}\"", s.replace('"', "\"\""))
    } else {
        s
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn url_components_are_percent_encoded() {
        assert_eq!(url_component("a b/c?d"), "a%20b%2Fc%3Fd");
        assert_eq!(url_component("snapkeep-1.x_y~"), "snapkeep-1.x_y~");
    }

    #[test]
    fn csv_cells_are_quoted_and_formulas_defused() {
        assert_eq!(csv_cell("plain"), "plain");
        assert_eq!(csv_cell("a,b"), "\"a,b\"");
        assert_eq!(csv_cell("say \"hi\""), "\"say \"\"hi\"\"\"");
        assert_eq!(csv_cell("=1+1"), "'=1+1");
    }
}
