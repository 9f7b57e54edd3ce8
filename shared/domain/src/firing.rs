//! What firing a timer does to a campaign that is not in the status the timer needs: wait
//! (the campaign can still get there: the timer is early) or give up (it cannot: the timer
//! is obsolete and is cancelled). The one place this is decided, for the store and the
//! executor's fakes alike.

use crate::campaign::CampaignStatus;
use crate::state_machine::can_still_reach;
use crate::timer::{TimerEffect, TimerKind};

/// A timer that does not fit its campaign's status now.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum NotFitting {
    /// The campaign can still reach a status the timer applies to: try again later.
    Early {
        /// Why, for logs.
        reason: String,
    },
    /// It never will (or the campaign is gone): cancel the timer with this reason.
    Obsolete {
        /// Why, stored as the timer's cancel reason.
        reason: String,
    },
}

/// The verdict on a timer of `kind` with `effect` whose campaign is in `status` (`None`:
/// the campaign does not exist), given that the effect does not fit that status.
pub fn not_fitting(
    kind: TimerKind,
    effect: TimerEffect,
    status: Option<CampaignStatus>,
) -> NotFitting {
    let needs = effect.applies_in();
    let needs_text = needs
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .join(" or ");
    match status {
        Some(status) if needs.iter().any(|&need| can_still_reach(status, need)) => {
            NotFitting::Early {
                reason: format!("campaign is {status}; {kind} waits for {needs_text}"),
            }
        }
        Some(status) => NotFitting::Obsolete {
            reason: format!("campaign is {status}; {kind} applies to {needs_text}"),
        },
        None => NotFitting::Obsolete {
            reason: "campaign not found".to_owned(),
        },
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use CampaignStatus::{Cancelled, Closed, Expired, RewardClaim, Running, Scheduled};

    fn close_to_claim() -> TimerEffect {
        TimerEffect::Move {
            from: Running,
            to: RewardClaim,
        }
    }

    #[test]
    fn a_timer_is_early_while_its_campaign_can_still_get_there() {
        let verdict = not_fitting(TimerKind::CloseCampaign, close_to_claim(), Some(Scheduled));
        assert_eq!(
            verdict,
            NotFitting::Early {
                reason: "campaign is SCHEDULED; CLOSE_CAMPAIGN waits for RUNNING".into()
            }
        );
        let remind = not_fitting(
            TimerKind::RewardReminder,
            TimerEffect::Remind,
            Some(Running),
        );
        assert!(matches!(remind, NotFitting::Early { .. }), "{remind:?}");
    }

    #[test]
    fn a_timer_is_obsolete_once_its_campaign_passed_or_left() {
        for status in [Closed, RewardClaim, Expired, Cancelled] {
            let verdict = not_fitting(TimerKind::CloseCampaign, close_to_claim(), Some(status));
            assert_eq!(
                verdict,
                NotFitting::Obsolete {
                    reason: format!("campaign is {status}; CLOSE_CAMPAIGN applies to RUNNING")
                },
                "{status}"
            );
        }
        let remind = not_fitting(
            TimerKind::RewardReminder,
            TimerEffect::Remind,
            Some(Expired),
        );
        assert_eq!(
            remind,
            NotFitting::Obsolete {
                reason: "campaign is EXPIRED; REWARD_REMINDER applies to CLOSED or REWARD_CLAIM"
                    .into()
            }
        );
        assert_eq!(
            not_fitting(TimerKind::StartCampaign, close_to_claim(), None),
            NotFitting::Obsolete {
                reason: "campaign not found".into()
            }
        );
    }
}
