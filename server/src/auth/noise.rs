//! Refusals of requests without valid credentials ("anonymous noise"): counted per address
//! and minute in memory, answered 429 beyond `[auth] anonymous_refusals_per_minute`, and
//! written to the audit log as one row per address and minute with a count once the minute
//! is over, so a flood cannot fill the disk.

use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};

use sqlx::SqlitePool;

use super::audit::{self, Entry};

/// Most distinct addresses tracked per minute; beyond that they are counted together as `*`.
const MAX_ADDRESSES: usize = 10_000;
/// Most distinct actions listed in a row's detail.
const MAX_ACTIONS: usize = 20;

#[derive(Debug, Default)]
struct Tally {
    count: i64,
    limited: i64,
    /// The first refusal's action and target (cut), and why.
    action: String,
    target: String,
    why: String,
    actions: BTreeMap<String, i64>,
}

/// Counts anonymous refusals by (address, minute since the epoch).
#[derive(Debug, Clone, Default)]
pub struct NoiseCounter {
    tallies: Arc<Mutex<HashMap<(String, i64), Tally>>>,
}

/// What to answer a refusal.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Answer {
    /// 401, as usual.
    Unauthorized,
    /// 429: this address sent too many; retry after this many seconds.
    TooMany { retry_after_secs: u64 },
}

impl NoiseCounter {
    /// Counts one refusal from `address` at `now` (Unix ms) and says how to answer it.
    pub fn refused(
        &self,
        address: &str,
        action: &str,
        target: &str,
        why: &str,
        now: i64,
        per_minute: u32,
    ) -> Answer {
        self.tally(address, action, target, why, now, Some(per_minute))
    }

    /// Counts a refusal that is already answered 429 (a locked-out sign-in).
    pub fn limited(&self, address: &str, action: &str, why: &str, now: i64) {
        self.tally(address, action, "", why, now, None);
    }

    fn tally(
        &self,
        address: &str,
        action: &str,
        target: &str,
        why: &str,
        now: i64,
        per_minute: Option<u32>,
    ) -> Answer {
        let minute = now.div_euclid(60_000);
        let mut map = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
        let known = map.contains_key(&(address.to_string(), minute));
        let key_addr =
            if !known && map.keys().filter(|(_, m)| *m == minute).count() >= MAX_ADDRESSES {
                "*".to_string()
            } else {
                address.to_string()
            };
        let t = map.entry((key_addr, minute)).or_default();
        t.count += 1;
        if t.count == 1 {
            t.action = audit_cut(action);
            t.target = audit_cut(target);
            t.why = why.chars().take(200).collect();
        }
        let distinct = t.actions.len();
        if let Some(n) = t.actions.get_mut(action) {
            *n += 1;
        } else if distinct < MAX_ACTIONS {
            t.actions.insert(audit_cut(action), 1);
        }
        let over = per_minute.is_none_or(|max| t.count > i64::from(max.max(1)));
        if over {
            t.limited += 1;
            let next_minute = (minute + 1) * 60_000;
            Answer::TooMany {
                retry_after_secs: ((next_minute - now).max(1000) / 1000) as u64,
            }
        } else {
            Answer::Unauthorized
        }
    }

    /// Writes one audit row per (address, minute) that has ended before `now` (every one when
    /// `all`), and forgets them.
    pub async fn flush(&self, pool: &SqlitePool, now: i64, all: bool) {
        let minute = now.div_euclid(60_000);
        let done: Vec<((String, i64), Tally)> = {
            let mut map = self.tallies.lock().unwrap_or_else(|p| p.into_inner());
            let keys: Vec<(String, i64)> = map
                .keys()
                .filter(|(_, m)| all || *m < minute)
                .cloned()
                .collect();
            keys.into_iter()
                .filter_map(|k| map.remove(&k).map(|t| (k, t)))
                .collect()
        };
        for ((address, m), t) in done {
            let actions: Vec<String> = t.actions.iter().map(|(a, n)| format!("{a} ×{n}")).collect();
            let detail = format!(
                "{} refusals without valid credentials in the minute from {} ({} answered 429); first: {}; actions: {}",
                t.count,
                app::api::format_utc(m * 60_000),
                t.limited,
                t.why,
                actions.join(", ")
            );
            audit::record(
                pool,
                Entry {
                    actor: "-".into(),
                    via: "anonymous",
                    address,
                    action: t.action,
                    target: t.target,
                    outcome: "denied",
                    status: if t.limited > 0 { 429 } else { 401 },
                    detail,
                    credential: String::new(),
                    count: t.count,
                },
            )
            .await;
        }
    }

    /// Addresses and minutes not yet written.
    pub fn pending(&self) -> usize {
        self.tallies.lock().unwrap_or_else(|p| p.into_inner()).len()
    }
}

fn audit_cut(s: &str) -> String {
    s.chars().take(audit::MAX_FIELD).collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn refusals_beyond_the_limit_get_429_until_the_minute_ends() {
        let n = NoiseCounter::default();
        let t0 = 120_000;
        for _ in 0..3 {
            assert_eq!(
                n.refused(
                    "10.0.0.1",
                    "GET /api/v1/nodes",
                    "/api/v1/nodes",
                    "not signed in",
                    t0,
                    3
                ),
                Answer::Unauthorized
            );
        }
        assert!(matches!(
            n.refused("10.0.0.1", "GET /x", "/x", "not signed in", t0 + 1000, 3),
            Answer::TooMany {
                retry_after_secs: 59
            }
        ));
        assert_eq!(
            n.refused("10.0.0.2", "GET /x", "/x", "not signed in", t0, 3),
            Answer::Unauthorized,
            "per address"
        );
        assert_eq!(
            n.refused("10.0.0.1", "GET /x", "/x", "not signed in", t0 + 60_000, 3),
            Answer::Unauthorized,
            "a new minute"
        );
        assert_eq!(n.pending(), 3);
    }
}
