//! The recovery-log entries of a sweep and what it adds to the counters: one entry per step
//! that repaired something or failed (a sweep repairs up to thousands of items; their lines
//! stay in the sweep's report), and per sweep the timers recovered by kind, stuck timers and
//! their time to recovery, campaigns corrected, repairs made and failed.

use crate::Severity;
use crate::recovery::{RECOVERED_PREFIX, RecoveryReport, STUCK_RECOVERY_MS, StepReport, SweepStep};
use crate::recovery_log::counters::{Counter, Counts};
use crate::recovery_log::entry::{EventCategory, RecoveryEvent, event_id};
use crate::recovery_log::sanitize::sanitize_message;

/// Counts of a step that are repairs, and the code its entry gets.
fn repairs(step: SweepStep) -> (&'static [&'static str], &'static str) {
    match step {
        SweepStep::StuckTimers => (&["requeued"], "STUCK_TIMERS_RECOVERED"),
        SweepStep::MissedTimers => (&["fired", "cancelled"], "MISSED_TIMERS_RECOVERED"),
        SweepStep::CampaignStates => (&["corrected"], "CAMPAIGN_STATES_CORRECTED"),
        SweepStep::Outbox => (&["published"], "EVENTS_REPUBLISHED"),
        SweepStep::Orphans => (&["cancelled"], "ORPHAN_TIMERS_CANCELLED"),
        SweepStep::StalledRuns => (
            &["replanned", "resent", "completed"],
            "STALLED_RUNS_REPAIRED",
        ),
        SweepStep::BrokenSeries => (&["repaired"], "SERIES_REPAIRED"),
        SweepStep::Consumers => (&["paused", "resumed"], "CONSUMERS_SWITCHED"),
    }
}

/// Repairs of `step` that failed: stuck timers out of attempts, and step errors.
fn failures(step: &StepReport) -> u64 {
    let failed_timers = match step.step {
        SweepStep::StuckTimers => step.get("failed"),
        _ => 0,
    };
    failed_timers + step.errors.len() as u64
}

/// The entries of `report` (none for a dry run, which changed nothing) and the counts it adds.
pub fn records_of_sweep(report: &RecoveryReport) -> (Vec<RecoveryEvent>, Counts) {
    let mut counts = Counts::default();
    if report.dry_run {
        return (Vec::new(), counts);
    }
    counts.add(Counter::Sweeps, 1);
    let mut events = Vec::new();
    for step in &report.steps {
        let (names, code) = repairs(step.step);
        let repaired: u64 = names.iter().map(|name| step.get(name)).sum();
        let failed = failures(step);
        counts.add(Counter::RecoveryActions, repaired);
        counts.add(Counter::RecoveryFailures, failed);
        for (name, value) in &step.counts {
            if let Some(kind) = name.strip_prefix(RECOVERED_PREFIX) {
                counts.add(Counter::TimersRecovered(kind.to_owned()), *value);
            }
        }
        match step.step {
            SweepStep::StuckTimers => {
                counts.add(Counter::StuckTimers, step.get("requeued"));
                counts.add(Counter::StuckRecoveryMs, step.get(STUCK_RECOVERY_MS));
            }
            SweepStep::CampaignStates => {
                counts.add(Counter::CampaignsCorrected, step.get("corrected"));
            }
            _ => {}
        }
        if repaired == 0 && failed == 0 {
            continue;
        }
        events.push(RecoveryEvent {
            id: event_id(
                report.started_at,
                &format!("sweep/{}/{:?}", report.run_id, step.step),
            ),
            at: report.started_at,
            category: EventCategory::Recovery,
            severity: if failed > 0 {
                Severity::Medium
            } else {
                Severity::Low
            },
            failure: false,
            code: code.to_owned(),
            message: sanitize_message(&summary(step, names, failed)),
            component: "sweeper".into(),
            campaign_id: None,
            timer_id: None,
            run_id: None,
            resolution: None,
        });
    }
    (events, counts)
}

/// E.g. `StuckTimers: requeued 3, failed 1 (sweep errors: …)`.
fn summary(step: &StepReport, names: &[&str], failed: u64) -> String {
    let mut parts: Vec<String> = names
        .iter()
        .filter(|name| step.get(name) > 0)
        .map(|name| format!("{name} {}", step.get(name)))
        .collect();
    if failed > 0 {
        parts.push(format!("failed {failed}"));
    }
    let mut text = format!("{:?}: {}", step.step, parts.join(", "));
    if let Some(first) = step.errors.first() {
        text.push_str(&format!(" (first error: {first})"));
    }
    text
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Timestamp;

    fn report(steps: Vec<StepReport>, dry_run: bool) -> RecoveryReport {
        let mut report = RecoveryReport {
            run_id: "run-1".into(),
            started_at: Timestamp::from_millis(1_800_000_000_000),
            finished_at: Timestamp::from_millis(1_800_000_001_000),
            dry_run,
            was_crash: false,
            dispatcher_recovered: false,
            crash_evidence: None,
            steps,
            consumers: Vec::new(),
            totals: Default::default(),
            errors: Vec::new(),
            success: true,
        };
        report.summarise();
        report
    }

    fn stuck() -> StepReport {
        let mut step = StepReport::new(SweepStep::StuckTimers);
        step.count("found");
        step.count("found");
        step.count("found");
        step.count("requeued");
        step.count("requeued");
        step.count(&format!("{RECOVERED_PREFIX}START_CAMPAIGN"));
        step.count(&format!("{RECOVERED_PREFIX}END_CAMPAIGN"));
        step.add(STUCK_RECOVERY_MS, 9_000);
        step.count("failed");
        step
    }

    #[test]
    fn a_step_that_repaired_is_one_entry_and_its_numbers_are_counted() {
        let mut missed = StepReport::new(SweepStep::MissedTimers);
        missed.count("fired");
        missed.count(&format!("{RECOVERED_PREFIX}START_CAMPAIGN"));
        let mut states = StepReport::new(SweepStep::CampaignStates);
        states.count("corrected");
        let quiet = StepReport::new(SweepStep::Outbox);
        let (events, counts) =
            records_of_sweep(&report(vec![stuck(), missed, states, quiet], false));

        assert_eq!(events.len(), 3, "the quiet step has none: {events:?}");
        let first = &events[0];
        assert_eq!(first.code, "STUCK_TIMERS_RECOVERED");
        assert_eq!(first.category, EventCategory::Recovery);
        assert_eq!(
            first.severity,
            Severity::Medium,
            "one timer could not be recovered"
        );
        assert_eq!(first.message, "StuckTimers: requeued 2, failed 1");
        assert_eq!(events[1].severity, Severity::Low);
        assert_eq!(
            events[1].message, "MissedTimers: fired 1",
            "no failure, none named"
        );
        assert_ne!(events[0].id, events[1].id);
        assert_eq!(
            events[..1],
            records_of_sweep(&report(vec![stuck()], false)).0[..],
            "the same step of the same sweep is the same entry"
        );

        assert_eq!(counts.get(&Counter::Sweeps), 1);
        assert_eq!(counts.get(&Counter::StuckTimers), 2);
        assert_eq!(counts.get(&Counter::StuckRecoveryMs), 9_000);
        assert_eq!(
            counts.get(&Counter::TimersRecovered("START_CAMPAIGN".into())),
            2
        );
        assert_eq!(
            counts.get(&Counter::TimersRecovered("END_CAMPAIGN".into())),
            1
        );
        assert_eq!(counts.get(&Counter::CampaignsCorrected), 1);
        assert_eq!(counts.get(&Counter::RecoveryActions), 4);
        assert_eq!(counts.get(&Counter::RecoveryFailures), 1);
    }

    #[test]
    fn step_errors_are_failed_repairs_and_named_in_the_entry() {
        let mut runs = StepReport::new(SweepStep::StalledRuns);
        runs.errors
            .push("Query throttled on arn:aws:dynamodb:x".into());
        let (events, counts) = records_of_sweep(&report(vec![runs], false));
        assert_eq!(events.len(), 1);
        assert_eq!(events[0].code, "STALLED_RUNS_REPAIRED");
        assert_eq!(events[0].severity, Severity::Medium);
        assert_eq!(
            events[0].message,
            "StalledRuns: failed 1 (first error: Query throttled on <arn>)"
        );
        assert_eq!(counts.get(&Counter::RecoveryFailures), 1);
        assert_eq!(counts.get(&Counter::RecoveryActions), 0);
    }

    #[test]
    fn a_dry_run_records_nothing_and_a_quiet_sweep_only_counts_itself() {
        let (events, counts) = records_of_sweep(&report(vec![stuck()], true));
        assert!(events.is_empty() && counts.is_empty());
        let (events, counts) =
            records_of_sweep(&report(vec![StepReport::new(SweepStep::Orphans)], false));
        assert!(events.is_empty());
        assert_eq!(counts.named(), vec![("sweeps".to_owned(), 1)]);
    }
}
