//! Restore drills reach the restore flow here: a drill's request is recorded like any other
//! (plan, hash, pinned source) and approved by Snapkeep itself, which only a side restore into
//! Snapkeep's own drill keyspace may be: it never touches a live table.

use super::*;

/// The keyspace drills restore into; Snapkeep creates it and drops what it restored there.
pub const DRILL_KEYSPACE: &str = "snapkeep_drill";

/// Who approves a drill's restore.
pub const DRILL_APPROVER: &str = "snapkeep (restore drill)";

impl RestoreService {
    /// Records a drill's restore request and approves it. Refused for anything but a side
    /// restore into [`DRILL_KEYSPACE`].
    pub async fn request_drill(
        &self,
        input: RestoreInput,
        user: &CurrentUser,
    ) -> Result<RestoreDto, RestoreError> {
        if input.target != Target::Side
            || input.side_keyspace.as_deref() != Some(DRILL_KEYSPACE)
            || input.truncate
        {
            return Err(RestoreError::Forbidden(format!(
                "only a side restore into `{DRILL_KEYSPACE}` runs without approval"
            )));
        }
        let r = self.request(input, user).await?;
        if r.plan
            .tables
            .iter()
            .any(|t| t.target_keyspace != DRILL_KEYSPACE)
        {
            return Err(RestoreError::Conflict(format!(
                "restore request {} would write outside `{DRILL_KEYSPACE}`; it was not approved",
                r.id
            )));
        }
        let expires = now_ms() + (self.config.approval_hours as i64) * 3_600_000;
        let comment = "a restore drill restores into side tables of snapkeep_drill only and \
                       never touches live tables: no approval needed";
        sqlx::query(
            "UPDATE restore_requests SET state = 'approved', decided_by = ?, decided_at = ?, decision_comment = ?, approval_expires_at = ? \
             WHERE id = ? AND state = 'awaiting_approval' AND target = 'side' AND side_keyspace = ?",
        )
        .bind(DRILL_APPROVER)
        .bind(now_ms())
        .bind(comment)
        .bind(expires)
        .bind(r.id)
        .bind(DRILL_KEYSPACE)
        .execute(&self.pool)
        .await?;
        self.audit(r.id, "restore.drill_approved", Outcome::Ok, comment)
            .await;
        self.get(r.id).await
    }
}
