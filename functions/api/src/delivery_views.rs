//! What the API answers about deliveries: a campaign's delivery (its channel, list and
//! policy — not the message bodies), its runs with their counts, and recipients' outcomes.
//! A run's internals (plan cursor, last group, CSV header) never reach a response.

use lifecycle_adapters::store::RecipientOutcome;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, CampaignDelivery, Channel, LedgerStatus, RunId, RunRecord, RunStatus,
};
use serde::Serialize;

/// A campaign's delivery.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct DeliveryView {
    pub channel: Channel,
    /// The list every run reads (an inline list as stored at creation).
    pub recipients_uri: String,
    pub on_ambiguous: AmbiguousPolicy,
}

impl From<&CampaignDelivery> for DeliveryView {
    fn from(delivery: &CampaignDelivery) -> Self {
        Self {
            channel: delivery.channel(),
            recipients_uri: delivery.list.to_string(),
            on_ambiguous: delivery.on_ambiguous,
        }
    }
}

/// A run with its counts. `ambiguous` recipients (a crash inside their provider call) are
/// also counted in `sent`/`failed` when they were resent, or `unconfirmed` when not.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RunView {
    pub run_id: RunId,
    pub status: RunStatus,
    /// Whether the whole list is planned (`total` is final).
    pub planned: bool,
    pub total: u64,
    pub sent: u64,
    pub failed: u64,
    pub pending: u64,
    pub ambiguous: u64,
    pub unconfirmed: u64,
    pub duplicates: u64,
    pub cancelled: u64,
    /// Not sent because the run's window closed first.
    pub expired: u64,
    pub scheduled_at: Timestamp,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub started_at: Option<Timestamp>,
    /// How late it started (ms), when more than a second after `scheduledAt`.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub late_ms: Option<i64>,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub completed_at: Option<Timestamp>,
    /// Why a run that never started was cancelled.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub cancel_reason: Option<String>,
    /// When its window closes (a series with `runDuration`).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closes_at: Option<Timestamp>,
    /// When its window closed.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub closed_at: Option<Timestamp>,
}

impl From<&RunRecord> for RunView {
    fn from(run: &RunRecord) -> Self {
        let progress = run.progress();
        let counts = progress.counts;
        Self {
            run_id: run.run_id.clone(),
            status: run.status,
            planned: run.planned,
            total: run.total,
            sent: counts.sent,
            failed: counts.failed,
            pending: progress.pending(),
            ambiguous: counts.ambiguous(),
            unconfirmed: counts.unconfirmed,
            duplicates: counts.duplicates,
            cancelled: counts.cancelled,
            expired: counts.expired,
            scheduled_at: run.scheduled_at,
            started_at: run.started_at,
            late_ms: run.late_ms(),
            completed_at: run.completed_at,
            cancel_reason: run.cancel_reason.clone(),
            closes_at: run.closes_at,
            closed_at: run.closed_at,
        }
    }
}

/// One recipient's outcome.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct RecipientView {
    pub recipient_id: String,
    pub status: LedgerStatus,
    /// The provider's reason for a failure.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub reason: Option<String>,
    /// Whether its delivery was ambiguous once.
    pub ambiguous: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    pub settled_at: Option<Timestamp>,
}

impl From<RecipientOutcome> for RecipientView {
    fn from(outcome: RecipientOutcome) -> Self {
        let RecipientOutcome {
            recipient_id,
            status,
            reason,
            ambiguous,
            settled_at,
        } = outcome;
        Self {
            recipient_id,
            status,
            reason,
            ambiguous,
            settled_at,
        }
    }
}
