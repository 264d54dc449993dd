//! Failed sign-ins per user name and per address: after `max` failures within the window,
//! further attempts for that name or from that address are refused until the oldest failure
//! leaves the window. Success clears the user's record.
//!
//! An attempt counts as a failure *before* its password is hashed ([`LoginLimiter::begin`]),
//! and is taken back only when it succeeds, so a burst of concurrent bad sign-ins hashes at
//! most `max` passwords per user and per address.

use std::collections::HashMap;
use std::sync::{Arc, Mutex};

/// Failure times (Unix ms) by key (`user:NAME` or `addr:IP`).
#[derive(Debug, Clone, Default)]
pub struct LoginLimiter {
    failures: Arc<Mutex<HashMap<String, Vec<i64>>>>,
}

impl LoginLimiter {
    /// Seconds to wait before `user` may try again from `addr`, if either is locked.
    pub fn wait_secs(
        &self,
        user: &str,
        addr: &str,
        now: i64,
        max: u32,
        window_ms: i64,
    ) -> Option<u64> {
        let map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        [format!("user:{user}"), format!("addr:{addr}")]
            .iter()
            .filter_map(|k| map.get(k))
            .filter_map(|times| {
                let recent: Vec<i64> = times
                    .iter()
                    .copied()
                    .filter(|t| now - t < window_ms)
                    .collect();
                (recent.len() as u32 >= max.max(1)).then(|| {
                    let oldest = recent.iter().copied().min().unwrap_or(now);
                    ((oldest + window_ms - now).max(1000) / 1000) as u64
                })
            })
            .max()
    }

    /// Records a failure for both keys.
    pub fn failed(&self, user: &str, addr: &str, now: i64, window_ms: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        for k in [format!("user:{user}"), format!("addr:{addr}")] {
            let v = map.entry(k).or_default();
            v.retain(|t| now - t < window_ms);
            v.push(now);
        }
        // Keep the map small: forget keys with no recent failure.
        if map.len() > 10_000 {
            map.retain(|_, v| v.iter().any(|t| now - t < window_ms));
        }
    }

    /// Checks the limits and, when the attempt may go ahead, counts it as a failure for both
    /// keys at once (under one lock). `Err` holds the seconds to wait.
    pub fn begin(
        &self,
        user: &str,
        addr: &str,
        now: i64,
        max: u32,
        window_ms: i64,
    ) -> Result<(), u64> {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        let mut wait = None;
        for k in [format!("user:{user}"), format!("addr:{addr}")] {
            if let Some(times) = map.get_mut(&k) {
                times.retain(|t| now - t < window_ms);
                if times.len() as u32 >= max.max(1) {
                    let oldest = times.iter().copied().min().unwrap_or(now);
                    let w = ((oldest + window_ms - now).max(1000) / 1000) as u64;
                    wait = Some(wait.map_or(w, |x: u64| x.max(w)));
                }
            }
        }
        if let Some(w) = wait {
            return Err(w);
        }
        for k in [format!("user:{user}"), format!("addr:{addr}")] {
            map.entry(k).or_default().push(now);
        }
        if map.len() > 10_000 {
            map.retain(|_, v| v.iter().any(|t| now - t < window_ms));
        }
        Ok(())
    }

    /// Takes back an attempt [`begin`](Self::begin) counted at `at` that succeeded: clears
    /// the user's failures and removes that one from the address.
    pub fn succeeded_at(&self, user: &str, addr: &str, at: i64) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("user:{user}"));
        if let Some(times) = map.get_mut(&format!("addr:{addr}"))
            && let Some(i) = times.iter().position(|t| *t == at)
        {
            times.swap_remove(i);
        }
    }

    /// Clears the user's failures after a successful sign-in.
    pub fn succeeded(&self, user: &str) {
        let mut map = self.failures.lock().unwrap_or_else(|p| p.into_inner());
        map.remove(&format!("user:{user}"));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn locks_after_max_failures_per_user_and_per_address() {
        let l = LoginLimiter::default();
        let w = 60_000;
        for i in 0..3 {
            assert_eq!(l.wait_secs("ann", "10.0.0.1", i, 3, w), None);
            l.failed("ann", "10.0.0.1", i, w);
        }
        assert!(
            l.wait_secs("ann", "10.0.0.9", 10, 3, w).is_some(),
            "user locked from anywhere"
        );
        assert!(
            l.wait_secs("bob", "10.0.0.1", 10, 3, w).is_some(),
            "address locked for anyone"
        );
        assert_eq!(l.wait_secs("bob", "10.0.0.9", 10, 3, w), None);
        assert_eq!(
            l.wait_secs("ann", "10.0.0.9", 60_001, 3, w),
            None,
            "window passed"
        );
        l.succeeded("ann");
        assert_eq!(l.wait_secs("ann", "10.0.0.9", 10, 3, w), None);
    }

    #[test]
    fn attempts_count_before_they_are_checked() {
        let l = LoginLimiter::default();
        let w = 60_000;
        for i in 0..3 {
            assert_eq!(l.begin("ann", "10.0.0.1", i, 3, w), Ok(()));
        }
        assert!(
            l.begin("ann", "10.0.0.1", 3, 3, w).is_err(),
            "three in flight: the fourth waits before any is checked"
        );
        // A success takes its own attempt back.
        let l = LoginLimiter::default();
        assert_eq!(l.begin("bob", "10.0.0.2", 5, 1, w), Ok(()));
        l.succeeded_at("bob", "10.0.0.2", 5);
        assert_eq!(l.begin("bob", "10.0.0.2", 6, 1, w), Ok(()));
    }
}
