//! Timers queue messages: how due timers are grouped into SQS messages and delayed so each
//! arrives in the second it is due.
//!
//! Timers due in the same second share one message (at most [`MAX_TIMERS_PER_MESSAGE`]), so
//! the executor publishes their events and clears their outbox with one request each. The
//! delay is the whole seconds until [`PICKUP_MARGIN_MS`] before the due time (SQS delays in
//! seconds, at most 15 minutes), so a message arrives 0.25–1.25 s early; the executor waits
//! out the rest.

use serde::{Deserialize, Serialize};

use crate::DueTimer;
use crate::Timestamp;
use crate::timer::TimerId;

/// Timers carried by one message.
pub const MAX_TIMERS_PER_MESSAGE: usize = 10;
/// The longest per-message delay SQS accepts.
pub const MAX_DELAY_SECONDS: i32 = 900;
/// How early, at the least, a delayed message arrives before its first timer is due: time for
/// the executor's poll to pick it up and its batch to begin (the store's breaker read) while
/// the timer waits, instead of after it was due. Without it a tenth of the messages would
/// arrive less than 100 ms early, and any pickup slower than that made their timers late.
/// Costs the executor this much more waiting per message (Lambda duration).
pub const PICKUP_MARGIN_MS: i64 = 250;

/// The JSON body of a timers queue message.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct TimerMessage {
    /// The timers it carries.
    pub timers: Vec<DueTimer>,
}

impl TimerMessage {
    /// The JSON body.
    pub fn to_body(&self) -> String {
        serde_json::to_string(self).expect("timer messages are always serialisable")
    }

    /// Parses a body strictly; the error says what is wrong with it. Beyond its JSON shape,
    /// a message carries 1 to [`MAX_TIMERS_PER_MESSAGE`] timers, and each names its campaign
    /// with a well-formed id, is called `<campaign>:<KIND>`, and has an effect its kind
    /// permits (so a legal transition): anything else is not a message we sent.
    pub fn parse(body: &str) -> Result<Self, MalformedTimerMessage> {
        let message: Self = serde_json::from_str(body)
            .map_err(|error| MalformedTimerMessage(format!("not a timer message: {error}")))?;
        if message.timers.is_empty() || message.timers.len() > MAX_TIMERS_PER_MESSAGE {
            return Err(MalformedTimerMessage(format!(
                "{} timers in one message (1 to {MAX_TIMERS_PER_MESSAGE} allowed)",
                message.timers.len()
            )));
        }
        for timer in &message.timers {
            check_timer(timer)?;
        }
        Ok(message)
    }
}

/// A timers queue message that is not one we sent; no retry can fix it.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{0}")]
pub struct MalformedTimerMessage(pub String);

/// One timer of a message: well-formed campaign id, matching timer id, permitted effect.
fn check_timer(timer: &DueTimer) -> Result<(), MalformedTimerMessage> {
    let bad = |problem: String| Err(MalformedTimerMessage(problem));
    if !timer.campaign_id.is_well_formed() {
        return bad(format!(
            "campaign id {:?} is malformed",
            timer.campaign_id.as_str()
        ));
    }
    let expected = TimerId::new(&timer.campaign_id, timer.kind);
    if timer.timer_id != expected {
        return bad(format!(
            "timer id {:?} does not name its campaign and kind ({expected})",
            timer.timer_id.as_str()
        ));
    }
    if !timer.kind.permits(timer.effect) {
        return bad(format!(
            "{} cannot have effect {:?}",
            timer.kind, timer.effect
        ));
    }
    Ok(())
}

/// A message ready to send: its timers and when the earliest of them is due.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct OutgoingMessage {
    /// When its earliest timer is due: its delay runs until then from the moment it is sent.
    pub first_due: Timestamp,
    /// The body.
    pub message: TimerMessage,
}

impl OutgoingMessage {
    /// Its SQS delay when sent at `now`: whole seconds until [`PICKUP_MARGIN_MS`] before its
    /// earliest timer, 0–[`MAX_DELAY_SECONDS`]. Taken at the moment of sending, since a delay
    /// taken earlier delivers the message late by the time in between.
    pub fn delay_seconds(&self, now: Timestamp) -> i32 {
        delay_seconds(self.first_due, now)
    }
}

/// Whole seconds from `now` until [`PICKUP_MARGIN_MS`] before `due`, clamped to what SQS
/// accepts.
pub fn delay_seconds(due: Timestamp, now: Timestamp) -> i32 {
    let seconds = (due.millis_since(now) - PICKUP_MARGIN_MS).div_euclid(1000);
    seconds.clamp(0, i64::from(MAX_DELAY_SECONDS)) as i32
}

/// Groups `timers` into messages: same due second together, at most
/// [`MAX_TIMERS_PER_MESSAGE`] each, in due order.
pub fn plan_messages(timers: &[DueTimer]) -> Vec<OutgoingMessage> {
    let mut sorted: Vec<&DueTimer> = timers.iter().collect();
    sorted.sort_by_key(|t| (t.due_at, t.timer_id.clone()));
    let mut messages: Vec<OutgoingMessage> = Vec::new();
    let mut current_second = None;
    for timer in sorted {
        let second = timer.due_at.epoch_seconds();
        let starts_new = match (current_second, messages.last()) {
            (Some(s), Some(last)) => {
                s != second || last.message.timers.len() >= MAX_TIMERS_PER_MESSAGE
            }
            _ => true,
        };
        if starts_new {
            // In due order, the first timer of a message is its earliest: it decides the
            // delay; later ones in the same second wait in the executor.
            messages.push(OutgoingMessage {
                first_due: timer.due_at,
                message: TimerMessage { timers: Vec::new() },
            });
            current_second = Some(second);
        }
        let last = messages.last_mut().expect("a message was just pushed");
        last.message.timers.push(timer.clone());
    }
    messages
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::{CampaignId, CampaignStatus, TimerEffect, TimerId, TimerKind};

    fn timer(campaign: &str, due_millis: i64) -> DueTimer {
        let campaign_id = CampaignId::new(campaign);
        DueTimer {
            timer_id: TimerId::new(&campaign_id, TimerKind::StartCampaign),
            campaign_id,
            kind: TimerKind::StartCampaign,
            due_at: Timestamp::from_millis(due_millis),
            effect: TimerEffect::Move {
                from: CampaignStatus::Scheduled,
                to: CampaignStatus::Running,
            },
            run_id: None,
            next_deadline: None,
        }
    }

    #[test]
    fn delay_is_whole_seconds_until_the_pickup_margin_clamped_to_sqs_limits() {
        let now = Timestamp::from_millis(10_000);
        assert_eq!(delay_seconds(Timestamp::from_millis(11_249), now), 0);
        assert_eq!(delay_seconds(Timestamp::from_millis(11_250), now), 1);
        assert_eq!(delay_seconds(Timestamp::from_millis(12_500), now), 2);
        assert_eq!(delay_seconds(Timestamp::from_millis(13_249), now), 2);
        assert_eq!(delay_seconds(Timestamp::from_millis(5_000), now), 0);
        assert_eq!(delay_seconds(Timestamp::from_millis(10_000_000), now), 900);
        // Every message arrives between the margin and a second more before it is due.
        for due in 11_250..20_000 {
            let due = Timestamp::from_millis(due);
            let early = due.millis_since(now) - i64::from(delay_seconds(due, now)) * 1000;
            assert!((PICKUP_MARGIN_MS..PICKUP_MARGIN_MS + 1000).contains(&early));
        }
    }

    #[test]
    fn timers_of_one_second_share_a_message_of_at_most_ten() {
        let now = Timestamp::from_millis(0);
        let mut timers: Vec<DueTimer> = (0..12)
            .map(|i| timer(&format!("c{i:02}"), 5_000 + i * 10))
            .collect();
        timers.push(timer("late", 6_200));
        let messages = plan_messages(&timers);
        let sizes: Vec<usize> = messages.iter().map(|m| m.message.timers.len()).collect();
        assert_eq!(sizes, vec![10, 2, 1]);
        let delays: Vec<i32> = messages.iter().map(|m| m.delay_seconds(now)).collect();
        assert_eq!(delays, vec![4, 4, 5]);
        let later: Vec<i32> = messages
            .iter()
            .map(|m| m.delay_seconds(now.plus_millis(1_500)))
            .collect();
        assert_eq!(later, vec![3, 3, 4], "counted from the moment of sending");
        let firsts: Vec<i64> = messages.iter().map(|m| m.first_due.millis()).collect();
        assert_eq!(firsts, vec![5_000, 5_100, 6_200]);
        assert_eq!(messages[2].message.timers[0].campaign_id.as_str(), "late");
    }

    #[test]
    fn bodies_round_trip_and_bad_bodies_are_rejected() {
        let message = TimerMessage {
            timers: vec![timer("c1", 1_000)],
        };
        let body = message.to_body();
        assert!(body.contains("\"effect\":\"MOVE\""), "{body}");
        assert_eq!(TimerMessage::parse(&body).unwrap(), message);
        assert!(TimerMessage::parse("{\"timers\":[{\"timerId\":1}]}").is_err());
    }

    /// Bodies that are valid JSON of the right shape but not messages we send.
    #[test]
    fn forged_messages_are_refused_with_the_reason() {
        let body = |timers: Vec<DueTimer>| TimerMessage { timers }.to_body();
        let forged_move = DueTimer {
            effect: TimerEffect::Move {
                from: CampaignStatus::Expired,
                to: CampaignStatus::Running,
            },
            ..timer("c1", 1_000)
        };
        let wrong_kind_effect = DueTimer {
            effect: TimerEffect::Remind,
            ..timer("c1", 1_000)
        };
        let other_campaign_id = DueTimer {
            timer_id: TimerId::new(&CampaignId::new("c2"), TimerKind::StartCampaign),
            ..timer("c1", 1_000)
        };
        let other_kind_id = DueTimer {
            timer_id: TimerId::new(&CampaignId::new("c1"), TimerKind::CloseCampaign),
            ..timer("c1", 1_000)
        };
        let bad_campaign = timer("c1:START_CAMPAIGN", 1_000);
        let eleven: Vec<DueTimer> = (0..11).map(|i| timer(&format!("c{i}"), 1_000)).collect();
        let cases = [
            (body(vec![forged_move]), "cannot have effect"),
            (body(vec![wrong_kind_effect]), "cannot have effect"),
            (body(vec![other_campaign_id]), "does not name its campaign"),
            (body(vec![other_kind_id]), "does not name its campaign"),
            (body(vec![bad_campaign]), "is malformed"),
            (body(vec![]), "0 timers"),
            (body(eleven), "11 timers"),
            ("not json".to_owned(), "not a timer message"),
        ];
        for (text, reason) in cases {
            let error = TimerMessage::parse(&text).unwrap_err();
            assert!(error.0.contains(reason), "{text}: {error}");
        }
        let ten: Vec<DueTimer> = (0..10).map(|i| timer(&format!("c{i}"), 1_000)).collect();
        assert_eq!(TimerMessage::parse(&body(ten)).unwrap().timers.len(), 10);
    }
}
