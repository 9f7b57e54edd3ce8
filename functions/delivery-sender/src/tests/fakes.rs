//! In-memory ports for the message-handling tests: runs that exist or not, a batch lease
//! that is done or held, and a queue with or without a DLQ. The ledger, list, provider and
//! gate are never reached by these tests (each panics if it is).

use std::collections::HashMap;
use std::sync::Mutex;

use lifecycle_delivery::sender::ports::{
    Ledger, Lists, PortError, Provider, RunPlan, Runs, SendGate,
};
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, WriteOutcome};
use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, BatchJob, Channel, Counts, LedgerEntry, ListFormat, Message, Progress,
    RecipientList, RenderedMessage, RunStatus,
};

use crate::messages::DeliveriesQueue;
use lifecycle_adapters::delivery::queue_messages::DeadLetters;

/// One run (by campaign id) whose batches are already done, or held by another sender.
pub(super) struct FakeRuns {
    campaign: String,
    held: bool,
    leased: Mutex<Vec<String>>,
}

impl FakeRuns {
    pub(super) fn with_run(campaign: &str) -> Self {
        Self {
            campaign: campaign.into(),
            held: false,
            leased: Mutex::default(),
        }
    }

    pub(super) fn lease_held(mut self) -> Self {
        self.held = true;
        self
    }

    /// The campaigns whose batch lease was asked for (the batches the engine went on with).
    pub(super) fn sent_batches(&self) -> Vec<String> {
        self.leased.lock().unwrap().clone()
    }
}

impl Runs for FakeRuns {
    async fn load_run(&self, job: &BatchJob) -> Result<Option<RunPlan>, PortError> {
        Ok(
            (job.campaign_id.as_str() == self.campaign).then(|| RunPlan {
                status: RunStatus::Sending,
                message: Message::Event(EventMessage { detail: None }),
                list: RecipientList {
                    bucket: "lists".into(),
                    key: "l.jsonl".into(),
                    format: ListFormat::JsonLines,
                },
                csv_header: None,
                on_ambiguous: AmbiguousPolicy::Resend,
                closes_at: None,
            }),
        )
    }

    async fn run_status(&self, _: &BatchJob) -> Result<RunStatus, PortError> {
        Ok(RunStatus::Sending)
    }

    async fn run_progress(&self, _: &BatchJob) -> Result<Progress, PortError> {
        Ok(Progress {
            total: 10,
            planned: true,
            counts: Counts::default(),
        })
    }

    async fn lease_batch(
        &self,
        job: &BatchJob,
        _: &str,
        until: Timestamp,
    ) -> Result<Lease, PortError> {
        self.leased
            .lock()
            .unwrap()
            .push(job.campaign_id.as_str().to_owned());
        Ok(if self.held {
            Lease::Held { until }
        } else {
            Lease::Done
        })
    }

    async fn release_batch(&self, _: &BatchJob, _: &str, _: Timestamp) -> Result<(), PortError> {
        unreachable!("no batch is sent in these tests")
    }

    async fn record_batch(
        &self,
        _: &BatchJob,
        _: &str,
        _: Counts,
        _: Timestamp,
    ) -> Result<BatchRecorded, PortError> {
        unreachable!("no batch is sent in these tests")
    }

    async fn complete_run(
        &self,
        _: &BatchJob,
        _: Progress,
        _: Timestamp,
    ) -> Result<bool, PortError> {
        unreachable!("no run is done in these tests")
    }
}

impl Ledger for FakeRuns {
    async fn entries(
        &self,
        _: &BatchJob,
        _: &[String],
    ) -> Result<HashMap<String, LedgerEntry>, PortError> {
        unreachable!("the ledger is not reached")
    }

    async fn write(&self, _: &BatchJob, _: &LedgerWrite) -> Result<WriteOutcome, PortError> {
        unreachable!("the ledger is not reached")
    }

    async fn release(&self, _: &BatchJob, _: &Claim) -> Result<(), PortError> {
        unreachable!("the ledger is not reached")
    }
}

impl Lists for FakeRuns {
    async fn read_range(&self, _: &RecipientList, _: u64, _: u64) -> Result<Vec<u8>, PortError> {
        unreachable!("the list is not read")
    }
}

impl Provider for FakeRuns {
    async fn send(&self, _: &RenderedMessage, _: &str) -> SendOutcome {
        unreachable!("nothing is sent")
    }
}

impl SendGate for FakeRuns {
    async fn acquire(&self, _: Channel) -> Result<(), PortError> {
        unreachable!("nothing is sent")
    }

    async fn pause(&self, _: u64) {}
}

/// The deliveries queue: what went to the DLQ and which redeliveries were delayed.
pub(super) struct FakeQueue {
    has_dlq: bool,
    dead: Mutex<Vec<(String, String)>>,
    delays: Mutex<Vec<(String, i32)>>,
}

impl FakeQueue {
    pub(super) fn with_dlq() -> Self {
        Self {
            has_dlq: true,
            dead: Mutex::default(),
            delays: Mutex::default(),
        }
    }

    pub(super) fn without_dlq() -> Self {
        Self {
            has_dlq: false,
            ..Self::with_dlq()
        }
    }

    /// (body, problem) of each dead-lettered message.
    pub(super) fn dead_lettered(&self) -> Vec<(String, String)> {
        self.dead.lock().unwrap().clone()
    }

    /// (receipt, seconds) of each delayed redelivery.
    pub(super) fn delays(&self) -> Vec<(String, i32)> {
        self.delays.lock().unwrap().clone()
    }
}

impl DeadLetters for FakeQueue {
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

impl DeliveriesQueue for FakeQueue {
    async fn delay_redelivery(&self, receipt: &str, seconds: i32) -> Result<(), String> {
        self.delays
            .lock()
            .unwrap()
            .push((receipt.to_owned(), seconds));
        Ok(())
    }
}
