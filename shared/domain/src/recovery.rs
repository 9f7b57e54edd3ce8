//! The sweeper's recovery report : what each step found and did,
//! how long it took, what failed, and the totals. Stored as an audit record for 30 days.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;

/// The sweeper's steps, in the order they run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum SweepStep {
    /// RUNNING timers whose lease expired → PENDING again, or FAILED with an alert.
    StuckTimers,
    /// PENDING timers past due by more than the grace → fired or cancelled (misfire rules).
    MissedTimers,
    /// Campaigns whose status disagrees with the clock → moved, with an audit record.
    CampaignStates,
    /// Outbox events and alerts older than a threshold → published again.
    Outbox,
    /// Timers whose campaign is gone (met by the missed-timer step) → cancelled.
    Orphans,
    /// Delivery runs that stopped moving → planning or unfinished batches queued again, or
    /// the run completed when every recipient is settled.
    StalledRuns,
    /// Recurring series whose next occurrence went unhandled and whose OCCURRENCE timer is
    /// lost (FAILED, cancelled, gone) → the timer written again at that occurrence.
    BrokenSeries,
    /// SQS consumers whose dependency's breaker is OPEN → paused; paused by a breaker that
    /// no longer refuses calls → resumed (`crate::consumers`). Runs first, without the lease.
    Consumers,
}

impl SweepStep {
    /// Every step, in run order.
    pub const ALL: [SweepStep; 8] = [
        SweepStep::Consumers,
        SweepStep::StuckTimers,
        SweepStep::MissedTimers,
        SweepStep::CampaignStates,
        SweepStep::Outbox,
        SweepStep::Orphans,
        SweepStep::StalledRuns,
        SweepStep::BrokenSeries,
    ];
}

/// One step's result.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct StepReport {
    /// Which step.
    pub step: SweepStep,
    /// How long it ran.
    pub duration_ms: i64,
    /// Named counts, e.g. `found`, `fired`, `cancelled`.
    pub counts: BTreeMap<String, u64>,
    /// One line per item acted on (or that would be, in a dry run), at most 100.
    pub actions: Vec<String>,
    /// What failed; the step went on with the other items.
    pub errors: Vec<String>,
}

/// The prefix of a step's per-kind count of recovered timers, e.g. `recovered:START_CAMPAIGN`.
pub const RECOVERED_PREFIX: &str = "recovered:";

/// The stuck-timer step's count of milliseconds from each requeued timer's lease expiry to
/// its requeue, summed (its mean time to recovery).
pub const STUCK_RECOVERY_MS: &str = "recovery_ms";

/// Lines of `actions` kept per step.
pub const MAX_ACTIONS: usize = 100;

impl StepReport {
    /// An empty report of `step`.
    pub fn new(step: SweepStep) -> Self {
        Self {
            step,
            duration_ms: 0,
            counts: BTreeMap::new(),
            actions: Vec::new(),
            errors: Vec::new(),
        }
    }

    /// Adds one to count `name`.
    pub fn count(&mut self, name: &str) {
        *self.counts.entry(name.to_owned()).or_default() += 1;
    }

    /// Adds `value` to count `name`.
    pub fn add(&mut self, name: &str, value: u64) {
        *self.counts.entry(name.to_owned()).or_default() += value;
    }

    /// Count `name` (0 if never counted).
    pub fn get(&self, name: &str) -> u64 {
        self.counts.get(name).copied().unwrap_or(0)
    }

    /// Records what was done to one item.
    pub fn action(&mut self, line: String) {
        if self.actions.len() < MAX_ACTIONS {
            self.actions.push(line);
        }
    }
}

/// Totals over all steps.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryTotals {
    /// Stuck timers requeued plus missed timers fired.
    pub timers_recovered: u64,
    /// Missed and orphaned timers cancelled.
    pub timers_cancelled: u64,
    /// Stuck timers set FAILED.
    pub timers_failed: u64,
    /// Campaigns moved to where the clock says they should be.
    pub campaigns_fixed: u64,
    /// Outbox entries (events and alerts) published again.
    pub events_republished: u64,
    /// Stalled delivery runs queued again or completed.
    #[serde(default)]
    pub runs_repaired: u64,
    /// Recurring series whose lost OCCURRENCE timer was written again.
    #[serde(default)]
    pub series_repaired: u64,
}

/// One sweep.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct RecoveryReport {
    /// This sweep's id (a UUID).
    pub run_id: String,
    /// When it started.
    pub started_at: Timestamp,
    /// When it finished.
    pub finished_at: Timestamp,
    /// Only reported what it would do; changed nothing.
    pub dry_run: bool,
    /// The dispatcher had stopped (its watermarks were older than the stall threshold).
    pub was_crash: bool,
    /// The dispatcher beats again after an outage an earlier sweep found: this sweep resolved
    /// (or, in a dry run, would resolve) its `DISPATCHER_STALLED` alert.
    #[serde(default)]
    pub dispatcher_recovered: bool,
    /// Why `was_crash` or `dispatcher_recovered` is set, if one is.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub crash_evidence: Option<String>,
    /// Each step's result, in run order.
    pub steps: Vec<StepReport>,
    /// The consumers the `consumers` step paused or resumed (would have, in a dry run).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub consumers: Vec<crate::consumers::ConsumerChange>,
    /// Totals over the steps.
    pub totals: RecoveryTotals,
    /// Every step error, prefixed with the step.
    pub errors: Vec<String>,
    /// All steps ran without error.
    pub success: bool,
}

impl RecoveryReport {
    /// Fills `totals`, `errors` and `success` from the steps.
    pub fn summarise(&mut self) {
        let mut totals = RecoveryTotals::default();
        let mut errors = Vec::new();
        for step in &self.steps {
            match step.step {
                SweepStep::StuckTimers => {
                    totals.timers_recovered += step.get("requeued");
                    totals.timers_failed += step.get("failed");
                }
                SweepStep::MissedTimers => {
                    totals.timers_recovered += step.get("fired");
                    totals.timers_cancelled += step.get("cancelled");
                }
                SweepStep::CampaignStates => totals.campaigns_fixed += step.get("corrected"),
                SweepStep::Outbox => {
                    totals.events_republished += step.get("published");
                }
                SweepStep::Orphans => totals.timers_cancelled += step.get("cancelled"),
                SweepStep::StalledRuns => {
                    totals.runs_repaired +=
                        step.get("replanned") + step.get("resent") + step.get("completed");
                }
                SweepStep::BrokenSeries => totals.series_repaired += step.get("repaired"),
                SweepStep::Consumers => {}
            }
            errors.extend(step.errors.iter().map(|e| format!("{:?}: {e}", step.step)));
        }
        self.totals = totals;
        self.success = errors.is_empty();
        self.errors = errors;
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn totals_add_up_the_steps_and_errors_name_their_step() {
        let mut stuck = StepReport::new(SweepStep::StuckTimers);
        stuck.count("requeued");
        stuck.count("failed");
        let mut missed = StepReport::new(SweepStep::MissedTimers);
        missed.count("fired");
        missed.count("fired");
        missed.count("cancelled");
        missed.errors.push("Query throttled".into());
        let mut states = StepReport::new(SweepStep::CampaignStates);
        states.count("corrected");
        let mut outbox = StepReport::new(SweepStep::Outbox);
        outbox.count("published");
        outbox.count("published");
        let mut orphans = StepReport::new(SweepStep::Orphans);
        orphans.count("cancelled");
        orphans.count("cancelled");
        let mut runs = StepReport::new(SweepStep::StalledRuns);
        runs.count("replanned");
        runs.count("resent");
        runs.count("completed");
        runs.count("found");
        let mut series = StepReport::new(SweepStep::BrokenSeries);
        series.count("repaired");
        series.count("found");
        let mut report = RecoveryReport {
            run_id: "r".into(),
            started_at: Timestamp::from_millis(0),
            finished_at: Timestamp::from_millis(5),
            dry_run: false,
            was_crash: false,
            dispatcher_recovered: false,
            crash_evidence: None,
            steps: vec![stuck, missed, states, outbox, orphans, runs, series],
            consumers: Vec::new(),
            totals: RecoveryTotals::default(),
            errors: Vec::new(),
            success: true,
        };
        report.summarise();
        assert_eq!(
            report.totals,
            RecoveryTotals {
                timers_recovered: 3,
                timers_cancelled: 3,
                timers_failed: 1,
                campaigns_fixed: 1,
                events_republished: 2,
                runs_repaired: 3,
                series_repaired: 1,
            }
        );
        assert_eq!(report.errors, ["MissedTimers: Query throttled"]);
        assert!(!report.success);
    }

    #[test]
    fn keeps_at_most_the_action_limit() {
        let mut step = StepReport::new(SweepStep::Outbox);
        for i in 0..MAX_ACTIONS + 5 {
            step.action(format!("{i}"));
        }
        assert_eq!(step.actions.len(), MAX_ACTIONS);
    }
}
