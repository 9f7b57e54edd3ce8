//! What the sender needs from outside, as small traits: the run and batch records, the
//! recipient ledger, the stored lists, the provider of the run's channel, and the shared send
//! gate (the send rate and the pauses between retries). The unit tests implement them in
//! memory; AWS adapters implement them over DynamoDB, S3, SES, HTTPS and the bus.

use std::collections::HashMap;
use std::future::Future;

pub use crate::port_error::PortError;

use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, WriteOutcome};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, BatchJob, Channel, Counts, LedgerEntry, Message, Progress, RecipientList,
    RenderedMessage, RunStatus,
};

/// What the sender needs of a run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RunPlan {
    /// Where the run stands (a cancelled run sends nothing more).
    pub status: RunStatus,
    /// What to send.
    pub message: Message,
    /// The list the batches are cut from.
    pub list: RecipientList,
    /// A CSV list's header, read by the planner.
    pub csv_header: Option<CsvHeader>,
    /// What to do with ambiguous recipients.
    pub on_ambiguous: AmbiguousPolicy,
    /// When the run's window closes (a series with `runDuration`): no recipient is sent
    /// from then on.
    pub closes_at: Option<Timestamp>,
}

/// The run and batch records.
pub trait Runs: Sync {
    /// The run, or `None` if it does not exist.
    fn load_run(
        &self,
        job: &BatchJob,
    ) -> impl Future<Output = Result<Option<RunPlan>, PortError>> + Send;

    /// The run's status now (checked between sends, for a cancel).
    fn run_status(
        &self,
        job: &BatchJob,
    ) -> impl Future<Output = Result<RunStatus, PortError>> + Send;

    /// The run's progress now.
    fn run_progress(
        &self,
        job: &BatchJob,
    ) -> impl Future<Output = Result<Progress, PortError>> + Send;

    /// Takes the batch's lease for `token` until `until`, unless it is done or held.
    fn lease_batch(
        &self,
        job: &BatchJob,
        token: &str,
        until: Timestamp,
    ) -> impl Future<Output = Result<Lease, PortError>> + Send;

    /// Gives up `token`'s lease of the batch (its attempt stops unfinished), so the next
    /// attempt need not wait for it to run out.
    fn release_batch(
        &self,
        job: &BatchJob,
        token: &str,
        now: Timestamp,
    ) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Marks the batch done with its counts and adds them to the run's, once (conditional on
    /// the lease and on the batch not being done); emits progress at most every few seconds.
    fn record_batch(
        &self,
        job: &BatchJob,
        token: &str,
        counts: Counts,
        now: Timestamp,
    ) -> impl Future<Output = Result<BatchRecorded, PortError>> + Send;

    /// Completes the run once (conditional on it not being complete), with its
    /// `CampaignRunCompleted` event; `false` if it already was.
    fn complete_run(
        &self,
        job: &BatchJob,
        progress: Progress,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// This attempt recorded the batch: its `counts`, sent on `channel`, left the run at
    /// `progress`. Called once per batch (not for a batch an earlier attempt recorded), for
    /// the function's metrics; no I/O. Nothing by default.
    fn batch_recorded(&self, job: &BatchJob, channel: Channel, counts: Counts, progress: Progress) {
        let _ = (job, channel, counts, progress);
    }
}

/// The per-recipient ledger of a run.
pub trait Ledger: Sync {
    /// The entries of these recipients (one batched read, only when a batch resumes).
    fn entries(
        &self,
        job: &BatchJob,
        ids: &[String],
    ) -> impl Future<Output = Result<HashMap<String, LedgerEntry>, PortError>> + Send;

    /// Writes a settlement and/or a claim.
    fn write(
        &self,
        job: &BatchJob,
        write: &LedgerWrite,
    ) -> impl Future<Output = Result<WriteOutcome, PortError>> + Send;

    /// Removes a claim whose provider call surely did not happen or was refused for a
    /// reason that may pass (so a later attempt sends it fresh, not as ambiguous).
    fn release(
        &self,
        job: &BatchJob,
        claim: &Claim,
    ) -> impl Future<Output = Result<(), PortError>> + Send;
}

/// Stored recipient lists.
pub trait Lists: Sync {
    /// Bytes `start..end` of the list.
    fn read_range(
        &self,
        list: &RecipientList,
        start: u64,
        end: u64,
    ) -> impl Future<Output = Result<Vec<u8>, PortError>> + Send;
}

/// The provider of a channel (SES, HTTPS); the event channel has none (its delivery is the
/// ledger write).
pub trait Provider: Sync {
    /// Sends one message; `delivery_id` is stable per (run, recipient) (the `webhook-id`).
    fn send(
        &self,
        message: &RenderedMessage,
        delivery_id: &str,
    ) -> impl Future<Output = SendOutcome> + Send;
}

/// The send rate shared by every sender, and waiting.
pub trait SendGate: Sync {
    /// Waits for a send slot of `channel`'s rate.
    fn acquire(&self, channel: Channel) -> impl Future<Output = Result<(), PortError>> + Send;

    /// Waits `millis` (before a retry).
    fn pause(&self, millis: u64) -> impl Future<Output = ()> + Send;
}
