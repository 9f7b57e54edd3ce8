//! The campaign's schedule as a clock: when each status is due to end, which status comes
//! next, which moves a campaign is overdue for (the sweeper's state correction), and which
//! delivery run such a correction starts.

use crate::Timestamp;
use crate::campaign::{Campaign, CampaignStatus};
use crate::delivery::RunId;
use crate::state_machine::{Transition, transition};

impl Campaign {
    /// The status the schedule moves `status` to, and when; `None` if the schedule has no
    /// move out of it (CLOSED without a claim window, terminal statuses).
    pub fn scheduled_exit(&self, status: CampaignStatus) -> Option<(CampaignStatus, Timestamp)> {
        use CampaignStatus::{Closed, Expired, RewardClaim, Running, Scheduled};
        match status {
            Scheduled => Some((Running, self.start_at)),
            Running if self.has_claim_window() => Some((RewardClaim, self.end_at)),
            Running => Some((Closed, self.end_at)),
            RewardClaim => self.claim_until.map(|until| (Expired, until)),
            _ => None,
        }
    }

    /// The scheduled moves from the current status whose time passed more than `grace_ms`
    /// before `now`, in order (SCHEDULED past its end gives START then CLOSE).
    pub fn overdue_moves(&self, now: Timestamp, grace_ms: i64) -> Vec<Transition> {
        let mut moves = Vec::new();
        let mut status = self.status;
        while let Some((to, at)) = self.scheduled_exit(status)
            && at.plus_millis(grace_ms) <= now
        {
            moves.push(transition(status, to).expect("scheduled exits are legal transitions"));
            status = to;
        }
        moves
    }

    /// The delivery run a correction along `step` at `now` starts in the same write, as its
    /// START would have: only a SCHEDULED → RUNNING move of a campaign that sends, made at
    /// most `window_ms` after `startAt` (the misfire window a missed START still fires in;
    /// later, the run is not sent and the sweeper cancels it).
    pub fn run_started_by_correction(
        &self,
        step: Transition,
        now: Timestamp,
        window_ms: i64,
    ) -> Option<RunId> {
        let starts = (step.from, step.to) == (CampaignStatus::Scheduled, CampaignStatus::Running);
        let in_window = now.millis_since(self.start_at) <= window_ms;
        (starts && in_window)
            .then(|| self.scheduled_run())
            .flatten()
            .map(|run| run.run_id)
    }
}

/// The time a campaign in `status` sorts by in the ByStatus index: when it is scheduled to
/// leave that status, or `entered_at` if the schedule has no move out of it. Sorting by it
/// lets the sweeper find overdue campaigns with one range query per status.
pub fn status_sort_time(
    campaign: &Campaign,
    status: CampaignStatus,
    entered_at: Timestamp,
) -> Timestamp {
    campaign
        .scheduled_exit(status)
        .map_or(entered_at, |(_, at)| at)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CampaignId;
    use CampaignStatus::{Cancelled, Closed, Expired, RewardClaim, Running, Scheduled};

    fn campaign(status: CampaignStatus, claim_until: Option<i64>) -> Campaign {
        Campaign {
            id: CampaignId::new("c"),
            name: "n".into(),
            status,
            start_at: Timestamp::from_millis(10_000),
            end_at: Timestamp::from_millis(20_000),
            claim_until: claim_until.map(Timestamp::from_millis),
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn moves(c: &Campaign, now: i64, grace: i64) -> Vec<(CampaignStatus, CampaignStatus)> {
        c.overdue_moves(Timestamp::from_millis(now), grace)
            .into_iter()
            .map(|t| (t.from, t.to))
            .collect()
    }

    #[test]
    fn nothing_is_overdue_before_the_schedule_or_within_the_grace() {
        assert!(moves(&campaign(Scheduled, None), 9_999, 0).is_empty());
        assert!(moves(&campaign(Scheduled, None), 10_500, 1_000).is_empty());
        assert!(moves(&campaign(Running, None), 15_000, 0).is_empty());
    }

    #[test]
    fn overdue_moves_follow_the_schedule_in_order() {
        assert_eq!(
            moves(&campaign(Scheduled, None), 11_000, 1_000),
            [(Scheduled, Running)]
        );
        assert_eq!(
            moves(&campaign(Scheduled, None), 25_000, 1_000),
            [(Scheduled, Running), (Running, Closed)]
        );
        assert_eq!(
            moves(&campaign(Scheduled, Some(30_000)), 99_000, 1_000),
            [
                (Scheduled, Running),
                (Running, RewardClaim),
                (RewardClaim, Expired)
            ]
        );
        assert_eq!(
            moves(&campaign(RewardClaim, Some(30_000)), 31_000, 0),
            [(RewardClaim, Expired)]
        );
    }

    #[test]
    fn statuses_without_a_scheduled_exit_are_never_overdue() {
        for status in [Closed, Expired, Cancelled] {
            assert!(moves(&campaign(status, Some(30_000)), 1_000_000, 0).is_empty());
        }
    }

    #[test]
    fn a_correction_starts_the_run_of_a_sending_campaign_within_the_misfire_window() {
        use crate::delivery::message::EventMessage;
        use crate::delivery::{AmbiguousPolicy, CampaignDelivery, Message, RecipientList};
        let mut sending = campaign(Scheduled, Some(30_000));
        sending.delivery = Some(CampaignDelivery {
            message: Message::Event(EventMessage { detail: None }),
            list: RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
            on_ambiguous: AmbiguousPolicy::Skip,
        });
        let [start, close, expire] = sending.overdue_moves(Timestamp::from_millis(99_000), 0)[..]
        else {
            panic!("three moves")
        };
        let run = RunId::for_occurrence(sending.start_at);
        let started =
            |step, now| sending.run_started_by_correction(step, Timestamp::from_millis(now), 5_000);
        assert_eq!(
            started(start, 15_000),
            Some(run.clone()),
            "at the window's end"
        );
        assert_eq!(started(start, 15_001), None, "beyond the window");
        for later in [close, expire] {
            assert_eq!(started(later, 11_000), None, "{later:?} starts nothing");
        }
        let silent = campaign(Scheduled, None);
        assert_eq!(
            silent.run_started_by_correction(start, Timestamp::from_millis(11_000), 5_000),
            None,
            "a campaign without delivery has no run"
        );
    }

    #[test]
    fn sorts_by_the_scheduled_exit_or_the_time_entered() {
        let c = campaign(Scheduled, Some(30_000));
        let entered = Timestamp::from_millis(42);
        assert_eq!(status_sort_time(&c, Scheduled, entered).millis(), 10_000);
        assert_eq!(status_sort_time(&c, Running, entered).millis(), 20_000);
        assert_eq!(status_sort_time(&c, RewardClaim, entered).millis(), 30_000);
        assert_eq!(status_sort_time(&c, Expired, entered), entered);
        assert_eq!(status_sort_time(&c, Cancelled, entered), entered);
    }
}
