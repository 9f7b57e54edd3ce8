//! Where the resilience layer's alerts go: stored in the [`AlertOutbox`] (so they are
//! published even if the bus is what fails), then published at once. Alerts of matched
//! failure patterns are noted while a request fails and raised when the invocation ends
//! (`Services::end_invocation`): the request path never waits on an alert.

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use lifecycle_domain::{Alert, Clock};

use crate::classification::ErrorClass;
use crate::failure::AwsError;
use crate::patterns::{FailurePattern, RecoveryAction};
use crate::ports::AlertOutbox;

/// Alerts noted on the request path and raised when the invocation ends; cheap to clone.
#[derive(Debug, Clone)]
pub struct AlertSink {
    outbox: Arc<dyn AlertOutbox>,
    clock: Arc<dyn Clock>,
    /// When this instance last alerted per pattern id (the cooldown).
    last_pattern_alert: Arc<Mutex<BTreeMap<String, Instant>>>,
    /// Alerts noted, not published yet; `true` when already stored (a breaker transition
    /// stores its alert in its own transaction).
    pending: Arc<Mutex<Vec<(Alert, bool)>>>,
}

impl AlertSink {
    /// Alerts raised into `outbox`, timed by `clock`.
    pub fn new(outbox: Arc<dyn AlertOutbox>, clock: Arc<dyn Clock>) -> Self {
        Self {
            outbox,
            clock,
            last_pattern_alert: Arc::default(),
            pending: Arc::default(),
        }
    }

    /// Notes `alert`, already stored (e.g. in a breaker transition's transaction), for
    /// publishing when the invocation ends.
    pub fn stored(&self, alert: Alert) {
        self.pending.lock().expect("alert lock").push((alert, true));
    }

    /// Notes the alert of `pattern` for `error` if the pattern asks for one and its cooldown
    /// allows: at most one per cooldown window per instance, and — the alert id depends on
    /// the window — one per window across instances.
    pub fn pattern_matched(&self, pattern: &FailurePattern, class: &ErrorClass, error: &AwsError) {
        if !pattern.actions.contains(&RecoveryAction::Alert) {
            return;
        }
        let cooldown = Duration::from_millis(pattern.cooldown_ms.max(1_000));
        {
            let mut last = self.last_pattern_alert.lock().expect("alert lock");
            if last
                .get(&pattern.id)
                .is_some_and(|at| at.elapsed() < cooldown)
            {
                return;
            }
            last.insert(pattern.id.clone(), Instant::now());
        }
        let now = self.clock.now();
        let window = now.millis() / cooldown.as_millis() as i64;
        let alert = Alert::pattern_matched(
            &pattern.id,
            window,
            class.code,
            &format!("failure pattern {} matched: {error}", pattern.id),
            now,
        );
        self.pending
            .lock()
            .expect("alert lock")
            .push((alert, false));
    }

    /// Raises the noted alerts: stores each not stored yet (once per id), then publishes
    /// the new ones. What is not published here, the sweeper's outbox step publishes.
    pub async fn raise_pending(&self) {
        let noted = std::mem::take(&mut *self.pending.lock().expect("alert lock"));
        let mut new = Vec::new();
        for (alert, stored) in noted {
            if stored {
                new.push(alert);
                continue;
            }
            match self.outbox.store_alert(&alert).await {
                Ok(true) => new.push(alert),
                Ok(false) => {}
                Err(error) => {
                    tracing::warn!(alert = alert.subject, error = %error, "pattern alert not stored")
                }
            }
        }
        if !new.is_empty() {
            self.outbox.publish_alerts(&new).await;
        }
    }
}
