//! What the chaos run checks of the alert fan-out once it settled: every notification decided
//! reached every channel its severity routes to, at least once, and no channel got one more
//! than once without a reason.
//!
//! The notifications are known from what the channels carry: the webhook's and SNS's JSON is
//! the notification itself (its id also as `webhook-id` and as the `notificationId`
//! attribute), an email's body names its id and severity, a Slack message is matched by its
//! exact body (it carries no id). [`Expected`] adds those the run knows of otherwise — the
//! alerts the chaos run raised, the last notification of every cause in the store — so one
//! that reached no channel at all, or only Slack, is found missing too.
//!
//! A duplicate is a notification a channel received more than once. On the webhook it is
//! harmless (the same `webhook-id`: receivers dedupe). On Slack, email and SNS it is an
//! *ambiguous resend* — counted, and accepted only when an answer was lost after the send was
//! applied: the receiver dropped it (Slack), the fault injector lost it (`SendEmail`,
//! `Publish`), or the fan-out could not record the delivery (`sent, not settled` in the
//! child's log). Any other duplicate fails the run, as does a missing one.

use std::collections::{BTreeMap, BTreeSet};

use lifecycle_domain::alerting::{AlertChannel, Notice, Notification, Routing};
use lifecycle_domain::{AlertKind, Severity, Timestamp};
use serde_json::{Value, json};

use crate::alert_receivers::{Answer, Request};

/// The log line of a send the fan-out delivered but could not mark delivered (it is sent
/// again after its claim).
pub const UNSETTLED_SEND_LOG: &str = "sent, not settled";

/// A notification the run knows was decided, whether or not a channel carries it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Expected {
    /// Its headline (`RESOLVED [CRITICAL] CIRCUIT_STATE_CHANGED sqs`), unique per cause and
    /// notice in a chaos run.
    pub headline: String,
    /// The severity it is routed by.
    pub severity: Severity,
    /// Where the run learned of it (for the report).
    pub origin: String,
}

impl Expected {
    /// The notification `notice` of the cause `kind`/`subject` routed by `severity`.
    pub fn new(
        notice: Notice,
        severity: Severity,
        kind: AlertKind,
        subject: &str,
        origin: String,
    ) -> Self {
        Self {
            headline: headline(notice, severity, kind, subject),
            severity,
            origin,
        }
    }
}

/// A notification's headline, as every channel shows it.
pub fn headline(notice: Notice, severity: Severity, kind: AlertKind, subject: &str) -> String {
    Notification {
        notification_id: String::new(),
        notice,
        key: format!("{}/{subject}", kind.as_str()),
        kind,
        subject: subject.to_owned(),
        severity,
        message: String::new(),
        repeats: 0,
        at: Timestamp::from_millis(0),
    }
    .headline()
}

/// What the channels received.
#[derive(Debug, Clone, Default)]
pub struct Deliveries {
    /// Every request of the webhook receiver.
    pub webhook: Vec<Request>,
    /// Every request of the Slack receiver.
    pub slack: Vec<Request>,
    /// The emulator's records of the emails sent to the run's address (`subject`, `body`).
    pub emails: Vec<Value>,
    /// The bodies of the messages the topic's SQS subscription got (SNS envelopes).
    pub sns: Vec<String>,
}

/// What may explain a duplicate besides a receiver's dropped answer.
#[derive(Debug, Clone, Copy, Default)]
pub struct LostAnswers {
    /// `SendEmail` answers the fault injector lost after SES applied the call.
    pub email: u64,
    /// `Publish` answers lost after SNS applied the call.
    pub sns: u64,
    /// Sends delivered but not recorded as delivered ([`UNSETTLED_SEND_LOG`] lines).
    pub unsettled: u64,
}

/// The outcome of [`check`].
#[derive(Debug, Clone)]
pub struct AlertVerdict {
    /// Per-channel numbers.
    pub report: Value,
    /// Every violation, one line each (empty: passed).
    pub problems: Vec<String>,
}

/// Counts of one channel.
#[derive(Debug, Default)]
struct ChannelCounts {
    notifications: usize,
    delivered: usize,
    missing: usize,
    received: usize,
    duplicates: usize,
    explained: usize,
}

/// A notification as the run knows it.
#[derive(Debug, Clone)]
struct Known {
    headline: String,
    severity: Option<Severity>,
    /// Its Slack message (when it was seen whole, on the webhook or SNS).
    slack: Option<String>,
}

/// Checks `deliveries` against `routing`, `expected` and what explains a duplicate.
pub fn check(
    routing: &Routing,
    deliveries: &Deliveries,
    expected: &[Expected],
    lost: LostAnswers,
) -> AlertVerdict {
    let mut problems = Vec::new();
    let mut known: BTreeMap<String, Known> = BTreeMap::new();
    let mut by_id: BTreeMap<AlertChannel, BTreeMap<String, usize>> = BTreeMap::new();
    let mut webhook_drops: BTreeMap<String, usize> = BTreeMap::new();
    let learn = |known: &mut BTreeMap<String, Known>, notification: &Notification| {
        known.insert(
            notification.notification_id.clone(),
            Known {
                headline: notification.headline(),
                severity: Some(notification.severity),
                slack: Some(notification.slack().to_string()),
            },
        );
    };
    for request in deliveries.webhook.iter().filter(|r| r.answer.taken()) {
        let id = request.webhook_id.clone();
        if !request.signed {
            problems.push(format!("WEBHOOK UNSIGNED: webhook-id {id:?}"));
        }
        match serde_json::from_value::<Notification>(request.body.clone()) {
            Ok(notification) if notification.notification_id == id => {
                learn(&mut known, &notification)
            }
            Ok(notification) => problems.push(format!(
                "WEBHOOK ID: webhook-id {id:?} on notification {}",
                notification.notification_id
            )),
            Err(error) => problems.push(format!("WEBHOOK BODY: not a notification: {error}")),
        }
        *by_id
            .entry(AlertChannel::Webhook)
            .or_default()
            .entry(id.clone())
            .or_default() += 1;
        if request.answer == Answer::Dropped {
            *webhook_drops.entry(id).or_default() += 1;
        }
    }
    for body in &deliveries.sns {
        let envelope: Value = serde_json::from_str(body).unwrap_or_default();
        let attribute = envelope["MessageAttributes"]["notificationId"]["Value"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        let message = envelope["Message"].as_str().unwrap_or_default();
        match serde_json::from_str::<Notification>(message) {
            Ok(notification) if notification.notification_id == attribute => {
                learn(&mut known, &notification)
            }
            Ok(notification) => problems.push(format!(
                "SNS ID: attribute {attribute:?} on notification {}",
                notification.notification_id
            )),
            Err(error) => problems.push(format!("SNS BODY: not a notification: {error}")),
        }
        *by_id
            .entry(AlertChannel::Sns)
            .or_default()
            .entry(attribute)
            .or_default() += 1;
    }
    for email in &deliveries.emails {
        let subject = email["subject"].as_str().unwrap_or_default();
        let body = email["body"].as_str().unwrap_or_default();
        let field = |name: &str| {
            body.lines()
                .find_map(|line| line.strip_prefix(name))
                .map(str::trim)
                .unwrap_or_default()
                .to_owned()
        };
        let id = field("Notification id:");
        if id.is_empty() {
            problems.push(format!("EMAIL: no notification id in {subject:?}"));
            continue;
        }
        known.entry(id.clone()).or_insert_with(|| Known {
            headline: subject
                .split_once(": ")
                .map_or(subject, |(_, headline)| headline)
                .to_owned(),
            severity: Severity::parse(&field("Severity:")),
            slack: None,
        });
        *by_id
            .entry(AlertChannel::Email)
            .or_default()
            .entry(id)
            .or_default() += 1;
    }

    let mut counts: BTreeMap<AlertChannel, ChannelCounts> = AlertChannel::ALL
        .into_iter()
        .map(|channel| (channel, ChannelCounts::default()))
        .collect();
    let missing = |counts: &mut BTreeMap<AlertChannel, ChannelCounts>,
                   problems: &mut Vec<String>,
                   channel: AlertChannel,
                   what: String| {
        counts.entry(channel).or_default().missing += 1;
        problems.push(format!("ALERT MISSING on {}: {what}", channel.as_str()));
    };

    // The id-carrying channels: every known notification on each channel it is routed to,
    // and on no other.
    let mut slack_expected: BTreeMap<String, usize> = BTreeMap::new();
    let mut slack_headlines: BTreeMap<String, usize> = BTreeMap::new();
    for (id, note) in &known {
        let Some(severity) = note.severity else {
            problems.push(format!("ALERT SEVERITY unknown: {} ({id})", note.headline));
            continue;
        };
        let routed: BTreeSet<AlertChannel> = routing.channels(severity).collect();
        for channel in [
            AlertChannel::Email,
            AlertChannel::Webhook,
            AlertChannel::Sns,
        ] {
            let received = by_id
                .get(&channel)
                .and_then(|ids| ids.get(id))
                .copied()
                .unwrap_or(0);
            if !routed.contains(&channel) {
                if received > 0 {
                    problems.push(format!(
                        "ALERT NOT ROUTED to {}: {} ({id})",
                        channel.as_str(),
                        note.headline
                    ));
                }
                continue;
            }
            let entry = counts.entry(channel).or_default();
            entry.notifications += 1;
            if received > 0 {
                entry.delivered += 1;
            } else {
                missing(
                    &mut counts,
                    &mut problems,
                    channel,
                    format!("{} ({id})", note.headline),
                );
            }
        }
        if routed.contains(&AlertChannel::Slack) {
            match &note.slack {
                Some(body) => *slack_expected.entry(body.clone()).or_default() += 1,
                None => *slack_headlines.entry(note.headline.clone()).or_default() += 1,
            }
        }
    }

    // Slack, by body: each expected body as often as distinct notifications have it.
    let mut slack_received: BTreeMap<String, (usize, usize, String)> = BTreeMap::new();
    for request in deliveries.slack.iter().filter(|r| r.answer.taken()) {
        let entry = slack_received
            .entry(request.body.to_string())
            .or_insert_with(|| {
                (
                    0,
                    0,
                    request.body["text"].as_str().unwrap_or_default().to_owned(),
                )
            });
        entry.0 += 1;
        entry.1 += usize::from(request.answer == Answer::Dropped);
    }
    let mut slack_groups: Vec<(String, usize, usize, usize)> = Vec::new();
    for (body, expected_count) in &slack_expected {
        let (received, drops, _) = slack_received.remove(body).unwrap_or_default();
        let text = serde_json::from_str::<Value>(body).unwrap_or_default()["text"]
            .as_str()
            .unwrap_or_default()
            .to_owned();
        slack_groups.push((text, *expected_count, received, drops));
    }
    for (text, expected_count) in &slack_headlines {
        let (mut received, mut drops) = (0, 0);
        slack_received.retain(|_, (count, dropped, headline)| {
            let matched = headline == text;
            if matched {
                received += *count;
                drops += *dropped;
            }
            !matched
        });
        slack_groups.push((text.clone(), *expected_count, received, drops));
    }
    // What Slack alone got (a notification routed to Slack only): one notification per body,
    // and missing wherever else its severity routes it.
    let known_headlines: BTreeSet<&str> = known.values().map(|k| k.headline.as_str()).collect();
    for (_, (received, drops, text)) in slack_received {
        match severity_of(&text) {
            Some(severity) => {
                for channel in routing
                    .channels(severity)
                    .filter(|c| *c != AlertChannel::Slack)
                {
                    counts.entry(channel).or_default().notifications += 1;
                    missing(
                        &mut counts,
                        &mut problems,
                        channel,
                        format!("{text} (seen on Slack only)"),
                    );
                }
                if !routing.channels(severity).any(|c| c == AlertChannel::Slack) {
                    problems.push(format!("ALERT NOT ROUTED to SLACK: {text}"));
                }
            }
            None => problems.push(format!("SLACK BODY: no severity in {text:?}")),
        }
        slack_groups.push((text, 1, received, drops));
    }
    {
        let slack = counts.entry(AlertChannel::Slack).or_default();
        for (text, expected_count, received, drops) in &slack_groups {
            slack.notifications += expected_count;
            slack.delivered += received.min(expected_count);
            slack.received += received;
            let duplicates = received.saturating_sub(*expected_count);
            slack.duplicates += duplicates;
            slack.explained += duplicates.min(*drops);
            if received < expected_count {
                slack.missing += expected_count - received;
                problems.push(format!(
                    "ALERT MISSING on SLACK: {text} ({received} of {expected_count})"
                ));
            }
        }
    }

    // What the run knows was decided, whether or not a channel carries it.
    let slack_texts: BTreeSet<&str> = slack_groups.iter().map(|g| g.0.as_str()).collect();
    let mut seen_expected = BTreeSet::new();
    for expectation in expected {
        if !seen_expected.insert(expectation.headline.clone()) {
            continue;
        }
        let headline = expectation.headline.as_str();
        let on_a_channel = known_headlines.contains(headline) || slack_texts.contains(headline);
        let routed: Vec<AlertChannel> = routing.channels(expectation.severity).collect();
        if routed.is_empty() {
            if on_a_channel {
                problems.push(format!(
                    "ALERT SENT though routed nowhere: {headline} ({})",
                    expectation.origin
                ));
            }
        } else if !on_a_channel {
            for channel in routed {
                counts.entry(channel).or_default().notifications += 1;
                missing(
                    &mut counts,
                    &mut problems,
                    channel,
                    format!("{headline} ({}; on no channel)", expectation.origin),
                );
            }
        }
    }

    // Duplicates of the id-carrying channels, and what explains them.
    for (channel, ids) in &by_id {
        let entry = counts.entry(*channel).or_default();
        for (id, received) in ids {
            entry.received += received;
            let duplicates = received - 1;
            entry.duplicates += duplicates;
            if *channel == AlertChannel::Webhook {
                entry.explained +=
                    duplicates.min(webhook_drops.get(id).copied().unwrap_or_default());
            }
        }
        let budget = match channel {
            AlertChannel::Email => lost.email,
            AlertChannel::Sns => lost.sns,
            _ => 0,
        };
        if budget > 0 {
            entry.explained = entry.duplicates.min(budget as usize);
        }
    }
    let unexplained: usize = [AlertChannel::Slack, AlertChannel::Email, AlertChannel::Sns]
        .iter()
        .map(|channel| {
            let entry = &counts[channel];
            entry.duplicates - entry.explained
        })
        .sum();
    if unexplained as u64 > lost.unsettled {
        problems.push(format!(
            "ALERT RESENT without a lost answer: {unexplained} duplicates on Slack, email or SNS not explained by a dropped or lost answer, and {} sends not marked delivered",
            lost.unsettled
        ));
    }

    let mut report = serde_json::Map::new();
    for (channel, entry) in &counts {
        let mut numbers = json!({
            "notifications": entry.notifications,
            "delivered": entry.delivered,
            "missing": entry.missing,
            "received": entry.received,
            "duplicates": entry.duplicates,
        });
        numbers[match channel {
            AlertChannel::Webhook => "sameWebhookIdAfterDroppedAnswer",
            AlertChannel::Slack => "ambiguousResendsAfterDroppedAnswer",
            _ => "ambiguousResendsAfterLostAnswer",
        }] = json!(entry.explained);
        let requests = match channel {
            AlertChannel::Webhook => Some(&deliveries.webhook),
            AlertChannel::Slack => Some(&deliveries.slack),
            _ => None,
        };
        if let Some(requests) = requests {
            numbers["requests"] = json!(requests.len());
            numbers["faultsInjected"] = answers(requests);
        }
        report.insert(channel.as_str().to_owned(), numbers);
    }
    report.insert("notSettledAfterSend".into(), json!(lost.unsettled));
    AlertVerdict {
        report: Value::Object(report),
        problems,
    }
}

/// The severity a headline names (`RESOLVED [HIGH] …`).
fn severity_of(headline: &str) -> Option<Severity> {
    let start = headline.find('[')? + 1;
    let end = start + headline[start..].find(']')?;
    Severity::parse(&headline[start..end])
}

/// Injected faults among `requests`, by answer.
fn answers(requests: &[Request]) -> Value {
    let mut counts = BTreeMap::new();
    for request in requests.iter().filter(|r| r.answer != Answer::Accepted) {
        *counts.entry(request.answer.as_str()).or_insert(0) += 1;
    }
    json!(counts)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::alert_receivers::Request;
    use lifecycle_domain::alerting::Notice;

    fn notification(id: &str, severity: Severity, subject: &str) -> Notification {
        Notification {
            notification_id: id.into(),
            notice: Notice::Firing,
            key: format!("FAILURE_PATTERN_MATCHED/{subject}"),
            kind: AlertKind::FailurePatternMatched,
            subject: subject.into(),
            severity,
            message: format!("{subject} matched"),
            repeats: 0,
            at: Timestamp::from_millis(1_000),
        }
    }

    fn webhook(n: &Notification, answer: Answer) -> Request {
        Request {
            body: n.json(),
            webhook_id: n.notification_id.clone(),
            signed: true,
            answer,
        }
    }

    fn slack(n: &Notification, answer: Answer) -> Request {
        Request {
            body: n.slack(),
            webhook_id: String::new(),
            signed: false,
            answer,
        }
    }

    fn sns(n: &Notification) -> String {
        json!({"Message": n.json().to_string(),
            "MessageAttributes": {"notificationId": {"Type": "String", "Value": n.notification_id}}})
        .to_string()
    }

    fn email(n: &Notification) -> Value {
        let (subject, body) = n.email("campaign-lifecycle");
        json!({"subject": subject, "body": body})
    }

    /// Every channel of a CRITICAL, a HIGH and a MEDIUM notification, each once.
    fn complete() -> (Vec<Notification>, Deliveries) {
        let critical = notification("n1", Severity::Critical, "p1");
        let high = notification("n2", Severity::High, "p2");
        let medium = notification("n3", Severity::Medium, "p3");
        let deliveries = Deliveries {
            webhook: vec![
                webhook(&critical, Answer::Accepted),
                webhook(&high, Answer::Accepted),
            ],
            slack: vec![
                slack(&critical, Answer::Accepted),
                slack(&high, Answer::Accepted),
                slack(&medium, Answer::Accepted),
            ],
            emails: vec![email(&critical)],
            sns: vec![sns(&critical)],
        };
        (vec![critical, high, medium], deliveries)
    }

    fn expected(n: &Notification) -> Expected {
        Expected::new(n.notice, n.severity, n.kind, &n.subject, "test".into())
    }

    #[test]
    fn every_routed_channel_once_passes_with_the_counts() {
        let (notifications, deliveries) = complete();
        let expectations: Vec<Expected> = notifications.iter().map(expected).collect();
        let verdict = check(
            &Routing::default(),
            &deliveries,
            &expectations,
            LostAnswers::default(),
        );
        assert!(verdict.problems.is_empty(), "{:?}", verdict.problems);
        assert_eq!(verdict.report["SLACK"]["notifications"], 3);
        assert_eq!(verdict.report["WEBHOOK"]["delivered"], 2);
        assert_eq!(verdict.report["EMAIL"]["delivered"], 1);
        assert_eq!(verdict.report["SNS"]["notifications"], 1);
    }

    #[test]
    fn a_notification_missing_from_one_routed_channel_fails() {
        let (notifications, mut deliveries) = complete();
        deliveries.webhook.remove(1);
        let verdict = check(
            &Routing::default(),
            &deliveries,
            &[],
            LostAnswers::default(),
        );
        assert_eq!(verdict.problems.len(), 1, "{:?}", verdict.problems);
        assert!(verdict.problems[0].starts_with("ALERT MISSING on WEBHOOK: [HIGH]"));
        // A MEDIUM one missing from Slack, its only channel, is found through what was
        // expected.
        let (_, mut deliveries) = complete();
        deliveries.slack.remove(2);
        let verdict = check(
            &Routing::default(),
            &deliveries,
            &[expected(&notifications[2])],
            LostAnswers::default(),
        );
        assert_eq!(
            verdict.report["SLACK"]["missing"], 1,
            "{:?}",
            verdict.problems
        );
        assert_eq!(verdict.problems.len(), 1);
    }

    #[test]
    fn duplicates_pass_only_where_an_answer_was_lost() {
        let (notifications, mut deliveries) = complete();
        let critical = &notifications[0];
        deliveries.webhook[0].answer = Answer::Dropped;
        deliveries.webhook.push(webhook(critical, Answer::Accepted));
        deliveries.slack[0].answer = Answer::Dropped;
        deliveries.slack.push(slack(critical, Answer::Accepted));
        let verdict = check(
            &Routing::default(),
            &deliveries,
            &[],
            LostAnswers::default(),
        );
        assert!(verdict.problems.is_empty(), "{:?}", verdict.problems);
        assert_eq!(verdict.report["WEBHOOK"]["duplicates"], 1);
        assert_eq!(
            verdict.report["SLACK"]["ambiguousResendsAfterDroppedAnswer"],
            1
        );
        // An email twice with no lost answer fails; one lost SendEmail answer explains it.
        deliveries.emails.push(email(critical));
        let unexplained = check(
            &Routing::default(),
            &deliveries,
            &[],
            LostAnswers::default(),
        );
        assert_eq!(unexplained.problems.len(), 1, "{:?}", unexplained.problems);
        let lost = LostAnswers {
            email: 1,
            ..LostAnswers::default()
        };
        let explained = check(&Routing::default(), &deliveries, &[], lost);
        assert!(explained.problems.is_empty(), "{:?}", explained.problems);
        // A webhook sent twice without a dropped answer is still harmless (same webhook-id).
        deliveries.webhook.push(webhook(critical, Answer::Accepted));
        assert!(
            check(&Routing::default(), &deliveries, &[], lost)
                .problems
                .is_empty()
        );
    }

    #[test]
    fn a_low_notification_must_go_nowhere_and_an_expected_one_somewhere() {
        let (_, deliveries) = complete();
        let low = notification("n4", Severity::Low, "p4");
        let lost = notification("n5", Severity::High, "p5");
        let verdict = check(
            &Routing::default(),
            &deliveries,
            &[expected(&low), expected(&lost)],
            LostAnswers::default(),
        );
        assert_eq!(verdict.problems.len(), 2, "{:?}", verdict.problems);
        let mut sent_low = deliveries.clone();
        sent_low.slack.push(slack(&low, Answer::Accepted));
        let verdict = check(
            &Routing::default(),
            &sent_low,
            &[expected(&low)],
            LostAnswers::default(),
        );
        assert!(
            verdict
                .problems
                .iter()
                .any(|p| p.starts_with("ALERT SENT though routed nowhere")),
            "{:?}",
            verdict.problems
        );
    }
}
