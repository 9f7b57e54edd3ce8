//! Planning one run: the list is read in ranges from the saved cursor, split into lines
//! (one line in memory at a time), and cut into batches; every group of batches is committed
//! with the cursor after it (conditional on the cursor not having moved), then queued for the
//! sender. A planner that dies resumes at the last committed cursor, so no batch is planned
//! twice; the last committed group is queued again on every start (its messages may have
//! been lost with the planner; the sender sends a batch once however often it is queued).
//! A planner short of time commits what it cut and queues the run for planning again. The
//! last group marks the run planned; whoever then sees every row settled completes it.

use lifecycle_domain::delivery::line_splitter::{Line, LineSplitter};
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    BatchCutter, BatchJob, ListFormat, PlanCursor, PlanJob, PlannedBatch, Progress, RunStatus,
};
use lifecycle_domain::{Clock, Timestamp};

use crate::planner::ports::{Committed, ListRanges, PlanQueues, PlanState, PlanStore, PortError};
use lifecycle_domain::delivery::batch_plan::PlanCommit;

/// The planner's settings.
#[derive(Debug, Clone, Copy)]
pub struct Settings {
    /// Recipients per batch (one sender message).
    pub batch_size: u32,
    /// Batches per commit (one `SendMessageBatch` holds ten).
    pub group_size: usize,
    /// Bytes per list read.
    pub chunk_bytes: u64,
}

impl Default for Settings {
    fn default() -> Self {
        Self {
            batch_size: 50,
            group_size: 10,
            chunk_bytes: 1024 * 1024,
        }
    }
}

/// What became of a planning message.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum PlanResult {
    /// The run is fully planned (now or before), or over.
    Planned,
    /// Out of time: what was cut is committed and the run is queued for planning again.
    Continued,
    /// Another planner moved the cursor first: it carries on.
    Superseded,
    /// A port failed: redeliver the message later.
    Retry(String),
    /// The run cannot be planned (it does not exist, or its list cannot be read as a list):
    /// dead-letter the message.
    Unplannable(String),
}

/// Plans runs through its ports.
pub struct Planner<'a, P, C> {
    /// The outside world.
    pub ports: &'a P,
    /// The time.
    pub clock: &'a C,
    /// Tuning.
    pub settings: Settings,
}

enum Stop {
    Port(PortError),
    Conflict,
    Unreadable(String),
}

impl From<PortError> for Stop {
    fn from(error: PortError) -> Self {
        Self::Port(error)
    }
}

impl<P, C> Planner<'_, P, C>
where
    P: PlanStore + ListRanges + PlanQueues,
    C: Clock,
{
    /// Plans `job`'s run, cutting nothing after `stop_at`.
    pub async fn plan(&self, job: &PlanJob, stop_at: Option<Timestamp>) -> PlanResult {
        match self.try_plan(job, stop_at).await {
            Ok(result) => result,
            Err(Stop::Port(error)) => PlanResult::Retry(error.0),
            Err(Stop::Conflict) => PlanResult::Superseded,
            Err(Stop::Unreadable(reason)) => PlanResult::Unplannable(reason),
        }
    }

    async fn try_plan(
        &self,
        job: &PlanJob,
        stop_at: Option<Timestamp>,
    ) -> Result<PlanResult, Stop> {
        let Some(state) = self.ports.load(job).await? else {
            return Ok(PlanResult::Unplannable("the run does not exist".into()));
        };
        if state.status.is_terminal() {
            return Ok(PlanResult::Planned);
        }
        if state.status == RunStatus::Scheduled {
            return Ok(PlanResult::Unplannable(
                "the run has not started (its campaign's START has not fired)".into(),
            ));
        }
        if !state.last_group.is_empty() {
            self.ports
                .send_batches(&batch_jobs(job, &state.last_group))
                .await?;
        }
        if state.planned {
            if state.progress.is_done() {
                self.ports
                    .complete_run(job, state.progress, self.clock.now())
                    .await?;
            }
            return Ok(PlanResult::Planned);
        }
        let cursor = self.start(job, &state).await?;
        self.cut(job, &state, cursor, stop_at).await
    }

    /// The cursor to start from: after a CSV list's header (read, checked and saved with the
    /// run the first time, for the sender to read rows with).
    async fn start(&self, job: &PlanJob, state: &PlanState) -> Result<PlanCursor, Stop> {
        if state.list.format != ListFormat::Csv || state.csv_header.is_some() {
            return Ok(state.cursor);
        }
        let mut splitter = LineSplitter::new();
        let mut offset = 0;
        let line = loop {
            let (lines, eof) = self.read_lines(state, &mut offset, &mut splitter).await?;
            if let Some(first) = lines.into_iter().next() {
                break first;
            }
            if eof {
                return Err(Stop::Unreadable("the CSV list is empty: no header".into()));
            }
        };
        let header = CsvHeader::parse(&line.text)
            .map_err(|error| Stop::Unreadable(format!("the CSV header: {error}")))?;
        let cursor = PlanCursor {
            byte_offset: line.bytes,
            ..PlanCursor::default()
        };
        if !self.ports.save_header(job, &header, cursor).await? {
            return Err(Stop::Conflict);
        }
        Ok(cursor)
    }

    async fn cut(
        &self,
        job: &PlanJob,
        state: &PlanState,
        cursor: PlanCursor,
        stop_at: Option<Timestamp>,
    ) -> Result<PlanResult, Stop> {
        let mut cutter = BatchCutter::new(cursor, self.settings.batch_size);
        let mut splitter = LineSplitter::new();
        let mut expected = cursor;
        let mut offset = cursor.byte_offset;
        let mut group: Vec<PlannedBatch> = Vec::new();
        loop {
            if stop_at.is_some_and(|stop| self.clock.now() >= stop) {
                if !group.is_empty() {
                    self.commit(job, &mut expected, &mut group, cutter.cursor(), false)
                        .await?;
                }
                self.ports.continue_plan(job).await?;
                return Ok(PlanResult::Continued);
            }
            let (lines, eof) = self.read_lines(state, &mut offset, &mut splitter).await?;
            for line in lines {
                if let Some(batch) = cutter.push_line(line.bytes, line.text.trim().is_empty()) {
                    group.push(batch);
                    if group.len() >= self.settings.group_size {
                        self.commit(job, &mut expected, &mut group, cutter.cursor(), false)
                            .await?;
                    }
                }
            }
            if eof {
                group.extend(cutter.finish());
                let progress = self
                    .commit(job, &mut expected, &mut group, cutter.cursor(), true)
                    .await?;
                if progress.is_done() {
                    self.ports
                        .complete_run(job, progress, self.clock.now())
                        .await?;
                }
                return Ok(PlanResult::Planned);
            }
        }
    }

    /// Reads the next chunk from `offset`: the lines it completes, and whether the list ended
    /// (then its last line, even without a final line break, is among them).
    async fn read_lines(
        &self,
        state: &PlanState,
        offset: &mut u64,
        splitter: &mut LineSplitter,
    ) -> Result<(Vec<Line>, bool), Stop> {
        let chunk = self
            .ports
            .read_chunk(&state.list, *offset, self.settings.chunk_bytes)
            .await?;
        *offset += chunk.len() as u64;
        let eof = (chunk.len() as u64) < self.settings.chunk_bytes;
        let mut lines = splitter.push(&chunk).map_err(unreadable)?;
        if eof {
            lines.extend(splitter.finish().map_err(unreadable)?);
        }
        Ok((lines, eof))
    }

    /// Commits `group` with the cursor after it, then queues it.
    async fn commit(
        &self,
        job: &PlanJob,
        expected: &mut PlanCursor,
        group: &mut Vec<PlannedBatch>,
        cursor: PlanCursor,
        last: bool,
    ) -> Result<Progress, Stop> {
        let commit = PlanCommit {
            cursor,
            group: std::mem::take(group),
            last,
        };
        let progress = match self.ports.commit(job, *expected, &commit).await? {
            Committed::Saved(progress) => progress,
            Committed::Conflict => return Err(Stop::Conflict),
        };
        *expected = cursor;
        if !commit.group.is_empty() {
            self.ports
                .send_batches(&batch_jobs(job, &commit.group))
                .await?;
        }
        tracing::info!(
            campaign = %job.campaign_id, run = %job.run_id, batches = commit.group.len(),
            rows = commit.rows(), next_row = cursor.next_row, last, "batches planned"
        );
        Ok(progress)
    }
}

fn unreadable(error: impl std::fmt::Display) -> Stop {
    Stop::Unreadable(format!("the list: {error}"))
}

fn batch_jobs(job: &PlanJob, batches: &[PlannedBatch]) -> Vec<BatchJob> {
    batches
        .iter()
        .map(|batch| BatchJob {
            campaign_id: job.campaign_id.clone(),
            run_id: job.run_id.clone(),
            batch: *batch,
        })
        .collect()
}
