//! What a million recipients cost at list prices (US East, N. Virginia, on-demand, no free
//! tier), from the measured units per recipient:
//!
//! - DynamoDB on-demand: $0.625 per million write request units, $0.125 per million read
//!   request units (<https://aws.amazon.com/dynamodb/pricing/on-demand/>);
//! - SQS standard queues: $0.40 per million requests
//!   (<https://aws.amazon.com/sqs/pricing/>);
//! - EventBridge: $1.00 per million custom events put
//!   (<https://aws.amazon.com/eventbridge/pricing/>);
//! - S3 Standard: $0.0004 per 1,000 GET requests (<https://aws.amazon.com/s3/pricing/>);
//! - SES: $0.10 per 1,000 emails (<https://aws.amazon.com/ses/pricing/>).
//!
//! Lambda is left out (its cost depends on durations on AWS, which a local run does not
//! measure).

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

use crate::capacity::CapacityFigures;
use crate::results::round;

/// Dollars per write request unit.
const WRITE_UNIT: f64 = 0.625e-6;
/// Dollars per read request unit.
const READ_UNIT: f64 = 0.125e-6;
/// Dollars per SQS request.
const SQS_REQUEST: f64 = 0.40e-6;
/// Dollars per EventBridge event.
const EVENT: f64 = 1.0e-6;
/// Dollars per S3 GET.
const S3_GET: f64 = 0.0004e-3;
/// Dollars per email.
const EMAIL: f64 = 0.10e-3;

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
        dynamodb_writes: capacity.write_units_per_recipient * WRITE_UNIT * million,
        dynamodb_reads: capacity.read_units_per_recipient * READ_UNIT * million,
        sqs: sqs_requests * SQS_REQUEST * million,
        eventbridge: capacity.events_per_recipient * EVENT * million,
        s3: requests.get("S3.GetObject").copied().unwrap_or(0.0) * S3_GET * million,
        ses: emails_per_recipient * EMAIL * million,
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
