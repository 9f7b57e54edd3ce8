//! What the planner needs from outside: the run's planning state, the list read by byte
//! range, and the queues (batches for the sender, a continuation for the planner).

use std::future::Future;

pub use crate::port_error::PortError;

use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::batch_plan::PlanCommit;
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    BatchJob, PlanCursor, PlanJob, PlannedBatch, Progress, RecipientList, RunStatus,
};

/// Where planning of a run stands, as stored with the run.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PlanState {
    /// The run's status (a cancelled or completed run plans nothing more).
    pub status: RunStatus,
    /// The list.
    pub list: RecipientList,
    /// Where the next batch starts.
    pub cursor: PlanCursor,
    /// The last group of batches committed (its messages may not all have been sent).
    pub last_group: Vec<PlannedBatch>,
    /// A CSV list's header, once read.
    pub csv_header: Option<CsvHeader>,
    /// Whether the whole list is planned.
    pub planned: bool,
    /// The run's counts.
    pub progress: Progress,
}

/// The answer to a commit.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Committed {
    /// Saved; the run's progress after it.
    Saved(Progress),
    /// The cursor had moved (another planner, or the run ended): nothing saved.
    Conflict,
}

/// The run's planning state.
pub trait PlanStore: Sync {
    /// The run's planning state, or `None` if the run does not exist.
    fn load(
        &self,
        job: &PlanJob,
    ) -> impl Future<Output = Result<Option<PlanState>, PortError>> + Send;

    /// Saves a CSV list's header and moves the cursor past it (conditional on no header).
    fn save_header(
        &self,
        job: &PlanJob,
        header: &CsvHeader,
        cursor: PlanCursor,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;

    /// Saves a group (conditional on the cursor still being `expected`).
    fn commit(
        &self,
        job: &PlanJob,
        expected: PlanCursor,
        commit: &PlanCommit,
    ) -> impl Future<Output = Result<Committed, PortError>> + Send;

    /// Completes the run once (an empty list, or batches all sent before planning ended).
    fn complete_run(
        &self,
        job: &PlanJob,
        progress: Progress,
        now: Timestamp,
    ) -> impl Future<Output = Result<bool, PortError>> + Send;
}

/// The stored list, read in ranges (memory stays flat whatever its size).
pub trait ListRanges: Sync {
    /// Up to `max` bytes from `offset` (fewer only at the end of the list).
    fn read_chunk(
        &self,
        list: &RecipientList,
        offset: u64,
        max: u64,
    ) -> impl Future<Output = Result<Vec<u8>, PortError>> + Send;
}

/// The deliveries and planning queues.
pub trait PlanQueues: Sync {
    /// Queues batches for the sender (a repeat is harmless: the sender sends a batch once).
    fn send_batches(&self, jobs: &[BatchJob])
    -> impl Future<Output = Result<(), PortError>> + Send;

    /// Queues the run for planning again (the planner ran out of time).
    fn continue_plan(&self, job: &PlanJob) -> impl Future<Output = Result<(), PortError>> + Send;
}
