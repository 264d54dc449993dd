//! What the API takes and answers for schedules, and the checks a schedule passes before it
//! is saved (cron, time zone, scope, tag template, TTL, store, retention).

use serde::{Deserialize, Serialize};

use super::retention::Retention;
use super::template::{self, DEFAULT_TEMPLATE};
use super::timing::Timing;
use crate::error::ServiceError;
use crate::snapshots::validate;

/// What a schedule snapshots; empty lists mean every configured node, every keyspace.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields, default)]
pub struct ScheduleScope {
    /// Node names (default: every configured node).
    pub nodes: Vec<String>,
    /// Instead of `nodes`: every node of this cluster, each run a cluster snapshot (one tag
    /// on every node, started together; complete or incomplete).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cluster: Option<String>,
    /// Whole keyspaces (default: every keyspace, unless `tables` is given).
    pub keyspaces: Vec<String>,
    /// Tables as `keyspace.table`.
    pub tables: Vec<String>,
}

/// What happens when a run is due while the previous run of the schedule is still going.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(rename_all = "lowercase")]
pub enum Overlap {
    /// The due run is skipped (recorded as skipped).
    #[default]
    Skip,
    /// The due run waits and starts once the previous one has ended.
    Queue,
}

impl Overlap {
    pub fn as_str(self) -> &'static str {
        match self {
            Overlap::Skip => "skip",
            Overlap::Queue => "queue",
        }
    }

    pub fn parse(s: &str) -> Self {
        if s == "queue" {
            Overlap::Queue
        } else {
            Overlap::Skip
        }
    }
}

/// A new schedule (`POST /api/v1/schedules`, `POST /api/v1/schedules/preview`).
#[derive(Debug, Clone, Default, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct ScheduleInput {
    /// 1–50 characters of `[A-Za-z0-9_.-]`; unique; part of the tags by default.
    pub name: String,
    /// `snapshot` (the default).
    pub kind: Option<String>,
    /// 5 fields (`0 2 * * *`), 6 with seconds first, or `@daily`-style.
    pub cron: String,
    /// IANA time zone the cron is read in (default `UTC`).
    pub timezone: Option<String>,
    #[serde(default)]
    pub scope: ScheduleScope,
    /// Default `{name}-{datetime}`; placeholders `{name}`, `{date}`, `{time}`, `{datetime}`.
    /// Tags get the `snapkeep-sched-` prefix.
    pub tag_template: Option<String>,
    /// Cassandra's own TTL for each snapshot (`3d`, `12h`).
    pub ttl: Option<String>,
    /// Store each snapshot is copied to once taken.
    pub upload_to: Option<String>,
    /// Default `skip`.
    pub overlap: Option<Overlap>,
    /// A run missed while no server ran happens once at start (default true).
    pub catch_up: Option<bool>,
    #[serde(default)]
    pub retention: Retention,
    /// Saved paused (default false).
    pub paused: Option<bool>,
}

/// A change to a schedule (`PATCH /api/v1/schedules/{id}`): only the fields given change;
/// `ttl` and `upload_to` set to `""` are removed.
#[derive(Debug, Clone, Default, PartialEq, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct SchedulePatch {
    pub name: Option<String>,
    pub cron: Option<String>,
    pub timezone: Option<String>,
    pub scope: Option<ScheduleScope>,
    pub tag_template: Option<String>,
    pub ttl: Option<String>,
    pub upload_to: Option<String>,
    pub overlap: Option<Overlap>,
    pub catch_up: Option<bool>,
    pub retention: Option<Retention>,
    pub paused: Option<bool>,
}

impl SchedulePatch {
    /// `current` with this change applied.
    pub fn apply(self, mut current: ScheduleInput) -> ScheduleInput {
        let blank_is_none = |v: String| Some(v).filter(|s| !s.trim().is_empty());
        if let Some(v) = self.name {
            current.name = v;
        }
        if let Some(v) = self.cron {
            current.cron = v;
        }
        if let Some(v) = self.timezone {
            current.timezone = Some(v);
        }
        if let Some(v) = self.scope {
            current.scope = v;
        }
        if let Some(v) = self.tag_template {
            current.tag_template = Some(v);
        }
        if let Some(v) = self.ttl {
            current.ttl = blank_is_none(v);
        }
        if let Some(v) = self.upload_to {
            current.upload_to = blank_is_none(v);
        }
        if let Some(v) = self.overlap {
            current.overlap = Some(v);
        }
        if let Some(v) = self.catch_up {
            current.catch_up = Some(v);
        }
        if let Some(v) = self.retention {
            current.retention = v;
        }
        if let Some(v) = self.paused {
            current.paused = Some(v);
        }
        current
    }
}

/// One run of a schedule.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, sqlx::FromRow, utoipa::ToSchema)]
pub struct ScheduleRunDto {
    pub id: i64,
    pub schedule_id: i64,
    /// The due time this run is for (Unix ms).
    pub due_at: i64,
    /// `timer`, `catch-up` or `manual`.
    pub trigger: String,
    /// `running`, `done`, `failed`, `skipped` or `interrupted`.
    pub state: String,
    pub tag: Option<String>,
    /// The job of the run (`GET /api/v1/jobs/{id}`).
    pub job_id: Option<i64>,
    pub message: String,
    pub started_at: i64,
    pub finished_at: Option<i64>,
}

/// A snapshot the retention would clear now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct RetentionCandidate {
    pub node: String,
    pub tag: String,
    pub created_at: i64,
    /// Its exclusive hold when last measured: what clearing it frees.
    pub frees_bytes: i64,
    /// Pinned (an open restore uses it, or a safety snapshot's keeping time): kept anyway.
    pub pinned: bool,
}

/// A copy in the schedule's store that the store retention would purge now.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct StoreRetentionCandidate {
    /// The upload (`DELETE /api/v1/uploads/{id}` purges it by hand).
    pub upload_id: i64,
    pub store: String,
    pub node: String,
    pub tag: String,
    pub created_at: i64,
    /// The copy's size; the store frees only the objects no other copy names.
    pub bytes: i64,
    /// An open restore from the store uses it: kept anyway.
    pub pinned: bool,
}

/// A schedule as the API shows it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct ScheduleDto {
    pub id: i64,
    pub name: String,
    pub kind: String,
    pub cron: String,
    pub timezone: String,
    pub scope: ScheduleScope,
    pub tag_template: String,
    pub ttl: Option<String>,
    pub upload_to: Option<String>,
    pub overlap: Overlap,
    pub catch_up: bool,
    pub retention: Retention,
    pub paused: bool,
    /// The next due run (Unix ms); none while paused.
    pub next_run_at: Option<i64>,
    /// The next five runs (Unix ms), paused or not.
    pub next_runs: Vec<i64>,
    /// The tags those runs get.
    pub next_tags: Vec<String>,
    pub last_run: Option<ScheduleRunDto>,
    /// Snapshots of this schedule the retention would clear now.
    pub retention_clears: Vec<RetentionCandidate>,
    /// Copies in `upload_to` that `retention.store` would purge now.
    pub store_retention_clears: Vec<StoreRetentionCandidate>,
    pub created_at: i64,
    pub created_by: Option<String>,
    pub updated_at: i64,
}

/// `POST /api/v1/schedules/preview`: when a schedule would run and what its tags would be.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, utoipa::ToSchema)]
pub struct SchedulePreview {
    /// Unix ms.
    pub next_runs: Vec<i64>,
    /// The same times on the schedule's wall clock (`2026-12-02 02:00 CET`).
    pub next_runs_local: Vec<String>,
    pub tags: Vec<String>,
}

/// A schedule that passed every check, ready to store.
#[derive(Debug, Clone)]
pub struct Checked {
    pub input: ScheduleInput,
    pub timing: Timing,
    pub timezone: String,
    pub tag_template: String,
    pub preview: SchedulePreview,
}

/// Checks `input` against what is configured: `nodes` and `stores` are the configured names.
pub fn check(
    mut input: ScheduleInput,
    nodes: &[String],
    stores: &[String],
    now_ms: i64,
) -> Result<Checked, ServiceError> {
    input.name = input.name.trim().to_string();
    let name_ok = !input.name.is_empty()
        && input.name.len() <= 50
        && !input.name.starts_with(['-', '.'])
        && input
            .name
            .chars()
            .all(|c| c.is_ascii_alphanumeric() || matches!(c, '_' | '.' | '-'));
    if !name_ok {
        return Err(ServiceError::bad(
            "name",
            format!(
                "schedule name `{}` is not allowed: use 1 to 50 characters from [A-Za-z0-9_.-], not starting with `-` or `.`",
                input.name.chars().take(60).collect::<String>()
            ),
        ));
    }
    match input.kind.as_deref().map(str::trim) {
        None | Some("") | Some("snapshot") => input.kind = Some("snapshot".into()),
        Some("drill") => input.kind = Some("drill".into()),
        Some(other) => {
            return Err(ServiceError::bad(
                "kind",
                format!("kind `{other}` is not known; kind must be `snapshot` or `drill`"),
            ));
        }
    }
    let timezone = input
        .timezone
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or("UTC")
        .to_string();
    let timing = Timing::parse_checked(&input.cron, &timezone, now_ms).map_err(|e| {
        let field = if matches!(e, super::timing::TimingError::TimeZone(_)) {
            "timezone"
        } else {
            "cron"
        };
        ServiceError::bad(field, e.to_string())
    })?;
    input.cron = input.cron.trim().to_string();
    input.scope.cluster = input
        .scope
        .cluster
        .take()
        .map(|c| c.trim().to_string())
        .filter(|c| !c.is_empty());
    if input.scope.cluster.is_some() && !input.scope.nodes.is_empty() {
        return Err(ServiceError::bad(
            "scope",
            "name either `nodes` or a `cluster`, not both, e.g. {\"cluster\": \"prod\"}",
        ));
    }
    for n in &input.scope.nodes {
        if !nodes.contains(n) {
            return Err(ServiceError::bad(
                "scope",
                format!(
                    "node `{n}` is not configured; configured nodes: {}",
                    nodes.join(", ")
                ),
            ));
        }
    }
    for ks in &input.scope.keyspaces {
        validate::keyspace_name(ks).map_err(|e| ServiceError::bad("scope", e.to_string()))?;
    }
    for t in &input.scope.tables {
        validate::table_name(t).map_err(|e| ServiceError::bad("scope", e.to_string()))?;
    }
    if let Some(ttl) = input
        .ttl
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
    {
        validate::ttl(ttl)?;
        input.ttl = Some(ttl.to_string());
    } else {
        input.ttl = None;
    }
    if let Some(store) = input
        .upload_to
        .as_deref()
        .map(str::trim)
        .filter(|s| !s.is_empty())
    {
        if !stores.iter().any(|s| s == store) {
            return Err(ServiceError::bad(
                "upload_to",
                format!(
                    "store `{store}` is not configured; configured stores: {}",
                    stores.join(", ")
                ),
            ));
        }
        input.upload_to = Some(store.to_string());
    } else {
        input.upload_to = None;
    }
    if input.kind.as_deref() == Some("drill") {
        check_drill(&input)?;
    }
    if let Some(rule) = input.retention.zero_rule() {
        return Err(ServiceError::bad(
            "retention",
            format!("retention `{rule}` is 0; leave a rule out instead of setting it to 0"),
        ));
    }
    if let Some(store) = &input.retention.store {
        if store.store.is_some() {
            return Err(ServiceError::bad(
                "retention",
                "retention.store holds the store copies' rules and has no `store` of its own, e.g. {\"keep_last\": 7, \"store\": {\"monthly\": 12}}",
            ));
        }
        if input.upload_to.is_none() {
            return Err(ServiceError::bad(
                "retention",
                "retention.store clears copies in the schedule's store: set `upload_to` too, or leave retention.store out",
            ));
        }
    }
    let tag_template = input
        .tag_template
        .as_deref()
        .map(str::trim)
        .filter(|t| !t.is_empty())
        .unwrap_or(DEFAULT_TEMPLATE)
        .to_string();
    let next_runs = timing.next_runs(now_ms, 5);
    let local: Vec<_> = next_runs.iter().filter_map(|t| timing.local(*t)).collect();
    let tags = template::distinct_tags(&tag_template, &input.name, &local)
        .map_err(|e| ServiceError::bad("tag_template", e.to_string()))?;
    let preview = SchedulePreview {
        next_runs_local: local
            .iter()
            .map(|t| t.format("%Y-%m-%d %H:%M:%S %Z").to_string())
            .collect(),
        next_runs,
        tags,
    };
    Ok(Checked {
        input,
        timing,
        timezone,
        tag_template,
        preview,
    })
}

/// A drill schedule restores the newest snapshot of its tables on one node: it names its
/// tables (not whole keyspaces), and takes, copies and clears nothing.
fn check_drill(input: &ScheduleInput) -> Result<(), ServiceError> {
    if input.scope.tables.is_empty() || !input.scope.keyspaces.is_empty() {
        return Err(ServiceError::bad(
            "scope",
            "a drill schedule names its tables, e.g. {\"tables\": [\"shop.orders\"]}, and no whole keyspaces",
        ));
    }
    if input.scope.nodes.len() > 1 || input.scope.cluster.is_some() {
        return Err(ServiceError::bad(
            "scope",
            "a drill schedule runs on one node; name at most one node and no cluster",
        ));
    }
    let extra = [
        ("upload_to", input.upload_to.is_some()),
        ("ttl", input.ttl.is_some()),
        ("retention", input.retention != Retention::default()),
    ];
    if let Some((field, _)) = extra.iter().find(|(_, set)| *set) {
        return Err(ServiceError::bad(
            field,
            format!("a drill takes, copies and clears no snapshot: leave `{field}` out"),
        ));
    }
    Ok(())
}

/// The schedule as the console's Schedules page lists it.
impl From<&ScheduleDto> for app::api::ScheduleRow {
    fn from(d: &ScheduleDto) -> Self {
        let list =
            |what: &str, v: &[String]| (!v.is_empty()).then(|| format!("{what} {}", v.join(", ")));
        let scope: Vec<String> = [
            d.scope.cluster.as_ref().map(|c| format!("cluster {c}")),
            list("nodes", &d.scope.nodes),
            list("keyspaces", &d.scope.keyspaces),
            list("tables", &d.scope.tables),
        ]
        .into_iter()
        .flatten()
        .collect();
        let words = |r: &Retention| -> Option<String> {
            let rules: Vec<String> = [
                r.keep_last.map(|n| format!("keep last {n}")),
                r.keep_days.map(|n| format!("keep {n} days")),
                r.daily.map(|n| format!("{n} daily")),
                r.weekly.map(|n| format!("{n} weekly")),
                r.monthly.map(|n| format!("{n} monthly")),
            ]
            .into_iter()
            .flatten()
            .collect();
            (!rules.is_empty()).then(|| rules.join(", "))
        };
        let local = words(&d.retention).unwrap_or_else(|| "keeps everything".into());
        let retention = match (&d.upload_to, d.retention.store.as_deref().and_then(words)) {
            (Some(store), Some(rules)) => format!("{local}; copies in {store}: {rules}"),
            (Some(store), None) => format!("{local}; copies in {store}: all kept"),
            (None, _) => local,
        };
        app::api::ScheduleRow {
            id: d.id,
            name: d.name.clone(),
            kind: d.kind.clone(),
            cron: d.cron.clone(),
            timezone: d.timezone.clone(),
            scope: if scope.is_empty() {
                "every user table".into()
            } else {
                scope.join("; ")
            },
            retention,
            paused: d.paused,
            next_runs: d.next_runs.clone(),
            last_run_state: d.last_run.as_ref().map(|r| r.state.clone()),
            last_run_at: d.last_run.as_ref().map(|r| r.started_at),
            last_run_message: d.last_run.as_ref().map(|r| r.message.clone()),
        }
    }
}

impl ScheduleInput {
    /// A snapshot schedule from the console's form; a `keep_last` that is not a whole
    /// number is refused naming the field.
    pub fn from_form(f: &app::api::ScheduleForm) -> Result<Self, crate::error::ServiceError> {
        let keep_last = match f.keep_last.trim() {
            "" => None,
            n => Some(n.parse::<u32>().map_err(|_| {
                crate::error::ServiceError::bad(
                    "keep_last",
                    format!("keep last `{n}` is not a whole number, e.g. 7"),
                )
            })?),
        };
        let timezone = f.timezone.trim();
        Ok(Self {
            name: f.name.trim().to_string(),
            cron: f.cron.trim().to_string(),
            timezone: (!timezone.is_empty()).then(|| timezone.to_string()),
            scope: ScheduleScope {
                keyspaces: f
                    .keyspaces
                    .split(',')
                    .map(str::trim)
                    .filter(|k| !k.is_empty())
                    .map(str::to_string)
                    .collect(),
                ..ScheduleScope::default()
            },
            retention: Retention {
                keep_last,
                ..Retention::default()
            },
            ..Self::default()
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_consoles_form_becomes_a_snapshot_schedule() {
        let form = app::api::ScheduleForm {
            name: " nightly ".into(),
            cron: "0 2 * * *".into(),
            timezone: "".into(),
            keyspaces: "shop, , billing".into(),
            keep_last: "7".into(),
        };
        let input = ScheduleInput::from_form(&form).expect("form");
        assert_eq!(input.name, "nightly");
        assert_eq!(input.timezone, None, "empty: the default zone");
        assert_eq!(input.scope.keyspaces, ["shop", "billing"]);
        assert_eq!(input.retention.keep_last, Some(7));
        let bad = app::api::ScheduleForm {
            keep_last: "seven".into(),
            ..form
        };
        assert!(matches!(
            ScheduleInput::from_form(&bad),
            Err(crate::error::ServiceError::BadRequest {
                field: "keep_last",
                ..
            })
        ));
    }

    const NOW: i64 = 1_796_083_200_000; // 2026-12-01 00:00 UTC

    fn input(cron: &str) -> ScheduleInput {
        ScheduleInput {
            name: "nightly".into(),
            cron: cron.into(),
            timezone: Some("Europe/Berlin".into()),
            ..ScheduleInput::default()
        }
    }

    fn nodes() -> Vec<String> {
        vec!["node1".into()]
    }

    #[test]
    fn a_good_schedule_is_previewed_in_its_zone() {
        let c = check(input("0 2 * * *"), &nodes(), &[], NOW).expect("ok");
        assert_eq!(c.preview.next_runs.len(), 5);
        assert_eq!(c.preview.next_runs_local[0], "2026-12-01 02:00:00 CET");
        assert_eq!(c.preview.tags[0], "snapkeep-sched-nightly-20261201T020000");
        assert_eq!(c.tag_template, DEFAULT_TEMPLATE);
        assert_eq!(c.input.kind.as_deref(), Some("snapshot"));
    }

    #[test]
    fn every_bad_field_is_named_with_what_to_do() {
        let cases: Vec<(ScheduleInput, &str, &str)> = vec![
            (input("0 25 * * *"), "cron", "e.g."),
            (
                ScheduleInput {
                    timezone: Some("Berlin".into()),
                    ..input("0 2 * * *")
                },
                "timezone",
                "IANA",
            ),
            (
                ScheduleInput {
                    name: "-x".into(),
                    ..input("0 2 * * *")
                },
                "name",
                "[A-Za-z0-9_.-]",
            ),
            (
                ScheduleInput {
                    kind: Some("drill".into()),
                    ..input("0 2 * * *")
                },
                "scope",
                "names its tables",
            ),
            (
                ScheduleInput {
                    kind: Some("weekly".into()),
                    ..input("0 2 * * *")
                },
                "kind",
                "`snapshot` or `drill`",
            ),
            (
                ScheduleInput {
                    scope: ScheduleScope {
                        nodes: vec!["node9".into()],
                        ..ScheduleScope::default()
                    },
                    ..input("0 2 * * *")
                },
                "scope",
                "configured nodes: node1",
            ),
            (
                ScheduleInput {
                    scope: ScheduleScope {
                        tables: vec!["nodot".into()],
                        ..ScheduleScope::default()
                    },
                    ..input("0 2 * * *")
                },
                "scope",
                "keyspace.table",
            ),
            (
                ScheduleInput {
                    ttl: Some("3 weeks".into()),
                    ..input("0 2 * * *")
                },
                "ttl",
                "e.g. 3d",
            ),
            (
                ScheduleInput {
                    upload_to: Some("s3".into()),
                    ..input("0 2 * * *")
                },
                "upload_to",
                "not configured",
            ),
            (
                ScheduleInput {
                    retention: Retention {
                        keep_last: Some(0),
                        ..Retention::default()
                    },
                    ..input("0 2 * * *")
                },
                "retention",
                "keep_last",
            ),
            (
                ScheduleInput {
                    retention: Retention {
                        store: Some(Box::new(Retention {
                            monthly: Some(12),
                            ..Retention::default()
                        })),
                        ..Retention::default()
                    },
                    ..input("0 2 * * *")
                },
                "retention",
                "set `upload_to`",
            ),
            (
                ScheduleInput {
                    upload_to: Some("local".into()),
                    retention: Retention {
                        store: Some(Box::new(Retention {
                            daily: Some(0),
                            ..Retention::default()
                        })),
                        ..Retention::default()
                    },
                    ..input("0 2 * * *")
                },
                "retention",
                "store.daily",
            ),
            (
                ScheduleInput {
                    tag_template: Some("nightly-{date}".into()),
                    ..input("0 */6 * * *")
                },
                "tag_template",
                "{time}",
            ),
        ];
        for (i, want_field, want_text) in cases {
            match check(i.clone(), &nodes(), &["local".into()], NOW) {
                Err(ServiceError::BadRequest { field, message }) => {
                    assert_eq!(field, want_field, "{i:?}: {message}");
                    assert!(message.contains(want_text), "{i:?}: {message}");
                }
                other => panic!("{i:?} was not refused: {other:?}"),
            }
        }
    }

    #[test]
    fn a_patch_changes_only_what_it_names() {
        let base = ScheduleInput {
            ttl: Some("3d".into()),
            upload_to: Some("local".into()),
            ..input("0 2 * * *")
        };
        let patched = SchedulePatch {
            paused: Some(true),
            ttl: Some(String::new()),
            ..SchedulePatch::default()
        }
        .apply(base.clone());
        assert_eq!(patched.paused, Some(true));
        assert_eq!(patched.ttl, None);
        assert_eq!(patched.upload_to, base.upload_to);
        assert_eq!(patched.cron, base.cron);
    }
}
