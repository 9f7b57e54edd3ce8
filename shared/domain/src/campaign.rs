//! A campaign: its schedule, its lifecycle status and the version every move increments.

use std::fmt;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// Opaque campaign identifier (a UUID v4 in its hyphenated text form).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(transparent)]
pub struct CampaignId(String);

impl CampaignId {
    /// A new random id.
    pub fn generate() -> Self {
        Self(uuid::Uuid::new_v4().to_string())
    }

    /// Wraps an id received from outside (API path, queue message, item).
    pub fn new(id: impl Into<String>) -> Self {
        Self(id.into())
    }

    /// The id as text.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// Whether the id could be one we generated or accept: 1 to 64 ASCII letters, digits,
    /// `-` or `_` (so it can never break a key or a timer id apart).
    pub fn is_well_formed(&self) -> bool {
        (1..=64).contains(&self.0.len())
            && self
                .0
                .bytes()
                .all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_')
    }
}

impl fmt::Display for CampaignId {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// Where a campaign is in its lifecycle. Moves are defined in [`crate::state_machine`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CampaignStatus {
    /// Created, not yet started.
    Scheduled,
    /// Between its start and its end.
    Running,
    /// Ended without a claim window; only a cancel moves it on (no timer plans its expiry).
    Closed,
    /// Ended, its reward claim window open until `claimUntil`.
    RewardClaim,
    /// Done: ended and past its claim window (terminal).
    Expired,
    /// Cancelled before it expired (terminal).
    Cancelled,
}

impl CampaignStatus {
    /// Every status, in lifecycle order.
    pub const ALL: [CampaignStatus; 6] = [
        CampaignStatus::Scheduled,
        CampaignStatus::Running,
        CampaignStatus::Closed,
        CampaignStatus::RewardClaim,
        CampaignStatus::Expired,
        CampaignStatus::Cancelled,
    ];

    /// The wire name, e.g. `REWARD_CLAIM`.
    pub const fn as_str(self) -> &'static str {
        match self {
            CampaignStatus::Scheduled => "SCHEDULED",
            CampaignStatus::Running => "RUNNING",
            CampaignStatus::Closed => "CLOSED",
            CampaignStatus::RewardClaim => "REWARD_CLAIM",
            CampaignStatus::Expired => "EXPIRED",
            CampaignStatus::Cancelled => "CANCELLED",
        }
    }

    /// Parses a wire name; `None` for anything else.
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|s| s.as_str() == text)
    }

    /// The schedule still moves a campaign out of this status (SCHEDULED, RUNNING,
    /// REWARD_CLAIM); a CLOSED campaign only moves if cancelled.
    pub const fn awaits_schedule(self) -> bool {
        matches!(
            self,
            CampaignStatus::Scheduled | CampaignStatus::Running | CampaignStatus::RewardClaim
        )
    }

    /// No move leaves a terminal status.
    pub const fn is_terminal(self) -> bool {
        matches!(self, CampaignStatus::Expired | CampaignStatus::Cancelled)
    }
}

impl fmt::Display for CampaignStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A campaign as stored and returned by the API.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Campaign {
    /// Its id.
    pub id: CampaignId,
    /// Its display name (not blank).
    pub name: String,
    /// Where it is in its lifecycle.
    pub status: CampaignStatus,
    /// When it starts (SCHEDULED → RUNNING).
    pub start_at: Timestamp,
    /// When it ends (RUNNING → CLOSED or REWARD_CLAIM).
    pub end_at: Timestamp,
    /// End of the reward claim window; `None` means the campaign has no claim window.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub claim_until: Option<Timestamp>,
    /// When a reward reminder event is due; `None` for no reminder.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub reward_reminder_at: Option<Timestamp>,
    /// What each run sends, to whom; `None` for a campaign that only changes state.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub delivery: Option<crate::delivery::CampaignDelivery>,
    /// Its recurring series: one run per occurrence; `None` for a one-off campaign.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schedule: Option<crate::recurrence::Series>,
    /// A recurring campaign's progress through its series (empty for a one-off).
    #[serde(flatten)]
    pub series_progress: crate::recurrence::SeriesProgress,
    /// Incremented by every status move; guards read-modify-write moves.
    pub version: u64,
    /// When it was created.
    pub created_at: Timestamp,
    /// When it last changed.
    pub updated_at: Timestamp,
}

impl Campaign {
    /// The run its START begins, if it delivers once: a one-off campaign's, named after its
    /// start. A recurring campaign has none: each occurrence of its series begins a run.
    pub fn scheduled_run(&self) -> Option<crate::delivery::RunRecord> {
        if self.schedule.is_some() {
            return None;
        }
        self.delivery
            .as_ref()
            .map(|delivery| delivery.scheduled_run(&self.id, self.start_at))
    }

    /// Whether the campaign opens a reward claim window when it closes.
    pub fn has_claim_window(&self) -> bool {
        self.claim_until.is_some()
    }
}

#[cfg(test)]
mod id_tests {
    use super::*;

    #[test]
    fn well_formed_ids_are_short_and_plain() {
        assert!(CampaignId::generate().is_well_formed());
        for good in ["c1", "a-b_C9", &"x".repeat(64)] {
            assert!(CampaignId::new(good).is_well_formed(), "{good}");
        }
        for bad in ["", "a:b", "a b", "a/b", "é", "\u{0}", &"x".repeat(65)] {
            assert!(!CampaignId::new(bad).is_well_formed(), "{bad:?}");
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_schedule_moves_scheduled_running_and_claim_window_campaigns_only() {
        use CampaignStatus::*;
        for status in CampaignStatus::ALL {
            let expected = matches!(status, Scheduled | Running | RewardClaim);
            assert_eq!(status.awaits_schedule(), expected, "{status}");
        }
    }

    #[test]
    fn only_expired_and_cancelled_are_terminal() {
        use CampaignStatus::*;
        for status in CampaignStatus::ALL {
            assert_eq!(
                status.is_terminal(),
                matches!(status, Expired | Cancelled),
                "{status}"
            );
        }
    }
}
