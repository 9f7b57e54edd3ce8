//! The sender's ports in memory: a run with its batches, a ledger with the real conditions,
//! a list, a provider that records what it accepted and answers as scripted, and a gate. A
//! crash is planted at a port call: that call takes effect (a write lands, a provider accepts)
//! but its answer is lost, and every later call fails, like a process that died.

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::Mutex;

use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::delivery::{
    Channel, Counts, LedgerEntry, LedgerStatus, Progress, RecipientList, RenderedMessage, RunEvent,
    RunStatus,
};
use lifecycle_domain::{Clock, ManualClock, Timestamp};

use crate::sender::ports::{Ledger, Lists, PortError, Provider, RunPlan, Runs, SendGate};
use lifecycle_domain::delivery::BatchJob;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, WriteOutcome};

/// A batch's record.
#[derive(Debug, Clone, Default)]
pub(crate) struct BatchRecord {
    pub(crate) done: bool,
    pub(crate) lease: Option<(String, Timestamp)>,
    pub(crate) leases_taken: u32,
}

/// A ledger entry with what the real item also holds.
#[derive(Debug, Clone)]
pub(crate) struct StoredEntry {
    pub(crate) entry: LedgerEntry,
    pub(crate) reason: Option<String>,
}

/// Everything the fakes hold and record.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) plan: Option<RunPlan>,
    pub(crate) batches: BTreeMap<u32, BatchRecord>,
    pub(crate) progress: Progress,
    pub(crate) run_completions: u32,
    /// What each attempt that recorded a batch reported: its channel and counts.
    pub(crate) recorded: Vec<(Channel, Counts)>,
    pub(crate) ledger: BTreeMap<String, StoredEntry>,
    pub(crate) outbox: Vec<RunEvent>,
    pub(crate) list: Vec<u8>,
    /// Scripted provider answers by address (then `Delivered`).
    pub(crate) answers: HashMap<String, VecDeque<SendOutcome>>,
    /// Messages the provider accepted: (address, delivery id).
    pub(crate) accepted: Vec<(String, String)>,
    pub(crate) provider_calls: u32,
    /// How long each provider call takes on the test's clock (ms).
    pub(crate) call_ms: i64,
    pub(crate) ledger_writes: u32,
    pub(crate) ledger_reads: u32,
    pub(crate) acquired: u32,
    pub(crate) pauses: Vec<u64>,
    /// The run turns CANCELLED at this `run_status` check (1 = the first).
    pub(crate) cancel_at_check: Option<u32>,
    pub(crate) status_checks: u32,
    /// Port calls so far, and the call at which the process "dies".
    pub(crate) calls: u32,
    pub(crate) crash_at: Option<u32>,
}

impl World {
    pub(crate) fn new(plan: RunPlan, list: &str, total: u64) -> Self {
        Self {
            plan: Some(plan),
            batches: BTreeMap::new(),
            progress: Progress {
                total,
                planned: true,
                counts: Counts::default(),
            },
            run_completions: 0,
            recorded: Vec::new(),
            ledger: BTreeMap::new(),
            outbox: Vec::new(),
            list: list.as_bytes().to_vec(),
            answers: HashMap::new(),
            accepted: Vec::new(),
            provider_calls: 0,
            call_ms: 0,
            ledger_writes: 0,
            ledger_reads: 0,
            acquired: 0,
            pauses: Vec::new(),
            cancel_at_check: None,
            status_checks: 0,
            calls: 0,
            crash_at: None,
        }
    }

    /// Counts a call: `Ok(true)` takes effect and answers, `Ok(false)` takes effect and the
    /// answer is lost (the crash), `Err` neither.
    fn call(&mut self) -> Result<bool, PortError> {
        self.calls += 1;
        match self.crash_at {
            Some(at) if self.calls > at => Err(PortError("the process is gone".into())),
            Some(at) if self.calls == at => Ok(false),
            _ => Ok(true),
        }
    }
}

/// The sender's ports in memory, on the test's clock.
#[derive(Debug)]
pub(crate) struct FakePorts {
    pub(crate) world: Mutex<World>,
    pub(crate) clock: ManualClock,
}

impl FakePorts {
    pub(crate) fn new(world: World, clock: &ManualClock) -> Self {
        Self {
            world: Mutex::new(world),
            clock: clock.clone(),
        }
    }

    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.world
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

    /// Runs `effect` as one port call (see [`World::call`]).
    fn port<T>(&self, effect: impl FnOnce(&mut World) -> T) -> Result<T, PortError> {
        let mut world = self.world();
        let answers = world.call()?;
        let value = effect(&mut world);
        if answers {
            Ok(value)
        } else {
            Err(PortError("crashed after the call took effect".into()))
        }
    }
}

impl Runs for FakePorts {
    async fn load_run(&self, _job: &BatchJob) -> Result<Option<RunPlan>, PortError> {
        self.port(|world| world.plan.clone())
    }

    async fn run_status(&self, _job: &BatchJob) -> Result<RunStatus, PortError> {
        self.port(|world| {
            world.status_checks += 1;
            if world.cancel_at_check == Some(world.status_checks)
                && let Some(plan) = &mut world.plan
            {
                plan.status = RunStatus::Cancelled;
            }
            world
                .plan
                .as_ref()
                .map_or(RunStatus::Cancelled, |p| p.status)
        })
    }

    async fn run_progress(&self, _job: &BatchJob) -> Result<Progress, PortError> {
        self.port(|world| world.progress)
    }

    async fn lease_batch(
        &self,
        job: &BatchJob,
        token: &str,
        until: Timestamp,
    ) -> Result<Lease, PortError> {
        let now = self.clock.now();
        self.port(|world| {
            let batch = world.batches.entry(job.batch.seq).or_default();
            if batch.done {
                return Lease::Done;
            }
            if let Some((_, held_until)) = &batch.lease
                && *held_until > now
            {
                return Lease::Held { until: *held_until };
            }
            let resumed = batch.leases_taken > 0;
            batch.leases_taken += 1;
            batch.lease = Some((token.to_owned(), until));
            Lease::Taken { resumed }
        })
    }

    async fn release_batch(
        &self,
        job: &BatchJob,
        token: &str,
        now: Timestamp,
    ) -> Result<(), PortError> {
        self.port(|world| {
            let batch = world.batches.entry(job.batch.seq).or_default();
            if let Some((held_by, until)) = &mut batch.lease
                && held_by == token
                && !batch.done
            {
                *until = now;
            }
        })
    }

    async fn record_batch(
        &self,
        job: &BatchJob,
        token: &str,
        counts: Counts,
        _now: Timestamp,
    ) -> Result<BatchRecorded, PortError> {
        self.port(|world| {
            let batch = world.batches.entry(job.batch.seq).or_default();
            if batch.done {
                return BatchRecorded::AlreadyDone;
            }
            if batch.lease.as_ref().map(|(t, _)| t.as_str()) != Some(token) {
                return BatchRecorded::LeaseLost;
            }
            batch.done = true;
            world.progress.counts = world.progress.counts.plus(counts);
            BatchRecorded::Recorded(world.progress)
        })
    }

    async fn complete_run(
        &self,
        job: &BatchJob,
        progress: Progress,
        now: Timestamp,
    ) -> Result<bool, PortError> {
        self.port(|world| {
            let Some(plan) = &mut world.plan else {
                return false;
            };
            if plan.status.is_terminal() {
                return false;
            }
            plan.status = RunStatus::Completed;
            world.run_completions += 1;
            world.outbox.push(RunEvent::completed(
                &job.campaign_id,
                &job.run_id,
                &progress,
                now,
            ));
            true
        })
    }

    fn batch_recorded(&self, _job: &BatchJob, channel: Channel, counts: Counts, _: Progress) {
        self.world().recorded.push((channel, counts));
    }
}

impl Ledger for FakePorts {
    async fn entries(
        &self,
        _job: &BatchJob,
        ids: &[String],
    ) -> Result<HashMap<String, LedgerEntry>, PortError> {
        self.port(|world| {
            world.ledger_reads += 1;
            ids.iter()
                .filter_map(|id| Some((id.clone(), world.ledger.get(id)?.entry.clone())))
                .collect()
        })
    }

    async fn write(&self, _job: &BatchJob, write: &LedgerWrite) -> Result<WriteOutcome, PortError> {
        self.port(|world| {
            world.ledger_writes += 1;
            if let Some(settle) = &write.settle {
                let existing = world.ledger.get(&settle.recipient_id);
                let allowed = if settle.claimed {
                    existing.is_some_and(|e| {
                        e.entry.status == LedgerStatus::Sending && e.entry.owner_row == settle.row
                    })
                } else {
                    existing.is_none()
                };
                match (allowed, settle.claimed) {
                    (false, true) => return WriteOutcome::LeaseLost,
                    (false, false) => return WriteOutcome::Taken,
                    (true, _) => {}
                }
                world.ledger.insert(
                    settle.recipient_id.clone(),
                    StoredEntry {
                        entry: LedgerEntry {
                            status: settle.status,
                            owner_row: settle.row,
                            ambiguous: settle.ambiguous,
                        },
                        reason: settle.reason.clone(),
                    },
                );
                world.outbox.extend(settle.event.clone());
            }
            if let Some(claim) = &write.claim {
                if world.ledger.contains_key(&claim.recipient_id) {
                    return WriteOutcome::Taken;
                }
                world.ledger.insert(
                    claim.recipient_id.clone(),
                    StoredEntry {
                        entry: LedgerEntry {
                            status: LedgerStatus::Sending,
                            owner_row: claim.row,
                            ambiguous: false,
                        },
                        reason: None,
                    },
                );
            }
            WriteOutcome::Written
        })
    }

    async fn release(&self, _job: &BatchJob, claim: &Claim) -> Result<(), PortError> {
        self.port(|world| {
            let ours = world.ledger.get(&claim.recipient_id).is_some_and(|e| {
                e.entry.status == LedgerStatus::Sending && e.entry.owner_row == claim.row
            });
            if ours {
                world.ledger.remove(&claim.recipient_id);
            }
        })
    }
}

impl Lists for FakePorts {
    async fn read_range(
        &self,
        _list: &RecipientList,
        start: u64,
        end: u64,
    ) -> Result<Vec<u8>, PortError> {
        self.port(|world| {
            let end = (end as usize).min(world.list.len());
            world.list[(start as usize).min(end)..end].to_vec()
        })
    }
}

impl Provider for FakePorts {
    async fn send(&self, message: &RenderedMessage, delivery_id: &str) -> SendOutcome {
        let address = match message {
            RenderedMessage::Email { to, .. } => to.clone(),
            RenderedMessage::Webhook { url, .. } => url.clone(),
            RenderedMessage::Event { address, .. } => address.clone(),
        };
        let answer = self.port(|world| {
            world.provider_calls += 1;
            self.clock.advance(world.call_ms);
            let answer = world
                .answers
                .get_mut(&address)
                .and_then(VecDeque::pop_front)
                .unwrap_or(SendOutcome::Delivered);
            let accepted = matches!(answer, SendOutcome::Delivered | SendOutcome::Unknown(_));
            if accepted {
                world
                    .accepted
                    .push((address.clone(), delivery_id.to_owned()));
            }
            answer
        });
        answer.unwrap_or_else(|error| SendOutcome::Unknown(error.0))
    }
}

impl SendGate for FakePorts {
    async fn acquire(&self, _channel: Channel) -> Result<(), PortError> {
        self.port(|world| world.acquired += 1)
    }

    async fn pause(&self, millis: u64) {
        self.world().pauses.push(millis);
    }
}
