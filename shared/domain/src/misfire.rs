//! What to do with a timer that was missed (PENDING well past its due time, e.g. because the
//! dispatcher was down): fire it late if it was missed by less than the misfire window and the campaign's state still fits; otherwise
//! cancel it with the reason. An OCCURRENCE has no window: firing it late applies its series'
//! misfire policy. A MOVE beyond the window is then made by the state correction,
//! which moves the campaign to where the clock says it should be.

use crate::Timestamp;
use crate::campaign::Campaign;
use crate::state_machine::can_still_reach;
use crate::timer::{Timer, TimerEffect};

/// When a PENDING timer counts as missed, and how late it may still fire.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisfirePolicy {
    /// A timer is missed once it is this late (the normal path had its chance).
    pub grace_ms: i64,
    /// A missed timer later than this is not fired any more.
    pub window_ms: i64,
}

/// The sweeper's decision for one missed timer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum MissedTimer {
    /// Fire it now.
    Fire,
    /// Cancel it, with the reason.
    Cancel {
        /// Why: no campaign, beyond the misfire window, or a status it can no longer reach.
        reason: String,
    },
    /// Its campaign has not reached the status it needs yet (an earlier timer is missed
    /// too); leave it for now.
    Wait {
        /// The campaign's status and the one the timer needs.
        reason: String,
    },
}

impl MisfirePolicy {
    /// Whether `timer` is missed at `now`.
    pub fn is_missed(&self, timer: &Timer, now: Timestamp) -> bool {
        timer.due_at.plus_millis(self.grace_ms) <= now
    }

    /// What to do with missed `timer` whose campaign is `campaign` (`None`: it is gone).
    pub fn decide(
        &self,
        timer: &Timer,
        campaign: Option<&Campaign>,
        now: Timestamp,
    ) -> MissedTimer {
        let Some(campaign) = campaign else {
            return MissedTimer::Cancel {
                reason: "orphan: campaign not found".into(),
            };
        };
        let late_ms = now.millis_since(timer.due_at);
        // An occurrence is never given up here: its series' own misfire policy decides what
        // runs and records every missed occurrence when it fires. Nor is a run's close: late
        // or not, the run's window has to close (it holds its series until it does).
        if late_ms > self.window_ms
            && !matches!(timer.effect, TimerEffect::Occur | TimerEffect::CloseRun)
        {
            return MissedTimer::Cancel {
                reason: format!(
                    "missed by {} s, beyond the misfire window of {} s",
                    late_ms / 1000,
                    self.window_ms / 1000
                ),
            };
        }
        if timer.effect.fits(campaign.status) {
            return MissedTimer::Fire;
        }
        let needs = timer.effect.applies_in();
        let needs_text = needs
            .iter()
            .map(|s| s.as_str())
            .collect::<Vec<_>>()
            .join(" or ");
        let text = format!(
            "campaign is {}; {} needs {needs_text}",
            campaign.status, timer.kind
        );
        if needs
            .iter()
            .any(|&need| can_still_reach(campaign.status, need))
        {
            MissedTimer::Wait { reason: text }
        } else {
            MissedTimer::Cancel { reason: text }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::timer_plan::plan_timers;
    use crate::{CampaignId, CampaignStatus, TimerKind};

    const POLICY: MisfirePolicy = MisfirePolicy {
        grace_ms: 60_000,
        window_ms: 3_600_000,
    };

    fn campaign(status: CampaignStatus) -> Campaign {
        Campaign {
            id: CampaignId::new("c"),
            name: "n".into(),
            status,
            start_at: Timestamp::from_millis(1_000_000),
            end_at: Timestamp::from_millis(2_000_000),
            claim_until: Some(Timestamp::from_millis(3_000_000)),
            reward_reminder_at: Some(Timestamp::from_millis(2_500_000)),
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 1,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn timer(kind: TimerKind) -> Timer {
        plan_timers(&campaign(CampaignStatus::Scheduled))
            .into_iter()
            .find(|t| t.kind == kind)
            .unwrap()
    }

    fn at(due: Timestamp, late_ms: i64) -> Timestamp {
        due.plus_millis(late_ms)
    }

    #[test]
    fn a_timer_is_missed_only_after_the_grace() {
        let start = timer(TimerKind::StartCampaign);
        assert!(!POLICY.is_missed(&start, at(start.due_at, 59_999)));
        assert!(POLICY.is_missed(&start, at(start.due_at, 60_000)));
    }

    #[test]
    fn fires_within_the_window_when_the_state_fits() {
        let cases = [
            (TimerKind::StartCampaign, CampaignStatus::Scheduled),
            (TimerKind::CloseCampaign, CampaignStatus::Running),
            (TimerKind::ExpireCampaign, CampaignStatus::RewardClaim),
            (TimerKind::RewardReminder, CampaignStatus::RewardClaim),
        ];
        for (kind, status) in cases {
            let t = timer(kind);
            assert_eq!(
                POLICY.decide(&t, Some(&campaign(status)), at(t.due_at, 3_600_000)),
                MissedTimer::Fire,
                "{kind} while {status}"
            );
        }
    }

    #[test]
    fn cancels_beyond_the_window_with_the_lateness() {
        let t = timer(TimerKind::StartCampaign);
        let decision = POLICY.decide(
            &t,
            Some(&campaign(CampaignStatus::Scheduled)),
            at(t.due_at, 3_600_001),
        );
        assert_eq!(
            decision,
            MissedTimer::Cancel {
                reason: "missed by 3600 s, beyond the misfire window of 3600 s".into()
            }
        );
    }

    #[test]
    fn never_gives_up_an_occurrence_or_a_run_close_however_late() {
        for (kind, effect) in [
            (TimerKind::Occurrence, TimerEffect::Occur),
            (TimerKind::RunClose, TimerEffect::CloseRun),
        ] {
            let t = Timer {
                kind,
                effect,
                ..timer(TimerKind::StartCampaign)
            };
            assert_eq!(
                POLICY.decide(
                    &t,
                    Some(&campaign(CampaignStatus::Closed)),
                    at(t.due_at, 86_400_000)
                ),
                MissedTimer::Fire,
                "{kind}"
            );
        }
    }

    #[test]
    fn cancels_when_the_campaign_moved_past_it_or_is_gone() {
        let t = timer(TimerKind::StartCampaign);
        let now = at(t.due_at, 120_000);
        assert_eq!(
            POLICY.decide(&t, Some(&campaign(CampaignStatus::Cancelled)), now),
            MissedTimer::Cancel {
                reason: "campaign is CANCELLED; START_CAMPAIGN needs SCHEDULED".into()
            }
        );
        assert!(matches!(
            POLICY.decide(&t, Some(&campaign(CampaignStatus::Running)), now),
            MissedTimer::Cancel { .. }
        ));
        assert_eq!(
            POLICY.decide(&t, None, now),
            MissedTimer::Cancel {
                reason: "orphan: campaign not found".into()
            }
        );
    }

    #[test]
    fn waits_while_an_earlier_move_is_still_missing() {
        let t = timer(TimerKind::CloseCampaign);
        let decision = POLICY.decide(
            &t,
            Some(&campaign(CampaignStatus::Scheduled)),
            at(t.due_at, 120_000),
        );
        assert!(matches!(decision, MissedTimer::Wait { .. }), "{decision:?}");
    }
}
