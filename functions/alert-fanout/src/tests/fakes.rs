//! In-memory ports: alert states with the store's conditions (a decision stored only from
//! the version it was decided from, a claim only on the `retryAt` read, a settle or defer
//! only while the entry is there), channels that answer what each test scripts, breakers
//! that refuse when told, and a manual clock.

use std::collections::{BTreeMap, VecDeque};
use std::sync::Mutex;

use lifecycle_adapters::delivery::queue_messages::DeadLetters;
use lifecycle_adapters::store::{PendingNotification, StoredAlertState};
use lifecycle_domain::alerting::{
    AlertChannel, AlertConfig, Decision, NoiseSettings, Notification,
};
use lifecycle_domain::delivery::provider_response::SendOutcome;
use lifecycle_domain::recovery_log::{Counts, RecoveryEvent};
use lifecycle_domain::{ManualClock, Timestamp};
use lifecycle_resilience::Admission;

use crate::ports::{AlertPorts, PortError};

/// One send a channel was asked for.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(super) struct Sent {
    pub(super) channel: AlertChannel,
    pub(super) notification: Notification,
}

#[derive(Debug, Default)]
pub(super) struct FakeState {
    pub(super) states: BTreeMap<String, StoredAlertState>,
    /// Scripted answers per channel (delivered when none is left).
    pub(super) outcomes: BTreeMap<AlertChannel, VecDeque<SendOutcome>>,
    /// Channels whose breaker refuses, until when.
    pub(super) open_breakers: BTreeMap<AlertChannel, Timestamp>,
    /// Every send attempted, in order.
    pub(super) sent: Vec<Sent>,
    /// Outcomes recorded to the breakers.
    pub(super) recorded: Vec<(AlertChannel, SendOutcome)>,
    /// Messages dead-lettered.
    pub(super) dead_letters: Vec<(String, String)>,
    /// Decisions to refuse as if another instance had stored first (each decrements).
    pub(super) lose_next_decisions: u32,
    /// A read fails while this is set.
    pub(super) store_down: bool,
    /// Recovery-log entries filed, by id (a repeat is not filed again).
    pub(super) filed: BTreeMap<String, RecoveryEvent>,
    /// The counters the filed entries added up to.
    pub(super) counts: Counts,
}

pub(super) struct FakePorts {
    pub(super) config: AlertConfig,
    pub(super) state: Mutex<FakeState>,
}

impl FakePorts {
    /// Every channel configured; the default routing and noise settings.
    pub(super) fn new() -> Self {
        let config = AlertConfig::from_json(&serde_json::json!({
            "email": {"from": "alerts@example.com", "to": ["ops@example.com"]},
            "slack": {"webhookUrl": "ssm:/t/slack"},
            "webhook": {"url": "https://hooks.example.com/a", "signingSecret": "ssm:/t/w"},
            "sns": {"topicArn": "arn:aws:sns:us-east-1:123456789012:alerts"}
        }))
        .expect("a valid configuration");
        Self::with_config(config)
    }

    pub(super) fn with_config(config: AlertConfig) -> Self {
        Self {
            config,
            state: Mutex::default(),
        }
    }

    pub(super) fn lock(&self) -> std::sync::MutexGuard<'_, FakeState> {
        self.state.lock().expect("fake state")
    }

    /// Scripts `channel`'s next answers.
    pub(super) fn answer(
        &self,
        channel: AlertChannel,
        outcomes: impl IntoIterator<Item = SendOutcome>,
    ) {
        self.lock()
            .outcomes
            .entry(channel)
            .or_default()
            .extend(outcomes);
    }

    /// The notices sent to `channel`, in order.
    pub(super) fn notices(&self, channel: AlertChannel) -> Vec<&'static str> {
        self.lock()
            .sent
            .iter()
            .filter(|s| s.channel == channel)
            .map(|s| s.notification.notice.as_str())
            .collect()
    }

    pub(super) fn stored(&self, cause: &str) -> StoredAlertState {
        self.lock().states[cause].clone()
    }
}

fn down(state: &FakeState) -> Result<(), PortError> {
    if state.store_down {
        Err("the store is down".into())
    } else {
        Ok(())
    }
}

impl AlertPorts for FakePorts {
    async fn config(&self) -> Result<AlertConfig, PortError> {
        down(&self.lock())?;
        Ok(self.config.clone())
    }

    async fn file_recovery(&self, entry: &RecoveryEvent, counts: &Counts) -> Result<(), PortError> {
        let mut state = self.lock();
        down(&state)?;
        if !state.filed.contains_key(&entry.id) {
            state.filed.insert(entry.id.clone(), entry.clone());
            state.counts.merge(counts);
        }
        Ok(())
    }

    async fn state(&self, cause: &str) -> Result<Option<StoredAlertState>, PortError> {
        let state = self.lock();
        down(&state)?;
        Ok(state.states.get(cause).cloned())
    }

    async fn store_decision(
        &self,
        read: Option<&StoredAlertState>,
        decision: &Decision,
        channels: &[AlertChannel],
        settings: NoiseSettings,
        now: Timestamp,
    ) -> Result<Option<StoredAlertState>, PortError> {
        let mut state = self.lock();
        down(&state)?;
        if state.lose_next_decisions > 0 {
            state.lose_next_decisions -= 1;
            // Another instance stored a decision from the same read: the version moved.
            let cause = &decision.state.key;
            if let Some(stored) = state.states.get_mut(cause) {
                stored.state.version += 1;
            } else {
                let mut other = decision.clone();
                other.state.recent_alert_ids = vec!["another".into()];
                state.states.insert(
                    cause.clone(),
                    StoredAlertState {
                        state: other.state,
                        pending: BTreeMap::new(),
                        check_at: None,
                    },
                );
            }
            return Ok(None);
        }
        let current = state.states.get(&decision.state.key);
        let matches = match (read, current) {
            (None, None) => true,
            (Some(read), Some(current)) => read.state.version == current.state.version,
            _ => false,
        };
        if !matches {
            return Ok(None);
        }
        let stored = StoredAlertState::after(current, decision, channels, settings, now);
        state
            .states
            .insert(decision.state.key.clone(), stored.clone());
        Ok(Some(stored))
    }

    async fn settle(&self, cause: &str, sent: &PendingNotification) -> Result<bool, PortError> {
        let mut state = self.lock();
        down(&state)?;
        Ok(state
            .states
            .get_mut(cause)
            .and_then(|s| s.pending.remove(&sent.entry()))
            .is_some())
    }

    async fn claim(
        &self,
        cause: &str,
        entry: &PendingNotification,
        until: Timestamp,
    ) -> Result<bool, PortError> {
        let mut state = self.lock();
        down(&state)?;
        let stored = state
            .states
            .get_mut(cause)
            .and_then(|s| s.pending.get_mut(&entry.entry()));
        match stored {
            Some(stored) if stored.retry_at == entry.retry_at => {
                stored.retry_at = until;
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn defer(
        &self,
        cause: &str,
        failed: &PendingNotification,
        stored_check_at: Option<Timestamp>,
    ) -> Result<bool, PortError> {
        let mut state = self.lock();
        down(&state)?;
        let Some(stored) = state.states.get_mut(cause) else {
            return Ok(false);
        };
        let Some(entry) = stored.pending.get_mut(&failed.entry()) else {
            return Ok(false);
        };
        *entry = failed.clone();
        stored.check_at =
            Some(stored_check_at.map_or(failed.retry_at, |at| at.min(failed.retry_at)));
        Ok(true)
    }

    async fn due_states(
        &self,
        now: Timestamp,
        limit: u32,
    ) -> Result<Vec<StoredAlertState>, PortError> {
        let state = self.lock();
        down(&state)?;
        let mut due: Vec<StoredAlertState> = state
            .states
            .values()
            .filter(|s| s.check_at.is_some_and(|at| at <= now))
            .cloned()
            .collect();
        due.sort_by_key(|s| s.check_at);
        due.truncate(limit as usize);
        Ok(due)
    }

    async fn reschedule(
        &self,
        read: &StoredAlertState,
        settings: NoiseSettings,
    ) -> Result<bool, PortError> {
        let mut state = self.lock();
        down(&state)?;
        match state.states.get_mut(&read.state.key) {
            Some(stored) if stored.state.version == read.state.version => {
                stored.check_at = read.next_check(settings);
                Ok(true)
            }
            _ => Ok(false),
        }
    }

    async fn admit(&self, channel: AlertChannel, now: Timestamp) -> Admission {
        match self.lock().open_breakers.get(&channel) {
            Some(&until) if until > now => Admission::Refused { until: Some(until) },
            _ => Admission::Allowed,
        }
    }

    async fn record(
        &self,
        channel: AlertChannel,
        _admission: &Admission,
        outcome: &SendOutcome,
        _now: Timestamp,
    ) {
        self.lock().recorded.push((channel, outcome.clone()));
    }

    async fn send(
        &self,
        channel: AlertChannel,
        _config: &AlertConfig,
        notification: &Notification,
        _now: Timestamp,
    ) -> SendOutcome {
        let mut state = self.lock();
        state.sent.push(Sent {
            channel,
            notification: notification.clone(),
        });
        state
            .outcomes
            .get_mut(&channel)
            .and_then(VecDeque::pop_front)
            .unwrap_or(SendOutcome::Delivered)
    }
}

impl DeadLetters for FakePorts {
    async fn dead_letter(
        &self,
        body: &str,
        problem: &str,
        _now: Timestamp,
    ) -> Result<bool, String> {
        self.lock()
            .dead_letters
            .push((body.to_owned(), problem.to_owned()));
        Ok(true)
    }
}

/// A clock at a round time.
pub(super) fn clock() -> ManualClock {
    ManualClock::at(Timestamp::from_millis(1_800_000_000_000))
}
