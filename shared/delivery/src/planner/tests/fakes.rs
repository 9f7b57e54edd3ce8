//! The planner's ports in memory: a run's planning state with the real commit condition, a
//! list read in ranges, and queues that record what was queued. A crash is planted at a port
//! call: the call takes effect, its answer is lost, and every later call fails.

use std::sync::Mutex;

use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    BatchJob, Counts, PlanCursor, PlanJob, Progress, RecipientList, RunStatus,
};
use lifecycle_domain::{ManualClock, Timestamp};

use crate::planner::ports::{Committed, ListRanges, PlanQueues, PlanState, PlanStore, PortError};
use lifecycle_domain::delivery::batch_plan::PlanCommit;

/// Everything the fakes hold and record.
#[derive(Debug)]
pub(crate) struct World {
    pub(crate) state: Option<PlanState>,
    pub(crate) list: Vec<u8>,
    /// Every committed group's batch numbers, in commit order.
    pub(crate) committed: Vec<u32>,
    /// Every queued batch message.
    pub(crate) queued: Vec<BatchJob>,
    /// The size of every `send_batches` call.
    pub(crate) sends: Vec<usize>,
    pub(crate) continuations: u32,
    pub(crate) completions: u32,
    /// (offset, bytes) of every read.
    pub(crate) reads: Vec<(u64, usize)>,
    pub(crate) calls: u32,
    pub(crate) crash_at: Option<u32>,
    /// Another planner commits first: the cursor moves just before this planner's commit.
    pub(crate) rival_commits_first: bool,
    /// Moved one millisecond forward by every read (so time runs out mid-list).
    pub(crate) clock: ManualClock,
}

impl World {
    pub(crate) fn new(list: RecipientList, bytes: &str) -> Self {
        Self {
            state: Some(PlanState {
                status: RunStatus::Planning,
                list,
                cursor: PlanCursor::default(),
                last_group: Vec::new(),
                csv_header: None,
                planned: false,
                progress: Progress {
                    total: 0,
                    planned: false,
                    counts: Counts::default(),
                },
            }),
            list: bytes.as_bytes().to_vec(),
            committed: Vec::new(),
            queued: Vec::new(),
            sends: Vec::new(),
            continuations: 0,
            completions: 0,
            reads: Vec::new(),
            calls: 0,
            crash_at: None,
            rival_commits_first: false,
            clock: ManualClock::at(Timestamp::from_millis(0)),
        }
    }

    fn call(&mut self) -> Result<bool, PortError> {
        self.calls += 1;
        match self.crash_at {
            Some(at) if self.calls > at => Err(PortError("the process is gone".into())),
            Some(at) if self.calls == at => Ok(false),
            _ => Ok(true),
        }
    }

    fn state(&mut self) -> &mut PlanState {
        self.state.as_mut().expect("the run exists")
    }
}

/// The planner's ports in memory.
#[derive(Debug)]
pub(crate) struct FakePorts(pub(crate) Mutex<World>);

impl FakePorts {
    pub(crate) fn world(&self) -> std::sync::MutexGuard<'_, World> {
        self.0
            .lock()
            .unwrap_or_else(std::sync::PoisonError::into_inner)
    }

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

impl PlanStore for FakePorts {
    async fn load(&self, _job: &PlanJob) -> Result<Option<PlanState>, PortError> {
        self.port(|world| world.state.clone())
    }

    async fn save_header(
        &self,
        _job: &PlanJob,
        header: &CsvHeader,
        cursor: PlanCursor,
    ) -> Result<bool, PortError> {
        self.port(|world| {
            let state = world.state();
            if state.csv_header.is_some() {
                return false;
            }
            state.csv_header = Some(header.clone());
            state.cursor = cursor;
            true
        })
    }

    async fn commit(
        &self,
        _job: &PlanJob,
        expected: PlanCursor,
        commit: &PlanCommit,
    ) -> Result<Committed, PortError> {
        self.port(|world| {
            let rival = world.rival_commits_first;
            let state = world.state();
            if rival {
                state.cursor.next_batch += 1;
            }
            if state.cursor != expected || state.planned {
                return Committed::Conflict;
            }
            state.cursor = commit.cursor;
            state.last_group = commit.group.clone();
            state.progress.total += commit.rows();
            if commit.last {
                state.planned = true;
                state.progress.planned = true;
                state.status = RunStatus::Sending;
            }
            let progress = state.progress;
            world.committed.extend(commit.group.iter().map(|b| b.seq));
            Committed::Saved(progress)
        })
    }

    async fn complete_run(
        &self,
        _job: &PlanJob,
        _progress: Progress,
        _now: Timestamp,
    ) -> Result<bool, PortError> {
        self.port(|world| {
            let state = world.state();
            if state.status.is_terminal() {
                return false;
            }
            state.status = RunStatus::Completed;
            world.completions += 1;
            true
        })
    }
}

impl ListRanges for FakePorts {
    async fn read_chunk(
        &self,
        _list: &RecipientList,
        offset: u64,
        max: u64,
    ) -> Result<Vec<u8>, PortError> {
        self.port(|world| {
            let start = (offset as usize).min(world.list.len());
            let end = (start + max as usize).min(world.list.len());
            world.reads.push((offset, end - start));
            world.clock.advance(1);
            world.list[start..end].to_vec()
        })
    }
}

impl PlanQueues for FakePorts {
    async fn send_batches(&self, jobs: &[BatchJob]) -> Result<(), PortError> {
        self.port(|world| {
            world.sends.push(jobs.len());
            world.queued.extend_from_slice(jobs);
        })
    }

    async fn continue_plan(&self, _job: &PlanJob) -> Result<(), PortError> {
        self.port(|world| world.continuations += 1)
    }
}
