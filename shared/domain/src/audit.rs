//! Audit records: who changed a campaign outside the timer path, when, and why.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::CampaignStatus;

/// One change of a campaign made by recovery (e.g. the sweeper's state correction).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AuditRecord {
    /// What was done, e.g. `STATE_CORRECTION`.
    pub action: String,
    /// The status before the change.
    pub from: CampaignStatus,
    /// The status after the change.
    pub to: CampaignStatus,
    /// Why it was done, for the operator.
    pub reason: String,
    /// Who did it, e.g. `sweeper/<runId>`.
    pub actor: String,
    /// When it was done.
    pub at: Timestamp,
}
