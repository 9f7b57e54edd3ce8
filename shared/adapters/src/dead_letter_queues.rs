//! The stack's dead-letter queues as the operator API knows them: each by a short, stable
//! name with its DLQ's and its source queue's URLs, read from `DLQ_<NAME>_URL` and
//! `DLQ_<NAME>_SOURCE_URL` (template.yaml sets them on the API function only). A DLQ whose
//! URL is unset is not listed; one set without its source, or with a URL that is not an SQS
//! queue URL, is a configuration error at cold start.

use crate::config::ConfigError;

/// Every DLQ the API may know: its name, then the variables of its URL and its source's.
const KNOWN: [(&str, &str, &str); 5] = [
    ("timers", "DLQ_TIMERS_URL", "DLQ_TIMERS_SOURCE_URL"),
    ("planning", "DLQ_PLANNING_URL", "DLQ_PLANNING_SOURCE_URL"),
    (
        "deliveries",
        "DLQ_DELIVERIES_URL",
        "DLQ_DELIVERIES_SOURCE_URL",
    ),
    ("alerts", "DLQ_ALERTS_URL", "DLQ_ALERTS_SOURCE_URL"),
    ("events", "DLQ_EVENTS_URL", "DLQ_EVENTS_SOURCE_URL"),
];

/// One dead-letter queue and the queue its messages are redriven to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DeadLetterQueue {
    /// Short, stable name (`timers`, `planning`, `deliveries`, `alerts`, `events`).
    pub name: &'static str,
    pub dlq_url: String,
    pub source_url: String,
}

impl DeadLetterQueue {
    /// The DLQ's queue name (the last segment of its URL; no account id).
    pub fn dlq_queue_name(&self) -> &str {
        queue_name(&self.dlq_url)
    }

    /// The source queue's name.
    pub fn source_queue_name(&self) -> &str {
        queue_name(&self.source_url)
    }
}

/// The configured dead-letter queues, in a fixed order.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct DeadLetterQueues(Vec<DeadLetterQueue>);

impl DeadLetterQueues {
    /// Reads the `DLQ_*` variables through `lookup`.
    pub fn from_lookup(lookup: &impl Fn(&str) -> Option<String>) -> Result<Self, ConfigError> {
        let value = |variable: &str| {
            lookup(variable)
                .map(|v| v.trim().to_owned())
                .filter(|v| !v.is_empty())
        };
        let mut queues = Vec::new();
        for (name, dlq_variable, source_variable) in KNOWN {
            let (dlq_url, source_url) = match (value(dlq_variable), value(source_variable)) {
                (None, None) => continue,
                (Some(dlq), Some(source)) => (dlq, source),
                (Some(_), None) => return Err(required_with(source_variable, dlq_variable)),
                (None, Some(_)) => return Err(required_with(dlq_variable, source_variable)),
            };
            check_url(dlq_variable, &dlq_url)?;
            check_url(source_variable, &source_url)?;
            if dlq_url == source_url {
                return Err(ConfigError {
                    variable: source_variable,
                    problem: format!("must name another queue than {dlq_variable}"),
                });
            }
            queues.push(DeadLetterQueue {
                name,
                dlq_url,
                source_url,
            });
        }
        Ok(Self(queues))
    }

    /// The DLQ named `name`, if configured.
    pub fn get(&self, name: &str) -> Option<&DeadLetterQueue> {
        self.0.iter().find(|queue| queue.name == name)
    }

    /// Every configured DLQ.
    pub fn iter(&self) -> impl Iterator<Item = &DeadLetterQueue> {
        self.0.iter()
    }

    /// The names of the configured DLQs.
    pub fn names(&self) -> Vec<&'static str> {
        self.0.iter().map(|queue| queue.name).collect()
    }
}

fn required_with(missing: &'static str, set: &str) -> ConfigError {
    ConfigError {
        variable: missing,
        problem: format!("is required when {set} is set"),
    }
}

/// An SQS queue URL: `http(s)://host/…/<account>/<queue name>` (LocalStack's path strategy
/// adds `/queue/<region>` before the account), no empty segment, no spaces.
fn check_url(variable: &'static str, url: &str) -> Result<(), ConfigError> {
    let path = url
        .strip_prefix("https://")
        .or_else(|| url.strip_prefix("http://"))
        .and_then(|rest| rest.split_once('/'))
        .map(|(_host, path)| path);
    let segments: Vec<&str> = path.map(|p| p.split('/').collect()).unwrap_or_default();
    let valid = segments.len() >= 2
        && segments.iter().all(|s| !s.is_empty())
        && !url.chars().any(char::is_whitespace);
    if valid {
        Ok(())
    } else {
        Err(ConfigError {
            variable,
            problem: format!(
                "must be an SQS queue URL (https://host/<account>/<queue>), not {url:?}"
            ),
        })
    }
}

fn queue_name(url: &str) -> &str {
    url.rsplit('/').next().unwrap_or(url)
}

#[cfg(test)]
mod tests {
    use std::collections::BTreeMap;

    use super::*;

    const TIMERS_DLQ: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/s-TimersDLQ";
    const TIMERS: &str = "https://sqs.us-east-1.amazonaws.com/123456789012/s-Timers";

    fn read(vars: &[(&str, &str)]) -> Result<DeadLetterQueues, ConfigError> {
        let map: BTreeMap<String, String> = vars
            .iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect();
        DeadLetterQueues::from_lookup(&|name| map.get(name).cloned())
    }

    #[test]
    fn reads_pairs_in_a_fixed_order_and_skips_unset_ones() {
        let queues = read(&[
            (
                "DLQ_EVENTS_URL",
                "http://127.0.0.1:4566/000000000000/ev-dlq",
            ),
            (
                "DLQ_EVENTS_SOURCE_URL",
                "http://127.0.0.1:4566/000000000000/ev",
            ),
            ("DLQ_TIMERS_URL", TIMERS_DLQ),
            ("DLQ_TIMERS_SOURCE_URL", TIMERS),
        ])
        .unwrap();
        assert_eq!(queues.names(), ["timers", "events"]);
        let timers = queues.get("timers").unwrap();
        assert_eq!(
            (timers.dlq_queue_name(), timers.source_queue_name()),
            ("s-TimersDLQ", "s-Timers")
        );
        assert!(queues.get("alerts").is_none());
        let path_style = read(&[
            (
                "DLQ_ALERTS_URL",
                "http://localhost:4566/queue/us-east-1/000000000000/a-dlq",
            ),
            (
                "DLQ_ALERTS_SOURCE_URL",
                "http://localhost:4566/queue/us-east-1/000000000000/a",
            ),
        ])
        .unwrap();
        assert_eq!(path_style.get("alerts").unwrap().dlq_queue_name(), "a-dlq");
        assert_eq!(read(&[]).unwrap(), DeadLetterQueues::default());
    }

    #[test]
    fn a_half_set_pair_or_a_bad_url_names_its_variable() {
        let problem = |vars: &[(&str, &str)]| read(vars).unwrap_err().variable;
        assert_eq!(
            problem(&[("DLQ_TIMERS_URL", TIMERS_DLQ)]),
            "DLQ_TIMERS_SOURCE_URL"
        );
        assert_eq!(
            problem(&[("DLQ_ALERTS_SOURCE_URL", TIMERS)]),
            "DLQ_ALERTS_URL"
        );
        for bad in [
            "s-TimersDLQ",
            "ftp://host/1/q",
            "https://host/q",
            "https://host/1//q",
            "https://host/1/",
            "https://host/1/q x",
        ] {
            assert_eq!(
                problem(&[("DLQ_TIMERS_URL", bad), ("DLQ_TIMERS_SOURCE_URL", TIMERS)]),
                "DLQ_TIMERS_URL",
                "{bad}"
            );
        }
        assert_eq!(
            problem(&[
                ("DLQ_TIMERS_URL", TIMERS),
                ("DLQ_TIMERS_SOURCE_URL", TIMERS)
            ]),
            "DLQ_TIMERS_SOURCE_URL"
        );
    }
}
