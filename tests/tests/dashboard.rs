//! The operations dashboard and the alarms of `template.yaml` against the metric catalogue
//! (`lifecycle_telemetry::catalogue`), from the file alone (no emulator):
//!
//! - every metric a dashboard widget or an alarm names is one the code emits: a
//!   `CampaignLifecycle` metric is a catalogue entry with that `Function` value and exactly
//!   those other dimensions and values (the check `metrics::emit` makes of every line); an
//!   `AWS/SQS` or `AWS/Lambda` metric names a queue or a function of the template;
//! - every catalogue entry is on the dashboard, or marked off it with a reason and absent;
//! - every queue's depth and oldest age, and every function's errors and duration, are on it;
//! - the fan-out's alarms (its DLQ, its errors, alerts not delivered on any channel) exist;
//! - the catalogue's functions and dimension values are the code's (template binaries,
//!   breaker dependencies and states).

use std::collections::BTreeSet;

use lifecycle_resilience::{CircuitState, Dependency};
use lifecycle_telemetry::catalogue::{
    self, ALERTS_NOT_DELIVERED, ALL, CIRCUIT_TRANSITIONS, MetricDef, Placement,
};
use lifecycle_telemetry::metrics::NAMESPACE;
use local_stack::template::{Resource, Template};
use serde_json::Value;

/// A metric a widget or an alarm names; a value from an intrinsic reads `${Resource}` or
/// `${Resource.Attribute}`, as in the dashboard's `!Sub` body.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
struct Named {
    namespace: String,
    name: String,
    dimensions: Vec<(String, String)>,
}

/// The AWS metrics the dashboard and alarms may name: namespace, metric names, the one
/// dimension and the resource type its value must refer to.
const AWS_METRICS: &[(&str, &[&str], &str, &str)] = &[
    (
        "AWS/SQS",
        &[
            "ApproximateNumberOfMessagesVisible",
            "ApproximateAgeOfOldestMessage",
        ],
        "QueueName",
        "AWS::SQS::Queue",
    ),
    (
        "AWS/Lambda",
        &["Errors", "Duration"],
        "FunctionName",
        "AWS::Serverless::Function",
    ),
];

fn template() -> Template {
    Template::load(&local_stack::template_path()).expect("template.yaml")
}

fn definition(name: &str) -> Option<&'static MetricDef> {
    ALL.iter().copied().find(|def| def.name == name)
}

/// Why `metric` is not one the code emits, if it is not.
fn problem(template: &Template, metric: &Named) -> Option<String> {
    let dims: Vec<(&str, &str)> = metric
        .dimensions
        .iter()
        .map(|(n, v)| (n.as_str(), v.as_str()))
        .collect();
    if metric.namespace == NAMESPACE {
        let Some(def) = definition(&metric.name) else {
            return Some(format!("{} is not in the catalogue", metric.name));
        };
        let Some((("Function", function), rest)) = dims.split_first() else {
            return Some(format!(
                "{}: the first dimension is not Function",
                metric.name
            ));
        };
        return def.check(function, rest).err();
    }
    let Some((_, names, dimension, kind)) =
        AWS_METRICS.iter().find(|(ns, ..)| *ns == metric.namespace)
    else {
        return Some(format!("namespace {} is not checked", metric.namespace));
    };
    if !names.contains(&metric.name.as_str()) {
        return Some(format!(
            "{} {} is not checked",
            metric.namespace, metric.name
        ));
    }
    let [(name, value)] = dims.as_slice() else {
        return Some(format!("{metric:?}: one dimension {dimension} expected"));
    };
    let resource = value
        .strip_prefix("${")
        .and_then(|v| v.strip_suffix('}'))
        .map(|v| v.split('.').next().unwrap_or_default());
    match resource.and_then(|id| template.resources.get(id)) {
        Some(Resource { kind: found, .. }) if name == dimension && found == kind => None,
        _ => Some(format!(
            "{metric:?}: {dimension} is not a {kind} of the template"
        )),
    }
}

/// The dashboard's `!Sub` body, parsed as JSON (its `${…}` stay as they are, inside strings).
fn dashboard_body(template: &Template) -> (String, Value) {
    let dashboards: Vec<&Resource> = template
        .resources_of("AWS::CloudWatch::Dashboard")
        .map(|(_, r)| r)
        .collect();
    let [dashboard] = dashboards.as_slice() else {
        panic!("one AWS::CloudWatch::Dashboard expected");
    };
    assert!(template.resources.contains_key("OperationsDashboard"));
    let properties = serde_json::to_value(&dashboard.properties).unwrap();
    let text = properties["DashboardBody"]["!Sub"]
        .as_str()
        .expect("DashboardBody: !Sub with a string")
        .to_owned();
    let body = serde_json::from_str(&text).expect("DashboardBody is JSON");
    (text, body)
}

/// Every metric the dashboard's widgets name, or the problems in how they name them.
fn dashboard_metrics(body: &Value) -> Result<Vec<Named>, Vec<String>> {
    let mut found = Vec::new();
    let mut problems = Vec::new();
    let widgets = body["widgets"].as_array().expect("widgets");
    for widget in widgets {
        let title = widget["properties"]["title"].as_str().unwrap_or("?");
        for entry in widget["properties"]["metrics"]
            .as_array()
            .into_iter()
            .flatten()
        {
            if let Some(expression) = entry["expression"].as_str() {
                problems.push(format!("{title}: expression {expression} names no metric"));
                continue;
            }
            match metric_array(entry) {
                Some(named) => found.push(named),
                None => problems.push(format!("{title}: cannot read {entry}")),
            }
        }
    }
    if problems.is_empty() {
        Ok(found)
    } else {
        Err(problems)
    }
}

/// `[namespace, name, dim, value, …, {options}?]`; `None` for anything else (the `"."`
/// shorthand included).
fn metric_array(entry: &Value) -> Option<Named> {
    let items = entry.as_array()?;
    let items = match items.split_last()? {
        (Value::Object(_), rest) => rest,
        _ => items.as_slice(),
    };
    let texts: Vec<&str> = items.iter().map(Value::as_str).collect::<Option<_>>()?;
    let [namespace, name, dims @ ..] = texts.as_slice() else {
        return None;
    };
    if *namespace == "." || *name == "." || dims.len() % 2 != 0 || dims.contains(&".") {
        return None;
    }
    Some(Named {
        namespace: (*namespace).to_owned(),
        name: (*name).to_owned(),
        dimensions: dims
            .chunks(2)
            .map(|pair| (pair[0].to_owned(), pair[1].to_owned()))
            .collect(),
    })
}

/// An alarm's dimension value: a string, or `!Ref X` / `!GetAtt X.Y` as `${X}` / `${X.Y}`.
fn dimension_value(value: &Value) -> String {
    match value {
        Value::String(text) => text.clone(),
        Value::Object(tagged) => match tagged.iter().next() {
            Some((tag, Value::String(target))) if tag == "!Ref" || tag == "!GetAtt" => {
                format!("${{{target}}}")
            }
            _ => value.to_string(),
        },
        other => other.to_string(),
    }
}

/// A `Namespace`, `MetricName`, `Dimensions` object (an alarm, or a `MetricStat.Metric`).
fn alarm_metric(spec: &Value) -> Option<Named> {
    Some(Named {
        namespace: spec["Namespace"].as_str()?.to_owned(),
        name: spec["MetricName"].as_str()?.to_owned(),
        dimensions: spec["Dimensions"]
            .as_array()
            .into_iter()
            .flatten()
            .map(|d| {
                (
                    d["Name"].as_str().unwrap_or_default().to_owned(),
                    dimension_value(&d["Value"]),
                )
            })
            .collect(),
    })
}

/// Every alarm with the metrics it watches (single metric or metric math).
fn alarms(template: &Template) -> Vec<(String, Vec<Named>)> {
    template
        .resources_of("AWS::CloudWatch::Alarm")
        .map(|(id, alarm)| {
            let properties = serde_json::to_value(&alarm.properties).unwrap();
            let watched = match properties["Metrics"].as_array() {
                Some(queries) => queries
                    .iter()
                    .filter_map(|q| alarm_metric(&q["MetricStat"]["Metric"]))
                    .collect(),
                None => alarm_metric(&properties).into_iter().collect(),
            };
            (id.to_owned(), watched)
        })
        .collect()
}

#[test]
fn every_dashboard_metric_is_emitted_and_every_emitted_metric_is_placed() {
    let template = template();
    let (text, body) = dashboard_body(&template);
    let shown = dashboard_metrics(&body).unwrap_or_else(|problems| panic!("{problems:#?}"));

    let mut problems: Vec<String> = shown
        .iter()
        .filter_map(|metric| problem(&template, metric))
        .collect();
    for reference in text.split("${").skip(1) {
        let name = reference.split('}').next().unwrap_or_default();
        let resource = name.split('.').next().unwrap_or_default();
        if name != "AWS::Region" && !template.resources.contains_key(resource) {
            problems.push(format!("${{{name}}} is not a resource of the template"));
        }
    }
    let on_dashboard: BTreeSet<&str> = shown
        .iter()
        .filter(|m| m.namespace == NAMESPACE)
        .map(|m| m.name.as_str())
        .collect();
    for def in ALL {
        match def.placement {
            Placement::Dashboard if !on_dashboard.contains(def.name) => {
                problems.push(format!("{} is not on the dashboard", def.name));
            }
            Placement::Off(_) if on_dashboard.contains(def.name) => {
                problems.push(format!(
                    "{} is marked off the dashboard but on it",
                    def.name
                ));
            }
            _ => {}
        }
    }
    for (namespace, names, dimension, kind) in AWS_METRICS {
        for (id, _) in template.resources_of(kind) {
            for name in *names {
                let expected = Named {
                    namespace: (*namespace).to_owned(),
                    name: (*name).to_owned(),
                    dimensions: vec![((*dimension).to_owned(), resource_value(kind, id))],
                };
                if !shown.contains(&expected) {
                    problems.push(format!(
                        "{namespace} {name} of {id} is not on the dashboard"
                    ));
                }
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
}

/// How the dashboard names a resource of `kind`: a queue by its name, a function by its `!Ref`.
fn resource_value(kind: &str, id: &str) -> String {
    match kind {
        "AWS::SQS::Queue" => format!("${{{id}.QueueName}}"),
        _ => format!("${{{id}}}"),
    }
}

#[test]
fn every_alarm_watches_a_metric_the_code_emits() {
    let template = template();
    let alarms = alarms(&template);
    let mut problems = Vec::new();
    let mut own = 0;
    for (id, watched) in &alarms {
        if watched.is_empty() {
            problems.push(format!("{id}: no metric found"));
        }
        for metric in watched {
            own += usize::from(metric.namespace == NAMESPACE);
            if let Some(problem) = problem(&template, metric) {
                problems.push(format!("{id}: {problem}"));
            }
        }
    }
    assert!(problems.is_empty(), "{problems:#?}");
    assert!(own >= 10, "the CampaignLifecycle alarms were found: {own}");

    // The fan-out's alarms: its DLQ, its errors, and alerts not delivered on every channel.
    let watched = |alarm: &str| -> Vec<Named> {
        alarms
            .iter()
            .find(|(id, _)| id == alarm)
            .map(|(_, metrics)| metrics.clone())
            .unwrap_or_else(|| panic!("no alarm {alarm}"))
    };
    let one = |namespace: &str, name: &str, dimension: &str, value: &str| Named {
        namespace: namespace.into(),
        name: name.into(),
        dimensions: vec![(dimension.into(), value.into())],
    };
    assert_eq!(
        watched("AlertsDeadLetterQueueAlarm"),
        [one(
            "AWS/SQS",
            "ApproximateNumberOfMessagesVisible",
            "QueueName",
            "${AlertsDeadLetterQueue.QueueName}"
        )]
    );
    assert_eq!(
        watched("AlertFanoutFunctionErrorsAlarm"),
        [one(
            "AWS/Lambda",
            "Errors",
            "FunctionName",
            "${AlertFanoutFunction}"
        )]
    );
    let channels: BTreeSet<String> = watched("AlertsNotDeliveredAlarm")
        .into_iter()
        .map(|metric| {
            assert_eq!(metric.name, ALERTS_NOT_DELIVERED.name);
            metric.dimensions[1].1.clone()
        })
        .collect();
    let every_channel: BTreeSet<String> = ALERTS_NOT_DELIVERED.dimensions[0]
        .values
        .iter()
        .map(|c| (*c).to_owned())
        .collect();
    assert_eq!(channels, every_channel);
}

#[test]
fn the_catalogue_s_functions_and_values_are_the_code_s() {
    let template = template();
    let binaries: BTreeSet<String> = template
        .resources_of("AWS::Serverless::Function")
        .filter_map(|(_, f)| {
            let metadata = serde_json::to_value(&f.metadata).ok()?;
            Some(metadata["BuildProperties"]["Binary"].as_str()?.to_owned())
        })
        .collect();
    let functions: BTreeSet<String> = catalogue::FUNCTIONS
        .iter()
        .map(|f| (*f).to_owned())
        .collect();
    assert_eq!(
        functions, binaries,
        "every function beats under its binary's name"
    );

    let values = |index: usize| -> BTreeSet<&str> {
        CIRCUIT_TRANSITIONS.dimensions[index]
            .values
            .iter()
            .copied()
            .collect()
    };
    let dependencies: BTreeSet<&str> = Dependency::ALL.iter().map(|d| d.as_str()).collect();
    assert_eq!(values(0), dependencies);
    // Exhaustive: a new state does not compile until it is listed here.
    let state = |s: CircuitState| match s {
        CircuitState::Closed | CircuitState::Open | CircuitState::HalfOpen => s.as_str(),
    };
    let states: BTreeSet<&str> = [
        CircuitState::Closed,
        CircuitState::Open,
        CircuitState::HalfOpen,
    ]
    .map(state)
    .into();
    assert_eq!(values(1), states);
}
