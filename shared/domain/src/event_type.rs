//! The kinds of lifecycle events (their EventBridge `detail-type`): what the state machine
//! and timers emit, known before any event exists.

use serde::{Deserialize, Serialize};

/// The EventBridge `detail-type` of a lifecycle event.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum EventType {
    /// SCHEDULED → RUNNING.
    CampaignStarted,
    /// RUNNING → CLOSED.
    CampaignClosed,
    /// RUNNING → REWARD_CLAIM.
    CampaignRewardClaimOpened,
    /// CLOSED or REWARD_CLAIM → EXPIRED.
    CampaignExpired,
    /// Any non-terminal status → CANCELLED.
    CampaignCancelled,
    /// A reward reminder fired; no move.
    RewardReminderDue,
}

impl EventType {
    /// The `detail-type` text.
    pub const fn as_str(self) -> &'static str {
        match self {
            EventType::CampaignStarted => "CampaignStarted",
            EventType::CampaignClosed => "CampaignClosed",
            EventType::CampaignRewardClaimOpened => "CampaignRewardClaimOpened",
            EventType::CampaignExpired => "CampaignExpired",
            EventType::CampaignCancelled => "CampaignCancelled",
            EventType::RewardReminderDue => "RewardReminderDue",
        }
    }
}
