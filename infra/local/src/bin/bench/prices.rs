//! AWS list prices, the one place the bench and the cost model (`docs/cost.md`) read them
//! from: US East (N. Virginia), on-demand, no free tier, each with the public pricing page it
//! was read from. [`CHECKED`] is the date the table was last compared with those pages; a
//! price change is a change of this file, and `make cost` writes it into `docs/cost.md`.

/// One list price.
#[derive(Debug, Clone, Copy, PartialEq)]
pub(crate) struct Price {
    /// Dollars per `per` units.
    pub(crate) dollars: f64,
    /// How many units `dollars` buys (1,000,000 for "per million requests").
    pub(crate) per: f64,
    /// The unit, as the pricing page names it.
    pub(crate) unit: &'static str,
    /// The service and the item, for the document's table.
    pub(crate) item: &'static str,
    /// The pricing page.
    pub(crate) source: &'static str,
}

impl Price {
    /// Dollars for one unit.
    pub(crate) fn each(&self) -> f64 {
        self.dollars / self.per
    }

    /// The price as the page gives it, e.g. `$0.625 per million write request units`.
    pub(crate) fn label(&self) -> String {
        let per = match self.per {
            1.0 => String::new(),
            1000.0 => "1,000 ".into(),
            10_000.0 => "10,000 ".into(),
            1_000_000.0 => "million ".into(),
            other => format!("{other} "),
        };
        let dollars = self.dollars.to_string();
        let decimals = dollars.split_once('.').map_or(0, |(_, d)| d.len());
        let dollars = if decimals < 2 {
            format!("{:.2}", self.dollars)
        } else {
            dollars
        };
        format!("${dollars} per {per}{}", self.unit)
    }
}

/// When the prices below were last compared with their pages.
pub(crate) const CHECKED: &str = "2026-12-04";
/// Where they apply.
pub(crate) const REGION: &str = "US East (N. Virginia), on-demand, no free tier";

const DYNAMODB: &str = "https://aws.amazon.com/dynamodb/pricing/on-demand/";
const LAMBDA: &str = "https://aws.amazon.com/lambda/pricing/";
const SQS: &str = "https://aws.amazon.com/sqs/pricing/";
const EVENTBRIDGE: &str = "https://aws.amazon.com/eventbridge/pricing/";
const CLOUDWATCH: &str = "https://aws.amazon.com/cloudwatch/pricing/";

/// DynamoDB on-demand writes.
pub(crate) const DYNAMODB_WRITE: Price = Price {
    dollars: 0.625,
    per: 1e6,
    unit: "write request units",
    item: "DynamoDB on-demand writes",
    source: DYNAMODB,
};
/// DynamoDB on-demand reads.
pub(crate) const DYNAMODB_READ: Price = Price {
    dollars: 0.125,
    per: 1e6,
    unit: "read request units",
    item: "DynamoDB on-demand reads",
    source: DYNAMODB,
};
/// DynamoDB storage, Standard table class (indexes' projections included).
pub(crate) const DYNAMODB_STORAGE: Price = Price {
    dollars: 0.25,
    per: 1.0,
    unit: "GB-month",
    item: "DynamoDB storage (Standard table class)",
    source: DYNAMODB,
};
/// Point-in-time recovery (continuous backups), by the table's size.
pub(crate) const DYNAMODB_PITR: Price = Price {
    dollars: 0.20,
    per: 1.0,
    unit: "GB-month",
    item: "DynamoDB point-in-time recovery",
    source: DYNAMODB,
};
/// Lambda requests.
pub(crate) const LAMBDA_REQUEST: Price = Price {
    dollars: 0.20,
    per: 1e6,
    unit: "requests",
    item: "Lambda requests",
    source: LAMBDA,
};
/// Lambda duration on arm64 (the first tier).
pub(crate) const LAMBDA_ARM_GB_SECOND: Price = Price {
    dollars: 0.000_013_333_4,
    per: 1.0,
    unit: "GB-second",
    item: "Lambda duration, arm64",
    source: LAMBDA,
};
/// SQS standard queue requests (each 64 KB chunk of a payload is a request).
pub(crate) const SQS_REQUEST: Price = Price {
    dollars: 0.40,
    per: 1e6,
    unit: "requests",
    item: "SQS standard queue requests",
    source: SQS,
};
/// EventBridge custom events put on a bus (each 64 KB chunk is an event).
pub(crate) const EVENTBRIDGE_EVENT: Price = Price {
    dollars: 1.00,
    per: 1e6,
    unit: "custom events",
    item: "EventBridge custom events",
    source: EVENTBRIDGE,
};
/// EventBridge Scheduler invocations (for comparison; the stack uses none).
pub(crate) const SCHEDULER_INVOCATION: Price = Price {
    dollars: 1.00,
    per: 1e6,
    unit: "scheduled invocations",
    item: "EventBridge Scheduler (comparison)",
    source: EVENTBRIDGE,
};
/// Step Functions Standard workflows (for comparison; the stack uses none).
pub(crate) const STEP_FUNCTIONS_TRANSITION: Price = Price {
    dollars: 25.0,
    per: 1e6,
    unit: "state transitions",
    item: "Step Functions Standard (comparison)",
    source: "https://aws.amazon.com/step-functions/pricing/",
};
/// S3 Standard GET requests.
pub(crate) const S3_GET: Price = Price {
    dollars: 0.0004,
    per: 1000.0,
    unit: "GET requests",
    item: "S3 Standard GET",
    source: "https://aws.amazon.com/s3/pricing/",
};
/// SES outbound email.
pub(crate) const SES_EMAIL: Price = Price {
    dollars: 0.10,
    per: 1000.0,
    unit: "emails",
    item: "SES outbound email",
    source: "https://aws.amazon.com/ses/pricing/",
};
/// CloudWatch custom metrics (EMF included), the first 10,000.
pub(crate) const CLOUDWATCH_METRIC: Price = Price {
    dollars: 0.30,
    per: 1.0,
    unit: "metric-month",
    item: "CloudWatch custom metrics (first 10,000)",
    source: CLOUDWATCH,
};
/// A standard-resolution (60 s) alarm, per metric it evaluates.
pub(crate) const CLOUDWATCH_ALARM: Price = Price {
    dollars: 0.10,
    per: 1.0,
    unit: "alarm metric-month",
    item: "CloudWatch standard-resolution alarm",
    source: CLOUDWATCH,
};
/// A high-resolution (10 s) alarm, per metric it evaluates.
pub(crate) const CLOUDWATCH_HIGH_RES_ALARM: Price = Price {
    dollars: 0.30,
    per: 1.0,
    unit: "alarm metric-month",
    item: "CloudWatch high-resolution alarm",
    source: CLOUDWATCH,
};
/// A CloudWatch dashboard.
pub(crate) const CLOUDWATCH_DASHBOARD: Price = Price {
    dollars: 3.00,
    per: 1.0,
    unit: "dashboard-month",
    item: "CloudWatch dashboard",
    source: CLOUDWATCH,
};
/// CloudWatch Logs ingestion (Standard log class).
pub(crate) const LOGS_INGESTION: Price = Price {
    dollars: 0.50,
    per: 1.0,
    unit: "GB ingested",
    item: "CloudWatch Logs ingestion",
    source: CLOUDWATCH,
};
/// CloudWatch Logs storage.
pub(crate) const LOGS_STORAGE: Price = Price {
    dollars: 0.03,
    per: 1.0,
    unit: "GB-month stored",
    item: "CloudWatch Logs storage",
    source: CLOUDWATCH,
};
/// A KMS customer managed key (each of its first two automatic rotations adds as much).
pub(crate) const KMS_KEY: Price = Price {
    dollars: 1.00,
    per: 1.0,
    unit: "key-month",
    item: "KMS customer managed key",
    source: "https://aws.amazon.com/kms/pricing/",
};

/// Every price, in the order `docs/cost.md` lists them.
pub(crate) const ALL: [&Price; 19] = [
    &DYNAMODB_WRITE,
    &DYNAMODB_READ,
    &DYNAMODB_STORAGE,
    &DYNAMODB_PITR,
    &LAMBDA_REQUEST,
    &LAMBDA_ARM_GB_SECOND,
    &SQS_REQUEST,
    &EVENTBRIDGE_EVENT,
    &S3_GET,
    &SES_EMAIL,
    &CLOUDWATCH_METRIC,
    &CLOUDWATCH_ALARM,
    &CLOUDWATCH_HIGH_RES_ALARM,
    &CLOUDWATCH_DASHBOARD,
    &LOGS_INGESTION,
    &LOGS_STORAGE,
    &KMS_KEY,
    &SCHEDULER_INVOCATION,
    &STEP_FUNCTIONS_TRANSITION,
];

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_price_is_listed_once_from_an_aws_pricing_page() {
        for (i, price) in ALL.iter().enumerate() {
            assert!(
                price.source.starts_with("https://aws.amazon.com/")
                    && price.source.contains("/pricing/"),
                "{}: {}",
                price.item,
                price.source
            );
            assert!(price.dollars > 0.0 && price.per >= 1.0, "{}", price.item);
            assert!(
                ALL[..i].iter().all(|other| other.item != price.item),
                "{} listed twice",
                price.item
            );
        }
    }

    #[test]
    fn labels_and_unit_prices() {
        assert_eq!(
            DYNAMODB_WRITE.label(),
            "$0.625 per million write request units"
        );
        assert_eq!(SES_EMAIL.label(), "$0.10 per 1,000 emails");
        assert_eq!(KMS_KEY.label(), "$1.00 per key-month");
        assert_eq!(LAMBDA_ARM_GB_SECOND.label(), "$0.0000133334 per GB-second");
        assert!((SES_EMAIL.each() - 0.0001).abs() < 1e-15);
        assert!((DYNAMODB_WRITE.each() - 0.625e-6).abs() < 1e-18);
    }
}
