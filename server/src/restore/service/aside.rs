//! What a full-node restore set aside: recorded when the restore ends, kept until an admin
//! removes it or its keeping time passes (an hourly sweep).

use super::*;

impl RestoreService {
    /// Records what a full-node restore set aside, to be kept until an admin removes it or
    /// `keep_aside_days` pass; deletes nothing.
    pub(super) async fn keep_aside(
        &self,
        id: i64,
        plan: &Plan,
        node: &NodeConfig,
    ) -> Result<String, String> {
        let asides = Node::local(node).asides(plan)?;
        let now = now_ms();
        let until = now + self.config.keep_aside_days as i64 * 86_400_000;
        for a in &asides {
            sqlx::query(
                "INSERT INTO restore_aside (path, restore_id, node, kind, what, bytes, files, set_aside_at, keep_until) \
                 VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?) \
                 ON CONFLICT (path) DO UPDATE SET bytes = excluded.bytes, files = excluded.files, removed_at = NULL, removed_by = NULL",
            )
            .bind(a.path.display().to_string())
            .bind(id)
            .bind(&node.name)
            .bind(a.kind)
            .bind(&a.what)
            .bind(a.bytes as i64)
            .bind(a.files as i64)
            .bind(now)
            .bind(until)
            .execute(&self.pool)
            .await
            .map_err(|e| format!("cannot record what was set aside: {e}"))?;
        }
        if asides.is_empty() {
            return Ok("nothing was set aside".into());
        }
        Ok(format!(
            "kept, not deleted, until {} (an admin can remove it earlier): {}",
            app::api::format_utc(until),
            asides
                .iter()
                .map(|a| format!(
                    "{} {} ({} in {} files)",
                    a.what,
                    a.path.display(),
                    app::api::format_bytes(a.bytes as i64),
                    a.files
                ))
                .collect::<Vec<_>>()
                .join("; ")
        ))
    }

    /// Removes what full-node restore `id` set aside: an admin's decision (`by` a user) or
    /// the end of its keeping time (`by` none). Never while the restore runs.
    pub async fn remove_aside(
        &self,
        id: i64,
        by: Option<&CurrentUser>,
    ) -> Result<Vec<String>, RestoreError> {
        if let Some(u) = by
            && !u.can(Role::Admin)
        {
            return Err(RestoreError::Forbidden(format!(
                "only an admin may remove what a restore set aside; your role is `{}`",
                u.role
            )));
        }
        let r = self.row(id).await?;
        if r.state == "running" {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} is running; what it set aside is removed only once it stopped"
            )));
        }
        let plan: Plan = serde_json::from_str(&r.plan)
            .map_err(|e| RestoreError::Conflict(format!("the stored plan is unreadable: {e}")))?;
        let node = self.node_for(Some(&r.node), &r.tag)?;
        let removed = Node::local(&node)
            .remove_asides(&plan)
            .map_err(|e| RestoreError::Conflict(format!("nothing more was removed: {e}")))?;
        let who = by
            .map(|u| u.name.clone())
            .unwrap_or_else(|| "retention".into());
        sqlx::query(
            "UPDATE restore_aside SET removed_at = ?, removed_by = ? WHERE restore_id = ? AND removed_at IS NULL",
        )
        .bind(now_ms())
        .bind(&who)
        .bind(id)
        .execute(&self.pool)
        .await?;
        let removed: Vec<String> = removed.iter().map(|p| p.display().to_string()).collect();
        self.audit(
            id,
            "restore.aside_removed",
            Outcome::Ok,
            &format!("removed by {who}: {}", removed.join(", ")),
        )
        .await;
        Ok(removed)
    }

    /// Removes what restores set aside once its keeping time passed.
    pub async fn sweep_aside(&self) -> Result<usize, RestoreError> {
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT DISTINCT restore_id FROM restore_aside WHERE removed_at IS NULL AND keep_until < ?",
        )
        .bind(now_ms())
        .fetch_all(&self.pool)
        .await?;
        let mut n = 0;
        for id in ids {
            match self.remove_aside(id, None).await {
                Ok(r) => n += r.len(),
                Err(e) => {
                    tracing::warn!(restore = id, error = %e, "cannot remove what a restore set aside")
                }
            }
        }
        Ok(n)
    }

    /// Every hour: what restores set aside past its keeping time is removed.
    pub fn spawn_aside_sweeper(&self) {
        let this = self.clone();
        tokio::spawn(async move {
            let mut tick = tokio::time::interval(std::time::Duration::from_secs(3600));
            loop {
                tick.tick().await;
                if let Err(e) = this.sweep_aside().await {
                    tracing::warn!(error = %e, "the sweep of what restores set aside failed");
                }
            }
        });
    }
}
