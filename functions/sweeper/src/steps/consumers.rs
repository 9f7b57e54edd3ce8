//! Step `consumers`: each SQS consumer whose dependency's shared breaker is OPEN is paused
//! (its event source mapping disabled, recorded as `breaker:<dependency>`), and resumed once
//! that breaker passes calls again — only a pause the breaker made, never an operator's
//! ([`decide`]). A recorded change whose mapping call was lost (a crash in between) is
//! brought in line. Each change is one conditional write on the consumer's record.

use lifecycle_domain::consumers::{ChangedBy, ConsumerChange, ConsumerDecision, decide};
use lifecycle_domain::recovery::StepReport;

use crate::Sweep;
use crate::ports::SweepPorts;

/// Runs the step of `sweep`, filling `report`; returns the consumers it paused or resumed
/// (or would have, in a dry run).
pub async fn run<P: SweepPorts>(
    sweep: &Sweep<'_, P>,
    report: &mut StepReport,
) -> Vec<ConsumerChange> {
    let Some(control) = sweep.ports.consumer_control() else {
        return Vec::new();
    };
    let mut changes = Vec::new();
    for consumer in control.configured() {
        let name = consumer.name();
        let Some(dependency) = consumer.dependency() else {
            continue;
        };
        let (record, state) = match (
            control.record(consumer, sweep.now).await,
            control.dependency_state(dependency, sweep.now).await,
        ) {
            (Ok(record), Ok(state)) => (record, state),
            (Err(error), _) | (_, Err(error)) => {
                report.errors.push(format!("{name}: {error}"));
                continue;
            }
        };
        report.count("checked");
        let (paused, by, action) = match decide(consumer, &record, state) {
            ConsumerDecision::Pause(dependency) => (true, dependency, "paused"),
            ConsumerDecision::Resume(dependency) => (false, dependency, "resumed"),
            ConsumerDecision::Leave => {
                if sweep.dry_run {
                    continue;
                }
                match control.align(consumer, &record).await {
                    Ok(None) => {}
                    Ok(Some(mapping)) => {
                        report.count("aligned");
                        report.action(format!(
                            "{name}: mapping {} to match its record (paused: {}, by {})",
                            mapping.state,
                            record.paused,
                            record.by.as_string()
                        ));
                    }
                    Err(error) => report.errors.push(format!("{name}: {error}")),
                }
                continue;
            }
        };
        let by = ChangedBy::Breaker(by);
        let change = ConsumerChange {
            consumer: name.to_owned(),
            action: action.to_owned(),
            by: by.as_string(),
        };
        if sweep.dry_run {
            report.action(format!("would mark {name} {action} by {}", change.by));
            changes.push(change);
            continue;
        }
        match control
            .breaker_set(consumer, &record, paused, by, sweep.now)
            .await
        {
            Ok(true) => {
                report.count(action);
                report.action(format!("{name} {action} by {}", change.by));
                tracing::warn!(consumer = name, action, by = change.by, "consumer {action}");
                changes.push(change);
            }
            Ok(false) => report.count("changed_meanwhile"),
            Err(error) => report.errors.push(format!("{name}: {error}")),
        }
    }
    changes
}
