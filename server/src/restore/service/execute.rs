//! Running an approved request: the job, the journaled steps (each marked running before its
//! side effect and done after it), the roll-back of a full-node swap whose node does not start.

use super::*;

impl RestoreService {
    /// Starts an approved request (or resumes an interrupted or failed one) as a job.
    pub async fn execute(&self, id: i64, resume: bool) -> Result<RestoreDto, RestoreError> {
        self.expire_overdue().await?;
        let r = self.row(id).await?;
        let allowed = if resume {
            matches!(r.state.as_str(), "interrupted" | "failed")
        } else {
            r.state == "approved"
        };
        if !allowed {
            return Err(RestoreError::Conflict(if resume {
                format!(
                    "restore request {id} is {}; only interrupted or failed restores resume",
                    r.state
                )
            } else {
                format!(
                    "restore request {id} is {}; only an approved request runs",
                    r.state
                )
            }));
        }
        if r.approval_expires_at.is_some_and(|e| now_ms() > e) {
            if !resume {
                return Err(RestoreError::Conflict(format!(
                    "the approval of restore request {id} expired; request it again"
                )));
            }
            // Past its approval a restore only finishes what it already changed.
            let destructive = self.destructive_steps_run(id).await?;
            if destructive.is_empty() {
                return Err(RestoreError::Conflict(format!(
                    "the approval of restore request {id} expired and no step has changed the live data yet; cancel it and request the restore again"
                )));
            }
            self.audit(
                id,
                "restore.resume_after_expiry",
                Outcome::Ok,
                &format!(
                    "resumed after its approval expired because {} already ran: finishing is the safe choice",
                    destructive.join(", ")
                ),
            )
            .await;
        }
        if resume && r.decided_by.is_none() {
            return Err(RestoreError::Conflict(format!(
                "restore request {id} was never approved"
            )));
        }
        let node = self.node_for(Some(&r.node), &r.tag)?;
        let plan: Plan = serde_json::from_str(&r.plan)
            .map_err(|e| RestoreError::Conflict(format!("the stored plan is unreadable: {e}")))?;
        use crate::snapshots::locks;
        let keys: Vec<String> = if plan.target == Target::FullNode {
            vec![locks::node_key(&node.name)]
        } else {
            plan.tables
                .iter()
                .flat_map(|t| {
                    [
                        locks::key(&node.name, &t.keyspace, &t.table),
                        locks::key(&node.name, &t.target_keyspace, &t.target_table),
                    ]
                })
                .collect::<std::collections::BTreeSet<_>>()
                .into_iter()
                .collect()
        };
        let guard = self.snapshots.locks().try_lock(keys).map_err(|busy| {
            RestoreError::Busy(format!(
                "busy: {} is being snapshotted, cleared or restored; retry",
                busy.iter()
                    .map(|k| locks::describe(k))
                    .collect::<Vec<_>>()
                    .join(", ")
            ))
        })?;
        jobs::room(&self.pool).await?.map_err(RestoreError::Busy)?;
        let job = jobs::create(&self.pool, "restore", Some(&node.name)).await?;
        let moved = sqlx::query(
            "UPDATE restore_requests SET state = 'running', job_id = ?, started_at = coalesce(started_at, ?), error = NULL \
             WHERE id = ? AND state = ?",
        )
        .bind(job)
        .bind(now_ms())
        .bind(id)
        .bind(&r.state)
        .execute(&self.pool)
        .await?;
        if moved.rows_affected() == 0 {
            let _ = jobs::fail(&self.pool, job, "the request changed state meanwhile").await;
            return Err(RestoreError::Conflict(format!(
                "restore request {id} changed state meanwhile"
            )));
        }
        // The journal: one row per step, written once.
        for (seq, name) in plan.steps.iter().enumerate() {
            sqlx::query(
                "INSERT OR IGNORE INTO restore_steps (restore_id, seq, name, state) VALUES (?, ?, ?, 'pending')",
            )
            .bind(id)
            .bind(seq as i64)
            .bind(name)
            .execute(&self.pool)
            .await?;
        }
        let this = self.clone();
        let input = Self::input_of(&r);
        let hash = r.plan_hash.clone();
        tokio::spawn(async move {
            this.run(id, job, node, plan, input, hash, guard).await;
        });
        self.get(id).await
    }

    #[allow(clippy::too_many_arguments)]
    pub(super) async fn run(
        &self,
        id: i64,
        job: i64,
        node: NodeConfig,
        plan: Plan,
        input: RestoreInput,
        hash: String,
        guard: TablesGuard,
    ) {
        let pool = &self.pool;
        let _ = jobs::start(pool, job).await;
        let outcome = self.run_steps(id, job, &node, &plan, &input, &hash).await;
        drop(guard);
        let now = now_ms();
        let result = match &outcome {
            Ok(v) if v.passed => {
                let _ = jobs::finish(pool, job, "restore done and verified").await;
                if let Err(e) = crate::snapshots::pins::release(pool, &pin_holder(id)).await {
                    tracing::error!(restore = id, error = %e, "cannot release the restore's snapshot pins");
                }
                self.audit(id, "restore.done", Outcome::Ok, "restore done and verified")
                    .await;
                sqlx::query("UPDATE restore_requests SET state = 'done', finished_at = ?, verification = ? WHERE id = ?")
                    .bind(now)
                    .bind(serde_json::to_string(v).ok())
                    .bind(id)
                    .execute(pool)
                    .await
            }
            Ok(v) => {
                let msg = if plan.target == Target::FullNode {
                    format!(
                        "the restore ran but its verification failed (see the verification); nothing was cleaned up. {} Resume to verify again.",
                        crate::restore::fullnode::kept_aside(&plan)
                    )
                } else {
                    "the restore ran but its verification failed (see the verification)".to_string()
                };
                let msg = msg.as_str();
                let _ = jobs::fail(pool, job, msg).await;
                self.audit(id, "restore.failed", Outcome::Failed, msg).await;
                sqlx::query("UPDATE restore_requests SET state = 'failed', finished_at = ?, verification = ?, error = ? WHERE id = ?")
                    .bind(now)
                    .bind(serde_json::to_string(v).ok())
                    .bind(msg)
                    .bind(id)
                    .execute(pool)
                    .await
            }
            Err(e) => {
                Node::local(&node).clean_all(&plan);
                if plan.source_store.is_some() {
                    self.drop_downloads(id, &plan, &node).await;
                }
                let _ = jobs::fail(pool, job, e).await;
                self.audit(id, "restore.failed", Outcome::Failed, e).await;
                sqlx::query("UPDATE restore_requests SET state = 'failed', finished_at = ?, error = ? WHERE id = ?")
                    .bind(now)
                    .bind(e)
                    .bind(id)
                    .execute(pool)
                    .await
            }
        };
        if let Err(e) = result {
            tracing::error!(restore = id, error = %e, "cannot record the end of a restore");
        }
    }

    pub(super) async fn run_steps(
        &self,
        id: i64,
        job: i64,
        node: &NodeConfig,
        plan: &Plan,
        input: &RestoreInput,
        hash: &str,
    ) -> Result<Verification, String> {
        let pool = &self.pool;
        // A full-node restore runs while the node is down: CQL only when a step needs it.
        let mut cql: Option<Arc<Cql>> = None;
        if plan.target != Target::FullNode {
            cql = Some(self.cql(node).await.map_err(|e| e.to_string())?);
        }
        let steps: Vec<(i64, String, String)> = sqlx::query_as(
            "SELECT seq, name, state FROM restore_steps WHERE restore_id = ? ORDER BY seq",
        )
        .bind(id)
        .fetch_all(pool)
        .await
        .map_err(|e| e.to_string())?;
        let total = steps.len().max(1) as f64;
        let mut verification = None;
        // A restore from a store: the plan bound to the downloaded files' inodes, for every
        // step after the download.
        let mut bound: Option<Plan> = None;
        for (seq, name, state) in steps {
            if state == "done" || state == "skipped" {
                continue;
            }
            let _ = jobs::progress(pool, job, seq as f64 / total, &name).await;
            let step = Step::parse(&name);
            let mark = |state: &'static str, detail: String| {
                let pool = pool.clone();
                let name = name.clone();
                async move {
                    let (started, finished) = if state == "running" {
                        (Some(now_ms()), None)
                    } else {
                        (None, Some(now_ms()))
                    };
                    let r = sqlx::query(
                        "UPDATE restore_steps SET state = ?, started_at = coalesce(?, started_at), finished_at = ?, detail = ? \
                         WHERE restore_id = ? AND seq = ?",
                    )
                    .bind(state)
                    .bind(started)
                    .bind(finished)
                    .bind(&detail)
                    .bind(id)
                    .bind(seq)
                    .execute(&pool)
                    .await;
                    r.map(drop).map_err(|e| {
                        tracing::error!(restore = id, step = %name, error = %e, "cannot write the restore journal");
                        format!("cannot write the restore journal for step `{name}`: {e}; the restore stopped here and can be resumed")
                    })
                }
            };
            mark("running", String::new()).await?;
            let step = match step {
                Ok(s) => s,
                Err(e) => {
                    let _ = mark("failed", e.to_string()).await;
                    return Err(format!("{e}: this plan cannot be run by this Snapkeep"));
                }
            };
            if plan.source_store.is_some()
                && bound.is_none()
                && !matches!(step, Step::Check | Step::Download | Step::DropDownload)
            {
                match Node::local(node).bind_downloads(plan) {
                    Ok(p) => bound = Some(p),
                    Err(e) => {
                        let _ = mark("failed", e.clone()).await;
                        return Err(format!("step `{name}` failed: {e}"));
                    }
                }
            }
            let approved = plan;
            let plan = bound.as_ref().unwrap_or(approved);
            let result: Result<String, StepError> = match &step {
                Step::Download => match approved.source_store.as_deref().map(|s| self.store(s)) {
                    Some(Ok(store)) => crate::restore::source::download(approved, &store, node)
                        .await
                        .map_err(|e| {
                            StepError::Failed(format!(
                                "{e}; the download is removed and nothing on the node was changed"
                            ))
                        }),
                    Some(Err(e)) => Err(StepError::Failed(e.to_string())),
                    None => Err(StepError::WrongTarget {
                        step: name.clone(),
                        target: plan.target.as_str(),
                    }),
                },
                Step::DropDownload => Node::local(node)
                    .remove_downloads(approved)
                    .map_err(StepError::Failed),
                Step::Check => {
                    let previous = plan.clone();
                    // A full-node restore of a node found down replays its commit log first.
                    // A node being rebuilt holds no data: starting it would make it a new,
                    // empty node.
                    let replayed = if plan.target == Target::FullNode && !plan.disaster_recovery {
                        match Node::local(node).replay_if_down().await {
                            Ok(line) => line,
                            Err(e) => {
                                let _ = mark("failed", e.clone()).await;
                                return Err(format!("step `check` failed: {e}"));
                            }
                        }
                    } else {
                        None
                    };
                    match self.plan_inputs(node, input).await {
                        Ok((live, store_source, rebuild)) => {
                            let topology = self.topology(node).await;
                            let ctx = PlanContext {
                                pool,
                                node,
                                live: &live,
                                min_free_pct: self.config.min_free_pct,
                                previous: Some(&previous),
                                now_ms: now_ms(),
                                topology: topology.as_ref(),
                                store_source: store_source.as_ref(),
                                rebuild,
                            };
                            run::recheck(&ctx, input, hash)
                                .await
                                .map(|_| {
                                    let mut line =
                                        "the plan is unchanged since its approval".to_string();
                                    if let Some(r) = &replayed {
                                        line = format!("{r}; {line}");
                                    }
                                    line
                                })
                                .map_err(|e| StepError::Failed(e.to_string()))
                        }
                        Err(e) => Err(StepError::Failed(match &replayed {
                            Some(r) => format!("{r}; then {e}"),
                            None => e.to_string(),
                        })),
                    }
                }
                Step::SafetySnapshot => {
                    let r = run::safety_snapshot(plan, node, state != "pending").await;
                    if r.is_ok()
                        && let Some(tag) = &plan.safety_tag
                    {
                        let now = now_ms();
                        let keep = self.config.keep_safety_days as i64 * 86_400_000;
                        crate::snapshots::pins::pin(
                            pool,
                            &node.name,
                            tag,
                            &format!("{}:safety", pin_holder(id)),
                            &format!("safety snapshot of restore request {id}"),
                            now,
                            Some(now + keep),
                        )
                        .await
                        .map_err(|e| format!("cannot pin the safety snapshot: {e}"))?;
                    }
                    r.map_err(StepError::Failed)
                }
                Step::KeepAside | Step::Cleanup(_) if plan.target == Target::FullNode => self
                    .keep_aside(id, plan, node)
                    .await
                    .map_err(StepError::Failed),
                Step::Verify => match self.session_for(node, &mut cql).await {
                    Ok(c) => {
                        let v = run::verify(plan, node, &c).await;
                        if !v.passed && plan.target == Target::FullNode {
                            // Nothing set aside is removed unless verification passed.
                            let detail = format!(
                                "verification failed; {}",
                                crate::restore::fullnode::kept_aside(plan)
                            );
                            mark("failed", detail).await?;
                            return Ok(v);
                        }
                        let line = if v.passed {
                            "verified"
                        } else {
                            "verification failed"
                        };
                        verification = Some(v);
                        Ok(line.to_string())
                    }
                    Err(e) => Err(StepError::Failed(e)),
                },
                other if plan.target == Target::FullNode => {
                    crate::restore::fullnode::perform(other, plan, node).await
                }
                other => match self.session_for(node, &mut cql).await {
                    Ok(c) => run::perform(other, plan, node, &c).await,
                    Err(e) => Err(StepError::Failed(e)),
                },
            };
            if result.is_ok() && matches!(step, Step::Check | Step::Verify) {
                run::crash_hook(&name);
            }
            match result {
                Ok(detail) => mark("done", detail).await?,
                Err(e) => {
                    let e = e.to_string();
                    // The step's own error matters more than a journal that cannot say so.
                    let _ = mark("failed", e.clone()).await;
                    // A rebuilt node has nothing to roll back to (starting it without the
                    // restored files would make it a new, empty node): it stays stopped.
                    if plan.target == Target::FullNode
                        && !plan.disaster_recovery
                        && matches!(step, Step::Start | Step::WaitCql)
                    {
                        return Err(self.roll_back(id, plan, node, &name, &e).await);
                    }
                    return Err(format!("step `{name}` failed: {e}"));
                }
            }
        }
        match verification {
            Some(v) => Ok(v),
            None => {
                let c = self.session_for(node, &mut cql).await?;
                Ok(run::verify(bound.as_ref().unwrap_or(plan), node, &c).await)
            }
        }
    }

    /// After a failed restore from a store: removes what it downloaded (the disk may be
    /// full) and sets its download step back to pending, so a resume downloads again.
    async fn drop_downloads(&self, id: i64, plan: &Plan, node: &NodeConfig) {
        if let Err(e) = Node::local(node).remove_downloads(plan) {
            tracing::error!(restore = id, error = %e, "cannot remove a failed restore's downloads");
        }
        let reset = sqlx::query(
            "UPDATE restore_steps SET state = 'pending', started_at = NULL, finished_at = NULL, \
             detail = 'the download was removed when the restore failed; a resume downloads again' \
             WHERE restore_id = ? AND name = 'download' AND state = 'done'",
        )
        .bind(id)
        .execute(&self.pool)
        .await;
        if let Err(e) = reset {
            tracing::error!(restore = id, error = %e, "cannot reset a failed restore's download step");
        }
    }

    /// The node did not come up with the snapshot's files: put everything back as it was and
    /// start it again. When that worked, the journal is reset after the safety snapshot, so a
    /// resume tries the whole swap again. Returns the request's error sentence.
    pub(super) async fn roll_back(
        &self,
        id: i64,
        plan: &Plan,
        node: &NodeConfig,
        step: &str,
        error: &str,
    ) -> String {
        let rolled = crate::restore::fullnode::roll_back(plan, node).await;
        if !rolled.files_back {
            return format!("step `{step}` failed: {error}. {}", rolled.sentence);
        }
        // Every file is back: a resume must do the whole swap again, not go on from here.
        let reset = sqlx::query(
            "UPDATE restore_steps SET state = 'pending', started_at = NULL, finished_at = NULL, \
             detail = 'reset by the roll-back' WHERE restore_id = ? AND seq > \
             (SELECT coalesce(max(seq), 0) FROM restore_steps WHERE restore_id = ? AND name = 'safety_snapshot')",
        )
        .bind(id)
        .bind(id)
        .execute(&self.pool)
        .await;
        let msg = format!(
            "step `{step}` failed: {error}. {}. Nothing of the snapshot is in place; resume to try the restore again{}.",
            rolled.sentence,
            if rolled.node_up {
                ""
            } else {
                " once the node runs"
            }
        );
        self.audit(id, "restore.rolled_back", Outcome::Failed, &msg)
            .await;
        match reset {
            Ok(_) => msg,
            Err(e) => format!(
                "{msg} (the journal could not be reset: {e}; do not resume, request the restore again)"
            ),
        }
    }

    /// The CQL session of a run, connected on first use (again after a node restart).
    pub(super) async fn session_for(
        &self,
        node: &NodeConfig,
        cached: &mut Option<Arc<Cql>>,
    ) -> Result<Arc<Cql>, String> {
        if let Some(c) = cached {
            return Ok(c.clone());
        }
        let c = self.cql(node).await.map_err(|e| e.to_string())?;
        *cached = Some(c.clone());
        Ok(c)
    }
}
