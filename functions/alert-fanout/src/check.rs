//! The periodic check (every minute, on the fan-out's schedule): reads the alert states
//! whose check is due from the due index — never the whole table — and for each sends the
//! reminder or held-back notice noise control now calls for, and retries the notifications
//! whose next try has come, each claimed first (a conditional write) so that two checks
//! never send the same one. A state with nothing left to do leaves the due index.

use lifecycle_adapters::store::{PendingNotification, StoredAlertState};
use lifecycle_domain::alerting::retry::CLAIM_MS;
use lifecycle_domain::alerting::{AlertConfig, Notification};
use lifecycle_domain::{Clock, Timestamp};
use serde::Serialize;

use crate::decide::channels_for;
use crate::ports::{AlertPorts, PortError};
use crate::send::{SendReport, in_decision_order, send_notifications};

/// States read per check (the rest wait for the next minute).
pub const CHECK_LIMIT: u32 = 100;

/// What one check did.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct CheckReport {
    /// Due states read.
    pub states: usize,
    /// Reminders and held-back notices decided.
    pub notices: usize,
    /// One-off alerts that went quiet.
    pub quieted: usize,
    /// Notifications delivered (new ones and retries).
    pub delivered: usize,
    /// Notifications that failed again (kept for a later try).
    pub deferred: usize,
    /// States whose handling failed (tried at the next check).
    pub errors: Vec<String>,
    /// Every send of the check (for the metrics).
    #[serde(skip)]
    pub sends: SendReport,
}

impl CheckReport {
    fn add(&mut self, report: SendReport) {
        self.delivered += report.delivered.len();
        self.deferred += report.deferred.len();
        self.sends.merge(report);
    }
}

/// Runs one check at the clock's now.
pub async fn check<P: AlertPorts, C: Clock>(ports: &P, clock: &C) -> CheckReport {
    let mut report = CheckReport::default();
    let now = clock.now();
    let (config, due) = match (
        ports.config().await,
        ports.due_states(now, CHECK_LIMIT).await,
    ) {
        (Ok(config), Ok(due)) => (config, due),
        (Err(error), _) | (_, Err(error)) => {
            report.errors.push(error);
            return report;
        }
    };
    report.states = due.len();
    for read in due {
        if let Err(error) = check_state(ports, &config, read, now, &mut report).await {
            report.errors.push(error);
        }
    }
    report
}

async fn check_state<P: AlertPorts>(
    ports: &P,
    config: &AlertConfig,
    read: StoredAlertState,
    now: Timestamp,
    report: &mut CheckReport,
) -> Result<(), PortError> {
    let cause = read.state.key.clone();
    let mut current = read;
    let mut decided = None;
    if let Some(decision) = current.state.check(now, config.noise) {
        let channels = match decision.notice {
            Some(_) => channels_for(config, decision.state.severity),
            None => Vec::new(),
        };
        let Some(stored) = ports
            .store_decision(Some(&current), &decision, &channels, config.noise, now)
            .await?
        else {
            return Ok(()); // Decided meanwhile by an alert; looked at again when due.
        };
        decided = Notification::of(&decision);
        match &decided {
            Some(notification) => {
                report.notices += 1;
                tracing::info!(
                    cause,
                    notice = notification.notice.as_str(),
                    repeats = notification.repeats,
                    "alert notified by the periodic check"
                );
            }
            None => report.quieted += 1,
        }
        current = stored;
    }
    let decided_id = decided.map(|n| n.notification_id);
    let mut sendable = Vec::new();
    for entry in entries_to_try(&current, decided_id.as_deref(), now) {
        if decided_id.as_deref() == Some(entry.notification.notification_id.as_str()) {
            sendable.push(entry); // Just stored: ours already.
            continue;
        }
        let until = now.plus_millis(CLAIM_MS);
        if ports.claim(&cause, &entry, until).await? {
            sendable.push(PendingNotification {
                retry_at: until,
                ..entry
            });
        }
    }
    let sent = send_notifications(ports, &cause, sendable, config, current.check_at, now).await;
    for entry in &sent.delivered {
        current.pending.remove(&entry.entry());
    }
    for entry in &sent.deferred {
        current.pending.insert(entry.entry(), entry.clone());
    }
    report.add(sent);
    ports.reschedule(&current, config.noise).await?;
    Ok(())
}

/// The notifications of `state` to try now: per channel, in the order they were decided,
/// the just-decided one (`decided`) and those whose next try has come — up to the first that
/// must wait (a channel's later notifications wait for an earlier one still failing).
fn entries_to_try(
    state: &StoredAlertState,
    decided: Option<&str>,
    now: Timestamp,
) -> Vec<PendingNotification> {
    let mut entries: Vec<&PendingNotification> = state.pending.values().collect();
    entries.sort_by(|a, b| in_decision_order(a, b));
    let mut blocked = Vec::new();
    let mut chosen = Vec::new();
    for entry in entries {
        if blocked.contains(&entry.channel) {
            continue;
        }
        let just_decided = decided == Some(entry.notification.notification_id.as_str());
        if just_decided || entry.retry_at <= now {
            chosen.push(entry.clone());
        } else {
            blocked.push(entry.channel);
        }
    }
    chosen
}
