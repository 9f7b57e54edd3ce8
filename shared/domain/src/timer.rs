//! Timers: the durable "at time T, do X to campaign C" records that drive the lifecycle.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::{CampaignId, CampaignStatus};
use crate::event_type::EventType;
use crate::state_machine::IllegalTransition;

/// What a timer does when it fires.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimerKind {
    /// At `startAt`: SCHEDULED → RUNNING.
    StartCampaign,
    /// At `endAt`: RUNNING → CLOSED, or → REWARD_CLAIM with a claim window.
    CloseCampaign,
    /// At `claimUntil`: REWARD_CLAIM → EXPIRED.
    ExpireCampaign,
    /// At `rewardReminderAt`: a reminder event, no move.
    RewardReminder,
    /// At each occurrence of a recurring campaign's series: its run (the one timer of the
    /// series, moved on to the next occurrence by the transaction that handles this one).
    Occurrence,
    /// At the end of a series' run window (`runDuration`): the run closes (the one such
    /// timer of the series, armed by the transaction that starts each run).
    RunClose,
}

impl TimerKind {
    /// Every kind.
    pub const ALL: [TimerKind; 6] = [
        TimerKind::StartCampaign,
        TimerKind::CloseCampaign,
        TimerKind::ExpireCampaign,
        TimerKind::RewardReminder,
        TimerKind::Occurrence,
        TimerKind::RunClose,
    ];

    /// The wire name, e.g. `START_CAMPAIGN`.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimerKind::StartCampaign => "START_CAMPAIGN",
            TimerKind::CloseCampaign => "CLOSE_CAMPAIGN",
            TimerKind::ExpireCampaign => "EXPIRE_CAMPAIGN",
            TimerKind::RewardReminder => "REWARD_REMINDER",
            TimerKind::Occurrence => "OCCURRENCE",
            TimerKind::RunClose => "RUN_CLOSE",
        }
    }

    /// Parses a wire name.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|k| k.as_str() == text)
    }

    /// Whether a timer of this kind may have `effect`: the effects [`crate::timer_plan`]
    /// plans for it (START moves SCHEDULED → RUNNING; CLOSE moves RUNNING → CLOSED or
    /// REWARD_CLAIM; EXPIRE moves REWARD_CLAIM → EXPIRED; a reminder reminds; an occurrence
    /// runs its series; a run close closes its run).
    pub fn permits(self, effect: TimerEffect) -> bool {
        use CampaignStatus::{Closed, Expired, RewardClaim, Running, Scheduled};
        match (self, effect) {
            (TimerKind::StartCampaign, TimerEffect::Move { from, to }) => {
                (from, to) == (Scheduled, Running)
            }
            (TimerKind::CloseCampaign, TimerEffect::Move { from, to }) => {
                from == Running && matches!(to, Closed | RewardClaim)
            }
            (TimerKind::ExpireCampaign, TimerEffect::Move { from, to }) => {
                (from, to) == (RewardClaim, Expired)
            }
            (TimerKind::RewardReminder, TimerEffect::Remind)
            | (TimerKind::Occurrence, TimerEffect::Occur)
            | (TimerKind::RunClose, TimerEffect::CloseRun) => true,
            _ => false,
        }
    }
}

impl fmt::Display for TimerKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A timer's own lifecycle.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimerStatus {
    /// Waiting for its due time; the only status present in the due index.
    Pending,
    /// Claimed under a lease by a worker (multi-step work).
    Running,
    /// Fired: its effect was applied.
    Completed,
    /// Its lease expired too many times; an operator has to look.
    Failed,
    /// Will not fire (campaign cancelled or gone, missed for good), with a reason.
    Cancelled,
    /// An OCCURRENCE timer while its series is paused: out of the due index until resumed.
    Paused,
}

impl TimerStatus {
    /// The wire name.
    pub const fn as_str(self) -> &'static str {
        match self {
            TimerStatus::Pending => "PENDING",
            TimerStatus::Running => "RUNNING",
            TimerStatus::Completed => "COMPLETED",
            TimerStatus::Failed => "FAILED",
            TimerStatus::Cancelled => "CANCELLED",
            TimerStatus::Paused => "PAUSED",
        }
    }
}

/// `<campaignId>:<KIND>` — a campaign has at most one timer of each kind.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct TimerId(String);

impl TimerId {
    /// The id of `campaign`'s timer of `kind`.
    pub fn new(campaign: &CampaignId, kind: TimerKind) -> Self {
        Self(format!("{campaign}:{kind}"))
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for TimerId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// The effect of firing a timer, fixed when the timer is planned.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "effect", rename_all = "SCREAMING_SNAKE_CASE")]
pub enum TimerEffect {
    /// Move the campaign `from` → `to` (a legal transition).
    Move {
        /// The status the campaign must be in.
        from: CampaignStatus,
        /// The status it moves to.
        to: CampaignStatus,
    },
    /// Emit a reminder while the campaign is in one of these statuses; no move.
    Remind,
    /// Handle the series' occurrence(s) due (start a run, or record it missed or skipped)
    /// while the campaign is RUNNING; once it closed, record those due before its close
    /// missed (the close-out); no move.
    Occur,
    /// Close the window of the timer's run (a series with `runDuration`): its
    /// `CampaignRunClosed`, and the series released once the run's delivery is over too; no
    /// move. Applies whatever the campaign's status but CANCELLED (a cancel ends its runs).
    CloseRun,
}

impl TimerEffect {
    /// Statuses in which a reminder may fire.
    pub const REMIND_WHILE: [CampaignStatus; 2] =
        [CampaignStatus::Closed, CampaignStatus::RewardClaim];

    /// Statuses in which an occurrence is handled: RUNNING, and those after its close.
    pub const OCCUR_WHILE: [CampaignStatus; 4] = [
        CampaignStatus::Running,
        CampaignStatus::Closed,
        CampaignStatus::RewardClaim,
        CampaignStatus::Expired,
    ];

    /// The statuses in which this effect applies.
    pub fn applies_in(&self) -> &[CampaignStatus] {
        match self {
            TimerEffect::Move { from, .. } => std::slice::from_ref(from),
            TimerEffect::Remind => &Self::REMIND_WHILE,
            TimerEffect::Occur | TimerEffect::CloseRun => &Self::OCCUR_WHILE,
        }
    }

    /// Whether the campaign's current status lets this effect apply.
    pub fn fits(self, status: CampaignStatus) -> bool {
        self.applies_in().contains(&status)
    }

    /// The event this effect emits and the (from, to) it reports, given the status it applied
    /// in; a move the state machine does not allow is an error (a forged or corrupt timer).
    /// An occurrence or a run close emits run events instead (`None`).
    pub fn event(
        self,
        status_before: CampaignStatus,
    ) -> Result<Option<(EventType, CampaignStatus, CampaignStatus)>, IllegalTransition> {
        match self {
            TimerEffect::Move { from, to } => {
                let event = crate::state_machine::transition(from, to)?.event;
                Ok(Some((event, from, to)))
            }
            TimerEffect::Remind => Ok(Some((
                EventType::RewardReminderDue,
                status_before,
                status_before,
            ))),
            TimerEffect::Occur | TimerEffect::CloseRun => Ok(None),
        }
    }
}

/// What a RUNNING timer whose lease expired becomes: PENDING again for another attempt, or
/// FAILED once this attempt used up `max_attempts` (the sweeper's real run and its dry-run
/// preview both ask here).
pub fn after_expired_lease(attempts_before: u32, max_attempts: u32) -> TimerStatus {
    if attempts_before + 1 < max_attempts {
        TimerStatus::Pending
    } else {
        TimerStatus::Failed
    }
}

/// A timer as stored and listed by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Timer {
    /// Its id, `<campaignId>:<KIND>`.
    pub timer_id: TimerId,
    /// The campaign it acts on.
    pub campaign_id: CampaignId,
    /// Which step of the lifecycle it is.
    pub kind: TimerKind,
    /// Where it is in its own lifecycle.
    pub status: TimerStatus,
    /// When it is due.
    pub due_at: Timestamp,
    /// What firing it does.
    #[serde(flatten)]
    pub effect: TimerEffect,
    /// The run a START begins (a campaign with a delivery); firing it starts that run.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub run_id: Option<crate::delivery::RunId>,
    /// Completions plus expired leases so far.
    pub attempts: u32,
    /// Why the last attempt failed (an expired lease), if one did.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_error: Option<String>,
    /// When it fired (COMPLETED only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub fired_at: Option<Timestamp>,
    /// Why it was cancelled (CANCELLED only).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// The API sent it to the queue when the campaign was created (it was due within the
    /// direct-send window), so the dispatcher does not send it again. It stays in the due
    /// index: if that send was lost, the missed-timer sweep still finds it.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub queued_at_creation: bool,
    /// For a MOVE timer: when the campaign is scheduled to leave the status it moves to
    /// (`None`: it stays there). The move stores it as the campaign's ByStatus sort time.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub next_deadline: Option<Timestamp>,
    /// While RUNNING: the worker holding the timer's lease.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_owner: Option<String>,
    /// While RUNNING: when the lease runs out and the sweeper may take the timer back.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lease_expires_at: Option<Timestamp>,
}

impl Timer {
    /// `campaign`'s RUN_CLOSE timer, PENDING at `due_at`, closing `run`'s window.
    pub fn run_close(
        campaign: &CampaignId,
        run: crate::delivery::RunId,
        due_at: Timestamp,
    ) -> Self {
        Self {
            timer_id: TimerId::new(campaign, TimerKind::RunClose),
            campaign_id: campaign.clone(),
            kind: TimerKind::RunClose,
            status: TimerStatus::Pending,
            due_at,
            effect: TimerEffect::CloseRun,
            run_id: Some(run),
            attempts: 0,
            last_error: None,
            fired_at: None,
            cancel_reason: None,
            queued_at_creation: false,
            next_deadline: None,
            lease_owner: None,
            lease_expires_at: None,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn move_fits_only_its_from_status() {
        let close = TimerEffect::Move {
            from: CampaignStatus::Running,
            to: CampaignStatus::Closed,
        };
        assert!(close.fits(CampaignStatus::Running));
        assert!(!close.fits(CampaignStatus::Scheduled));
        assert!(!close.fits(CampaignStatus::Cancelled));
    }

    #[test]
    fn an_occurrence_fits_a_running_or_closed_campaign_only() {
        use CampaignStatus::{Cancelled, Scheduled};
        for status in CampaignStatus::ALL {
            assert_eq!(
                TimerEffect::Occur.fits(status),
                !matches!(status, Scheduled | Cancelled),
                "{status}"
            );
        }
        assert_eq!(TimerKind::parse("OCCURRENCE"), Some(TimerKind::Occurrence));
        assert_eq!(TimerKind::parse("RUN_CLOSE"), Some(TimerKind::RunClose));
        assert_eq!(
            TimerEffect::CloseRun.applies_in(),
            TimerEffect::Occur.applies_in()
        );
        assert_eq!(
            TimerEffect::CloseRun.event(CampaignStatus::Closed),
            Ok(None)
        );
        assert!(TimerKind::RunClose.permits(TimerEffect::CloseRun));
        assert!(!TimerKind::RunClose.permits(TimerEffect::Occur));
        assert!(!TimerKind::Occurrence.permits(TimerEffect::CloseRun));
        assert_eq!(TimerStatus::Paused.as_str(), "PAUSED");
    }

    #[test]
    fn reminder_fits_closed_and_claim_window_only() {
        for status in CampaignStatus::ALL {
            let expected = matches!(status, CampaignStatus::Closed | CampaignStatus::RewardClaim);
            assert_eq!(TimerEffect::Remind.fits(status), expected, "{status}");
        }
        let (event, from, to) = TimerEffect::Remind
            .event(CampaignStatus::RewardClaim)
            .unwrap()
            .unwrap();
        assert_eq!(event, EventType::RewardReminderDue);
        assert_eq!(
            (from, to),
            (CampaignStatus::RewardClaim, CampaignStatus::RewardClaim)
        );
    }

    #[test]
    fn an_illegal_move_is_an_error_not_a_panic() {
        let forged = TimerEffect::Move {
            from: CampaignStatus::Expired,
            to: CampaignStatus::Running,
        };
        assert_eq!(
            forged.event(CampaignStatus::Expired),
            Err(IllegalTransition {
                from: CampaignStatus::Expired,
                to: CampaignStatus::Running
            })
        );
        let start = TimerEffect::Move {
            from: CampaignStatus::Scheduled,
            to: CampaignStatus::Running,
        };
        assert_eq!(
            start.event(CampaignStatus::Scheduled),
            Ok(Some((
                EventType::CampaignStarted,
                CampaignStatus::Scheduled,
                CampaignStatus::Running
            )))
        );
        assert_eq!(TimerEffect::Occur.event(CampaignStatus::Running), Ok(None));
    }

    #[test]
    fn each_kind_permits_exactly_its_planned_effects() {
        use CampaignStatus::{Closed, Expired, RewardClaim, Running, Scheduled};
        let mut effects = vec![TimerEffect::Remind, TimerEffect::Occur];
        for from in CampaignStatus::ALL {
            for to in CampaignStatus::ALL {
                effects.push(TimerEffect::Move { from, to });
            }
        }
        let mv = |from, to| TimerEffect::Move { from, to };
        let expected = [
            (TimerKind::StartCampaign, vec![mv(Scheduled, Running)]),
            (
                TimerKind::CloseCampaign,
                vec![mv(Running, Closed), mv(Running, RewardClaim)],
            ),
            (TimerKind::ExpireCampaign, vec![mv(RewardClaim, Expired)]),
            (TimerKind::RewardReminder, vec![TimerEffect::Remind]),
            (TimerKind::Occurrence, vec![TimerEffect::Occur]),
        ];
        for (kind, permitted) in expected {
            for effect in &effects {
                assert_eq!(
                    kind.permits(*effect),
                    permitted.contains(effect),
                    "{kind} {effect:?}"
                );
            }
        }
    }

    #[test]
    fn an_expired_lease_fails_the_timer_on_its_last_attempt_only() {
        assert_eq!(after_expired_lease(0, 3), TimerStatus::Pending);
        assert_eq!(after_expired_lease(1, 3), TimerStatus::Pending);
        assert_eq!(after_expired_lease(2, 3), TimerStatus::Failed);
        assert_eq!(after_expired_lease(7, 3), TimerStatus::Failed);
        assert_eq!(after_expired_lease(0, 1), TimerStatus::Failed);
    }

    #[test]
    fn timer_ids_name_campaign_and_kind() {
        let id = TimerId::new(&CampaignId::new("abc"), TimerKind::ExpireCampaign);
        assert_eq!(id.as_str(), "abc:EXPIRE_CAMPAIGN");
    }
}
