//! What a million recipients cost at list prices, from the measured units per recipient:
//! DynamoDB write and read units, SQS requests, EventBridge events, S3 GETs and one SES email
//! per recipient sent, each at its price in [`crate::prices`] (the one table of list prices;
//! sources and date there).
//!
//! Lambda is left out here (its cost depends on durations on AWS, which a local run does not
//! measure); `docs/cost.md` ([`crate::cost_model`]) adds it under stated assumptions.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityFigures;
use crate::prices::{
    DYNAMODB_READ, DYNAMODB_WRITE, EVENTBRIDGE_EVENT, S3_GET, SES_EMAIL, SQS_REQUEST,
};
use crate::results::round;

/// Dollars per million recipients, by service.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub(crate) struct CostPerMillion {
    pub(crate) dynamodb_writes: f64,
    pub(crate) dynamodb_reads: f64,
    /// The functions' SQS requests, plus the event source mappings' receives that returned
    /// messages and their deletes (idle polling is left out: on AWS it is long polling, a
    /// cost per poller and hour, not per recipient).
    pub(crate) sqs: f64,
    pub(crate) eventbridge: f64,
    pub(crate) s3: f64,
    /// Everything above.
    pub(crate) without_ses: f64,
    /// SES for one email per recipient sent.
    pub(crate) ses: f64,
    pub(crate) with_ses: f64,
    /// SQS requests counted per recipient (the basis of `sqs`).
    pub(crate) sqs_requests_per_recipient: f64,
}

/// The cost per million recipients of `capacity`, the functions' requests per recipient
/// (`requests`, by `Service.Operation`) and the platform's (`platform`); `emails_per_recipient`
/// is the share of recipients sent an email.
pub(crate) fn per_million(
    capacity: &CapacityFigures,
    requests: &BTreeMap<String, f64>,
    platform: &BTreeMap<String, f64>,
    emails_per_recipient: f64,
) -> CostPerMillion {
    let sum = |map: &BTreeMap<String, f64>, prefix: &str| -> f64 {
        map.iter()
            .filter(|(op, _)| op.starts_with(prefix))
            .map(|(_, n)| n)
            .sum()
    };
    let deletes = sum(platform, "SQS.Delete");
    let sqs_requests =
        sum(requests, "SQS.") + capacity.receives_with_messages_per_recipient + deletes;
    let million = 1.0e6;
    let mut cost = CostPerMillion {
        dynamodb_writes: capacity.write_units_per_recipient * DYNAMODB_WRITE.each() * million,
        dynamodb_reads: capacity.read_units_per_recipient * DYNAMODB_READ.each() * million,
        sqs: sqs_requests * SQS_REQUEST.each() * million,
        eventbridge: capacity.events_per_recipient * EVENTBRIDGE_EVENT.each() * million,
        s3: requests.get("S3.GetObject").copied().unwrap_or(0.0) * S3_GET.each() * million,
        ses: emails_per_recipient * SES_EMAIL.each() * million,
        sqs_requests_per_recipient: round(sqs_requests),
        ..CostPerMillion::default()
    };
    cost.without_ses =
        cost.dynamodb_writes + cost.dynamodb_reads + cost.sqs + cost.eventbridge + cost.s3;
    cost.with_ses = cost.without_ses + cost.ses;
    for value in [
        &mut cost.dynamodb_writes,
        &mut cost.dynamodb_reads,
        &mut cost.sqs,
        &mut cost.eventbridge,
        &mut cost.s3,
        &mut cost.without_ses,
        &mut cost.ses,
        &mut cost.with_ses,
    ] {
        *value = round(*value);
    }
    cost
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn prices_a_million_recipients_from_units_per_recipient() {
        let capacity = CapacityFigures {
            write_units_per_recipient: 4.0,
            read_units_per_recipient: 2.0,
            events_per_recipient: 0.5,
            receives_with_messages_per_recipient: 0.02,
            ..CapacityFigures::default()
        };
        let requests = BTreeMap::from([
            ("SQS.SendMessageBatch".to_owned(), 0.01),
            ("S3.GetObject".to_owned(), 0.5),
            ("DynamoDB.GetItem".to_owned(), 9.0),
        ]);
        let platform = BTreeMap::from([
            ("SQS.DeleteMessageBatch".to_owned(), 0.02),
            ("SQS.ReceiveMessage".to_owned(), 7.0),
        ]);
        let cost = per_million(&capacity, &requests, &platform, 1.0);
        assert_eq!(cost.dynamodb_writes, 2.5);
        assert_eq!(cost.dynamodb_reads, 0.25);
        // 0.01 sent + 0.02 receives with messages + 0.02 deletes; empty receives left out.
        assert_eq!(cost.sqs_requests_per_recipient, 0.05);
        assert_eq!(cost.sqs, 0.02);
        assert_eq!(cost.eventbridge, 0.5);
        assert_eq!(cost.s3, 0.2);
        assert_eq!(cost.without_ses, 3.47);
        assert_eq!(cost.ses, 100.0);
        assert_eq!(cost.with_ses, 103.47);
    }
}
