//! A run: one occurrence of a campaign's delivery (a one-off campaign has one), its counts and
//! the rule that completes it exactly once.

use std::fmt;

use serde::{Deserialize, Serialize};

use super::ledger::Settled;
use crate::Timestamp;

/// A run's id: the occurrence's scheduled start as `YYYYMMDDTHHMMSSmmmZ`, so runs sort by
/// time and the same occurrence always gets the same id (its creation is idempotent).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct RunId(String);

impl RunId {
    /// The id of the run scheduled at `at` (an instant chrono cannot represent, beyond
    /// ±262,000 years, gets its epoch milliseconds instead).
    pub fn for_occurrence(at: Timestamp) -> Self {
        Self(
            chrono::DateTime::from_timestamp_millis(at.millis()).map_or_else(
                || at.millis().to_string(),
                |at| at.format("%Y%m%dT%H%M%S%3fZ").to_string(),
            ),
        )
    }

    /// Wraps an id received from outside (API path, message, item).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id has the shape [`RunId::for_occurrence`] gives.
    pub fn is_well_formed(&self) -> bool {
        let bytes = self.0.as_bytes();
        bytes.len() == 19
            && bytes.iter().enumerate().all(|(i, b)| match i {
                8 => *b == b'T',
                18 => *b == b'Z',
                _ => b.is_ascii_digit(),
            })
    }
}

impl fmt::Display for RunId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a run stands.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum RunStatus {
    /// Created with its campaign; waits for the occurrence's START.
    Scheduled,
    /// Its list is being split into batches (batches already planned are sending).
    Planning,
    /// Every batch is planned; batches are sending.
    Sending,
    /// Every recipient is settled (terminal).
    Completed,
    /// Stopped by a cancel: unsent recipients were counted `cancelled` (terminal).
    Cancelled,
    /// An occurrence of a series waiting for the series' run before it to complete
    /// (overlap `bufferOne`); that run's completion starts it.
    Buffered,
    /// An occurrence of a series not started within the grace period and not run by the
    /// misfire policy: nothing sent (terminal).
    Missed,
    /// An occurrence of a series that came while the series' previous run was still
    /// delivering (overlap `skip`): nothing sent (terminal).
    SkippedOverlap,
}

impl RunStatus {
    /// The stored name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Scheduled => "SCHEDULED",
            Self::Planning => "PLANNING",
            Self::Sending => "SENDING",
            Self::Completed => "COMPLETED",
            Self::Cancelled => "CANCELLED",
            Self::Buffered => "BUFFERED",
            Self::Missed => "MISSED",
            Self::SkippedOverlap => "SKIPPED_OVERLAP",
        }
    }

    /// Whether nothing more happens to the run.
    pub const fn is_terminal(self) -> bool {
        matches!(
            self,
            Self::Completed | Self::Cancelled | Self::Missed | Self::SkippedOverlap
        )
    }
}

/// How many recipients of a run (or of one batch) ended each way.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Counts {
    /// Accepted by the provider.
    pub sent: u64,
    /// Refused for good.
    pub failed: u64,
    /// Ambiguous and not resent (policy `skip`).
    pub unconfirmed: u64,
    /// Ambiguous and resent (also counted in `sent` or `failed`).
    pub resent: u64,
    /// Repeated recipient ids, sent nothing.
    pub duplicates: u64,
    /// Not sent because the campaign was cancelled.
    pub cancelled: u64,
    /// Not sent because the run's window (a series' `runDuration`) closed first.
    #[serde(default)]
    pub expired: u64,
}

impl Counts {
    /// Counts one settled row.
    pub fn add(&mut self, settled: Settled) {
        match settled {
            Settled::Sent { ambiguous } => {
                self.sent += 1;
                self.resent += u64::from(ambiguous);
            }
            Settled::Failed { ambiguous } => {
                self.failed += 1;
                self.resent += u64::from(ambiguous);
            }
            Settled::Unconfirmed => self.unconfirmed += 1,
        }
    }

    /// Rows that need nothing more (each row once; `resent` is inside `sent`/`failed`).
    pub const fn settled(&self) -> u64 {
        self.sent + self.failed + self.unconfirmed + self.duplicates + self.cancelled + self.expired
    }

    /// Recipients whose delivery was ambiguous after a crash: resent or unconfirmed.
    pub const fn ambiguous(&self) -> u64 {
        self.unconfirmed + self.resent
    }

    /// The sum of two counts.
    pub const fn plus(self, other: Self) -> Self {
        Self {
            sent: self.sent + other.sent,
            failed: self.failed + other.failed,
            unconfirmed: self.unconfirmed + other.unconfirmed,
            resent: self.resent + other.resent,
            duplicates: self.duplicates + other.duplicates,
            cancelled: self.cancelled + other.cancelled,
            expired: self.expired + other.expired,
        }
    }
}

/// A run's progress as the operator sees it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Progress {
    /// Rows planned so far (the list's total once planning is done).
    pub total: u64,
    /// Whether the whole list is planned.
    pub planned: bool,
    /// Rows settled, by outcome.
    pub counts: Counts,
}

impl Progress {
    /// Rows planned but not settled.
    pub const fn pending(&self) -> u64 {
        self.total.saturating_sub(self.counts.settled())
    }

    /// Whether the run is done: fully planned and every row settled. Whoever sees this first
    /// (the planner after its last batch, or the sender after a batch) completes the run with
    /// a conditional write, so it completes once.
    pub const fn is_done(&self) -> bool {
        self.planned && self.counts.settled() >= self.total
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn run_ids_sort_by_occurrence_and_repeat_for_the_same_one() {
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00.250Z").unwrap();
        let id = RunId::for_occurrence(at);
        assert_eq!(id.as_str(), "20261202T090000250Z");
        assert!(id.is_well_formed());
        assert_eq!(RunId::for_occurrence(at), id);
        assert!(RunId::for_occurrence(at.plus_millis(1)) > id);
        for bad in [
            "",
            "20261202T090000250",
            "20261202X090000250Z",
            "2026120aT090000250Z",
        ] {
            assert!(!RunId::new(bad).is_well_formed(), "{bad}");
        }
    }

    #[test]
    fn counts_each_row_once_and_ambiguous_ones_apart() {
        let mut counts = Counts::default();
        counts.add(Settled::Sent { ambiguous: false });
        counts.add(Settled::Sent { ambiguous: true });
        counts.add(Settled::Failed { ambiguous: true });
        counts.add(Settled::Failed { ambiguous: false });
        counts.add(Settled::Unconfirmed);
        counts.duplicates = 2;
        counts.cancelled = 1;
        counts.expired = 4;
        assert_eq!((counts.sent, counts.failed, counts.unconfirmed), (2, 2, 1));
        assert_eq!(counts.ambiguous(), 3);
        assert_eq!(counts.settled(), 12);
        let other = Counts {
            sent: 3,
            failed: 4,
            unconfirmed: 5,
            resent: 6,
            duplicates: 7,
            cancelled: 8,
            expired: 10,
        };
        assert_eq!(
            counts.plus(other),
            Counts {
                sent: 5,
                failed: 6,
                unconfirmed: 6,
                resent: 8,
                duplicates: 9,
                cancelled: 9,
                expired: 14,
            }
        );
    }

    #[test]
    fn a_run_is_done_only_when_planned_and_settled() {
        let mut progress = Progress {
            total: 3,
            planned: false,
            counts: Counts {
                sent: 2,
                duplicates: 1,
                ..Counts::default()
            },
        };
        assert_eq!(progress.pending(), 0);
        assert!(!progress.is_done(), "more batches may still be planned");
        progress.planned = true;
        assert!(progress.is_done());
        progress.total = 4;
        assert_eq!(progress.pending(), 1);
        assert!(!progress.is_done());
    }

    #[test]
    fn stored_names_match_the_wire_names() {
        for status in [
            RunStatus::Scheduled,
            RunStatus::Planning,
            RunStatus::Sending,
            RunStatus::Completed,
            RunStatus::Cancelled,
            RunStatus::Buffered,
            RunStatus::Missed,
            RunStatus::SkippedOverlap,
        ] {
            assert_eq!(
                serde_json::to_value(status).unwrap(),
                serde_json::json!(status.as_str())
            );
        }
    }

    #[test]
    fn only_completed_cancelled_missed_and_skipped_runs_are_terminal() {
        assert!(RunStatus::Completed.is_terminal());
        assert!(RunStatus::Cancelled.is_terminal());
        assert!(RunStatus::Missed.is_terminal());
        assert!(RunStatus::SkippedOverlap.is_terminal());
        assert!(!RunStatus::Buffered.is_terminal());
        assert!(!RunStatus::Scheduled.is_terminal());
        assert!(!RunStatus::Planning.is_terminal());
        assert!(!RunStatus::Sending.is_terminal());
    }
}
