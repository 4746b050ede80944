//! Login throttling, per account and per client address: after a few failures each further
//! attempt waits twice as long as the one before, and after more the key is locked for a
//! while (an admin may lift it). While a key waits, even the right password is refused.
//! Pure: the counters are read and written by the shell.

/// The settings (`[login]` in the configuration).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct LoginPolicy {
    /// Failures before attempts start to wait.
    pub backoff_after: i64,
    /// The first wait, doubled with each further failure.
    pub base_delay_secs: i64,
    /// Failures that lock the key.
    pub lockout_after: i64,
    pub lockout_minutes: i64,
    /// A key whose last failure is older than this starts afresh.
    pub window_minutes: i64,
}

impl Default for LoginPolicy {
    fn default() -> Self {
        LoginPolicy {
            backoff_after: 3,
            base_delay_secs: 2,
            lockout_after: 10,
            lockout_minutes: 15,
            window_minutes: 15,
        }
    }
}

/// A key's failures as stored: how many, and the time of the last.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Failures {
    pub count: i64,
    pub last_at_ms: i64,
}

impl LoginPolicy {
    /// The settings are usable.
    pub fn check(&self) -> Result<(), String> {
        let positive = [
            ("backoff_after", self.backoff_after),
            ("base_delay_secs", self.base_delay_secs),
            ("lockout_after", self.lockout_after),
            ("lockout_minutes", self.lockout_minutes),
            ("window_minutes", self.window_minutes),
        ];
        if let Some((name, _)) = positive.iter().find(|(_, v)| *v <= 0) {
            return Err(format!("login.{name} must be positive"));
        }
        if self.lockout_after <= self.backoff_after {
            return Err("login.lockout_after must be above login.backoff_after".into());
        }
        Ok(())
    }

    /// The failures that still count at `now`: none once the window has passed.
    pub fn current(&self, stored: Option<Failures>, now_ms: i64) -> Option<Failures> {
        stored.filter(|f| now_ms - f.last_at_ms < self.window_minutes * 60_000)
    }

    /// How long (ms) an attempt must still wait at `now`; 0 when it may go ahead.
    pub fn wait_ms(&self, stored: Option<Failures>, now_ms: i64) -> i64 {
        let Some(f) = self.current(stored, now_ms) else {
            return 0;
        };
        let hold_ms = if f.count >= self.lockout_after {
            self.lockout_minutes * 60_000
        } else if f.count >= self.backoff_after {
            let doublings = (f.count - self.backoff_after).min(20) as u32;
            (self.base_delay_secs * 1000)
                .saturating_mul(1 << doublings)
                .min(self.lockout_minutes * 60_000)
        } else {
            0
        };
        (f.last_at_ms + hold_ms - now_ms).max(0)
    }

    /// The key's failures after one more at `now`.
    pub fn after_failure(&self, stored: Option<Failures>, now_ms: i64) -> Failures {
        Failures {
            count: self.current(stored, now_ms).map_or(0, |f| f.count) + 1,
            last_at_ms: now_ms,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn waits_double_then_lock_and_expire() {
        let p = LoginPolicy::default();
        let mut f = None;
        let mut waits = Vec::new();
        for _ in 0..10 {
            let next = p.after_failure(f, 0);
            waits.push(p.wait_ms(Some(next), 0));
            f = Some(next);
        }
        assert_eq!(&waits[..6], &[0, 0, 2_000, 4_000, 8_000, 16_000]);
        assert_eq!(
            waits[9],
            15 * 60_000,
            "ten failures lock the key for 15 minutes"
        );
        assert_eq!(p.wait_ms(f, 15 * 60_000), 0, "the lock ends");
        assert_eq!(
            p.after_failure(f, 16 * 60_000).count,
            1,
            "a quiet window starts afresh"
        );
        assert!(LoginPolicy {
            lockout_after: 2,
            ..p
        }
        .check()
        .is_err());
    }
}
