//! The misfire policy of a series: what becomes of occurrences that were not started on time
//! (the dispatcher was down, the series was paused). An occurrence later than the grace period
//! is *missed*; what the policy decides for the missed ones:
//!
//! - `fireOnceNow` (default, Quartz's "smart" policy): one catch-up run now, for the latest
//!   missed occurrence; the others are recorded `MISSED`. If an occurrence inside the grace
//!   period is starting anyway, that one is the run now and every missed one is `MISSED`.
//! - `skip`: every missed occurrence is recorded `MISSED`; the series waits for the next.
//! - `fireAll` with a cap: the latest `max` missed occurrences run, oldest first; older ones
//!   are `MISSED`.

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Default cap of `fireAll`.
pub const DEFAULT_MAX_CATCH_UP: u64 = 10;
/// Largest cap of `fireAll`.
pub const MAX_CATCH_UP: u64 = 100;

/// What becomes of missed occurrences.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase", tag = "policy")]
pub enum Misfire {
    /// One catch-up run now; the other missed occurrences are `MISSED`.
    #[default]
    FireOnceNow,
    /// Every missed occurrence is `MISSED`.
    Skip,
    /// The latest `max` missed occurrences run, oldest first; older ones are `MISSED`.
    FireAll {
        /// At most this many catch-up runs.
        max: u64,
    },
}

/// The decision for the occurrences due at some moment and not started.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CatchUp {
    /// Occurrences to run now, oldest first (late ones are run late, not moved).
    pub run: Vec<Timestamp>,
    /// Occurrences recorded `MISSED`.
    pub missed: Vec<Timestamp>,
}

impl Misfire {
    /// Sorts `due` (occurrences not started, due at or before `now`, in order) into runs and
    /// misses: an occurrence no more than `grace_ms` late always runs; later ones follow the
    /// policy.
    pub fn decide(self, due: &[Timestamp], now: Timestamp, grace_ms: i64) -> CatchUp {
        let (late, on_time): (Vec<Timestamp>, Vec<Timestamp>) =
            due.iter().partition(|at| now.millis_since(**at) > grace_ms);
        let (mut run, missed) = match self {
            Misfire::Skip => (Vec::new(), late),
            Misfire::FireOnceNow if !on_time.is_empty() => (Vec::new(), late),
            Misfire::FireOnceNow => split_latest(late, 1),
            Misfire::FireAll { max } => split_latest(late, max),
        };
        run.extend(on_time);
        CatchUp { run, missed }
    }
}

/// The last `keep` of `late` to run, the rest missed.
fn split_latest(mut late: Vec<Timestamp>, keep: u64) -> (Vec<Timestamp>, Vec<Timestamp>) {
    let keep = usize::try_from(keep).unwrap_or(usize::MAX).min(late.len());
    let run = late.split_off(late.len() - keep);
    (run, late)
}

#[cfg(test)]
mod tests {
    use super::*;

    const GRACE: i64 = 60_000;

    fn minutes(list: &[i64]) -> Vec<Timestamp> {
        list.iter()
            .map(|m| Timestamp::from_millis(m * 60_000))
            .collect()
    }

    /// Occurrences at minutes 0, 10, 20, 30; now is minute 40.
    fn decide(policy: Misfire, due: &[i64]) -> (Vec<Timestamp>, Vec<Timestamp>) {
        let now = Timestamp::from_millis(40 * 60_000);
        let CatchUp { run, missed } = policy.decide(&minutes(due), now, GRACE);
        (run, missed)
    }

    #[test]
    fn fire_once_now_runs_the_latest_missed_one() {
        assert_eq!(
            decide(Misfire::FireOnceNow, &[0, 10, 20, 30]),
            (minutes(&[30]), minutes(&[0, 10, 20]))
        );
    }

    #[test]
    fn an_occurrence_within_the_grace_period_runs_and_replaces_the_catch_up() {
        let now = Timestamp::from_millis(40 * 60_000);
        let due = [minutes(&[0, 10]), vec![now.plus_millis(-GRACE)]].concat();
        let decided = Misfire::FireOnceNow.decide(&due, now, GRACE);
        assert_eq!(decided.run, vec![now.plus_millis(-GRACE)]);
        assert_eq!(decided.missed, minutes(&[0, 10]));
        let decided = Misfire::Skip.decide(&due, now, GRACE);
        assert_eq!(decided.run, vec![now.plus_millis(-GRACE)]);
        let decided = Misfire::FireAll { max: 1 }.decide(&due, now, GRACE);
        assert_eq!(
            decided.run,
            vec![minutes(&[10])[0], now.plus_millis(-GRACE)]
        );
        assert_eq!(decided.missed, minutes(&[0]));
    }

    #[test]
    fn skip_misses_them_all() {
        assert_eq!(
            decide(Misfire::Skip, &[0, 10, 20, 30]),
            (vec![], minutes(&[0, 10, 20, 30]))
        );
    }

    #[test]
    fn fire_all_runs_the_latest_up_to_its_cap_oldest_first() {
        assert_eq!(
            decide(Misfire::FireAll { max: 2 }, &[0, 10, 20, 30]),
            (minutes(&[20, 30]), minutes(&[0, 10]))
        );
        assert_eq!(
            decide(Misfire::FireAll { max: 10 }, &[0, 10]),
            (minutes(&[0, 10]), vec![])
        );
    }

    #[test]
    fn nothing_due_decides_nothing() {
        for policy in [
            Misfire::FireOnceNow,
            Misfire::Skip,
            Misfire::FireAll { max: 3 },
        ] {
            assert_eq!(decide(policy, &[]), (vec![], vec![]));
        }
    }
}
