//! In-memory ports for the message-handling tests: a run that is already planned, one that
//! does not exist, one whose store fails; a DLQ or none. Lists and queues are never reached
//! (each panics if it is).

use std::sync::Mutex;

use lifecycle_delivery::planner::ports::{
    Committed, ListRanges, PlanQueues, PlanState, PlanStore, PortError,
};
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::batch_plan::PlanCommit;
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    BatchJob, Counts, ListFormat, PlanCursor, PlanJob, Progress, RecipientList, RunStatus,
};

use lifecycle_adapters::delivery::queue_messages::DeadLetters;

/// Runs by campaign id: `c-planned` is fully planned and sending, `c-broken` fails to load,
/// any other does not exist.
#[derive(Default)]
pub(super) struct FakeRuns {
    loaded: Mutex<Vec<String>>,
}

impl FakeRuns {
    /// The campaigns whose run was loaded, in order.
    pub(super) fn loaded(&self) -> Vec<String> {
        self.loaded.lock().unwrap().clone()
    }
}

impl PlanStore for FakeRuns {
    async fn load(&self, job: &PlanJob) -> Result<Option<PlanState>, PortError> {
        let campaign = job.campaign_id.as_str();
        self.loaded.lock().unwrap().push(campaign.to_owned());
        match campaign {
            "c-broken" => Err(PortError("DynamoDB is down".into())),
            "c-planned" => Ok(Some(PlanState {
                status: RunStatus::Sending,
                list: RecipientList {
                    bucket: "lists".into(),
                    key: "l.jsonl".into(),
                    format: ListFormat::JsonLines,
                },
                cursor: PlanCursor::default(),
                last_group: Vec::new(),
                csv_header: None,
                planned: true,
                progress: Progress {
                    total: 3,
                    planned: true,
                    counts: Counts::default(),
                },
            })),
            _ => Ok(None),
        }
    }

    async fn save_header(
        &self,
        _: &PlanJob,
        _: &CsvHeader,
        _: PlanCursor,
    ) -> Result<bool, PortError> {
        unreachable!("nothing is planned in these tests")
    }

    async fn commit(
        &self,
        _: &PlanJob,
        _: PlanCursor,
        _: &PlanCommit,
    ) -> Result<Committed, PortError> {
        unreachable!("nothing is planned in these tests")
    }

    async fn complete_run(
        &self,
        _: &PlanJob,
        _: Progress,
        _: Timestamp,
    ) -> Result<bool, PortError> {
        unreachable!("no run is done in these tests")
    }
}

impl ListRanges for FakeRuns {
    async fn read_chunk(&self, _: &RecipientList, _: u64, _: u64) -> Result<Vec<u8>, PortError> {
        unreachable!("no list is read")
    }
}

impl PlanQueues for FakeRuns {
    async fn send_batches(&self, _: &[BatchJob]) -> Result<(), PortError> {
        unreachable!("no batch is queued")
    }

    async fn continue_plan(&self, _: &PlanJob) -> Result<(), PortError> {
        unreachable!("no run is continued")
    }
}

/// The planning DLQ: what was dead-lettered, as (body, problem).
pub(super) struct FakeDeadLetters {
    has_dlq: bool,
    dead: Mutex<Vec<(String, String)>>,
}

impl FakeDeadLetters {
    pub(super) fn with_dlq() -> Self {
        Self {
            has_dlq: true,
            dead: Mutex::default(),
        }
    }

    pub(super) fn without_dlq() -> Self {
        Self {
            has_dlq: false,
            dead: Mutex::default(),
        }
    }

    pub(super) fn dead_lettered(&self) -> Vec<(String, String)> {
        self.dead.lock().unwrap().clone()
    }
}

impl DeadLetters for FakeDeadLetters {
    async fn dead_letter(&self, body: &str, problem: &str, _: Timestamp) -> Result<bool, String> {
        if self.has_dlq {
            self.dead
                .lock()
                .unwrap()
                .push((body.to_owned(), problem.to_owned()));
        }
        Ok(self.has_dlq)
    }
}
