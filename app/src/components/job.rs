//! A snapshot job (taking or clearing a snapshot) as the snapshot pages show it: its progress,
//! announced politely, and the polling that follows it until it ends.

use leptos::prelude::*;

use super::ErrorAlert;
use crate::api::{SnapshotJobDto, get_job, server_message};

/// How often a running job is asked for its progress.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Failed progress requests in a row after which the page stops asking.
const POLL_GIVE_UP: u32 = 5;

/// Which way a snapshot job goes, for the words around its progress.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum JobVerb {
    Take,
    Clear,
}

/// What a snapshot or clear job says about itself: running, done or failed.
pub fn job_text(verb: JobVerb, s: &SnapshotJobDto) -> String {
    let pct = (s.job.progress * 100.0).clamp(0.0, 100.0).round();
    let why = s
        .job
        .error
        .clone()
        .filter(|e| !e.is_empty())
        .unwrap_or_else(|| s.job.message.clone());
    match (verb, s.job.state.as_str()) {
        (JobVerb::Take, "done") => format!("Snapshot {} taken.", s.tag),
        (JobVerb::Take, "failed" | "interrupted") => {
            format!("Snapshot {} was not taken: {why}", s.tag)
        }
        (JobVerb::Take, _) => format!("Taking snapshot {}… {pct} %", s.tag),
        (JobVerb::Clear, "done") => "Snapshot cleared.".to_string(),
        (JobVerb::Clear, "failed" | "interrupted") => {
            format!("Snapshot {} was not cleared: {why}", s.tag)
        }
        (JobVerb::Clear, _) => format!("Clearing snapshot {}… {pct} %", s.tag),
    }
}

/// The progress of a snapshot or clear job, announced politely to screen readers.
#[component]
pub fn JobProgress(
    verb: JobVerb,
    job: RwSignal<Option<SnapshotJobDto>>,
    poll_error: RwSignal<Option<String>>,
) -> impl IntoView {
    view! {
        {move || {
            job.get()
                .map(|s| {
                    let detail = (s.job.state != "failed" && !s.job.message.is_empty())
                        .then(|| s.job.message.clone());
                    view! {
                        <div class="snapshot-job" role="status" aria-live="polite" data-state=s.job.state.clone()>
                            <progress max="1" value=s.job.progress></progress>
                            <span class="snapshot-job-text">{job_text(verb, &s)}</span>
                            {detail.map(|d| view! { <span class="snapshot-job-detail">{d}</span> })}
                        </div>
                    }
                })
        }}
        <ErrorAlert error=poll_error />
    }
}

/// Asks for the job's progress every half second until it ends, then calls `done` once.
/// Runs in the browser only (effects never run on the server).
pub fn follow_job(
    job: RwSignal<Option<SnapshotJobDto>>,
    poll_error: RwSignal<Option<String>>,
    done: impl Fn() + Send + Sync + 'static,
) {
    let failures = RwSignal::new(0_u32);
    Effect::new(move |_| {
        let Some(current) = job.get() else { return };
        if current.job.finished() {
            done();
            return;
        }
        let id = current.job.id;
        set_timeout(
            move || {
                leptos::task::spawn_local(async move {
                    let answer = get_job(id).await;
                    // A newer job may have replaced this one meanwhile: leave it alone.
                    if !job.with_untracked(|s| s.as_ref().is_some_and(|s| s.job.id == id)) {
                        return;
                    }
                    match answer {
                        Ok(Some(j)) => {
                            failures.set(0);
                            job.update(|s| {
                                if let Some(s) = s {
                                    s.job = j;
                                }
                            });
                        }
                        Ok(None) => poll_error.set(Some(format!(
                            "Job {id} is no longer known to the server; reload the page to see where things stand."
                        ))),
                        Err(e) => {
                            let n = failures.get_untracked() + 1;
                            failures.set(n);
                            if n >= POLL_GIVE_UP {
                                poll_error.set(Some(format!(
                                    "Cannot follow job {id}: {}. It may still be running; reload the page to see.",
                                    server_message(&e)
                                )));
                            } else {
                                // Ask again: notifying re-runs the effect, which waits and asks.
                                job.update(|_| ());
                            }
                        }
                    }
                });
            },
            POLL_EVERY,
        );
    });
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::JobDto;

    fn job(state: &str, progress: f64, error: Option<&str>) -> SnapshotJobDto {
        SnapshotJobDto {
            tag: "nightly".into(),
            nodes: vec!["node1".into()],
            tables: vec!["shop.orders".into()],
            job: JobDto {
                id: 7,
                kind: "snapshot".into(),
                state: state.into(),
                progress,
                message: "taking snapshot".into(),
                error: error.map(str::to_string),
            },
            frees_bytes: None,
        }
    }

    #[test]
    fn job_words_follow_its_state() {
        assert_eq!(
            job_text(JobVerb::Take, &job("running", 0.4, None)),
            "Taking snapshot nightly… 40 %"
        );
        assert_eq!(
            job_text(JobVerb::Take, &job("done", 1.0, None)),
            "Snapshot nightly taken."
        );
        assert_eq!(
            job_text(JobVerb::Take, &job("failed", 0.5, Some("node node1: boom"))),
            "Snapshot nightly was not taken: node node1: boom"
        );
        assert_eq!(
            job_text(JobVerb::Clear, &job("queued", 0.0, None)),
            "Clearing snapshot nightly… 0 %"
        );
        assert_eq!(
            job_text(JobVerb::Clear, &job("done", 1.0, None)),
            "Snapshot cleared."
        );
    }
}
