//! The life of a request before it runs: requesting (the plan bound to its hash, the source
//! snapshot pinned), approval or rejection by a second person, expiry, and cancelling.

use super::*;

impl RestoreService {
    /// Records a request awaiting approval; refuses blocked plans.
    pub async fn request(
        &self,
        input: RestoreInput,
        user: &CurrentUser,
    ) -> Result<RestoreDto, RestoreError> {
        if input.reason.trim().is_empty() {
            return Err(RestoreError::bad(
                "reason",
                "say why this restore is needed (reason)",
            ));
        }
        self.expire_overdue().await?;
        let node = self.node_for(input.node.as_deref(), &input.snapshot)?;
        let plan = self.make_plan(&node, &input, None).await?;
        if !plan.blocked.is_empty() {
            return Err(RestoreError::Conflict(plan.blocked.join(" ")));
        }
        let tables: Vec<String> = plan
            .tables
            .iter()
            .map(|t| format!("{}.{}", t.keyspace, t.table))
            .collect();
        // A full-node restore needs the whole node: it conflicts with every open request there.
        let busy: Option<(i64, String)> = sqlx::query_as(
            "SELECT id, target FROM restore_requests WHERE node = ? AND state IN ('awaiting_approval', 'approved', 'running', 'interrupted') \
             AND (? = 'full_node' OR target = 'full_node' \
                  OR EXISTS (SELECT 1 FROM json_each(restore_requests.tables) j WHERE j.value IN (SELECT value FROM json_each(?)))) LIMIT 1",
        )
        .bind(&node.name)
        .bind(input.target.as_str())
        .bind(serde_json::to_string(&tables).unwrap_or_default())
        .fetch_optional(&self.pool)
        .await?;
        if let Some((other, other_target)) = busy {
            return Err(RestoreError::Conflict(
                if input.target == Target::FullNode || other_target == "full_node" {
                    format!(
                        "restore request {other} on node {} is still open and a full-node restore needs the whole node; finish, reject or let it fail first",
                        node.name
                    )
                } else {
                    format!(
                        "restore request {other} for the same table is still open; finish, reject or let it fail first"
                    )
                },
            ));
        }
        let id: i64 = sqlx::query_scalar(
            "INSERT INTO restore_requests (node, tag, tables, target, side_keyspace, truncate, reason, requested_by, requested_at, plan, plan_hash, state, requested_tables) \
             VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, 'awaiting_approval', ?) RETURNING id",
        )
        .bind(&node.name)
        .bind(&input.snapshot)
        .bind(serde_json::to_string(&tables).unwrap_or_default())
        .bind(input.target.as_str())
        .bind(&input.side_keyspace)
        .bind(input.truncate as i64)
        .bind(input.reason.trim())
        .bind(&user.name)
        .bind(now_ms())
        .bind(serde_json::to_string(&plan).unwrap_or_default())
        .bind(plan_hash(&plan))
        .bind(serde_json::to_string(&input.tables).unwrap_or_default())
        .fetch_one(&self.pool)
        .await?;
        // A restore from a store is guarded there (its upload cannot be purged meanwhile).
        if plan.source_store.is_none() {
            crate::snapshots::pins::pin(
                &self.pool,
                &node.name,
                &input.snapshot,
                &pin_holder(id),
                &format!(
                    "restore request {id} uses it until it is done, rejected, cancelled or expired"
                ),
                now_ms(),
                None,
            )
            .await?;
        }
        self.get(id).await
    }

    /// Moves approved requests whose approval passed its time to `expired`, which frees their
    /// tables and their source snapshot. Runs before every read and change of requests.
    pub async fn expire_overdue(&self) -> Result<u64, RestoreError> {
        let now = now_ms();
        let ids: Vec<i64> = sqlx::query_scalar(
            "SELECT id FROM restore_requests WHERE state = 'approved' AND approval_expires_at IS NOT NULL AND approval_expires_at < ?",
        )
        .bind(now)
        .fetch_all(&self.pool)
        .await?;
        let mut expired = 0;
        for id in ids {
            let moved = sqlx::query(
                "UPDATE restore_requests SET state = 'expired', finished_at = ?, \
                 error = 'the approval expired before the restore ran; request it again' WHERE id = ? AND state = 'approved'",
            )
            .bind(now)
            .bind(id)
            .execute(&self.pool)
            .await?;
            if moved.rows_affected() > 0 {
                expired += 1;
                crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
                self.audit(
                    id,
                    "restore.expired",
                    Outcome::Ok,
                    "the approval expired before the restore ran",
                )
                .await;
            }
        }
        Ok(expired)
    }

    /// The destructive steps the journal of request `id` shows as started or done.
    pub(super) async fn destructive_steps_run(&self, id: i64) -> Result<Vec<String>, RestoreError> {
        let names: Vec<String> = sqlx::query_scalar(
            "SELECT name FROM restore_steps WHERE restore_id = ? AND state IN ('running', 'done', 'failed') ORDER BY seq",
        )
        .bind(id)
        .fetch_all(&self.pool)
        .await?;
        Ok(names
            .into_iter()
            .filter(|n| Step::parse(n).is_ok_and(|s| s.changes_live_data()))
            .collect())
    }

    /// Cancels an open request (its requester or an admin): frees its tables and its source
    /// snapshot. The staging of an interrupted or failed restore is removed (the live table
    /// does not use it); what a full-node restore set aside and the safety snapshot are kept.
    pub async fn cancel(
        &self,
        id: i64,
        user: &CurrentUser,
        comment: &str,
    ) -> Result<RestoreDto, RestoreError> {
        self.expire_overdue().await?;
        let r = self.row(id).await?;
        if r.requested_by != user.name && !user.can(Role::Admin) {
            return Err(RestoreError::Forbidden(format!(
                "only the requester ({}) or an admin may cancel restore request {id}",
                r.requested_by
            )));
        }
        if !matches!(
            r.state.as_str(),
            "awaiting_approval" | "approved" | "interrupted" | "failed"
        ) {
            return Err(RestoreError::Conflict(if r.state == "running" {
                format!(
                    "restore request {id} is running; wait until it is done or fails, then cancel it"
                )
            } else {
                format!(
                    "restore request {id} is {} already; nothing to cancel",
                    r.state
                )
            }));
        }
        let destructive = self.destructive_steps_run(id).await?;
        let mut why = format!("cancelled by {}", user.name);
        if !comment.trim().is_empty() {
            why.push_str(&format!(": {}", comment.trim()));
        }
        if !destructive.is_empty() {
            let plan: Option<Plan> = serde_json::from_str(&r.plan).ok();
            why.push_str(&format!(
                ". The journal shows {} ran: the live data may be incomplete.{}",
                destructive.join(", "),
                plan.and_then(|p| p.safety_tag)
                    .map(|t| format!(" The safety snapshot `{t}` is kept."))
                    .unwrap_or_default()
            ));
        }
        let moved = sqlx::query(
            "UPDATE restore_requests SET state = 'cancelled', cancelled_by = ?, finished_at = ?, error = ? WHERE id = ? AND state = ?",
        )
        .bind(&user.name)
        .bind(now_ms())
        .bind(&why)
        .bind(id)
        .bind(&r.state)
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() == 0 {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} changed state meanwhile; look again"
            )));
        }
        if matches!(r.state.as_str(), "interrupted" | "failed")
            && let Ok(plan) = serde_json::from_str::<Plan>(&r.plan)
            && let Ok(node) = self.node_for(Some(&r.node), &r.tag)
        {
            Node::local(&node).clean_all(&plan);
            if plan.source_store.is_some()
                && let Err(e) = Node::local(&node).remove_downloads(&plan)
            {
                tracing::warn!(restore = id, error = %e, "cannot remove the cancelled restore's downloads");
            }
            // What a full-node restore set aside stays, shown on Overview like any other.
            if plan.target == Target::FullNode
                && let Err(e) = self.keep_aside(id, &plan, &node).await
            {
                tracing::warn!(restore = id, error = %e, "cannot record what the cancelled restore set aside");
            }
        }
        crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
        self.audit(id, "restore.cancelled", Outcome::Ok, &why).await;
        self.get(id).await
    }

    /// Approves (`approve`) or rejects a request awaiting approval.
    pub async fn decide(
        &self,
        id: i64,
        user: &CurrentUser,
        approve: bool,
        comment: &str,
    ) -> Result<RestoreDto, RestoreError> {
        if !user.can(Role::Approver) {
            return Err(RestoreError::Forbidden(format!(
                "your role `{}` may not approve or reject restores; it needs `approver` or higher",
                user.role
            )));
        }
        // Only the holder's own sign-in or token counts, on a password they chose.
        crate::auth::credential::check_decider(&self.pool, user).await?;
        let r = self.row(id).await?;
        if r.requested_by == user.name {
            return Err(RestoreError::Forbidden(
                "you requested this restore; another approver must decide on it".into(),
            ));
        }
        if r.state != "awaiting_approval" {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} is {}, not awaiting approval",
                r.state
            )));
        }
        if approve {
            // The approval binds to the plan as it is now.
            let node = self.node_for(Some(&r.node), &r.tag)?;
            let previous: Plan = serde_json::from_str(&r.plan).map_err(|e| {
                RestoreError::Conflict(format!("the stored plan is unreadable: {e}"))
            })?;
            let input = Self::input_of(&r);
            let (live, store_source, rebuild) = self.plan_inputs(&node, &input).await?;
            let topology = self.topology(&node).await;
            let ctx = PlanContext {
                pool: &self.pool,
                node: &node,
                live: &live,
                min_free_pct: self.config.min_free_pct,
                previous: Some(&previous),
                now_ms: now_ms(),
                topology: topology.as_ref(),
                store_source: store_source.as_ref(),
                rebuild,
            };
            run::recheck(&ctx, &input, &r.plan_hash).await?;
        }
        let expires = approve.then(|| now_ms() + (self.config.approval_hours as i64) * 3_600_000);
        let updated = sqlx::query(
            "UPDATE restore_requests SET state = ?, decided_by = ?, decided_at = ?, decision_comment = ?, approval_expires_at = ? \
             WHERE id = ? AND state = 'awaiting_approval'",
        )
        .bind(if approve { "approved" } else { "rejected" })
        .bind(&user.name)
        .bind(now_ms())
        .bind(comment)
        .bind(expires)
        .bind(id)
        .execute(&self.pool)
        .await?;
        if updated.rows_affected() == 0 {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} was decided meanwhile"
            )));
        }
        if !approve {
            crate::snapshots::pins::release(&self.pool, &pin_holder(id)).await?;
        }
        self.get(id).await
    }
}
