//! A run as stored: what it sends and to whom, where its planning stands, and its counts.

use serde::{Deserialize, Serialize};

use super::batch_plan::{PlanCursor, PlannedBatch};
use super::ledger::AmbiguousPolicy;
use super::message::Message;
use super::recipient::CsvHeader;
use super::recipient_list::RecipientList;
use super::run::{Counts, Progress, RunId, RunStatus};
use crate::{CampaignId, Timestamp};

/// A run of a campaign's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RunRecord {
    /// The campaign.
    pub campaign_id: CampaignId,
    /// The run.
    pub run_id: RunId,
    /// Where it stands.
    pub status: RunStatus,
    /// What it sends.
    pub message: Message,
    /// The recipient list.
    pub list: RecipientList,
    /// What a resumed batch does with an ambiguous recipient.
    pub on_ambiguous: AmbiguousPolicy,
    /// A CSV list's header, once the planner read it.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub csv_header: Option<CsvHeader>,
    /// Where the next batch starts.
    pub cursor: PlanCursor,
    /// The last group of batches committed.
    #[serde(default)]
    pub last_group: Vec<PlannedBatch>,
    /// Whether the whole list is planned.
    pub planned: bool,
    /// Rows planned so far.
    pub total: u64,
    /// Rows settled, by outcome.
    pub counts: Counts,
    /// When its occurrence is scheduled to start (its id derives from it).
    pub scheduled_at: Timestamp,
    /// When its START fired and planning began.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// When every row was settled, or it was cancelled.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// Why a run that never started was cancelled by the sweeper (its START can no longer
    /// fire).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// When its window closes (a series with `runDuration`): nothing is sent from then on,
    /// and its series' next run waits for the close.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<Timestamp>,
    /// When its RUN_CLOSE timer closed its window (`CampaignRunClosed`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

/// A run that started more than this after its scheduled time is reported late: beyond what
/// an on-time START takes (milliseconds), within what a retried one can.
pub const LATE_AFTER_MS: i64 = 1_000;

impl RunRecord {
    /// A run that starts planning `list` at `started_at` (its occurrence's time).
    pub fn start(
        campaign_id: CampaignId,
        run_id: RunId,
        message: Message,
        list: RecipientList,
        on_ambiguous: AmbiguousPolicy,
        started_at: Timestamp,
    ) -> Self {
        Self {
            status: RunStatus::Planning,
            started_at: Some(started_at),
            ..Self::scheduled(campaign_id, run_id, message, list, on_ambiguous, started_at)
        }
    }

    /// A run waiting for its occurrence's START at `scheduled_at`.
    pub fn scheduled(
        campaign_id: CampaignId,
        run_id: RunId,
        message: Message,
        list: RecipientList,
        on_ambiguous: AmbiguousPolicy,
        scheduled_at: Timestamp,
    ) -> Self {
        Self {
            campaign_id,
            run_id,
            status: RunStatus::Scheduled,
            message,
            list,
            on_ambiguous,
            csv_header: None,
            cursor: PlanCursor::default(),
            last_group: Vec::new(),
            planned: false,
            total: 0,
            counts: Counts::default(),
            scheduled_at,
            started_at: None,
            completed_at: None,
            cancel_reason: None,
            closes_at: None,
            closed_at: None,
        }
    }

    /// How late it started, in milliseconds, when it started more than [`LATE_AFTER_MS`]
    /// after its scheduled time (its START fired late: by the sweeper after an outage, by a
    /// state correction); `None` for a run on time or not started.
    pub fn late_ms(&self) -> Option<i64> {
        let late = self.started_at?.millis_since(self.scheduled_at);
        (late > LATE_AFTER_MS).then_some(late)
    }

    /// Whether it has a window (a series with `runDuration`) its RUN_CLOSE has not closed
    /// yet: its completion then does not release its series.
    pub fn window_open(&self) -> bool {
        self.closes_at.is_some() && self.closed_at.is_none()
    }

    /// Its progress.
    pub const fn progress(&self) -> Progress {
        Progress {
            total: self.total,
            planned: self.planned,
            counts: self.counts,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::delivery::message::EventMessage;

    fn event_message() -> Message {
        Message::Event(EventMessage { detail: None })
    }

    fn list() -> RecipientList {
        RecipientList::parse_uri("s3://lists/a.jsonl").unwrap()
    }

    #[test]
    fn a_new_run_is_planning_from_the_start_of_its_list_with_nothing_counted() {
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let run = RunRecord::start(
            CampaignId::new("c1"),
            RunId::for_occurrence(at),
            event_message(),
            list(),
            AmbiguousPolicy::Resend,
            at,
        );
        assert_eq!(run.status, RunStatus::Planning);
        assert_eq!((run.scheduled_at, run.started_at), (at, Some(at)));
        assert_eq!(run.late_ms(), None, "on time");
        assert_eq!(run.cursor, PlanCursor::default());
        let progress = run.progress();
        assert!(!progress.planned && progress.total == 0 && progress.pending() == 0);
        assert!(!progress.is_done());
        let json = serde_json::to_value(&run).unwrap();
        assert_eq!(json["status"], "PLANNING");
        assert!(json.get("completedAt").is_none());
        assert_eq!(serde_json::from_value::<RunRecord>(json).unwrap(), run);
    }

    #[test]
    fn only_a_window_not_closed_yet_is_open() {
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let mut run = RunRecord::start(
            CampaignId::new("c"),
            RunId::for_occurrence(at),
            event_message(),
            list(),
            AmbiguousPolicy::Resend,
            at,
        );
        assert!(!run.window_open(), "no runDuration: no window");
        run.closes_at = Some(at.plus_millis(3_000));
        assert!(run.window_open());
        run.closed_at = Some(at.plus_millis(3_001));
        assert!(!run.window_open());
    }

    #[test]
    fn a_run_started_more_than_a_second_after_its_time_is_late_by_the_difference() {
        let at = Timestamp::parse_rfc3339("2026-12-02T09:00:00Z").unwrap();
        let run = |started: Option<i64>| RunRecord {
            started_at: started.map(|ms| at.plus_millis(ms)),
            ..RunRecord::scheduled(
                CampaignId::new("c1"),
                RunId::for_occurrence(at),
                event_message(),
                list(),
                AmbiguousPolicy::Resend,
                at,
            )
        };
        assert_eq!(run(None).late_ms(), None, "not started");
        assert_eq!(run(Some(LATE_AFTER_MS)).late_ms(), None);
        assert_eq!(
            run(Some(LATE_AFTER_MS + 1)).late_ms(),
            Some(LATE_AFTER_MS + 1)
        );
        assert_eq!(run(Some(120_000)).late_ms(), Some(120_000));
    }
}
