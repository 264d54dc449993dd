//! Where the pages link to each other: a snapshot tag's detail, a restore request, and the
//! restore wizard with a snapshot already chosen.

use crate::api::encode_query_value as encode;

/// The detail page of one tag, narrowed to one node.
pub fn snapshot_href(tag: &str, node: Option<&str>) -> String {
    match node {
        Some(n) => format!("/snapshots/{}?node={}", encode(tag), encode(n)),
        None => format!("/snapshots/{}", encode(tag)),
    }
}

/// The page of one restore request.
pub fn restore_href(id: i64) -> String {
    format!("/restores/{id}")
}

/// The restore wizard with this snapshot (on this node, when one is named) chosen.
pub fn restore_wizard_href(tag: &str, node: Option<&str>) -> String {
    match node {
        Some(n) => format!("/restores?snapshot={}&node={}", encode(tag), encode(n)),
        None => format!("/restores?snapshot={}", encode(tag)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn links_carry_tag_and_node_encoded() {
        assert_eq!(
            snapshot_href("truncated-1-orders", Some("node 1")),
            "/snapshots/truncated-1-orders?node=node%201"
        );
        assert_eq!(snapshot_href("t", None), "/snapshots/t");
        assert_eq!(restore_href(7), "/restores/7");
        assert_eq!(
            restore_wizard_href("nightly-1", Some("node1")),
            "/restores?snapshot=nightly-1&node=node1"
        );
        assert_eq!(restore_wizard_href("a b", None), "/restores?snapshot=a%20b");
    }
}
