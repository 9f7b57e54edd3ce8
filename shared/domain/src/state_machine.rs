//! The one transition table of the campaign lifecycle. Every status move in the code base —
//! timer, API or sweeper — is checked here first; an illegal move is a typed error.
//!
//! ```text
//! SCHEDULED → RUNNING → CLOSED ───────→ EXPIRED
//!                    ↘ REWARD_CLAIM ─↗
//! CANCELLED from SCHEDULED, RUNNING, CLOSED, REWARD_CLAIM
//! ```
//! The graph has no cycles, so a status is never seen twice by one campaign: a write
//! conditioned on `status = from` cannot be fooled by an A→B→A change (no ABA).

use crate::campaign::CampaignStatus;
use crate::event_type::EventType;

/// A legal move with the event it emits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Transition {
    /// The status it leaves.
    pub from: CampaignStatus,
    /// The status it enters.
    pub to: CampaignStatus,
    /// The event it emits.
    pub event: EventType,
}

/// A move the table does not allow.
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("a campaign cannot move from {from} to {to}")]
pub struct IllegalTransition {
    /// The status it would leave.
    pub from: CampaignStatus,
    /// The status it would enter.
    pub to: CampaignStatus,
}

use CampaignStatus::{Cancelled, Closed, Expired, RewardClaim, Running, Scheduled};

const TABLE: [Transition; 9] = [
    t(Scheduled, Running, EventType::CampaignStarted),
    t(Running, Closed, EventType::CampaignClosed),
    t(Running, RewardClaim, EventType::CampaignRewardClaimOpened),
    t(Closed, Expired, EventType::CampaignExpired),
    t(RewardClaim, Expired, EventType::CampaignExpired),
    t(Scheduled, Cancelled, EventType::CampaignCancelled),
    t(Running, Cancelled, EventType::CampaignCancelled),
    t(Closed, Cancelled, EventType::CampaignCancelled),
    t(RewardClaim, Cancelled, EventType::CampaignCancelled),
];

const fn t(from: CampaignStatus, to: CampaignStatus, event: EventType) -> Transition {
    Transition { from, to, event }
}

/// Checks a move against the table.
pub fn transition(
    from: CampaignStatus,
    to: CampaignStatus,
) -> Result<Transition, IllegalTransition> {
    TABLE
        .iter()
        .find(|t| t.from == from && t.to == to)
        .copied()
        .ok_or(IllegalTransition { from, to })
}

/// Whether a campaign in `status` can still arrive in `target` by legal moves (a timer for a
/// later step that arrives before its predecessor fired is early, not obsolete).
pub fn can_still_reach(status: CampaignStatus, target: CampaignStatus) -> bool {
    status == target
        || TABLE
            .iter()
            .filter(|t| t.from == status && t.to != Cancelled)
            .any(|t| can_still_reach(t.to, target))
}

/// Every legal move, for documentation and exhaustive tests.
pub fn all_transitions() -> &'static [Transition] {
    &TABLE
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn earlier_statuses_can_still_reach_later_ones_and_terminal_ones_cannot() {
        assert!(can_still_reach(Scheduled, Running));
        assert!(can_still_reach(Scheduled, RewardClaim));
        assert!(can_still_reach(Running, Expired));
        assert!(!can_still_reach(Closed, RewardClaim));
        assert!(!can_still_reach(Running, Scheduled));
        assert!(!can_still_reach(Cancelled, Running));
        assert!(!can_still_reach(Expired, Closed));
    }

    /// The legal moves, written out by hand from the diagram in the module header and the
    /// README's lifecycle: not derived from the table they check.
    const EXPECTED: [(CampaignStatus, CampaignStatus, EventType); 9] = [
        (Scheduled, Running, EventType::CampaignStarted),
        (Running, Closed, EventType::CampaignClosed),
        (Running, RewardClaim, EventType::CampaignRewardClaimOpened),
        (Closed, Expired, EventType::CampaignExpired),
        (RewardClaim, Expired, EventType::CampaignExpired),
        (Scheduled, Cancelled, EventType::CampaignCancelled),
        (Running, Cancelled, EventType::CampaignCancelled),
        (Closed, Cancelled, EventType::CampaignCancelled),
        (RewardClaim, Cancelled, EventType::CampaignCancelled),
    ];

    #[test]
    fn the_table_is_exactly_the_documented_moves() {
        let mut table: Vec<_> = all_transitions()
            .iter()
            .map(|t| (t.from, t.to, t.event))
            .collect();
        let mut expected = EXPECTED.to_vec();
        table.sort_by_key(|&(from, to, _)| (from, to));
        expected.sort_by_key(|&(from, to, _)| (from, to));
        assert_eq!(table, expected);
    }

    #[test]
    fn allows_exactly_the_documented_moves_and_refuses_every_other_pair() {
        for from in CampaignStatus::ALL {
            for to in CampaignStatus::ALL {
                let documented = EXPECTED.iter().find(|&&(f, t, _)| (f, t) == (from, to));
                match (transition(from, to), documented) {
                    (Ok(moved), Some(&(_, _, event))) => {
                        assert_eq!(moved, Transition { from, to, event });
                    }
                    (Err(e), None) => assert_eq!(e, IllegalTransition { from, to }),
                    (result, documented) => {
                        panic!("{from} -> {to}: {result:?}, documented: {documented:?}")
                    }
                }
            }
        }
    }

    #[test]
    fn terminal_states_have_no_way_out() {
        for from in CampaignStatus::ALL.into_iter().filter(|s| s.is_terminal()) {
            for to in CampaignStatus::ALL {
                assert!(transition(from, to).is_err(), "{from} -> {to}");
            }
        }
    }

    #[test]
    fn every_non_terminal_state_can_be_cancelled() {
        for from in CampaignStatus::ALL.into_iter().filter(|s| !s.is_terminal()) {
            let moved = transition(from, Cancelled).unwrap();
            assert_eq!(moved.event, EventType::CampaignCancelled);
        }
    }

    #[test]
    fn closing_emits_closed_or_claim_opened() {
        assert_eq!(
            transition(Running, Closed).unwrap().event,
            EventType::CampaignClosed
        );
        assert_eq!(
            transition(Running, RewardClaim).unwrap().event,
            EventType::CampaignRewardClaimOpened
        );
        assert!(transition(Scheduled, Closed).is_err());
        assert!(transition(Closed, Running).is_err());
    }
}
