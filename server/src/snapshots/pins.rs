//! Snapshot pins: a pinned snapshot cannot be cleared while its pin holds. Other services pin
//! what they depend on (a restore pins its source while the request is open and its safety
//! snapshot for a retention time); clearing asks only this module, so snapshots never call
//! back into the services that use them.

use sqlx::SqlitePool;

/// One pin as the pages and a refused clear show it.
#[derive(Debug, Clone, PartialEq, Eq, sqlx::FromRow)]
pub struct Pin {
    pub node: String,
    pub tag: String,
    pub holder: String,
    pub reason: String,
    pub pinned_at: i64,
    /// `None`: holds until its holder removes it.
    pub until_ms: Option<i64>,
}

/// Pins `tag` on `node` for `holder` (again: the reason and time are replaced).
pub async fn pin(
    pool: &SqlitePool,
    node: &str,
    tag: &str,
    holder: &str,
    reason: &str,
    now_ms: i64,
    until_ms: Option<i64>,
) -> Result<(), sqlx::Error> {
    sqlx::query(
        "INSERT INTO snapshot_pins (node, tag, holder, reason, pinned_at, until_ms) VALUES (?, ?, ?, ?, ?, ?) \
         ON CONFLICT (node, tag, holder) DO UPDATE SET reason = excluded.reason, pinned_at = excluded.pinned_at, until_ms = excluded.until_ms",
    )
    .bind(node)
    .bind(tag)
    .bind(holder)
    .bind(reason)
    .bind(now_ms)
    .bind(until_ms)
    .execute(pool)
    .await?;
    Ok(())
}

/// Removes the pins of `holder` that hold until removed; pins with a time stay until it passes.
pub async fn release(pool: &SqlitePool, holder: &str) -> Result<u64, sqlx::Error> {
    let r = sqlx::query("DELETE FROM snapshot_pins WHERE holder = ? AND until_ms IS NULL")
        .bind(holder)
        .execute(pool)
        .await?;
    Ok(r.rows_affected())
}

/// The pins that hold `tag` on `node` at `now_ms` (expired ones are removed on the way).
pub async fn holding(
    pool: &SqlitePool,
    node: &str,
    tag: &str,
    now_ms: i64,
) -> Result<Vec<Pin>, sqlx::Error> {
    sqlx::query("DELETE FROM snapshot_pins WHERE until_ms IS NOT NULL AND until_ms <= ?")
        .bind(now_ms)
        .execute(pool)
        .await?;
    sqlx::query_as::<_, Pin>(
        "SELECT node, tag, holder, reason, pinned_at, until_ms FROM snapshot_pins \
         WHERE node = ? AND tag = ? ORDER BY pinned_at, holder",
    )
    .bind(node)
    .bind(tag)
    .fetch_all(pool)
    .await
}

/// The sentence a refused clear answers with.
pub fn refusal(tag: &str, node: &str, pins: &[Pin]) -> String {
    let why: Vec<String> = pins
        .iter()
        .map(|p| match p.until_ms {
            Some(until) => format!("{} (kept until {})", p.reason, app::api::format_utc(until)),
            None => p.reason.clone(),
        })
        .collect();
    format!(
        "snapshot `{tag}` on node {node} is pinned and cannot be cleared: {}",
        why.join("; ")
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn a_pin_holds_until_released_or_until_its_time_passes() {
        let dir = tempfile::tempdir().expect("tempdir");
        let catalog = crate::catalog::Catalog::open(&dir.path().join("c.db"))
            .await
            .expect("catalog");
        let pool = catalog.pool();
        pin(
            pool,
            "n1",
            "nightly",
            "restore:1",
            "restore request 1 uses it",
            10,
            None,
        )
        .await
        .expect("pin");
        pin(
            pool,
            "n1",
            "pre",
            "restore:1:safety",
            "safety snapshot",
            10,
            Some(100),
        )
        .await
        .expect("pin");
        assert_eq!(
            holding(pool, "n1", "nightly", 50).await.expect("q").len(),
            1
        );
        assert!(
            holding(pool, "n2", "nightly", 50)
                .await
                .expect("q")
                .is_empty()
        );
        let held = holding(pool, "n1", "pre", 99).await.expect("q");
        assert_eq!(held.len(), 1);
        assert!(
            refusal("pre", "n1", &held).contains("kept until"),
            "{}",
            refusal("pre", "n1", &held)
        );

        // Releasing the holder frees the source; the timed safety pin stays until its time.
        assert_eq!(release(pool, "restore:1").await.expect("release"), 1);
        assert!(
            holding(pool, "n1", "nightly", 50)
                .await
                .expect("q")
                .is_empty()
        );
        assert_eq!(holding(pool, "n1", "pre", 99).await.expect("q").len(), 1);
        assert!(holding(pool, "n1", "pre", 100).await.expect("q").is_empty());
    }
}
