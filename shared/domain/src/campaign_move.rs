//! The one place a read campaign is moved: [`Campaign::apply`] checks the move against the
//! state machine and the campaign's current status, and returns the moved campaign (status,
//! version + 1, `updated_at`) with the move's lifecycle event. The store writes that result
//! conditionally on the status and version it read. (The timer path moves a campaign it did
//! not read: its move is the timer's effect, checked by the same state machine in
//! [`crate::TimerEffect::event`], and its event is keyed by the timer.)

use crate::campaign::Campaign;
use crate::event::LifecycleEvent;
use crate::state_machine::{IllegalTransition, Transition, transition};
use crate::timestamp::Timestamp;

impl Campaign {
    /// This campaign moved along `step` at `now`, with the move's event; an error if `step`
    /// is not a legal move out of the campaign's current status.
    pub fn apply(
        &self,
        step: Transition,
        now: Timestamp,
    ) -> Result<(Campaign, LifecycleEvent), IllegalTransition> {
        let illegal = IllegalTransition {
            from: self.status,
            to: step.to,
        };
        let checked = transition(step.from, step.to)?;
        if step.from != self.status || checked != step {
            return Err(illegal);
        }
        let mut moved = self.clone();
        moved.status = step.to;
        moved.version += 1;
        moved.updated_at = now;
        let event = LifecycleEvent::for_move(
            step.event,
            &self.id,
            (step.from, step.to),
            moved.version,
            now,
        );
        Ok((moved, event))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CampaignId, CampaignStatus, EventType};

    fn campaign(status: CampaignStatus) -> Campaign {
        Campaign {
            id: CampaignId::new("c1"),
            name: "n".into(),
            status,
            start_at: Timestamp::from_millis(10),
            end_at: Timestamp::from_millis(20),
            claim_until: None,
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 3,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(5),
        }
    }

    #[test]
    fn a_legal_move_bumps_the_version_and_carries_its_event() {
        let running = campaign(CampaignStatus::Running);
        let close = transition(CampaignStatus::Running, CampaignStatus::Closed).unwrap();
        let (moved, event) = running.apply(close, Timestamp::from_millis(99)).unwrap();
        assert_eq!(moved.status, CampaignStatus::Closed);
        assert_eq!(moved.version, 4);
        assert_eq!(moved.updated_at, Timestamp::from_millis(99));
        assert_eq!(
            (moved.id.clone(), moved.start_at),
            (running.id.clone(), running.start_at)
        );
        assert_eq!(event.event_type, EventType::CampaignClosed);
        assert_eq!(
            (event.from, event.to),
            (CampaignStatus::Running, CampaignStatus::Closed)
        );
        assert_eq!(event.fired_at, Timestamp::from_millis(99));
        assert_eq!(
            event,
            LifecycleEvent::for_move(
                EventType::CampaignClosed,
                &running.id,
                (CampaignStatus::Running, CampaignStatus::Closed),
                4,
                Timestamp::from_millis(99)
            )
        );
    }

    #[test]
    fn a_move_from_another_status_or_a_forged_one_is_refused() {
        let scheduled = campaign(CampaignStatus::Scheduled);
        let close = transition(CampaignStatus::Running, CampaignStatus::Closed).unwrap();
        assert_eq!(
            scheduled.apply(close, Timestamp::from_millis(1)),
            Err(IllegalTransition {
                from: CampaignStatus::Scheduled,
                to: CampaignStatus::Closed
            })
        );
        let forged = Transition {
            from: CampaignStatus::Scheduled,
            to: CampaignStatus::Expired,
            event: EventType::CampaignExpired,
        };
        assert!(scheduled.apply(forged, Timestamp::from_millis(1)).is_err());
        let wrong_event = Transition {
            event: EventType::CampaignClosed,
            ..transition(CampaignStatus::Scheduled, CampaignStatus::Running).unwrap()
        };
        assert!(
            scheduled
                .apply(wrong_event, Timestamp::from_millis(1))
                .is_err()
        );
    }
}
