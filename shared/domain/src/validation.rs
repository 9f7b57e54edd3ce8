//! Validation of a new campaign: every problem is reported against its field, all at once.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::Timestamp;
use crate::campaign::{Campaign, CampaignId, CampaignStatus};

/// Longest accepted campaign name, in characters.
pub const MAX_NAME_CHARS: usize = 200;
/// How far in the past a start time may be (clock skew, slow clients): one hour.
pub const MAX_PAST_MILLIS: i64 = 60 * 60 * 1000;
/// How far in the future any time may be: ten years.
pub const MAX_FUTURE_MILLIS: i64 = 10 * 366 * 24 * 60 * 60 * 1000;

/// A campaign as requested, before validation (times are RFC 3339 text).
#[derive(Debug, Clone, Default, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct NewCampaign {
    /// The display name (required).
    pub name: Option<String>,
    /// When it starts (required).
    pub start_at: Option<String>,
    /// When it ends (required).
    pub end_at: Option<String>,
    /// End of the reward claim window (optional).
    pub claim_until: Option<String>,
    /// When to remind of the reward (optional; needs a claim window).
    pub reward_reminder_at: Option<String>,
    /// What each run sends, to whom (optional).
    pub delivery: Option<crate::delivery::NewDelivery>,
    /// Its recurring series (optional): one run per occurrence.
    pub schedule: Option<crate::recurrence::NewSchedule>,
}

/// Field name → what is wrong with it.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, thiserror::Error)]
#[error("invalid campaign: {}", describe(.0))]
pub struct FieldErrors(pub BTreeMap<String, String>);

fn describe(errors: &BTreeMap<String, String>) -> String {
    errors
        .iter()
        .map(|(field, message)| format!("{field} {message}"))
        .collect::<Vec<_>>()
        .join("; ")
}

impl FieldErrors {
    /// Records `message` against `field`, unless the field already has a problem.
    pub fn add(&mut self, field: impl Into<String>, message: impl Into<String>) {
        self.0.entry(field.into()).or_insert_with(|| message.into());
    }

    /// Whether no problem was found.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }
}

/// A campaign that passed validation; turn it into a stored [`Campaign`] with [`ValidatedCampaign::into_campaign`].
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ValidatedCampaign {
    /// The name, trimmed.
    pub name: String,
    /// When it starts.
    pub start_at: Timestamp,
    /// When it ends (after the start).
    pub end_at: Timestamp,
    /// End of the reward claim window (after the end), if any.
    pub claim_until: Option<Timestamp>,
    /// When to remind of the reward (inside the claim window), if any.
    pub reward_reminder_at: Option<Timestamp>,
    /// The delivery, if any (an inline list still to be stored by the caller).
    pub delivery: Option<crate::delivery::DeliverySpec>,
    /// The recurring series, if any (inside the campaign's window).
    pub schedule: Option<crate::recurrence::Series>,
}

impl NewCampaign {
    /// Checks every rule against `now`: name non-empty, at most [`MAX_NAME_CHARS`] and free
    /// of control characters;
    /// times RFC 3339, start not more than an hour ago, nothing more than ten years ahead;
    /// end after start (and in the future); claim window end after end; reminder strictly
    /// inside the claim window (and only with one).
    pub fn validate(&self, now: Timestamp) -> Result<ValidatedCampaign, FieldErrors> {
        let mut errors = FieldErrors::default();
        let name = self.name.as_deref().map(str::trim).unwrap_or_default();
        if name.is_empty() {
            errors.add("name", "is required and must not be blank");
        } else if name.chars().count() > MAX_NAME_CHARS {
            errors.add(
                "name",
                format!("must be at most {MAX_NAME_CHARS} characters"),
            );
        } else if name.chars().any(char::is_control) {
            errors.add(
                "name",
                "must not contain control characters (e.g. NUL, tab, line breaks)",
            );
        }
        let start_at = required_time(&mut errors, "startAt", self.start_at.as_deref(), now);
        let end_at = required_time(&mut errors, "endAt", self.end_at.as_deref(), now);
        let claim_until =
            optional_time(&mut errors, "claimUntil", self.claim_until.as_deref(), now);
        let reward_reminder_at = optional_time(
            &mut errors,
            "rewardReminderAt",
            self.reward_reminder_at.as_deref(),
            now,
        );

        if let Some(start) = start_at
            && start.millis_since(now) < -MAX_PAST_MILLIS
        {
            errors.add("startAt", "must not be more than one hour in the past");
        }
        if let (Some(start), Some(end)) = (start_at, end_at) {
            if end <= start {
                errors.add("endAt", "must be after startAt");
            } else if end <= now {
                errors.add("endAt", "must be in the future");
            }
        }
        if let (Some(end), Some(claim)) = (end_at, claim_until)
            && claim <= end
        {
            errors.add("claimUntil", "must be after endAt");
        }
        if let Some(remind) = reward_reminder_at {
            match (end_at, claim_until) {
                (_, None) => errors.add("rewardReminderAt", "needs a claim window (claimUntil)"),
                (Some(end), Some(claim)) if remind <= end || remind >= claim => errors.add(
                    "rewardReminderAt",
                    "must be inside the claim window (after endAt, before claimUntil)",
                ),
                _ => {}
            }
        }
        let delivery = self
            .delivery
            .as_ref()
            .and_then(|delivery| delivery.validate(&mut errors));
        let window = match (start_at, end_at) {
            (Some(start), Some(end)) if start < end => Some((start, end)),
            _ => None,
        };
        let schedule = self
            .schedule
            .as_ref()
            .and_then(|schedule| schedule.validate(now, window, &mut errors));
        if self.schedule.is_some() && self.delivery.is_none() {
            errors.add(
                "schedule",
                "needs a delivery: each occurrence of the series is one run of it",
            );
        }
        match (errors.0.is_empty(), start_at, end_at) {
            (true, Some(start_at), Some(end_at)) => Ok(ValidatedCampaign {
                name: name.to_owned(),
                start_at,
                end_at,
                claim_until,
                reward_reminder_at,
                delivery,
                schedule,
            }),
            _ => Err(errors),
        }
    }
}

impl ValidatedCampaign {
    /// A new SCHEDULED campaign at version 1 delivering `delivery` (the validated
    /// [`ValidatedCampaign::delivery`] with its list stored).
    pub fn into_campaign(
        self,
        id: CampaignId,
        delivery: Option<crate::delivery::CampaignDelivery>,
        now: Timestamp,
    ) -> Campaign {
        Campaign {
            id,
            name: self.name,
            status: CampaignStatus::Scheduled,
            start_at: self.start_at,
            end_at: self.end_at,
            claim_until: self.claim_until,
            reward_reminder_at: self.reward_reminder_at,
            delivery,
            series_progress: crate::recurrence::SeriesProgress {
                next_occurrence: self
                    .schedule
                    .as_ref()
                    .and_then(crate::recurrence::Series::first_occurrence),
                ..Default::default()
            },
            schedule: self.schedule,
            version: 1,
            created_at: now,
            updated_at: now,
        }
    }
}

fn required_time(
    errors: &mut FieldErrors,
    field: &'static str,
    text: Option<&str>,
    now: Timestamp,
) -> Option<Timestamp> {
    if text.is_none() {
        errors.add(field, "is required (RFC 3339, e.g. 2026-11-23T09:00:00Z)");
    }
    optional_time(errors, field, text, now)
}

/// An optional RFC 3339 time at most ten years after `now`; `None` when absent or bad (a bad
/// one is recorded against `field`).
pub(crate) fn optional_time(
    errors: &mut FieldErrors,
    field: &'static str,
    text: Option<&str>,
    now: Timestamp,
) -> Option<Timestamp> {
    let parsed = match Timestamp::parse_rfc3339(text?) {
        Ok(t) => t,
        Err(e) => {
            errors.add(field, e.to_string());
            return None;
        }
    };
    if parsed.millis_since(now) > MAX_FUTURE_MILLIS {
        errors.add(field, "must not be more than ten years in the future");
        return None;
    }
    Some(parsed)
}

#[cfg(test)]
mod tests {
    use super::*;

    const NOW: &str = "2026-11-23T09:00:00Z";

    fn now() -> Timestamp {
        Timestamp::parse_rfc3339(NOW).unwrap()
    }

    fn input(start: &str, end: &str) -> NewCampaign {
        NewCampaign {
            name: Some("Black Friday".into()),
            start_at: Some(start.into()),
            end_at: Some(end.into()),
            ..Default::default()
        }
    }

    fn fields(result: Result<ValidatedCampaign, FieldErrors>) -> Vec<String> {
        result.unwrap_err().0.into_keys().collect()
    }

    #[test]
    fn a_schedule_is_validated_inside_the_campaigns_window() {
        let mut request = input("2026-11-30T00:00:00Z", "2026-12-31T00:00:00Z");
        request.schedule = serde_json::from_value(serde_json::json!({
            "cron": "0 9 * * MON", "timezone": "Europe/Berlin"
        }))
        .unwrap();
        assert_eq!(
            request.validate(now()).unwrap_err().0["schedule"],
            "needs a delivery: each occurrence of the series is one run of it"
        );
        request.delivery = serde_json::from_value(serde_json::json!({
            "channel": "event", "recipients": [{"id": "u1", "address": "user-1"}]
        }))
        .unwrap();
        let series = request.validate(now()).unwrap().schedule.unwrap();
        assert_eq!(series.timezone, "Europe/Berlin");
        assert_eq!(
            (series.start_at, series.end_at),
            (
                Timestamp::parse_rfc3339("2026-11-30T00:00:00Z").unwrap(),
                Some(Timestamp::parse_rfc3339("2026-12-30T23:59:59.999Z").unwrap())
            )
        );
        let campaign =
            request
                .validate(now())
                .unwrap()
                .into_campaign(CampaignId::new("c"), None, now());
        assert_eq!(campaign.schedule, Some(series));

        let mut bad = input("2026-11-30T00:00:00Z", "not a time");
        bad.schedule = serde_json::from_value(serde_json::json!({"cron": "0 9 * *"})).unwrap();
        assert_eq!(
            fields(bad.validate(now())),
            vec![
                "endAt".to_owned(),
                "schedule".to_owned(),
                "schedule.cron".to_owned()
            ],
            "both named, the schedule checked without the window"
        );
    }

    #[test]
    fn a_delivery_is_validated_with_the_campaign_and_its_problems_named_beside_theirs() {
        let mut request = input("2026-11-23T10:00:00Z", "2026-11-23T09:30:00Z");
        request.delivery = serde_json::from_value(serde_json::json!({
            "channel": "email", "from": "not an address", "subject": "Hi",
            "text": "Hello {{name}}",
            "recipients": [{"id": "r1", "address": "ann@example.com", "vars": {"name": "Ann"}}],
        }))
        .unwrap();
        assert_eq!(
            fields(request.validate(now())),
            vec!["delivery.from".to_owned(), "endAt".to_owned()]
        );
        let mut good = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        good.delivery = serde_json::from_value(serde_json::json!({
            "channel": "event",
            "recipients": [{"id": "r1", "address": "member-1"}],
        }))
        .unwrap();
        let validated = good.validate(now()).unwrap();
        let spec = validated.delivery.clone().expect("a delivery");
        assert!(
            matches!(spec.recipients, crate::delivery::Recipients::Inline(ref list) if list.len() == 1)
        );
        assert_eq!(
            input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z")
                .validate(now())
                .unwrap()
                .delivery,
            None
        );
    }

    #[test]
    fn field_errors_are_empty_only_until_a_problem_is_added() {
        let mut errors = FieldErrors::default();
        assert!(errors.is_empty());
        errors.add("name", "is required");
        errors.add("name", "a second problem is not kept");
        assert!(!errors.is_empty());
        assert_eq!(errors.0["name"], "is required");
    }

    #[test]
    fn accepts_a_plain_campaign() {
        let ok = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z")
            .validate(now())
            .unwrap();
        assert_eq!(ok.name, "Black Friday");
        assert_eq!(ok.claim_until, None);
    }

    #[test]
    fn accepts_a_claim_window_with_a_reminder_inside() {
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.claim_until = Some("2026-11-30T10:00:00Z".into());
        c.reward_reminder_at = Some("2026-11-29T10:00:00Z".into());
        let ok = c.validate(now()).unwrap();
        assert!(ok.claim_until.is_some() && ok.reward_reminder_at.is_some());
    }

    #[test]
    fn end_must_follow_start() {
        let c = input("2026-11-23T10:00:00Z", "2026-11-23T10:00:00Z");
        assert_eq!(fields(c.validate(now())), vec!["endAt"]);
    }

    #[test]
    fn claim_window_must_follow_end() {
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.claim_until = Some("2026-11-24T09:00:00Z".into());
        assert_eq!(fields(c.validate(now())), vec!["claimUntil"]);
    }

    #[test]
    fn reminder_must_be_inside_the_claim_window() {
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.reward_reminder_at = Some("2026-11-24T12:00:00Z".into());
        assert_eq!(fields(c.clone().validate(now())), vec!["rewardReminderAt"]);
        c.claim_until = Some("2026-11-30T10:00:00Z".into());
        c.reward_reminder_at = Some("2026-12-01T10:00:00Z".into());
        assert_eq!(fields(c.validate(now())), vec!["rewardReminderAt"]);
    }

    #[test]
    fn reports_every_bad_field_at_once() {
        let c = NewCampaign {
            name: Some("   ".into()),
            start_at: Some("tomorrow".into()),
            ..Default::default()
        };
        assert_eq!(fields(c.validate(now())), vec!["endAt", "name", "startAt"]);
    }

    #[test]
    fn rejects_names_that_are_too_long() {
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.name = Some("x".repeat(MAX_NAME_CHARS + 1));
        assert_eq!(fields(c.validate(now())), vec!["name"]);
    }

    #[test]
    fn rejects_control_characters_in_names() {
        for name in [
            "\u{0}\u{0}",
            "Black\nFriday",
            "Sale\tday",
            "Sale\u{7f}",
            "Sa\u{85}le",
        ] {
            let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
            c.name = Some(name.into());
            assert_eq!(fields(c.validate(now())), vec!["name"], "{name:?}");
        }
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.name = Some("  Été 2026 — ½ price 🎉  ".into());
        assert_eq!(c.validate(now()).unwrap().name, "Été 2026 — ½ price 🎉");
    }

    #[test]
    fn rejects_absurd_times() {
        let c = input("2026-11-20T10:00:00Z", "2026-11-24T10:00:00Z");
        assert_eq!(fields(c.validate(now())), vec!["startAt"]);
        let c = input("2026-11-23T10:00:00Z", "2046-11-24T10:00:00Z");
        assert_eq!(fields(c.validate(now())), vec!["endAt"]);
        let c = input("2026-11-23T08:30:00Z", "2026-11-23T08:45:00Z");
        assert_eq!(fields(c.validate(now())), vec!["endAt"]);
    }

    #[test]
    fn names_of_exactly_the_limit_are_accepted() {
        let mut c = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z");
        c.name = Some("é".repeat(MAX_NAME_CHARS));
        assert_eq!(
            c.validate(now()).unwrap().name.chars().count(),
            MAX_NAME_CHARS
        );
    }

    #[test]
    fn a_start_exactly_one_hour_ago_is_accepted_and_a_millisecond_earlier_is_not() {
        let c = input("2026-11-23T08:00:00Z", "2026-11-24T10:00:00Z");
        assert!(c.validate(now()).is_ok());
        let c = input("2026-11-23T07:59:59.999Z", "2026-11-24T10:00:00Z");
        assert_eq!(fields(c.validate(now())), vec!["startAt"]);
    }

    #[test]
    fn times_up_to_ten_years_ahead_are_accepted() {
        let limit = now().plus_millis(MAX_FUTURE_MILLIS);
        let mut c = input("2026-11-23T10:00:00Z", "2035-11-23T10:00:00Z");
        c.claim_until = Some(limit.to_rfc3339());
        assert!(c.clone().validate(now()).is_ok());
        c.claim_until = Some(limit.plus_millis(1).to_rfc3339());
        assert_eq!(fields(c.validate(now())), vec!["claimUntil"]);
        // Ten years, counted with a leap day in each.
        assert_eq!(MAX_FUTURE_MILLIS, 3660 * 86_400_000);
    }

    #[test]
    fn the_error_names_every_field_and_its_problem() {
        let c = NewCampaign {
            name: Some("ok".into()),
            start_at: Some("2026-11-23T10:00:00Z".into()),
            end_at: Some("2026-11-23T10:00:00Z".into()),
            claim_until: Some("soon".into()),
            ..Default::default()
        };
        let error = c.validate(now()).unwrap_err();
        assert_eq!(
            error.to_string(),
            "invalid campaign: claimUntil not an RFC 3339 date-time (example: 2026-11-23T09:00:00Z); \
             endAt must be after startAt"
        );
    }

    #[test]
    fn new_campaigns_are_scheduled_at_version_one() {
        let ok = input("2026-11-23T10:00:00Z", "2026-11-24T10:00:00Z")
            .validate(now())
            .unwrap();
        let campaign = ok.into_campaign(CampaignId::new("c"), None, now());
        assert_eq!(
            (campaign.status, campaign.version),
            (CampaignStatus::Scheduled, 1)
        );
    }
}
