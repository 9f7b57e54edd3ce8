//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: on Lambda (JSON logs) each
//! metric set is printed as one JSON line on stdout and CloudWatch Logs extracts the metrics —
//! no PutMetricData request on any path. With text logs (local runs) the set is logged at
//! debug level instead. Namespace `CampaignLifecycle`, dimension `Function` (plus any extra).

use serde_json::{Map, Value, json};

use crate::LogFormat;
use lifecycle_domain::Timestamp;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "CampaignLifecycle";
/// Values per metric and line (the EMF limit).
const MAX_VALUES: usize = 100;

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    Count,
    Milliseconds,
    /// A ratio or other unitless value.
    None,
}

impl Unit {
    fn as_str(self) -> &'static str {
        match self {
            Unit::Count => "Count",
            Unit::Milliseconds => "Milliseconds",
            Unit::None => "None",
        }
    }
}

/// One metric and its values (at most 100 are sent per line).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    pub name: &'static str,
    pub unit: Unit,
    pub values: Vec<f64>,
}

impl Metric {
    /// A metric with one value.
    pub fn one(name: &'static str, unit: Unit, value: f64) -> Self {
        Self {
            name,
            unit,
            values: vec![value],
        }
    }
}

/// The EMF line of `metrics` for `function` (and `dimensions`) at `at`.
pub fn emf_line(
    function: &str,
    dimensions: &[(&str, &str)],
    metrics: &[Metric],
    at: Timestamp,
) -> String {
    let mut names = vec![Value::from("Function")];
    names.extend(dimensions.iter().map(|(name, _)| Value::from(*name)));
    let definitions: Vec<Value> = metrics
        .iter()
        .map(|m| json!({"Name": m.name, "Unit": m.unit.as_str()}))
        .collect();
    let mut line = Map::new();
    line.insert(
        "_aws".into(),
        json!({
            "Timestamp": at.millis(),
            "CloudWatchMetrics": [{
                "Namespace": NAMESPACE,
                "Dimensions": [names],
                "Metrics": definitions,
            }],
        }),
    );
    line.insert("Function".into(), Value::from(function));
    for (name, value) in dimensions {
        line.insert((*name).into(), Value::from(*value));
    }
    for metric in metrics {
        let values: Vec<f64> = metric.values.iter().copied().take(MAX_VALUES).collect();
        let value = match values.as_slice() {
            [single] => Value::from(*single),
            _ => Value::from(values),
        };
        line.insert(metric.name.into(), value);
    }
    Value::Object(line).to_string()
}

/// Emits `metrics` (skipping empty ones) as an EMF line, or a debug log with text logs.
pub fn emit(format: LogFormat, function: &str, dimensions: &[(&str, &str)], metrics: &[Metric]) {
    let metrics: Vec<Metric> = metrics
        .iter()
        .filter(|m| !m.values.is_empty())
        .cloned()
        .collect();
    if metrics.is_empty() {
        return;
    }
    let line = emf_line(function, dimensions, &metrics, Timestamp::now());
    match format {
        LogFormat::Json => println!("{line}"),
        LogFormat::Text => tracing::debug!(metrics = line, "metrics"),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn writes_the_embedded_metric_format() {
        let line = emf_line(
            "sweeper",
            &[("TimerKind", "START_CAMPAIGN")],
            &[
                Metric::one("TimersRecovered", Unit::Count, 3.0),
                Metric {
                    name: "TimerLagMs",
                    unit: Unit::Milliseconds,
                    values: vec![1.0, 2.0],
                },
            ],
            Timestamp::from_millis(1_700_000_000_000),
        );
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["_aws"]["Timestamp"], 1_700_000_000_000i64);
        let directive = &value["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(directive["Namespace"], NAMESPACE);
        assert_eq!(directive["Dimensions"], json!([["Function", "TimerKind"]]));
        assert_eq!(
            directive["Metrics"],
            json!([
                {"Name": "TimersRecovered", "Unit": "Count"},
                {"Name": "TimerLagMs", "Unit": "Milliseconds"}
            ])
        );
        assert_eq!(value["Function"], "sweeper");
        assert_eq!(value["TimerKind"], "START_CAMPAIGN");
        assert_eq!(value["TimersRecovered"], 3.0);
        assert_eq!(value["TimerLagMs"], json!([1.0, 2.0]));
    }

    #[test]
    fn caps_values_per_line() {
        let metric = Metric {
            name: "TimerLagMs",
            unit: Unit::Milliseconds,
            values: (0..150).map(f64::from).collect(),
        };
        let line = emf_line("timer-executor", &[], &[metric], Timestamp::from_millis(0));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["TimerLagMs"].as_array().unwrap().len(), MAX_VALUES);
    }
}
