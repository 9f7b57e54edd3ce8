//! A notification as the channels send it: what was decided for a cause ([`Decision`]) put
//! into words. Its id derives from the cause and the state's version, so a notification sent
//! again (a retried channel) keeps it: the webhook's `webhook-id`, the SNS message's
//! deduplication attribute. Each channel's body is built here: an email's subject and text,
//! a Slack message, a webhook's JSON.

use serde::{Deserialize, Serialize};
use serde_json::{Value, json};

use crate::Timestamp;
use crate::alert::{AlertKind, Severity};
use crate::alerting::noise::{AlertState, Decision, Notice};
use crate::event::stable_id;

/// One notification of one cause.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct Notification {
    /// Stable id: the same for every send of this notification.
    pub notification_id: String,
    /// Firing, reminder or resolved.
    pub notice: Notice,
    /// The cause ([`crate::Alert::dedup_key`]).
    pub key: String,
    /// Its kind.
    pub kind: AlertKind,
    /// What it is about.
    pub subject: String,
    /// How urgent (for a resolved notice, the firing alert's).
    pub severity: Severity,
    /// The latest alert's message.
    pub message: String,
    /// Alerts of the cause counted, not sent, before this notification.
    pub repeats: u64,
    /// When it was decided.
    pub at: Timestamp,
}

impl Notification {
    /// The notification `decision` asks for, if any.
    pub fn of(decision: &Decision) -> Option<Self> {
        let notice = decision.notice?;
        let state: &AlertState = &decision.state;
        Some(Self {
            notification_id: stable_id(&format!("notification/{}/{}", state.key, state.version)),
            notice,
            key: state.key.clone(),
            kind: state.kind,
            subject: state.subject.clone(),
            severity: state.severity,
            message: state.message.clone(),
            repeats: decision.repeated,
            at: state.last_notified_at.unwrap_or(Timestamp::from_millis(0)),
        })
    }

    /// A one-line headline: `[CRITICAL] CIRCUIT_STATE_CHANGED sqs`, with `RESOLVED` or
    /// `REMINDER` in front when it is one.
    pub fn headline(&self) -> String {
        let prefix = match self.notice {
            Notice::Firing => String::new(),
            Notice::Reminder => "REMINDER ".to_owned(),
            Notice::Resolved => "RESOLVED ".to_owned(),
        };
        format!(
            "{prefix}[{}] {} {}",
            self.severity.as_str(),
            self.kind.as_str(),
            self.subject
        )
    }

    /// The email's subject and plain-text body.
    pub fn email(&self, service: &str) -> (String, String) {
        let subject = format!("{service}: {}", self.headline());
        let mut body = format!(
            "{}\n\n{}\n\nKind: {}\nSubject: {}\nSeverity: {}\nAt: {}\n",
            self.headline(),
            self.message,
            self.kind.as_str(),
            self.subject,
            self.severity.as_str(),
            self.at,
        );
        if self.repeats > 0 {
            body.push_str(&format!(
                "Repeated {} times since the last notification.\n",
                self.repeats
            ));
        }
        body.push_str(&format!("Notification id: {}\n", self.notification_id));
        (subject, body)
    }

    /// A Slack incoming-webhook message (`text` as the fallback, one section block).
    pub fn slack(&self) -> Value {
        let mut text = format!("*{}*\n{}", self.headline(), self.message);
        if self.repeats > 0 {
            text.push_str(&format!("\n_repeated {} times_", self.repeats));
        }
        json!({
            "text": self.headline(),
            "blocks": [{"type": "section", "text": {"type": "mrkdwn", "text": text}}],
        })
    }

    /// The webhook's (and the SNS message's) JSON body: the notification's fields.
    pub fn json(&self) -> Value {
        serde_json::to_value(self).expect("a notification is always serialisable")
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::Alert;
    use crate::alerting::noise::NoiseSettings;

    fn at(seconds: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + seconds * 1_000)
    }

    fn opened(version: u64, seconds: i64) -> Alert {
        Alert::circuit_changed(
            "sqs",
            ("CLOSED", "OPEN"),
            version,
            ("5 failures", None),
            None,
            at(seconds),
        )
    }

    #[test]
    fn a_firing_notification_reads_well_on_every_channel() {
        let decision =
            AlertState::on_alert(None, &opened(1, 0), at(0), NoiseSettings::default()).unwrap();
        let notification = Notification::of(&decision).unwrap();
        assert_eq!(
            notification.headline(),
            "[CRITICAL] CIRCUIT_STATE_CHANGED sqs"
        );
        let (subject, body) = notification.email("campaign-lifecycle");
        assert_eq!(
            subject,
            "campaign-lifecycle: [CRITICAL] CIRCUIT_STATE_CHANGED sqs"
        );
        assert!(
            body.contains("circuit breaker of sqs: CLOSED -> OPEN (5 failures)"),
            "{body}"
        );
        assert!(body.contains("At: 2027-01-15T08:00:00Z"), "{body}");
        assert!(!body.contains("Repeated"), "{body}");
        let slack = notification.slack();
        assert_eq!(slack["text"], "[CRITICAL] CIRCUIT_STATE_CHANGED sqs");
        assert_eq!(slack["blocks"][0]["type"], "section");
        let text = slack["blocks"][0]["text"]["text"].as_str().unwrap();
        assert!(
            text.starts_with("*[CRITICAL] CIRCUIT_STATE_CHANGED sqs*\n"),
            "{text}"
        );
        assert!(!text.contains("repeated"), "{text}");
        let json = notification.json();
        assert_eq!(json["notice"], "FIRING");
        assert_eq!(json["key"], "CIRCUIT_STATE_CHANGED/sqs");
        assert_eq!(json["notificationId"], notification.notification_id);
        assert_eq!(
            serde_json::from_value::<Notification>(json).unwrap(),
            notification,
            "stored with a pending send, read back whole"
        );
    }

    #[test]
    fn a_reminder_says_how_often_it_repeated_and_each_notification_has_its_own_id() {
        let settings = NoiseSettings::default();
        let first = AlertState::on_alert(None, &opened(1, 0), at(0), settings).unwrap();
        let repeat =
            AlertState::on_alert(Some(&first.state), &opened(2, 60), at(60), settings).unwrap();
        assert_eq!(Notification::of(&repeat), None, "counted, not sent");
        let later = at(60 + settings.repeat_ms / 1000);
        let reminder =
            AlertState::on_alert(Some(&repeat.state), &opened(3, 0), later, settings).unwrap();
        let reminded = Notification::of(&reminder).unwrap();
        assert_eq!(reminded.notice, Notice::Reminder);
        assert_eq!(reminded.repeats, 1);
        assert!(reminded.headline().starts_with("REMINDER [CRITICAL]"));
        assert!(reminded.email("s").1.contains("Repeated 1 times"));
        assert!(
            reminded.slack()["blocks"][0]["text"]["text"]
                .as_str()
                .unwrap()
                .contains("repeated 1 times")
        );
        let firing = Notification::of(&first).unwrap();
        assert_ne!(firing.notification_id, reminded.notification_id);
        assert_eq!(
            Notification::of(&first).unwrap().notification_id,
            firing.notification_id,
            "the same notification keeps its id"
        );
    }
}
