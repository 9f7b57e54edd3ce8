//! An alert arrives: noise control decides from the cause's stored state, the decision is
//! stored (conditional on the version it was decided from; a lost race decides again from a
//! fresh read), and the instance that stored a notification sends it at once. Only that
//! instance sends it now; a redelivered alert changes nothing and sends nothing, and what a
//! crash left unsent is the periodic check's ([`crate::check`]).

use lifecycle_adapters::store::{PendingNotification, StoredAlertState};
use lifecycle_domain::alerting::{AlertChannel, AlertConfig, AlertState, Notice, Notification};
use lifecycle_domain::{Alert, Clock, Severity};

use crate::ports::{AlertPorts, PortError};
use crate::send::{SendReport, send_notifications};

/// Decisions lost to other instances before the alert is handed back to the queue.
const CONTENDED_ROUNDS: u32 = 5;

/// What became of one alert.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum AlertOutcome {
    /// Already decided (a redelivery), or a resolution of a cause never notified.
    Unchanged,
    /// Counted, not notified (a repeat inside the repeat interval, or held by the cooldown).
    Counted,
    /// Notified: what the channels did with it.
    Notified { notice: Notice, report: SendReport },
}

/// The channels `config` sends alerts of `severity` to: routed and configured. A routed
/// channel without a destination is named in the log, once per decision.
pub fn channels_for(config: &AlertConfig, severity: Severity) -> Vec<AlertChannel> {
    config
        .routing
        .channels(severity)
        .filter(|&channel| {
            let configured = config.configured(channel);
            if !configured {
                tracing::info!(
                    channel = channel.as_str(),
                    severity = severity.as_str(),
                    "routed channel not configured; not sent there"
                );
            }
            configured
        })
        .collect()
}

/// Decides, stores and sends what `alert` calls for.
pub async fn on_alert<P: AlertPorts, C: Clock>(
    ports: &P,
    clock: &C,
    alert: &Alert,
) -> Result<AlertOutcome, PortError> {
    let config = ports.config().await?;
    let cause = alert.dedup_key();
    for _ in 0..CONTENDED_ROUNDS {
        let read = ports.state(&cause).await?;
        let now = clock.now();
        let Some(decision) =
            AlertState::on_alert(read.as_ref().map(|r| &r.state), alert, now, config.noise)
        else {
            return Ok(AlertOutcome::Unchanged);
        };
        let channels = match decision.notice {
            Some(_) => channels_for(&config, decision.state.severity),
            None => Vec::new(),
        };
        let Some(stored) = ports
            .store_decision(read.as_ref(), &decision, &channels, config.noise, now)
            .await?
        else {
            continue;
        };
        let Some(notification) = Notification::of(&decision) else {
            return Ok(AlertOutcome::Counted);
        };
        let notice = notification.notice;
        tracing::info!(
            cause,
            notice = notice.as_str(),
            severity = decision.state.severity.as_str(),
            channels = ?channels,
            "alert notified"
        );
        let ours: Vec<PendingNotification> = stored
            .pending
            .values()
            .filter(|entry| {
                entry.notification.notification_id == notification.notification_id
                    && !waits_for_older(entry, &stored)
            })
            .cloned()
            .collect();
        let report = send_notifications(ports, &cause, ours, &config, stored.check_at, now).await;
        return Ok(AlertOutcome::Notified { notice, report });
    }
    Err(format!(
        "the state of {cause} changed under {CONTENDED_ROUNDS} decisions in a row"
    ))
}

/// Whether an older notification of the same cause still waits for `entry`'s channel: then
/// `entry` goes after it, with the periodic check.
fn waits_for_older(entry: &PendingNotification, stored: &StoredAlertState) -> bool {
    stored.pending.values().any(|other| {
        other.channel == entry.channel && crate::send::in_decision_order(other, entry).is_lt()
    })
}
