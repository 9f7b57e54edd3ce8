//! CloudWatch metrics as Embedded Metric Format (EMF) log lines: on Lambda (JSON logs) each
//! metric set is printed as one JSON line on stdout and CloudWatch Logs extracts the metrics —
//! no PutMetricData request on any path. With text logs (local runs) the set is logged at
//! debug level instead. Namespace `CampaignLifecycle`, dimension `Function` (plus any extra).
//! Every metric is an entry of the [`catalogue`](crate::catalogue): a [`Metric`] names its
//! entry, and [`emit`] checks (in debug builds) that the line's function and dimensions are
//! the entry's.

use serde_json::{Map, Value, json};

use crate::LogFormat;
use crate::catalogue::MetricDef;
use lifecycle_domain::Timestamp;

/// The CloudWatch namespace of every metric.
pub const NAMESPACE: &str = "CampaignLifecycle";
/// Values per metric and line (the EMF limit).
const MAX_VALUES: usize = 100;

/// CloudWatch units used here.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unit {
    /// A count.
    Count,
    /// A duration in milliseconds.
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

/// One catalogued metric and its values (at most 100 are sent per line).
#[derive(Debug, Clone, PartialEq)]
pub struct Metric {
    /// Its catalogue entry (name and unit).
    pub def: &'static MetricDef,
    /// Its values.
    pub values: Vec<f64>,
}

impl Metric {
    /// A metric with one value.
    pub fn one(def: &'static MetricDef, value: f64) -> Self {
        Self {
            def,
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
        .map(|m| json!({"Name": m.def.name, "Unit": m.def.unit.as_str()}))
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
        line.insert(metric.def.name.into(), value);
    }
    Value::Object(line).to_string()
}

/// Emits `metrics` (skipping empty ones) as an EMF line, or a debug log with text logs. In
/// debug builds, panics if `function` or `dimensions` (names, order, values) are not those
/// of every metric's catalogue entry.
pub fn emit(format: LogFormat, function: &str, dimensions: &[(&str, &str)], metrics: &[Metric]) {
    if cfg!(debug_assertions) {
        for metric in metrics {
            let matches = metric.def.check(function, dimensions);
            assert!(matches.is_ok(), "uncatalogued metric line: {matches:?}");
        }
    }
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
    use crate::catalogue::{TIMER_LAG_MS, TIMERS_FIRED, TIMERS_RECOVERED};

    #[test]
    fn writes_the_embedded_metric_format() {
        let line = emf_line(
            "sweeper",
            &[("TimerKind", "START_CAMPAIGN")],
            &[
                Metric::one(&TIMERS_RECOVERED, 3.0),
                Metric {
                    def: &TIMER_LAG_MS,
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
            def: &TIMER_LAG_MS,
            values: (0..150).map(f64::from).collect(),
        };
        let line = emf_line("timer-executor", &[], &[metric], Timestamp::from_millis(0));
        let value: Value = serde_json::from_str(&line).unwrap();
        assert_eq!(value["TimerLagMs"].as_array().unwrap().len(), MAX_VALUES);
    }

    #[test]
    fn accepts_catalogued_lines() {
        emit(
            LogFormat::Text,
            "timer-executor",
            &[],
            &[Metric::one(&TIMERS_FIRED, 1.0)],
        );
    }

    #[test]
    #[cfg(debug_assertions)]
    #[should_panic(expected = "uncatalogued metric line")]
    fn refuses_a_line_the_catalogue_does_not_have() {
        emit(
            LogFormat::Text,
            "timer-executor",
            &[("TimerKind", "START_CAMPAIGN")],
            &[Metric::one(&TIMERS_FIRED, 1.0)],
        );
    }
}
