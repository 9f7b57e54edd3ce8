//! Noise control, as Alertmanager does it: every alert about the same cause (its
//! [`Alert::dedup_key`]) shares one [`AlertState`]. The first alert of a cause is notified;
//! while it keeps firing, its repeats are counted, not re-sent, and a reminder (with the
//! count) goes out once `repeat` has passed since the last notification; when it resolves, a
//! resolved notice goes where the firing one went. A cause that fires again within
//! `cooldown` of its resolved notice is counted and notified once the cooldown has passed
//! (a flapping breaker does not page every minute). A redelivered alert (the same id) changes
//! nothing. The fan-out stores the state with a conditional write on its `version`, so two
//! instances can never both notify the same decision.

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::alert::{Alert, AlertKind, AlertStatus, Severity};

/// Alert ids a state remembers to recognise redeliveries (the bus and the outbox redeliver
/// within minutes; a cause rarely sees more alerts than this in that time).
pub const REMEMBERED_ALERTS: usize = 16;

/// The two intervals of noise control.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NoiseSettings {
    /// A cause notified resolved less than this ago is not notified firing again yet.
    pub cooldown_ms: i64,
    /// While a cause fires, a reminder goes out this long after its last notification.
    pub repeat_ms: i64,
}

impl Default for NoiseSettings {
    /// Alertmanager's `group_interval` (5 min) and `repeat_interval` (4 h).
    fn default() -> Self {
        Self {
            cooldown_ms: 5 * 60_000,
            repeat_ms: 4 * 3_600_000,
        }
    }
}

/// A notification to send to the routed channels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum Notice {
    /// The cause started firing.
    Firing,
    /// It is still firing (with how often it repeated since the last notification).
    Reminder,
    /// It cleared.
    Resolved,
}

impl Notice {
    /// The wire name, e.g. `RESOLVED`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Notice::Firing => "FIRING",
            Notice::Reminder => "REMINDER",
            Notice::Resolved => "RESOLVED",
        }
    }
}

/// What was notified for one cause, stored by the fan-out.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct AlertState {
    /// The cause ([`Alert::dedup_key`]).
    pub key: String,
    /// Its kind.
    pub kind: AlertKind,
    /// What it is about.
    pub subject: String,
    /// The worst severity of its current firing episode (its notices, the resolved one
    /// included, are routed by it): a breaker probing (LOW) after opening (CRITICAL) keeps
    /// CRITICAL, so its resolution goes where its opening went. A new episode starts from
    /// its first alert's.
    pub severity: Severity,
    /// Whether the cause is firing now.
    pub firing: bool,
    /// The ids of the latest alerts, newest last, at most [`REMEMBERED_ALERTS`] (a
    /// redelivery of one of them is ignored, even out of order).
    pub recent_alert_ids: Vec<String>,
    /// The latest alert's message.
    pub message: String,
    /// The last notification sent, and when (`None`: never notified).
    pub last_notice: Option<Notice>,
    /// When the last notification was decided.
    pub last_notified_at: Option<Timestamp>,
    /// Alerts counted, not sent, since the last notification.
    pub repeats: u64,
    /// Incremented by every change (the guard of the fan-out's conditional write).
    pub version: u64,
}

/// What to do about an alert, or at a periodic check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Decision {
    /// The notification to send now, if any.
    pub notice: Option<Notice>,
    /// With a notification: the alerts counted, not sent, since the one before it.
    pub repeated: u64,
    /// The state to store (conditional on the version it was decided from).
    pub state: AlertState,
}

impl AlertState {
    /// Decides what `alert`, arriving at `now`, does to the cause's state `current` (`None`:
    /// never seen). `None`: nothing to write (a redelivered alert, or a resolution of a
    /// cause never notified firing).
    pub fn on_alert(
        current: Option<&AlertState>,
        alert: &Alert,
        now: Timestamp,
        settings: NoiseSettings,
    ) -> Option<Decision> {
        if current.is_some_and(|state| state.recent_alert_ids.contains(&alert.alert_id)) {
            return None;
        }
        let firing = alert.status == AlertStatus::Firing;
        let mut state = match current {
            Some(state) => state.clone(),
            None => AlertState {
                key: alert.dedup_key(),
                kind: alert.kind,
                subject: alert.subject.clone(),
                severity: alert.severity,
                firing: false,
                recent_alert_ids: Vec::new(),
                message: String::new(),
                last_notice: None,
                last_notified_at: None,
                repeats: 0,
                version: 0,
            },
        };
        state.recent_alert_ids.push(alert.alert_id.clone());
        let forgotten = state
            .recent_alert_ids
            .len()
            .saturating_sub(REMEMBERED_ALERTS);
        state.recent_alert_ids.drain(..forgotten);
        state.message = alert.message.clone();
        state.version += 1;
        let notice = if firing {
            let was_firing = std::mem::replace(&mut state.firing, true);
            state.severity = if was_firing {
                state.severity.max(alert.severity)
            } else {
                alert.severity
            };
            if was_firing {
                state.due_notice(now, settings)
            } else if state.cooling_down(now, settings) {
                None
            } else {
                Some(Notice::Firing)
            }
        } else {
            if !state.firing {
                return None;
            }
            state.firing = false;
            // Resolved before it was ever notified (it fired inside the cooldown): nothing
            // to take back.
            matches!(state.last_notice, Some(Notice::Firing | Notice::Reminder))
                .then_some(Notice::Resolved)
        };
        Some(match notice {
            Some(notice) => state.notified(notice, now),
            None => {
                state.repeats += u64::from(firing);
                Decision {
                    notice: None,
                    repeated: 0,
                    state,
                }
            }
        })
    }

    /// The periodic check (without a new alert) at `now`: a reminder that is due, or a
    /// firing notice held back by the cooldown that may go out now. `None`: nothing due.
    pub fn check(&self, now: Timestamp, settings: NoiseSettings) -> Option<Decision> {
        let notice = self.firing.then(|| self.due_notice(now, settings))??;
        let mut state = self.clone();
        state.version += 1;
        if notice == Notice::Reminder && !self.kind.resolves() && self.repeats == 0 {
            // A one-off event that did not happen again: it goes quiet, unannounced.
            state.firing = false;
            return Some(Decision {
                notice: None,
                repeated: 0,
                state,
            });
        }
        Some(state.notified(notice, now))
    }

    /// When the periodic check has something to do for this state: the reminder of a firing
    /// cause (or the quiet end of a one-off event), or a firing notice held back by the
    /// cooldown. `None`: nothing until the next alert.
    pub fn next_check(&self, settings: NoiseSettings) -> Option<Timestamp> {
        let at = self.last_notified_at?;
        match (self.firing, self.last_notice?) {
            (true, Notice::Firing | Notice::Reminder) => Some(at.plus_millis(settings.repeat_ms)),
            (true, Notice::Resolved) => Some(at.plus_millis(settings.cooldown_ms)),
            (false, _) => None,
        }
    }

    /// While firing: the notification due at `now`, if any (a repeat otherwise).
    fn due_notice(&self, now: Timestamp, settings: NoiseSettings) -> Option<Notice> {
        match (self.last_notice, self.last_notified_at) {
            (Some(Notice::Firing | Notice::Reminder), Some(at))
                if now.millis_since(at) >= settings.repeat_ms =>
            {
                Some(Notice::Reminder)
            }
            (Some(Notice::Firing | Notice::Reminder), _) => None,
            _ if self.cooling_down(now, settings) => None,
            _ => Some(Notice::Firing),
        }
    }

    /// Whether a resolved notice went out less than the cooldown ago.
    fn cooling_down(&self, now: Timestamp, settings: NoiseSettings) -> bool {
        self.last_notice == Some(Notice::Resolved)
            && self
                .last_notified_at
                .is_some_and(|at| now.millis_since(at) < settings.cooldown_ms)
    }

    /// The decision to send `notice` now.
    fn notified(mut self, notice: Notice, now: Timestamp) -> Decision {
        self.last_notice = Some(notice);
        self.last_notified_at = Some(now);
        let repeated = std::mem::take(&mut self.repeats);
        Decision {
            notice: Some(notice),
            repeated,
            state: self,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const SETTINGS: NoiseSettings = NoiseSettings {
        cooldown_ms: 300_000,
        repeat_ms: 3_600_000,
    };

    fn at(minutes: i64) -> Timestamp {
        Timestamp::from_millis(1_000_000_000 + minutes * 60_000)
    }

    fn breaker(to: &str, version: u64, minutes: i64) -> Alert {
        Alert::circuit_changed(
            "sqs",
            ("CLOSED", to),
            version,
            ("failures", None),
            None,
            at(minutes),
        )
    }

    /// Feeds `alert` at `minutes` to `state`, returning the notice sent (if any).
    fn feed(state: &mut Option<AlertState>, alert: &Alert, minutes: i64) -> Option<Notice> {
        let decision = AlertState::on_alert(state.as_ref(), alert, at(minutes), SETTINGS)?;
        if let Some(before) = state.as_ref() {
            assert_eq!(
                decision.state.version,
                before.version + 1,
                "every write moves the version"
            );
        }
        *state = Some(decision.state);
        decision.notice
    }

    #[test]
    fn the_first_alert_is_notified_and_its_repeats_are_counted_until_a_reminder() {
        let mut state = None;
        assert_eq!(
            feed(&mut state, &breaker("OPEN", 1, 0), 0),
            Some(Notice::Firing)
        );
        for (version, minute) in [(2, 1), (3, 30), (4, 59)] {
            assert_eq!(
                feed(&mut state, &breaker("OPEN", version, minute), minute),
                None
            );
        }
        assert_eq!(state.as_ref().unwrap().repeats, 3);
        let reminder =
            AlertState::on_alert(state.as_ref(), &breaker("OPEN", 5, 60), at(60), SETTINGS)
                .unwrap();
        assert_eq!(
            reminder.notice,
            Some(Notice::Reminder),
            "the repeat interval has passed"
        );
        assert_eq!(reminder.repeated, 3, "the reminder carries the count");
        state = Some(reminder.state);
        let state = state.unwrap();
        assert_eq!((state.repeats, state.last_notified_at), (0, Some(at(60))));
        assert_eq!(state.severity, Severity::Critical);
    }

    #[test]
    fn a_redelivered_alert_changes_nothing_even_out_of_order() {
        let mut state = None;
        let open = breaker("OPEN", 1, 0);
        feed(&mut state, &open, 0);
        assert_eq!(
            AlertState::on_alert(state.as_ref(), &open, at(90), SETTINGS),
            None
        );
        feed(&mut state, &breaker("OPEN", 2, 1), 1);
        assert_eq!(
            AlertState::on_alert(state.as_ref(), &open, at(2), SETTINGS),
            None,
            "the first one again, after another"
        );
        for version in 3..40 {
            feed(&mut state, &breaker("OPEN", version, 3), 3);
        }
        let remembered = &state.as_ref().unwrap().recent_alert_ids;
        assert_eq!(remembered.len(), REMEMBERED_ALERTS);
        assert_eq!(remembered.last(), Some(&breaker("OPEN", 39, 3).alert_id));
        assert!(
            AlertState::on_alert(state.as_ref(), &open, at(4), SETTINGS).is_some(),
            "long forgotten: counted"
        );
    }

    #[test]
    fn a_resolution_is_notified_once_where_the_alert_was_and_never_for_an_unknown_cause() {
        assert_eq!(
            AlertState::on_alert(None, &breaker("CLOSED", 1, 0), at(0), SETTINGS),
            None,
            "never notified firing: nothing to resolve"
        );
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        assert_eq!(
            feed(&mut state, &breaker("CLOSED", 2, 3), 3),
            Some(Notice::Resolved)
        );
        let resolved = state.clone().unwrap();
        assert!(!resolved.firing);
        assert_eq!(
            resolved.severity,
            Severity::Critical,
            "routed like the firing one"
        );
        assert_eq!(
            AlertState::on_alert(state.as_ref(), &breaker("CLOSED", 3, 4), at(4), SETTINGS),
            None,
            "already resolved"
        );
    }

    #[test]
    fn a_cause_firing_again_inside_the_cooldown_waits_for_the_periodic_check() {
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        feed(&mut state, &breaker("CLOSED", 2, 1), 1);
        assert_eq!(
            feed(&mut state, &breaker("OPEN", 3, 2), 2),
            None,
            "flapping"
        );
        let held = state.clone().unwrap();
        assert!(held.firing);
        assert_eq!(
            held.check(at(5), SETTINGS),
            None,
            "4 min after the resolved notice"
        );
        let decision = held
            .check(at(6), SETTINGS)
            .expect("the cooldown has passed");
        assert_eq!(decision.notice, Some(Notice::Firing));
        assert_eq!(decision.state.version, held.version + 1);
        // Resolved again before that check: nothing was notified firing, nothing to take back.
        assert_eq!(
            AlertState::on_alert(Some(&held), &breaker("CLOSED", 4, 3), at(3), SETTINGS)
                .unwrap()
                .notice,
            None
        );
        assert_eq!(
            feed(&mut state, &breaker("OPEN", 5, 4), 4),
            None,
            "still cooling down"
        );
        assert_eq!(state.as_ref().unwrap().repeats, 2);
        assert_eq!(
            feed(&mut state, &breaker("OPEN", 6, 7), 7),
            Some(Notice::Firing),
            "a repeat after the cooldown sends the held notice"
        );
    }

    #[test]
    fn the_periodic_check_reminds_a_cause_still_firing_and_nothing_else() {
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        let firing = state.clone().unwrap();
        assert_eq!(firing.check(at(59), SETTINGS), None);
        assert_eq!(
            firing.check(at(60), SETTINGS).unwrap().notice,
            Some(Notice::Reminder)
        );
        feed(&mut state, &breaker("CLOSED", 2, 10), 10);
        assert_eq!(state.unwrap().check(at(600), SETTINGS), None, "resolved");
    }

    #[test]
    fn the_check_is_due_at_the_reminder_or_at_the_end_of_the_cooldown_and_never_when_resolved() {
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        assert_eq!(state.as_ref().unwrap().next_check(SETTINGS), Some(at(60)));
        feed(&mut state, &breaker("CLOSED", 2, 10), 10);
        assert_eq!(state.as_ref().unwrap().next_check(SETTINGS), None);
        feed(&mut state, &breaker("OPEN", 3, 12), 12);
        assert_eq!(
            state.as_ref().unwrap().next_check(SETTINGS),
            Some(at(15)),
            "held back until 5 min after the resolved notice"
        );
        let never_notified =
            AlertState::on_alert(None, &breaker("HALF_OPEN", 1, 0), at(0), SETTINGS)
                .unwrap()
                .state;
        assert_eq!(
            never_notified.check(at(0), SETTINGS).map(|d| d.notice),
            None,
            "notified at once: nothing left to check"
        );
    }

    #[test]
    fn a_one_off_event_sums_up_its_repeats_in_a_reminder_then_goes_quiet() {
        let failed = |version: u64, minutes: i64| {
            let mut alert = breaker("OPEN", version, minutes);
            alert.kind = AlertKind::FailurePatternMatched;
            alert.subject = "throttled-pattern".into();
            alert
        };
        assert!(!AlertKind::FailurePatternMatched.resolves());
        assert!(!AlertKind::TimerFailed.resolves());
        assert!(AlertKind::DispatcherStalled.resolves());
        assert!(AlertKind::CircuitStateChanged.resolves());
        let mut state = None;
        assert_eq!(feed(&mut state, &failed(1, 0), 0), Some(Notice::Firing));
        feed(&mut state, &failed(2, 5), 5);
        let reminder = state.as_ref().unwrap().check(at(60), SETTINGS).unwrap();
        assert_eq!(
            (reminder.notice, reminder.repeated),
            (Some(Notice::Reminder), 1)
        );
        let quiet = reminder.state.check(at(120), SETTINGS).unwrap();
        assert_eq!(quiet.notice, None, "no repeat since the reminder");
        assert!(!quiet.state.firing);
        assert_eq!(quiet.state.version, reminder.state.version + 1);
        assert_eq!(quiet.state.next_check(SETTINGS), None);
        let again =
            AlertState::on_alert(Some(&quiet.state), &failed(3, 121), at(121), SETTINGS).unwrap();
        assert_eq!(
            again.notice,
            Some(Notice::Firing),
            "a new occurrence is news again"
        );
    }

    #[test]
    fn a_resolution_goes_where_the_worst_notice_of_its_episode_went() {
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        feed(&mut state, &breaker("HALF_OPEN", 2, 1), 1);
        assert_eq!(state.as_ref().unwrap().severity, Severity::Critical);
        let resolved =
            AlertState::on_alert(state.as_ref(), &breaker("CLOSED", 3, 2), at(2), SETTINGS)
                .unwrap();
        assert_eq!(resolved.notice, Some(Notice::Resolved));
        assert_eq!(resolved.state.severity, Severity::Critical);
        let mut state = Some(resolved.state);
        feed(&mut state, &breaker("HALF_OPEN", 4, 30), 30);
        assert_eq!(
            state.unwrap().severity,
            Severity::Low,
            "a new episode starts from its first alert"
        );
    }

    #[test]
    fn a_firing_episode_takes_its_worst_severity() {
        let mut state = None;
        feed(&mut state, &breaker("HALF_OPEN", 1, 0), 0);
        assert_eq!(state.as_ref().unwrap().severity, Severity::Low);
        feed(&mut state, &breaker("OPEN", 2, 1), 1);
        let state = state.unwrap();
        assert_eq!(state.severity, Severity::Critical);
        assert_eq!(
            state.message,
            "circuit breaker of sqs: CLOSED -> OPEN (failures)"
        );
    }

    #[test]
    fn a_state_reads_back_as_stored() {
        let mut state = None;
        feed(&mut state, &breaker("OPEN", 1, 0), 0);
        let state = state.unwrap();
        let json = serde_json::to_value(&state).unwrap();
        assert_eq!(json["key"], "CIRCUIT_STATE_CHANGED/sqs");
        assert_eq!(json["lastNotice"], "FIRING");
        for notice in [Notice::Firing, Notice::Reminder, Notice::Resolved] {
            assert_eq!(serde_json::json!(notice), notice.as_str());
        }
        assert_eq!(serde_json::from_value::<AlertState>(json).unwrap(), state);
    }
}
