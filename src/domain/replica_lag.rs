//! How far a streaming replica is behind its primary, in time, from WAL positions alone.
//!
//! The monitor samples the primary's write position and the replica's replay position every
//! tick. The lag is the age of the oldest primary position the replica has not replayed yet:
//! it grows while replay is paused or the stream is slow, and it is 0 for a replica that has
//! caught up with an idle primary, where `now() - pg_last_xact_replay_timestamp()` would
//! report the age of the last write instead. Its resolution is one tick.
use std::collections::VecDeque;

/// Positions kept while the replica is behind; at the limit the newest is overwritten, so
/// a long pause keeps its start exact and only overstates the lag of its last stretch.
const MAX_SAMPLES: usize = 4096;

#[derive(Debug, Default)]
pub struct LagTracker {
    /// (time in ms, primary position) not yet replayed, oldest first, positions increasing.
    behind: VecDeque<(i64, i64)>,
}

impl LagTracker {
    /// Records one sample and returns the lag in ms: `primary` is the primary's WAL position
    /// read at `now_ms`, `replayed` the replica's replay position read after it.
    pub fn observe(&mut self, now_ms: i64, primary: i64, replayed: i64) -> i64 {
        if self.behind.back().is_none_or(|&(_, at)| primary > at) {
            if self.behind.len() == MAX_SAMPLES {
                self.behind.pop_back();
            }
            self.behind.push_back((now_ms, primary));
        }
        while self.behind.front().is_some_and(|&(_, at)| at <= replayed) {
            self.behind.pop_front();
        }
        self.behind
            .front()
            .map_or(0, |&(since, _)| (now_ms - since).max(0))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_caught_up_replica_has_no_lag_however_old_the_last_write() {
        let mut t = LagTracker::default();
        assert_eq!(t.observe(0, 100, 100), 0);
        assert_eq!(t.observe(60_000, 100, 100), 0);
    }

    #[test]
    fn a_paused_replay_lags_by_the_age_of_the_first_unreplayed_position() {
        let mut t = LagTracker::default();
        assert_eq!(t.observe(0, 100, 100), 0);
        assert_eq!(t.observe(1_000, 150, 100), 0);
        assert_eq!(t.observe(1_200, 180, 100), 200);
        assert_eq!(t.observe(5_000, 200, 100), 4_000);
        // Replay resumes part way: the lag is now that of the first position still missing.
        assert_eq!(t.observe(5_200, 200, 160), 4_000);
        assert_eq!(t.observe(5_400, 200, 190), 400);
        assert_eq!(t.observe(5_600, 200, 200), 0);
    }

    #[test]
    fn a_long_pause_keeps_its_start_within_bounded_memory() {
        let mut t = LagTracker::default();
        for i in 0..(3 * MAX_SAMPLES as i64) {
            t.observe(i * 200, 1_000 + i, 999);
        }
        assert_eq!(t.behind.len(), MAX_SAMPLES);
        let now = 3 * MAX_SAMPLES as i64 * 200;
        assert_eq!(t.observe(now, 1_000_000, 999), now);
        assert_eq!(t.observe(now, 1_000_000, 1_000_000), 0);
    }
}
