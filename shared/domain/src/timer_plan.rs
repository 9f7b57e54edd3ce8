//! Which timers a new campaign gets, and what each does when it fires.

use crate::campaign::{Campaign, CampaignStatus};
use crate::delivery::RunId;
use crate::timer::{Timer, TimerEffect, TimerId, TimerKind, TimerStatus};

/// The timers of a freshly created (SCHEDULED) campaign:
/// START at `startAt`; CLOSE at `endAt` (to REWARD_CLAIM when there is a claim window, else
/// CLOSED); EXPIRE at `claimUntil` and REWARD_REMINDER at `rewardReminderAt` when given;
/// for a recurring campaign, OCCURRENCE at its series' next occurrence (its first, recorded
/// in its progress at creation), carrying that occurrence's run.
pub fn plan_timers(campaign: &Campaign) -> Vec<Timer> {
    use CampaignStatus::{Closed, Expired, RewardClaim, Running, Scheduled};
    let closes_to = if campaign.has_claim_window() {
        RewardClaim
    } else {
        Closed
    };
    let mut planned = vec![
        (
            TimerKind::StartCampaign,
            campaign.start_at,
            TimerEffect::Move {
                from: Scheduled,
                to: Running,
            },
        ),
        (
            TimerKind::CloseCampaign,
            campaign.end_at,
            TimerEffect::Move {
                from: Running,
                to: closes_to,
            },
        ),
    ];
    if let Some(claim_until) = campaign.claim_until {
        planned.push((
            TimerKind::ExpireCampaign,
            claim_until,
            TimerEffect::Move {
                from: RewardClaim,
                to: Expired,
            },
        ));
    }
    if let Some(remind_at) = campaign.reward_reminder_at {
        planned.push((TimerKind::RewardReminder, remind_at, TimerEffect::Remind));
    }
    let first_occurrence = campaign
        .schedule
        .as_ref()
        .and(campaign.series_progress.next_occurrence);
    if let Some(first) = first_occurrence {
        planned.push((TimerKind::Occurrence, first, TimerEffect::Occur));
    }
    planned
        .into_iter()
        .map(|(kind, due_at, effect)| Timer {
            timer_id: TimerId::new(&campaign.id, kind),
            campaign_id: campaign.id.clone(),
            kind,
            status: TimerStatus::Pending,
            due_at,
            effect,
            run_id: match kind {
                TimerKind::StartCampaign => campaign.scheduled_run().map(|run| run.run_id),
                TimerKind::Occurrence => Some(RunId::for_occurrence(due_at)),
                _ => None,
            },
            attempts: 0,
            last_error: None,
            fired_at: None,
            cancel_reason: None,
            queued_at_creation: false,
            next_deadline: match effect {
                TimerEffect::Move { to, .. } => campaign.scheduled_exit(to).map(|(_, at)| at),
                TimerEffect::Remind | TimerEffect::Occur | TimerEffect::CloseRun => None,
            },
            lease_owner: None,
            lease_expires_at: None,
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CampaignId;
    use crate::Timestamp;
    use crate::state_machine::transition;
    use CampaignStatus::{Running, Scheduled};

    fn campaign(claim: Option<i64>, remind: Option<i64>) -> Campaign {
        Campaign {
            id: CampaignId::new("c"),
            name: "n".into(),
            status: CampaignStatus::Scheduled,
            start_at: Timestamp::from_millis(1_000),
            end_at: Timestamp::from_millis(2_000),
            claim_until: claim.map(Timestamp::from_millis),
            reward_reminder_at: remind.map(Timestamp::from_millis),
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    #[test]
    fn only_the_start_of_a_delivering_campaign_carries_its_run() {
        use crate::delivery::message::EventMessage;
        use crate::delivery::{AmbiguousPolicy, CampaignDelivery, Message, RecipientList, RunId};
        assert!(
            plan_timers(&campaign(Some(3_000), Some(2_500)))
                .iter()
                .all(|t| t.run_id.is_none())
        );
        let mut delivering = campaign(Some(3_000), None);
        delivering.delivery = Some(CampaignDelivery {
            message: Message::Event(EventMessage { detail: None }),
            list: RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
            on_ambiguous: AmbiguousPolicy::Resend,
        });
        let timers = plan_timers(&delivering);
        let runs: Vec<_> = timers.iter().map(|t| (t.kind, t.run_id.clone())).collect();
        assert_eq!(
            runs,
            vec![
                (
                    TimerKind::StartCampaign,
                    Some(RunId::for_occurrence(Timestamp::from_millis(1_000)))
                ),
                (TimerKind::CloseCampaign, None),
                (TimerKind::ExpireCampaign, None),
            ]
        );
        assert_eq!(
            crate::DueTimer::from(&timers[0]).run_id,
            timers[0].run_id,
            "the executor's message carries the run"
        );
    }

    #[test]
    fn plain_campaign_gets_start_and_close_to_closed() {
        let timers = plan_timers(&campaign(None, None));
        let kinds: Vec<_> = timers.iter().map(|t| (t.kind, t.due_at.millis())).collect();
        assert_eq!(
            kinds,
            vec![
                (TimerKind::StartCampaign, 1_000),
                (TimerKind::CloseCampaign, 2_000)
            ]
        );
        assert_eq!(
            timers[1].effect,
            TimerEffect::Move {
                from: CampaignStatus::Running,
                to: CampaignStatus::Closed
            }
        );
        assert!(
            timers
                .iter()
                .all(|t| t.status == TimerStatus::Pending && t.attempts == 0)
        );
    }

    #[test]
    fn claim_window_adds_expiry_and_reminder_and_closes_to_reward_claim() {
        let timers = plan_timers(&campaign(Some(5_000), Some(3_000)));
        let kinds: Vec<_> = timers.iter().map(|t| t.kind).collect();
        assert_eq!(
            kinds,
            vec![
                TimerKind::StartCampaign,
                TimerKind::CloseCampaign,
                TimerKind::ExpireCampaign,
                TimerKind::RewardReminder
            ]
        );
        assert_eq!(
            timers[1].effect,
            TimerEffect::Move {
                from: CampaignStatus::Running,
                to: CampaignStatus::RewardClaim
            }
        );
        assert_eq!(timers[2].due_at.millis(), 5_000);
        assert_eq!(timers[3].effect, TimerEffect::Remind);
    }

    #[test]
    fn a_recurring_campaign_gets_one_occurrence_timer_at_its_first_occurrence_and_no_start_run() {
        use crate::delivery::message::EventMessage;
        use crate::delivery::{AmbiguousPolicy, CampaignDelivery, Message, RecipientList};
        use crate::recurrence::{Misfire, Overlap, Series};
        let mut recurring = campaign(None, None);
        recurring.delivery = Some(CampaignDelivery {
            message: Message::Event(EventMessage { detail: None }),
            list: RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
            on_ambiguous: AmbiguousPolicy::Resend,
        });
        recurring.schedule = Some(Series {
            cron: "*/5 * * * * *".into(),
            timezone: "UTC".into(),
            start_at: Timestamp::from_millis(1_000),
            end_at: Some(Timestamp::from_millis(1_999_999)),
            max_runs: None,
            run_duration_ms: None,
            misfire: Misfire::FireOnceNow,
            overlap: Overlap::Skip,
        });
        recurring.series_progress.next_occurrence =
            recurring.schedule.as_ref().unwrap().first_occurrence();
        assert_eq!(
            recurring.series_progress.next_occurrence,
            Some(Timestamp::from_millis(5_000)),
            "the first */5 s at or after startAt (1 s)"
        );
        let timers = plan_timers(&recurring);
        assert_eq!(recurring.scheduled_run(), None);
        let kinds: Vec<_> = timers
            .iter()
            .map(|t| (t.kind, t.due_at.millis(), t.effect, t.run_id.clone()))
            .collect();
        assert_eq!(
            kinds,
            vec![
                (
                    TimerKind::StartCampaign,
                    1_000,
                    TimerEffect::Move {
                        from: Scheduled,
                        to: Running
                    },
                    None
                ),
                (
                    TimerKind::CloseCampaign,
                    2_000,
                    TimerEffect::Move {
                        from: Running,
                        to: CampaignStatus::Closed
                    },
                    None
                ),
                (
                    TimerKind::Occurrence,
                    5_000,
                    TimerEffect::Occur,
                    Some(RunId::for_occurrence(Timestamp::from_millis(5_000)))
                ),
            ]
        );
    }

    #[test]
    fn every_planned_move_is_a_legal_transition() {
        for timer in plan_timers(&campaign(Some(5_000), Some(3_000))) {
            if let TimerEffect::Move { from, to } = timer.effect {
                assert!(transition(from, to).is_ok(), "{:?}", timer.kind);
            }
        }
    }
}
