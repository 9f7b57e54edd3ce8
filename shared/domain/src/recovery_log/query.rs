//! A query of the recovery log, as `GET /recovery/events` takes it: a time range (`since`,
//! default the last 24 hours, at most [`MAX_LOOKBACK_DAYS`] back), optional category,
//! severity and campaign, a page size, and the token of the page before (the id of the last
//! entry it examined: entries are read newest first and ids are time-ordered).

use std::collections::BTreeMap;

use crate::alert::Severity;
use crate::recovery_log::entry::{EventCategory, event_time};
use crate::validation::FieldErrors;
use crate::{CampaignId, Timestamp};

/// Entries per page when the query names no limit.
pub const DEFAULT_LIMIT: usize = 50;
/// The largest page.
pub const MAX_LIMIT: usize = 100;
/// How far back `since` may reach (each day without a category or campaign filter is one
/// Query of its own day partition).
pub const MAX_LOOKBACK_DAYS: i64 = 90;
/// The default time range.
pub const DEFAULT_LOOKBACK_MS: i64 = 24 * 3_600_000;

/// A validated query.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct EventQuery {
    /// Entries at or after this time.
    pub since: Timestamp,
    /// Only this category.
    pub category: Option<EventCategory>,
    /// Only this severity.
    pub severity: Option<Severity>,
    /// Only entries about this campaign.
    pub campaign_id: Option<String>,
    /// At most this many entries.
    pub limit: usize,
    /// Only entries older than the entry with this id (the page token).
    pub before: Option<String>,
}

impl EventQuery {
    /// The query of the route's parameters at `now`; every problem is named by its parameter.
    pub fn from_params(
        params: &BTreeMap<String, String>,
        now: Timestamp,
    ) -> Result<Self, FieldErrors> {
        let mut errors = BTreeMap::new();
        let mut problem = |field: &str, message: String| {
            errors.insert(field.to_owned(), message);
        };
        let earliest = now.plus_millis(-MAX_LOOKBACK_DAYS * 24 * 3_600_000);
        let since = match params.get("since") {
            None => now.plus_millis(-DEFAULT_LOOKBACK_MS),
            Some(text) => match Timestamp::parse_rfc3339(text) {
                Ok(since) if since < earliest => {
                    problem(
                        "since",
                        format!("must be within the last {MAX_LOOKBACK_DAYS} days"),
                    );
                    earliest
                }
                Ok(since) => since,
                Err(_) => {
                    problem("since", "must be an RFC 3339 time".into());
                    earliest
                }
            },
        };
        let category = params.get("category").and_then(|text| {
            let parsed = EventCategory::parse(text);
            if parsed.is_none() {
                let names: Vec<&str> = EventCategory::ALL.iter().map(|c| c.as_str()).collect();
                problem("category", format!("must be one of {}", names.join(", ")));
            }
            parsed
        });
        let severity = params.get("severity").and_then(|text| {
            let parsed = Severity::parse(text);
            if parsed.is_none() {
                problem(
                    "severity",
                    "must be one of LOW, MEDIUM, HIGH, CRITICAL".into(),
                );
            }
            parsed
        });
        let campaign_id = params.get("campaignId").and_then(|text| {
            if CampaignId::new(text.as_str()).is_well_formed() {
                Some(text.clone())
            } else {
                problem("campaignId", "is not a campaign id".into());
                None
            }
        });
        let limit = match params.get("limit") {
            None => DEFAULT_LIMIT,
            Some(text) => match text.parse::<usize>() {
                Ok(limit) if (1..=MAX_LIMIT).contains(&limit) => limit,
                _ => {
                    problem(
                        "limit",
                        format!("must be a whole number from 1 to {MAX_LIMIT}"),
                    );
                    DEFAULT_LIMIT
                }
            },
        };
        let before = params.get("nextToken").and_then(|token| {
            if event_time(token).is_some() {
                Some(token.clone())
            } else {
                problem("nextToken", "is not a token this route gave".into());
                None
            }
        });
        if errors.is_empty() {
            Ok(Self {
                since,
                category,
                severity,
                campaign_id,
                limit,
                before,
            })
        } else {
            Err(FieldErrors(errors))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn params(pairs: &[(&str, &str)]) -> BTreeMap<String, String> {
        pairs
            .iter()
            .map(|(k, v)| ((*k).to_owned(), (*v).to_owned()))
            .collect()
    }

    const NOW: Timestamp = Timestamp::from_millis(1_800_000_000_000);

    #[test]
    fn defaults_to_the_last_day_fifty_at_a_time() {
        let query = EventQuery::from_params(&params(&[]), NOW).unwrap();
        assert_eq!(query.since, NOW.plus_millis(-86_400_000));
        assert_eq!(query.limit, DEFAULT_LIMIT);
        assert_eq!((query.category, query.severity), (None, None));
        assert_eq!((query.campaign_id, query.before), (None, None));
    }

    #[test]
    fn reads_every_filter() {
        let token = "1799999999000-abc";
        let query = EventQuery::from_params(
            &params(&[
                ("since", "2027-01-15T00:00:00Z"),
                ("category", "CIRCUIT_BREAKER"),
                ("severity", "HIGH"),
                ("campaignId", "spring-sale"),
                ("limit", "100"),
                ("nextToken", token),
            ]),
            NOW,
        )
        .unwrap();
        assert_eq!(
            query.since,
            Timestamp::parse_rfc3339("2027-01-15T00:00:00Z").unwrap()
        );
        assert_eq!(query.category, Some(EventCategory::CircuitBreaker));
        assert_eq!(query.severity, Some(Severity::High));
        assert_eq!(query.campaign_id.as_deref(), Some("spring-sale"));
        assert_eq!(query.limit, 100);
        assert_eq!(query.before.as_deref(), Some(token));
    }

    #[test]
    fn names_every_bad_parameter() {
        let too_old = NOW
            .plus_millis(-(MAX_LOOKBACK_DAYS * 24 * 3_600_000) - 1)
            .to_rfc3339();
        let FieldErrors(errors) = EventQuery::from_params(
            &params(&[
                ("since", &too_old),
                ("category", "NOPE"),
                ("severity", "URGENT"),
                ("campaignId", "has space"),
                ("limit", "101"),
                ("nextToken", "garbage"),
            ]),
            NOW,
        )
        .unwrap_err();
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "campaignId",
                "category",
                "limit",
                "nextToken",
                "severity",
                "since"
            ]
        );
        assert!(errors["since"].contains("90 days"), "{}", errors["since"]);
        for bad in [("limit", "0"), ("limit", "x"), ("since", "yesterday")] {
            assert!(
                EventQuery::from_params(&params(&[bad]), NOW).is_err(),
                "{bad:?}"
            );
        }
        let edge = NOW
            .plus_millis(-(MAX_LOOKBACK_DAYS * 24 * 3_600_000))
            .to_rfc3339();
        assert!(EventQuery::from_params(&params(&[("since", &edge)]), NOW).is_ok());
    }
}
