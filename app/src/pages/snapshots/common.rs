//! Pieces both snapshot pages use: times shown in UTC and in the browser's zone, kind badges,
//! the server's own error message, following a job until it ends, and query-string encoding.

use leptos::prelude::*;

use crate::api::{SnapshotJobDto, format_utc, get_job};

/// How often a running job is asked for its progress.
const POLL_EVERY: std::time::Duration = std::time::Duration::from_millis(500);
/// Failed progress requests in a row after which the page stops asking.
const POLL_GIVE_UP: u32 = 5;

/// Kinds Cassandra takes on its own just before it destroys data (TRUNCATE, DROP): their
/// snapshots are the way back.
pub fn is_undo_kind(kind: &str) -> bool {
    matches!(kind, "truncated" | "dropped")
}

/// The message the server gave, without the framework's "error running server function" prefix.
pub fn server_message(e: &ServerFnError) -> String {
    match e {
        ServerFnError::ServerError(m) => m.clone(),
        other => other.to_string(),
    }
}

/// `2026-11-24T20:08:40Z`, for `<time datetime>`.
pub fn iso_utc(ms: i64) -> String {
    let utc = format_utc(ms);
    let stamp = utc.trim_end_matches(" UTC");
    format!("{}Z", stamp.replacen(' ', "T", 1))
}

/// The same instant in a zone `offset_minutes` east of UTC: `2026-11-24 21:08:40 UTC+01:00`.
pub fn format_local(ms: i64, offset_minutes: i64) -> String {
    let shifted = format_utc(ms + offset_minutes * 60_000);
    let stamp = shifted.trim_end_matches(" UTC");
    let sign = if offset_minutes < 0 { '-' } else { '+' };
    let abs = offset_minutes.abs();
    format!("{stamp} UTC{sign}{:02}:{:02}", abs / 60, abs % 60)
}

/// The browser's offset from UTC at that instant, in minutes east (daylight saving included).
#[cfg(feature = "hydrate")]
fn browser_offset_minutes(ms: i64) -> Option<i64> {
    use leptos::wasm_bindgen::JsValue;
    use leptos::web_sys::js_sys::Date;
    let west = Date::new(&JsValue::from_f64(ms as f64)).get_timezone_offset();
    west.is_finite().then(|| -(west.round() as i64))
}

#[cfg(not(feature = "hydrate"))]
fn browser_offset_minutes(_ms: i64) -> Option<i64> {
    None
}

/// An instant in UTC (what the server renders) and, once the page runs in the browser, in the
/// reader's own zone underneath (unless that zone is UTC).
#[component]
pub fn Time(ms: i64) -> impl IntoView {
    let local = RwSignal::new(None::<String>);
    // Effects run only in the browser: the server has no idea of the reader's zone.
    Effect::new(move |_| {
        local.set(
            browser_offset_minutes(ms)
                .filter(|off| *off != 0)
                .map(|off| format_local(ms, off)),
        );
    });
    view! {
        <time class="when" datetime=iso_utc(ms)>{format_utc(ms)}</time>
        {move || local.get().map(|l| view! { <span class="when-local">{l}</span> })}
    }
}

/// A snapshot's kind as a badge; the kinds that can undo a TRUNCATE or DROP are loud.
#[component]
pub fn KindBadge(kind: String) -> impl IntoView {
    let class = if is_undo_kind(&kind) {
        "badge kind loud"
    } else {
        "badge kind"
    };
    let data_kind = kind.clone();
    view! { <span class=class data-kind=data_kind>{kind}</span> }
}

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
        {move || poll_error.get().map(|e| view! { <p class="error" role="alert">{e}</p> })}
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

/// Percent-encodes a query or path component (everything but `A-Z a-z 0-9 - _ . ~`).
pub fn encode(s: &str) -> String {
    let mut out = String::with_capacity(s.len());
    for b in s.bytes() {
        if b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.' | b'~') {
            out.push(char::from(b));
        } else {
            out.push_str(&format!("%{b:02X}"));
        }
    }
    out
}

/// The detail page of one tag, narrowed to one node.
pub fn detail_href(tag: &str, node: Option<&str>) -> String {
    match node {
        Some(n) => format!("/snapshots/{}?node={}", encode(tag), encode(n)),
        None => format!("/snapshots/{}", encode(tag)),
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::api::JobDto;

    #[test]
    fn times_carry_their_zone() {
        assert_eq!(iso_utc(1_795_550_920_176), "2026-11-24T20:08:40Z");
        assert_eq!(
            format_local(1_795_550_920_176, 60),
            "2026-11-24 21:08:40 UTC+01:00"
        );
        assert_eq!(
            format_local(1_795_550_920_176, -330),
            "2026-11-24 14:38:40 UTC-05:30"
        );
    }

    #[test]
    fn components_are_encoded_for_urls() {
        assert_eq!(encode("snapkeep-2026.x_y~"), "snapkeep-2026.x_y~");
        assert_eq!(encode("a b/c?d&e=é"), "a%20b%2Fc%3Fd%26e%3D%C3%A9");
        assert_eq!(
            detail_href("truncated-1-orders", Some("node 1")),
            "/snapshots/truncated-1-orders?node=node%201"
        );
        assert_eq!(detail_href("t", None), "/snapshots/t");
    }

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

    #[test]
    fn only_automatic_snapshots_before_data_loss_are_loud() {
        assert!(is_undo_kind("truncated"));
        assert!(is_undo_kind("dropped"));
        assert!(!is_undo_kind("manual"));
        assert!(!is_undo_kind("pre-restore"));
    }
}
