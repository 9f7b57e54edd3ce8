//! Sending one cause's notifications: each channel on its own (concurrently, so a slow or
//! failing channel holds back no other), each channel's notifications in the order they were
//! decided (a `RESOLVED` never overtakes its `FIRING`), each behind the channel's breaker.
//! A delivered notification is settled; a failed one is kept with its next try dated by
//! [`retry_delay_ms`] (the channel's `Retry-After` if longer), and the channel's later ones
//! wait for it.

use std::collections::BTreeMap;

use futures_util::future::join_all;
use lifecycle_adapters::store::PendingNotification;
use lifecycle_domain::Timestamp;
use lifecycle_domain::alerting::retry::{FIRST_RETRY_MS, retry_delay_ms};
use lifecycle_domain::alerting::{AlertChannel, AlertConfig};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_resilience::Admission;

use crate::ports::AlertPorts;

/// What became of the notifications handed to [`send_notifications`].
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct SendReport {
    /// Delivered (and settled, unless the store failed: then tried again after the claim).
    pub delivered: Vec<PendingNotification>,
    /// Not delivered, kept as they are now stored (their next try in `retry_at`).
    pub deferred: Vec<PendingNotification>,
    /// Store writes that failed after a send (logged; the entry is tried again later).
    pub store_errors: usize,
}

impl SendReport {
    /// Adds `other`'s sends to these.
    pub fn merge(&mut self, other: SendReport) {
        self.delivered.extend(other.delivered);
        self.deferred.extend(other.deferred);
        self.store_errors += other.store_errors;
    }

    /// Delivered and failed sends per channel.
    pub fn per_channel(&self) -> BTreeMap<AlertChannel, (usize, usize)> {
        let mut counts = BTreeMap::new();
        for entry in &self.delivered {
            counts.entry(entry.channel).or_insert((0, 0)).0 += 1;
        }
        for entry in &self.deferred {
            counts.entry(entry.channel).or_insert((0, 0)).1 += 1;
        }
        counts
    }
}

/// Sends `entries` of `cause` (each already owned by this try: just stored or claimed) as
/// `config` says, at `now`; `check_at` is when the state's check is due as stored.
pub async fn send_notifications<P: AlertPorts>(
    ports: &P,
    cause: &str,
    entries: Vec<PendingNotification>,
    config: &AlertConfig,
    check_at: Option<Timestamp>,
    now: Timestamp,
) -> SendReport {
    let mut by_channel: BTreeMap<AlertChannel, Vec<PendingNotification>> = BTreeMap::new();
    for entry in entries {
        by_channel.entry(entry.channel).or_default().push(entry);
    }
    let sends = by_channel.into_iter().map(|(channel, mut entries)| {
        entries.sort_by(in_decision_order);
        send_channel(ports, cause, channel, entries, config, check_at, now)
    });
    let mut report = SendReport::default();
    for channel_report in join_all(sends).await {
        report.merge(channel_report);
    }
    report
}

/// The order notifications of one cause were decided in.
pub fn in_decision_order(a: &PendingNotification, b: &PendingNotification) -> std::cmp::Ordering {
    (a.notification.at, &a.notification.notification_id)
        .cmp(&(b.notification.at, &b.notification.notification_id))
}

async fn send_channel<P: AlertPorts>(
    ports: &P,
    cause: &str,
    channel: AlertChannel,
    entries: Vec<PendingNotification>,
    config: &AlertConfig,
    check_at: Option<Timestamp>,
    now: Timestamp,
) -> SendReport {
    let mut report = SendReport::default();
    for entry in entries {
        let admission = ports.admit(channel, now).await;
        if let Admission::Refused { until } = admission {
            // The breaker is open: this one waits for it, and the later ones for this one.
            let failed = PendingNotification {
                retry_at: until.unwrap_or(now.plus_millis(FIRST_RETRY_MS)),
                last_error: Some(format!("the {} breaker is open", channel.as_str())),
                ..entry
            };
            defer(ports, cause, failed, check_at, &mut report).await;
            break;
        }
        let outcome = ports.send(channel, config, &entry.notification, now).await;
        ports.record(channel, &admission, &outcome, now).await;
        let (reason, retry_after_ms) = match outcome {
            SendOutcome::Delivered => {
                tracing::info!(
                    cause,
                    channel = channel.as_str(),
                    notice = entry.notification.notice.as_str(),
                    notification = entry.notification.notification_id,
                    "alert notification sent"
                );
                if let Err(error) = ports.settle(cause, &entry).await {
                    tracing::warn!(cause, error, "sent, not settled: it may be sent again");
                    report.store_errors += 1;
                }
                report.delivered.push(entry);
                continue;
            }
            SendOutcome::Throttled { retry_after_ms } => (
                "throttled".to_owned(),
                retry_after_ms.map(|ms| ms.min(i64::MAX as u64) as i64),
            ),
            SendOutcome::Rejected(reason)
            | SendOutcome::Transient(reason)
            | SendOutcome::Unknown(reason) => (reason, None),
        };
        let attempts = entry.attempts + 1;
        tracing::warn!(
            cause,
            channel = channel.as_str(),
            code = "ALERT_NOT_DELIVERED",
            attempts,
            error = reason,
            "alert notification not delivered; tried again later"
        );
        let failed = PendingNotification {
            attempts,
            retry_at: now.plus_millis(retry_delay_ms(attempts, retry_after_ms)),
            last_error: Some(reason),
            ..entry
        };
        defer(ports, cause, failed, check_at, &mut report).await;
        break;
    }
    report
}

async fn defer<P: AlertPorts>(
    ports: &P,
    cause: &str,
    failed: PendingNotification,
    check_at: Option<Timestamp>,
    report: &mut SendReport,
) {
    match ports.defer(cause, &failed, check_at).await {
        Ok(_) => {}
        Err(error) => {
            tracing::warn!(
                cause,
                error,
                "retry not recorded; the entry is tried after its claim"
            );
            report.store_errors += 1;
        }
    }
    report.deferred.push(failed);
}
