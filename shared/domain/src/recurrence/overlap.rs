//! The overlap policy of a series: what becomes of an occurrence that comes while the
//! previous run is still delivering. `skip` (default): it is recorded `SKIPPED_OVERLAP`.
//! `bufferOne`: it waits and starts when the run before it completes; while one waits, a
//! further occurrence is skipped (as Temporal's `BufferOne`).

use serde::{Deserialize, Serialize};

/// What happens to an occurrence while the previous run still delivers.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub enum Overlap {
    /// Recorded `SKIPPED_OVERLAP`.
    #[default]
    Skip,
    /// Waits for the run before it (one at most).
    BufferOne,
}

/// What to do with an occurrence now.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OverlapDecision {
    /// Start its run.
    Start,
    /// Let it wait for the run before it to complete.
    Buffer,
    /// Record it `SKIPPED_OVERLAP`.
    Skip,
}

impl Overlap {
    /// The policy named `name` (`skip`, `bufferOne`).
    pub fn parse(name: &str) -> Option<Self> {
        match name {
            "skip" => Some(Self::Skip),
            "bufferOne" => Some(Self::BufferOne),
            _ => None,
        }
    }

    /// The decision for an occurrence when a run of the series is (`previous_delivering`) or
    /// is not still delivering, and one occurrence already waits (`one_waiting`) or not.
    pub fn decide(self, previous_delivering: bool, one_waiting: bool) -> OverlapDecision {
        match (self, previous_delivering, one_waiting) {
            (_, false, _) => OverlapDecision::Start,
            (Self::BufferOne, true, false) => OverlapDecision::Buffer,
            _ => OverlapDecision::Skip,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn skip_starts_only_when_nothing_delivers() {
        assert_eq!(Overlap::Skip.decide(false, false), OverlapDecision::Start);
        assert_eq!(Overlap::Skip.decide(true, false), OverlapDecision::Skip);
    }

    #[test]
    fn buffer_one_keeps_one_waiting_and_skips_the_rest() {
        assert_eq!(
            Overlap::BufferOne.decide(false, false),
            OverlapDecision::Start
        );
        assert_eq!(
            Overlap::BufferOne.decide(true, false),
            OverlapDecision::Buffer
        );
        assert_eq!(Overlap::BufferOne.decide(true, true), OverlapDecision::Skip);
    }

    #[test]
    fn names_parse() {
        assert_eq!(Overlap::parse("skip"), Some(Overlap::Skip));
        assert_eq!(Overlap::parse("bufferOne"), Some(Overlap::BufferOne));
        assert_eq!(Overlap::parse("BUFFERONE"), None);
    }
}
