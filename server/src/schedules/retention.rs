//! Retention: which of a schedule's snapshots stay. A snapshot stays when any rule keeps it:
//! the newest `keep_last`; everything younger than `keep_days`; the newest of each of the
//! last `daily` days, `weekly` ISO weeks and `monthly` months that have one (grandfather,
//! father, son, on the schedule's wall clock). The newest snapshot always stays, so a policy
//! never leaves a schedule's tables without one; no rule at all keeps everything.

use std::collections::HashSet;

use chrono::{DateTime, Datelike as _, Utc};
use chrono_tz::Tz;
use serde::{Deserialize, Serialize};

/// The period a day falls in (a day, an ISO week, a month), as a comparable key.
type Bucket = dyn Fn(chrono::NaiveDate) -> (i32, u32);

/// A schedule's retention (`retention` in the API); every rule optional.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, utoipa::ToSchema)]
#[serde(deny_unknown_fields)]
pub struct Retention {
    /// Keep the newest N snapshots.
    pub keep_last: Option<u32>,
    /// Keep every snapshot younger than D days.
    pub keep_days: Option<u32>,
    /// Keep the newest snapshot of each of the last N days that have one.
    pub daily: Option<u32>,
    /// … of each of the last N ISO weeks.
    pub weekly: Option<u32>,
    /// … of each of the last N months.
    pub monthly: Option<u32>,
    /// The same rules for the schedule's copies in its `upload_to` store, applied apart from
    /// the local ones (copies usually stay longer). Absent: every copy stays.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    #[schema(no_recursion)]
    pub store: Option<Box<Retention>>,
}

impl Retention {
    /// No rule set: nothing is ever cleared.
    pub fn keeps_everything(&self) -> bool {
        [
            self.keep_last,
            self.keep_days,
            self.daily,
            self.weekly,
            self.monthly,
        ]
        .iter()
        .all(Option::is_none)
    }

    /// The rule set to 0, if any (0 would mean "keep none by this rule": leave it out instead),
    /// `store.` before it when it is one of the store copies' rules.
    pub fn zero_rule(&self) -> Option<String> {
        let own = [
            ("keep_last", self.keep_last),
            ("keep_days", self.keep_days),
            ("daily", self.daily),
            ("weekly", self.weekly),
            ("monthly", self.monthly),
        ]
        .into_iter()
        .find(|(_, v)| *v == Some(0))
        .map(|(name, _)| name.to_string());
        own.or_else(|| {
            self.store
                .as_ref()
                .and_then(|s| s.zero_rule())
                .map(|r| format!("store.{r}"))
        })
    }

    /// The store copies' rules, when some are set.
    pub fn for_store(&self) -> Option<&Retention> {
        self.store.as_deref().filter(|s| !s.keeps_everything())
    }

    /// For snapshots taken at `created` (Unix ms, any order): whether each stays at `now_ms`.
    pub fn keep(&self, created: &[i64], now_ms: i64, tz: Tz) -> Vec<bool> {
        let mut keep = vec![self.keeps_everything(); created.len()];
        let mut order: Vec<usize> = (0..created.len()).collect();
        order.sort_by_key(|&i| std::cmp::Reverse(created[i]));
        if let Some(&newest) = order.first() {
            keep[newest] = true;
        }
        if let Some(n) = self.keep_last {
            for &i in order.iter().take(n as usize) {
                keep[i] = true;
            }
        }
        if let Some(d) = self.keep_days {
            let since = now_ms.saturating_sub(i64::from(d) * 86_400_000);
            for (i, &c) in created.iter().enumerate() {
                if c >= since {
                    keep[i] = true;
                }
            }
        }
        let local = |ms: i64| {
            DateTime::<Utc>::from_timestamp_millis(ms).map(|t| t.with_timezone(&tz).date_naive())
        };
        let buckets: [(Option<u32>, &Bucket); 3] = [
            (self.daily, &|d| (d.year(), d.ordinal())),
            (self.weekly, &|d| {
                let w = d.iso_week();
                (w.year(), w.week())
            }),
            (self.monthly, &|d| (d.year(), d.month())),
        ];
        for (count, bucket) in buckets {
            let Some(count) = count else { continue };
            let mut seen = HashSet::new();
            for &i in &order {
                let Some(day) = local(created[i]) else {
                    continue;
                };
                if seen.len() >= count as usize && !seen.contains(&bucket(day)) {
                    break;
                }
                if seen.insert(bucket(day)) {
                    keep[i] = true;
                }
            }
        }
        keep
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use chrono::TimeZone as _;
    use proptest::prelude::*;

    const DAY: i64 = 86_400_000;

    fn utc(y: i32, m: u32, d: u32, h: u32) -> i64 {
        Utc.with_ymd_and_hms(y, m, d, h, 0, 0)
            .single()
            .expect("exists")
            .timestamp_millis()
    }

    #[test]
    fn no_rule_keeps_everything_and_keep_last_keeps_the_newest() {
        let created = [utc(2026, 1, 1, 0), utc(2026, 1, 3, 0), utc(2026, 1, 2, 0)];
        let now = utc(2026, 2, 1, 0);
        assert_eq!(
            Retention::default().keep(&created, now, Tz::UTC),
            [true, true, true]
        );
        let two = Retention {
            keep_last: Some(2),
            ..Retention::default()
        };
        assert_eq!(two.keep(&created, now, Tz::UTC), [false, true, true]);
    }

    #[test]
    fn keep_days_keeps_the_young_and_always_the_newest() {
        let now = utc(2026, 3, 10, 12);
        let created = [now - 10 * DAY, now - 3 * DAY, now - DAY];
        let week = Retention {
            keep_days: Some(7),
            ..Retention::default()
        };
        assert_eq!(week.keep(&created, now, Tz::UTC), [false, true, true]);
        // All older than the window: the newest stays anyway.
        let old = [now - 30 * DAY, now - 20 * DAY];
        assert_eq!(week.keep(&old, now, Tz::UTC), [false, true]);
    }

    #[test]
    fn grandfather_father_son_keeps_the_newest_of_each_day_week_and_month() {
        // Two snapshots a day, 02:00 and 14:00 UTC, from 2026-01-01 to 2026-03-31.
        let mut created = Vec::new();
        let mut t = utc(2026, 1, 1, 2);
        while t <= utc(2026, 3, 31, 14) {
            created.push(t);
            created.push(t + 12 * 3_600_000);
            t += DAY;
        }
        let now = utc(2026, 4, 1, 0);
        let gfs = Retention {
            daily: Some(3),
            weekly: Some(2),
            monthly: Some(3),
            ..Retention::default()
        };
        let keep = gfs.keep(&created, now, Tz::UTC);
        let kept: Vec<String> = created
            .iter()
            .zip(&keep)
            .filter(|(_, k)| **k)
            .map(|(c, _)| {
                DateTime::<Utc>::from_timestamp_millis(*c)
                    .expect("ms")
                    .format("%m-%d %H")
                    .to_string()
            })
            .collect();
        // Days: 03-31, 03-30, 03-29 (14:00 each). Weeks: 2026-W14 (03-30..) and W13 (newest
        // 03-29). Months: March (03-31), February (02-28), January (01-31).
        assert_eq!(
            kept,
            ["01-31 14", "02-28 14", "03-29 14", "03-30 14", "03-31 14"]
        );
    }

    #[test]
    fn days_are_the_schedules_days_not_utcs() {
        // 23:30 and 00:30 UTC are both 2026-06-01 in New York (EDT, UTC-4).
        let created = [
            utc(2026, 6, 1, 23) + 1_800_000,
            utc(2026, 6, 2, 0) + 1_800_000,
        ];
        let one_day = Retention {
            daily: Some(2),
            ..Retention::default()
        };
        let now = utc(2026, 6, 3, 0);
        assert_eq!(one_day.keep(&created, now, Tz::UTC), [true, true]);
        assert_eq!(
            one_day.keep(&created, now, chrono_tz::America::New_York),
            [false, true]
        );
    }

    proptest! {
        /// Whatever the policy: the newest always stays, adding a rule to one never clears more,
        /// and keep_last N keeps at least min(N, count).
        #[test]
        fn rules_only_ever_add_to_what_stays(
            mut created in prop::collection::vec(1_700_000_000_000i64..1_800_000_000_000i64, 1..60),
            last in prop::option::of(1u32..10),
            days in prop::option::of(1u32..400),
            daily in prop::option::of(1u32..10),
            monthly in prop::option::of(1u32..10),
        ) {
            created.dedup();
            let now = 1_800_000_000_000i64;
            let p = Retention { keep_last: last, keep_days: days, daily, weekly: None, monthly, store: None };
            let keep = p.keep(&created, now, Tz::UTC);
            let newest = created.iter().enumerate().max_by_key(|(_, c)| **c).map(|(i, _)| i).expect("one");
            prop_assert!(keep[newest]);
            // (No rule at all keeps everything: "adding" starts from a policy with a rule.)
            if !p.keeps_everything() {
                let more = Retention { weekly: Some(2), ..p.clone() };
                let keep_more = more.keep(&created, now, Tz::UTC);
                for (a, b) in keep.iter().zip(&keep_more) {
                    prop_assert!(!*a || *b);
                }
            }
            if let Some(n) = last {
                let kept = keep.iter().filter(|k| **k).count();
                prop_assert!(kept >= (n as usize).min(created.len()));
            }
        }
    }
}
