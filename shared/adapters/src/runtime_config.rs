//! The runtime configuration: the settings operators tune without a deploy — the misfire
//! window and graces of timers and occurrences, and the circuit breakers' thresholds (one
//! set for every dependency, with optional sets per dependency). Written through
//! `PUT /recovery/configuration` as JSON, validated here with a message per field, stored
//! with a version in DynamoDB (`SETTINGS`/`RUNTIME`); without a stored one, today's values
//! apply: the environment's ([`crate::config`]) and [`BreakerConfig::standard`]'s.

use std::collections::BTreeMap;
use std::time::Duration;

use lifecycle_domain::Timestamp;
use lifecycle_domain::validation::FieldErrors;
use lifecycle_resilience::{BreakerConfig, Dependency};
use serde_json::{Map, Value, json};

use crate::config::{Config, SweepConfig};

/// The misfire settings of timers and occurrences.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct MisfireSettings {
    /// `windowSeconds` (60–2592000): a missed timer later than this is cancelled, not fired.
    pub window_secs: u32,
    /// `graceSeconds` (1–3600, at most the window): a PENDING timer this late is missed.
    pub grace_secs: u32,
    /// `occurrenceGraceSeconds` (1–86400): an occurrence started no later than this after
    /// its time runs whatever its series' misfire policy.
    pub occurrence_grace_secs: u32,
}

/// The thresholds of a circuit breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct BreakerThresholds {
    /// `failureRatePercent` (1–100): the failure share of the window that opens it.
    pub failure_rate_percent: u32,
    /// `minimumCalls` (1–10000): calls the window must hold before the share counts (with
    /// 100 %, the failures in a row that open it).
    pub minimum_calls: u32,
    /// `openSeconds` (1–3600): open time after the first trip, doubled per trip in a row.
    pub open_secs: u32,
    /// `maxOpenSeconds` (at least `openSeconds`, at most 86400): the longest open time.
    pub max_open_secs: u32,
    /// `halfOpenProbes` (1–100): probe calls admitted in HALF_OPEN; all must succeed.
    pub probes: u32,
}

impl BreakerThresholds {
    /// The built-in thresholds ([`BreakerConfig::standard`]).
    pub fn standard() -> Self {
        Self::of(&BreakerConfig::standard(
            lifecycle_resilience::FailMode::Open,
        ))
    }

    fn of(config: &BreakerConfig) -> Self {
        Self {
            failure_rate_percent: (config.failure_rate * 100.0).round() as u32,
            minimum_calls: config.minimum_calls as u32,
            open_secs: config.open_base.as_secs() as u32,
            max_open_secs: config.max_open.as_secs() as u32,
            probes: config.probes,
        }
    }

    fn to_json(self) -> Value {
        json!({
            "failureRatePercent": self.failure_rate_percent,
            "minimumCalls": self.minimum_calls,
            "openSeconds": self.open_secs,
            "maxOpenSeconds": self.max_open_secs,
            "halfOpenProbes": self.probes,
        })
    }

    fn from_json(value: &Value, path: &str, errors: &mut FieldErrors) -> Option<Self> {
        let object = members(
            value,
            path,
            &[
                "failureRatePercent",
                "minimumCalls",
                "openSeconds",
                "maxOpenSeconds",
                "halfOpenProbes",
            ],
            errors,
        )?;
        let rate = whole(object, path, "failureRatePercent", 1, 100, errors);
        let minimum = whole(object, path, "minimumCalls", 1, 10_000, errors);
        let open = whole(object, path, "openSeconds", 1, 3600, errors);
        let max_open = whole(object, path, "maxOpenSeconds", 1, 86_400, errors);
        let probes = whole(object, path, "halfOpenProbes", 1, 100, errors);
        if let (Some(open), Some(max_open)) = (open, max_open)
            && max_open < open
        {
            errors.add(
                format!("{path}.maxOpenSeconds"),
                format!("must be at least openSeconds ({open})"),
            );
            return None;
        }
        Some(Self {
            failure_rate_percent: rate?,
            minimum_calls: minimum?,
            open_secs: open?,
            max_open_secs: max_open?,
            probes: probes?,
        })
    }
}

/// Every runtime setting.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeSettings {
    pub misfire: MisfireSettings,
    /// The thresholds of every breaker without a set of its own.
    pub breakers: BreakerThresholds,
    /// Per-dependency thresholds.
    pub dependencies: BTreeMap<Dependency, BreakerThresholds>,
}

impl RuntimeSettings {
    /// Today's values without a stored configuration: the environment's misfire settings
    /// and the built-in breaker thresholds.
    pub fn defaults(config: &Config) -> Self {
        Self {
            misfire: MisfireSettings {
                window_secs: config.sweep.misfire_window_secs,
                grace_secs: config.sweep.grace_secs,
                occurrence_grace_secs: config.occurrence_grace_secs,
            },
            breakers: BreakerThresholds::standard(),
            dependencies: BTreeMap::new(),
        }
    }

    /// The breaker configuration of `dependency`: the standard one with these thresholds.
    pub fn breaker(&self, dependency: Dependency) -> BreakerConfig {
        let thresholds = self
            .dependencies
            .get(&dependency)
            .copied()
            .unwrap_or(self.breakers);
        BreakerConfig {
            failure_rate: f64::from(thresholds.failure_rate_percent) / 100.0,
            minimum_calls: u64::from(thresholds.minimum_calls),
            open_base: Duration::from_secs(thresholds.open_secs.into()),
            max_open: Duration::from_secs(thresholds.max_open_secs.into()),
            probes: thresholds.probes,
            ..BreakerConfig::standard(dependency.fail_mode())
        }
    }

    /// The sweeper's settings `base` with this misfire window and grace.
    pub fn sweep(&self, base: &SweepConfig) -> SweepConfig {
        SweepConfig {
            grace_secs: self.misfire.grace_secs,
            misfire_window_secs: self.misfire.window_secs,
            ..base.clone()
        }
    }

    /// The settings as [`RuntimeSettings::from_json`] reads them.
    pub fn to_json(&self) -> Value {
        let dependencies: Map<String, Value> = self
            .dependencies
            .iter()
            .map(|(dependency, thresholds)| (dependency.as_str().to_owned(), thresholds.to_json()))
            .collect();
        json!({
            "misfire": {
                "windowSeconds": self.misfire.window_secs,
                "graceSeconds": self.misfire.grace_secs,
                "occurrenceGraceSeconds": self.misfire.occurrence_grace_secs,
            },
            "breakers": {"default": self.breakers.to_json(), "dependencies": dependencies},
        })
    }

    /// Reads `{"misfire": {…}, "breakers": {"default": {…}, "dependencies": {"sqs": {…}}}}`:
    /// every setting required (`dependencies` may be left out), every problem named by its
    /// field (`breakers.dependencies.sqs.minimumCalls`), all at once.
    pub fn from_json(value: &Value) -> Result<Self, FieldErrors> {
        let mut errors = FieldErrors::default();
        let settings = Self::read(value, &mut errors);
        match settings {
            Some(settings) if errors.is_empty() => Ok(settings),
            _ => Err(errors),
        }
    }

    fn read(value: &Value, errors: &mut FieldErrors) -> Option<Self> {
        let object = members(value, "", &["misfire", "breakers"], errors)?;
        let misfire = match object.get("misfire") {
            Some(value) => misfire(value, errors),
            None => {
                errors.add("misfire", "is required");
                None
            }
        };
        let breakers = match object.get("breakers") {
            Some(value) => breakers(value, errors),
            None => {
                errors.add("breakers", "is required");
                None
            }
        };
        let (breakers, dependencies) = breakers?;
        Some(Self {
            misfire: misfire?,
            breakers,
            dependencies,
        })
    }
}

fn misfire(value: &Value, errors: &mut FieldErrors) -> Option<MisfireSettings> {
    let path = "misfire";
    let object = members(
        value,
        path,
        &["windowSeconds", "graceSeconds", "occurrenceGraceSeconds"],
        errors,
    )?;
    let window = whole(object, path, "windowSeconds", 60, 2_592_000, errors);
    let grace = whole(object, path, "graceSeconds", 1, 3600, errors);
    let occurrence = whole(object, path, "occurrenceGraceSeconds", 1, 86_400, errors);
    if let (Some(window), Some(grace)) = (window, grace)
        && grace > window
    {
        errors.add(
            "misfire.graceSeconds",
            format!("must be at most windowSeconds ({window})"),
        );
        return None;
    }
    Some(MisfireSettings {
        window_secs: window?,
        grace_secs: grace?,
        occurrence_grace_secs: occurrence?,
    })
}

type Breakers = (BreakerThresholds, BTreeMap<Dependency, BreakerThresholds>);

fn breakers(value: &Value, errors: &mut FieldErrors) -> Option<Breakers> {
    let object = members(value, "breakers", &["default", "dependencies"], errors)?;
    let default = match object.get("default") {
        Some(value) => BreakerThresholds::from_json(value, "breakers.default", errors),
        None => {
            errors.add("breakers.default", "is required");
            None
        }
    };
    let mut dependencies = BTreeMap::new();
    match object.get("dependencies") {
        None => {}
        Some(Value::Object(named)) => {
            for (name, value) in named {
                let path = format!("breakers.dependencies.{name}");
                match Dependency::parse(name) {
                    Some(dependency) => {
                        if let Some(thresholds) = BreakerThresholds::from_json(value, &path, errors)
                        {
                            dependencies.insert(dependency, thresholds);
                        }
                    }
                    None => errors.add(
                        path,
                        format!(
                            "is not a dependency with a breaker (one of {})",
                            Dependency::ALL.map(Dependency::as_str).join(", ")
                        ),
                    ),
                }
            }
        }
        Some(_) => errors.add(
            "breakers.dependencies",
            "must be an object of dependency names to thresholds",
        ),
    }
    Some((default?, dependencies))
}

/// `value` as an object with only `known` members (each other one is reported).
fn members<'a>(
    value: &'a Value,
    path: &str,
    known: &[&str],
    errors: &mut FieldErrors,
) -> Option<&'a Map<String, Value>> {
    let Some(object) = value.as_object() else {
        errors.add(path, "must be an object");
        return None;
    };
    for name in object.keys() {
        if !known.contains(&name.as_str()) {
            errors.add(join(path, name), "is not a setting here");
        }
    }
    Some(object)
}

/// The whole number `name` of `object`, from `min` to `max` (reported otherwise).
fn whole(
    object: &Map<String, Value>,
    path: &str,
    name: &str,
    min: u32,
    max: u32,
    errors: &mut FieldErrors,
) -> Option<u32> {
    let field = join(path, name);
    let Some(value) = object.get(name) else {
        errors.add(field, "is required");
        return None;
    };
    match value.as_u64() {
        Some(n) if (u64::from(min)..=u64::from(max)).contains(&n) => Some(n as u32),
        _ => {
            errors.add(field, format!("must be a whole number from {min} to {max}"));
            None
        }
    }
}

fn join(path: &str, name: &str) -> String {
    if path.is_empty() {
        name.to_owned()
    } else {
        format!("{path}.{name}")
    }
}

/// The configuration in force: its settings, and the version they were stored under (0:
/// none stored, today's values).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RuntimeConfig {
    pub version: u64,
    pub updated_at: Option<Timestamp>,
    pub settings: RuntimeSettings,
}

#[cfg(test)]
mod tests {
    use super::*;

    fn valid() -> Value {
        json!({
            "misfire": {"windowSeconds": 3600, "graceSeconds": 120, "occurrenceGraceSeconds": 60},
            "breakers": {
                "default": {"failureRatePercent": 50, "minimumCalls": 20, "openSeconds": 30,
                            "maxOpenSeconds": 300, "halfOpenProbes": 3},
                "dependencies": {"sqs": {"failureRatePercent": 100, "minimumCalls": 3,
                    "openSeconds": 10, "maxOpenSeconds": 60, "halfOpenProbes": 1}},
            },
        })
    }

    #[test]
    fn reads_back_what_it_writes() {
        let settings = RuntimeSettings::from_json(&valid()).unwrap();
        assert_eq!(
            RuntimeSettings::from_json(&settings.to_json()).unwrap(),
            settings
        );
        assert_eq!(settings.to_json(), valid());
    }

    #[test]
    fn the_defaults_are_todays_values() {
        let config = Config::from_lookup(|name| match name {
            "TABLE_NAME" | "TIMERS_QUEUE_URL" | "EVENT_BUS_NAME" => Some("x".into()),
            _ => None,
        })
        .unwrap();
        let settings = RuntimeSettings::defaults(&config);
        for dependency in Dependency::ALL {
            assert_eq!(
                settings.breaker(dependency),
                BreakerConfig::standard(dependency.fail_mode())
            );
        }
        assert_eq!(settings.sweep(&config.sweep), config.sweep);
        assert_eq!(settings.misfire.occurrence_grace_secs, 60);
    }

    #[test]
    fn a_dependency_gets_its_own_thresholds_and_the_rest_the_default() {
        let settings = RuntimeSettings::from_json(&valid()).unwrap();
        let sqs = settings.breaker(Dependency::Sqs);
        assert_eq!(
            (sqs.failure_rate, sqs.minimum_calls, sqs.probes),
            (1.0, 3, 1)
        );
        assert_eq!(sqs.open_base, Duration::from_secs(10));
        assert_eq!(sqs.max_open, Duration::from_secs(60));
        let events = settings.breaker(Dependency::EventBridge);
        assert_eq!(events.minimum_calls, 20);
        assert_eq!(events.fail_mode, lifecycle_resilience::FailMode::Closed);
    }

    #[test]
    fn names_every_bad_field() {
        let mut body = valid();
        body["misfire"]["graceSeconds"] = json!(0);
        body["misfire"]["occurrenceGraceSeconds"] = json!("60");
        body["breakers"]["default"]["minimumCalls"] = json!(0);
        body["breakers"]["default"]["failureRatePercent"] = json!(101);
        body["breakers"]["dependencies"]["mysql"] = json!({});
        body["breakers"]["dependencies"]["sqs"]["maxOpenSeconds"] = json!(5);
        body["extra"] = json!(1);
        let errors = RuntimeSettings::from_json(&body).unwrap_err().0;
        let fields: Vec<&str> = errors.keys().map(String::as_str).collect();
        assert_eq!(
            fields,
            [
                "breakers.default.failureRatePercent",
                "breakers.default.minimumCalls",
                "breakers.dependencies.mysql",
                "breakers.dependencies.sqs.maxOpenSeconds",
                "extra",
                "misfire.graceSeconds",
                "misfire.occurrenceGraceSeconds",
            ]
        );
        assert_eq!(
            errors["breakers.dependencies.sqs.maxOpenSeconds"],
            "must be at least openSeconds (10)"
        );
    }

    #[test]
    fn the_grace_is_at_most_the_window_and_everything_is_required() {
        let mut body = valid();
        body["misfire"]["graceSeconds"] = json!(3600);
        body["misfire"]["windowSeconds"] = json!(600);
        let errors = RuntimeSettings::from_json(&body).unwrap_err().0;
        assert_eq!(
            errors["misfire.graceSeconds"],
            "must be at most windowSeconds (600)"
        );
        let errors = RuntimeSettings::from_json(&json!({"misfire": {}}))
            .unwrap_err()
            .0;
        assert_eq!(errors["breakers"], "is required");
        assert_eq!(errors["misfire.windowSeconds"], "is required");
        let errors = RuntimeSettings::from_json(&json!([])).unwrap_err().0;
        assert_eq!(errors[""], "must be an object");
    }
}
