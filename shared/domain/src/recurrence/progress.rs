//! Where a recurring campaign's series stands, stored on its campaign item beside its status:
//! the occurrences handled so far, the run still delivering, the one waiting for it, whether
//! an operator paused the series, and the version every change of these increments (the
//! guard of their read-modify-write, so two instances can never both move the series on).

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::delivery::RunId;

/// A series' progress (all empty for a one-off campaign).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct SeriesProgress {
    /// Occurrences handled so far, whatever became of them (run, missed or skipped): what
    /// `maxRuns` counts.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub occurrences: u64,
    /// The run of the series still delivering, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub active_run: Option<RunId>,
    /// An occurrence waiting for the active run to complete (overlap `bufferOne`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub buffered_run: Option<RunId>,
    /// The next occurrence not handled yet, where the series' OCCURRENCE timer is due
    /// (`None` once the series is over). The sweeper repairs a series whose timer is lost
    /// from it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_occurrence: Option<Timestamp>,
    /// Paused by an operator: no occurrence is handled until it is resumed.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub paused: bool,
    /// Incremented by every change of the fields above.
    #[serde(default, skip_serializing_if = "is_zero")]
    pub series_version: u64,
}

impl SeriesProgress {
    /// Occurrences left under `max_runs` (`None`: unbounded).
    pub fn runs_left(&self, max_runs: Option<u64>) -> Option<u64> {
        max_runs.map(|max| max.saturating_sub(self.occurrences))
    }
}

const fn is_zero(value: &u64) -> bool {
    *value == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_untouched_series_stores_nothing_and_reads_back_from_nothing() {
        let json = serde_json::to_value(SeriesProgress::default()).unwrap();
        assert_eq!(json, serde_json::json!({}));
        assert_eq!(
            serde_json::from_value::<SeriesProgress>(json).unwrap(),
            SeriesProgress::default()
        );
        let busy = SeriesProgress {
            occurrences: 3,
            active_run: Some(RunId::new("20270104T080000000Z")),
            buffered_run: None,
            next_occurrence: Some(Timestamp::from_millis(1_000)),
            paused: true,
            series_version: 4,
        };
        let json = serde_json::to_value(&busy).unwrap();
        assert_eq!(json["activeRun"], "20270104T080000000Z");
        assert_eq!(json["paused"], true);
        assert_eq!(json["nextOccurrence"], "1970-01-01T00:00:01Z");
        assert_eq!(
            serde_json::from_value::<SeriesProgress>(json).unwrap(),
            busy
        );
    }

    #[test]
    fn runs_left_counts_down_to_zero() {
        let progress = SeriesProgress {
            occurrences: 3,
            ..SeriesProgress::default()
        };
        assert_eq!(progress.runs_left(None), None);
        assert_eq!(progress.runs_left(Some(5)), Some(2));
        assert_eq!(progress.runs_left(Some(3)), Some(0));
        assert_eq!(progress.runs_left(Some(2)), Some(0));
    }
}
