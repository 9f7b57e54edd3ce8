//! What firing a series' OCCURRENCE timer does, decided without I/O: the occurrences due
//! from the timer's `dueAt` up to now are sorted by the misfire policy into runs and misses,
//! each run by the overlap policy into started, buffered or skipped, and the timer moves on
//! to the next occurrence (or the series is over). At most [`MAX_SLOTS_PER_STEP`]
//! occurrences are handled by one step (one transaction); a step that leaves the timer
//! behind now is followed by another.

use crate::Timestamp;
use crate::delivery::RunId;
use crate::recurrence::{CronSchedule, OverlapDecision, Series, SeriesProgress};

/// Occurrences one step handles at most: each is a run record and an event, and a
/// transaction holds at most 100 writes.
pub const MAX_SLOTS_PER_STEP: usize = 40;
/// Occurrences due looked at at most to decide the misfire policy (an outage of a
/// every-second series longer than a day is decided on its first day, step by step).
pub const MAX_DUE_SCAN: usize = 100_000;
/// An occurrence started no later than this after its time runs, whatever the misfire
/// policy (the default of the executor's `OCCURRENCE_GRACE_SECONDS`).
pub const DEFAULT_GRACE_MS: i64 = 60_000;

/// What becomes of one occurrence.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SlotOutcome {
    /// Its run starts now.
    Start,
    /// Its run waits for the active run to complete (overlap `bufferOne`).
    Buffer,
    /// The active run still delivers: recorded `SKIPPED_OVERLAP`.
    SkippedOverlap,
    /// Later than the grace period and not run by the misfire policy: recorded `MISSED`.
    Missed,
}

/// One occurrence handled by a step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HandledSlot {
    /// Its scheduled time.
    pub at: Timestamp,
    /// Its run's id.
    pub run_id: RunId,
    /// What became of it.
    pub outcome: SlotOutcome,
}

/// A step: the occurrences handled, the series' progress after them, and where the timer
/// goes next (`None`: the series is over).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OccurrenceStep {
    /// Handled, in time order.
    pub slots: Vec<HandledSlot>,
    /// The progress to store.
    pub progress: SeriesProgress,
    /// The next occurrence not handled yet.
    pub next_due: Option<Timestamp>,
}

impl OccurrenceStep {
    /// Whether the timer is still behind `now` after this step (another step follows).
    pub fn behind(&self, now: Timestamp) -> bool {
        self.next_due.is_some_and(|next| next <= now)
    }
}

/// The step of a series whose campaign closed at `closed_at` (its CLOSE fired before its
/// OCCURRENCE timer handled every occurrence before it, e.g. after a crash): each occurrence
/// due from `due` up to the close is recorded `MISSED` (its run can no longer start), and the
/// series is over once they all are.
pub fn close_out(
    series: &Series,
    cron: &CronSchedule,
    progress: &SeriesProgress,
    due: Timestamp,
    closed_at: Timestamp,
) -> OccurrenceStep {
    if due > closed_at {
        let mut progress = progress.clone();
        progress.series_version += 1;
        progress.next_occurrence = None;
        return OccurrenceStep {
            slots: Vec::new(),
            progress,
            next_due: None,
        };
    }
    let every_one_missed = Series {
        misfire: crate::recurrence::Misfire::Skip,
        ..series.clone()
    };
    let mut step = step(&every_one_missed, cron, progress, due, closed_at, -1);
    if step.next_due.is_some_and(|next| next > closed_at) {
        step.next_due = None;
        step.progress.next_occurrence = None;
    }
    step
}

/// The step of `series` (whose schedule is `cron`) with `progress`, its OCCURRENCE timer due
/// at `due`, fired at `now`; `grace_ms` is the misfire grace period.
pub fn step(
    series: &Series,
    cron: &CronSchedule,
    progress: &SeriesProgress,
    due: Timestamp,
    now: Timestamp,
    grace_ms: i64,
) -> OccurrenceStep {
    let runs_left = progress
        .runs_left(series.max_runs)
        .map_or(usize::MAX, |left| {
            usize::try_from(left).unwrap_or(usize::MAX)
        });
    let until = now.max(due);
    let due_slots: Vec<Timestamp> = std::iter::once(due)
        .chain(series.slots_after(cron, due).filter_map(|slot| slot.at))
        .take_while(|at| *at <= until)
        .take(runs_left.min(MAX_DUE_SCAN))
        .collect();
    let decided = series.misfire.decide(&due_slots, now, grace_ms);
    let mut progress = progress.clone();
    let mut slots = Vec::new();
    for &at in due_slots.iter().take(MAX_SLOTS_PER_STEP) {
        let run_id = RunId::for_occurrence(at);
        let outcome = if decided.run.contains(&at) {
            match series.overlap.decide(
                progress.active_run.is_some(),
                progress.buffered_run.is_some(),
            ) {
                OverlapDecision::Start => {
                    progress.active_run = Some(run_id.clone());
                    SlotOutcome::Start
                }
                OverlapDecision::Buffer => {
                    progress.buffered_run = Some(run_id.clone());
                    SlotOutcome::Buffer
                }
                OverlapDecision::Skip => SlotOutcome::SkippedOverlap,
            }
        } else {
            SlotOutcome::Missed
        };
        slots.push(HandledSlot {
            at,
            run_id,
            outcome,
        });
    }
    progress.occurrences += slots.len() as u64;
    progress.series_version += 1;
    let next_due = match (slots.last(), progress.runs_left(series.max_runs)) {
        (_, Some(0)) | (None, _) => None,
        (Some(last), _) => series.next_occurrence(cron, last.at),
    };
    progress.next_occurrence = next_due;
    OccurrenceStep {
        slots,
        progress,
        next_due,
    }
}
