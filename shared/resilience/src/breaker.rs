//! A circuit breaker per dependency, shared by every Lambda instance through one DynamoDB
//! record in a [`BreakerStore`]. Each instance keeps a copy of the record for
//! `cache_ttl`, so an admitted call costs no read; outcomes are counted locally and added to
//! the shared per-bucket counters with `ADD` (at once on a failure, every `flush_interval`
//! for successes). Every transition is conditional on the record's version, so among
//! concurrent instances exactly one performs it — and that one stores the state-change alert
//! in the same transaction and emits the metrics.

use std::fmt;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex, RwLock};
use std::time::Instant;

use serde::{Deserialize, Serialize};

use crate::alert_sink::AlertSink;
use crate::breaker_state::{
    BreakerConfig, BreakerRecord, CircuitState, Decision, FailMode, decide,
};
use crate::classification::ErrorClass;
use crate::ports::{BreakerStore, StoreFailure, WindowCounts};
use lifecycle_domain::Alert;
use lifecycle_domain::Timestamp;
use lifecycle_telemetry::LogFormat;
use lifecycle_telemetry::catalogue::{CIRCUIT_OPEN_MS, CIRCUIT_RECOVERY_RATE, CIRCUIT_TRANSITIONS};
use lifecycle_telemetry::metrics::{self, Metric};

/// The dependencies with a breaker.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Dependency {
    DynamoDb,
    Sqs,
    EventBridge,
    /// Recipient lists (bulk deliveries).
    S3,
    /// SSM Parameter Store (webhook signing secrets).
    Ssm,
    /// Secrets Manager (webhook signing secrets).
    SecretsManager,
    /// The alert fan-out's email channel (SES).
    #[serde(rename = "alert-email")]
    AlertEmail,
    /// The alert fan-out's Slack incoming webhook.
    #[serde(rename = "alert-slack")]
    AlertSlack,
    /// The alert fan-out's signed webhook.
    #[serde(rename = "alert-webhook")]
    AlertWebhook,
    /// The alert fan-out's SNS topic.
    #[serde(rename = "alert-sns")]
    AlertSns,
}

impl Dependency {
    pub const ALL: [Dependency; 10] = [
        Self::DynamoDb,
        Self::Sqs,
        Self::EventBridge,
        Self::S3,
        Self::Ssm,
        Self::SecretsManager,
        Self::AlertEmail,
        Self::AlertSlack,
        Self::AlertWebhook,
        Self::AlertSns,
    ];

    pub fn as_str(self) -> &'static str {
        match self {
            Self::DynamoDb => "dynamodb",
            Self::Sqs => "sqs",
            Self::EventBridge => "eventbridge",
            Self::S3 => "s3",
            Self::Ssm => "ssm",
            Self::SecretsManager => "secretsmanager",
            Self::AlertEmail => "alert-email",
            Self::AlertSlack => "alert-slack",
            Self::AlertWebhook => "alert-webhook",
            Self::AlertSns => "alert-sns",
        }
    }

    /// Parses a name [`Dependency::as_str`] gives (`dynamodb`, `sqs`, …).
    pub fn parse(text: &str) -> Option<Self> {
        Self::ALL.into_iter().find(|d| d.as_str() == text)
    }

    /// What a caller does when the breaker's record cannot be read: DynamoDB, SQS, the
    /// reads of lists and secrets and the alert channels go ahead (no fallback; the
    /// breaker's own store is DynamoDB), EventBridge calls are refused (events wait in the
    /// outbox and are republished by the sweeper).
    pub fn fail_mode(self) -> FailMode {
        match self {
            Self::EventBridge => FailMode::Closed,
            _ => FailMode::Open,
        }
    }
}

impl fmt::Display for Dependency {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// The breaker refused a call.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("circuit breaker of {dependency} is open{}", until.map(|u| format!(" until {u}")).unwrap_or_default())]
pub struct CircuitOpen {
    pub dependency: Dependency,
    /// When the breaker lets probes through, if known.
    pub until: Option<Timestamp>,
}

/// What the breaker allowed for one call.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Admission {
    /// CLOSED (or the record is unreadable and the dependency fails open).
    Allowed,
    /// One of the HALF_OPEN probes of the record at `version`.
    Probe {
        version: u64,
    },
    Refused {
        until: Option<Timestamp>,
    },
}

#[derive(Debug)]
struct Cached {
    record: BreakerRecord,
    /// When it was read; `None` once known to be outdated (another instance moved it).
    fetched: Option<Instant>,
}

#[derive(Debug)]
struct Pending {
    counts: WindowCounts,
    /// The last flush (or the breaker's creation).
    since: Instant,
    /// The last flush that carried failures (`None`: none yet).
    failures_flushed: Option<Instant>,
    last_code: Option<&'static str>,
}

/// One dependency's breaker in this process; clones share it (background refreshes and
/// flushes hold a clone).
#[derive(Debug, Clone)]
pub struct CircuitBreaker {
    inner: Arc<LocalBreaker>,
}

/// The breaker's configuration and this instance's view and counts.
#[derive(Debug)]
pub struct LocalBreaker {
    dependency: Dependency,
    /// The thresholds in force and the version of the runtime configuration they came from
    /// (0: the built-in ones).
    config: RwLock<(BreakerConfig, u64)>,
    store: Arc<dyn BreakerStore>,
    alerts: AlertSink,
    log_format: LogFormat,
    cache: Mutex<Option<Cached>>,
    pending: Mutex<Pending>,
    /// A background read of the record or flush of the counters is under way.
    background: AtomicBool,
}

impl std::ops::Deref for CircuitBreaker {
    type Target = LocalBreaker;

    fn deref(&self) -> &LocalBreaker {
        &self.inner
    }
}

impl CircuitBreaker {
    /// A breaker of `dependency` whose record lives in `store` (unguarded: the breaker's own
    /// calls are neither retried nor guarded); its state-change alerts go to `alerts`.
    pub fn new(
        dependency: Dependency,
        config: BreakerConfig,
        store: Arc<dyn BreakerStore>,
        alerts: AlertSink,
        log_format: LogFormat,
    ) -> Self {
        Self {
            inner: Arc::new(LocalBreaker {
                dependency,
                config: RwLock::new((config, 0)),
                store,
                alerts,
                log_format,
                cache: Mutex::new(None),
                pending: Mutex::new(Pending {
                    counts: WindowCounts::default(),
                    since: Instant::now(),
                    failures_flushed: None,
                    last_code: None,
                }),
                background: AtomicBool::new(false),
            }),
        }
    }

    pub fn dependency(&self) -> Dependency {
        self.dependency
    }

    /// The thresholds in force.
    pub fn config(&self) -> BreakerConfig {
        self.config.read().expect("breaker config").0
    }

    /// The version of the runtime configuration the thresholds came from (0: built-in).
    pub fn config_version(&self) -> u64 {
        self.config.read().expect("breaker config").1
    }

    /// Replaces the thresholds with those of runtime configuration `version` (the record
    /// and the counters are kept: the next decision applies them).
    pub fn set_config(&self, config: BreakerConfig, version: u64) {
        *self.config.write().expect("breaker config") = (config, version);
    }

    /// Decides whether a call may go ahead now.
    pub async fn admit(&self, now: Timestamp) -> Admission {
        let record = match self.current(now).await {
            Ok(record) => record,
            Err(error) => return self.unreadable(&error),
        };
        match decide(&record, &self.config(), now) {
            Decision::Allow => Admission::Allowed,
            Decision::Refuse { until } => Admission::Refused { until },
            Decision::HalfOpen => {
                let next = record.half_opened(&self.config(), now);
                self.transition(&record, next, None, now).await;
                match self.refresh(now).await {
                    Ok(fresh) => self.probe_or_decide(&fresh, now).await,
                    Err(error) => self.unreadable(&error),
                }
            }
            Decision::TakeProbe => self.take_probe(&record).await,
        }
    }

    /// When calls may be tried again if the breaker refuses them now (OPEN, or HALF_OPEN
    /// with every probe handed out), `None` if it lets calls through. Takes no probe.
    pub async fn refusing_until(&self, now: Timestamp) -> Option<Timestamp> {
        let record = self.current(now).await.ok()?;
        match decide(&record, &self.config(), now) {
            Decision::Refuse { until } => Some(
                until.unwrap_or(now.plus_millis(self.config().probe_timeout.as_millis() as i64)),
            ),
            Decision::Allow | Decision::HalfOpen | Decision::TakeProbe => None,
        }
    }

    /// Records the outcome of a call admitted as `admission`; `failure` is the class of its
    /// error, if it failed (only failures that say the dependency is unhealthy count).
    pub async fn record(
        &self,
        admission: &Admission,
        failure: Option<&ErrorClass>,
        now: Timestamp,
    ) {
        let failed = failure.filter(|class| class.category.counts_against_dependency());
        match *admission {
            Admission::Refused { .. } => {}
            Admission::Probe { version } => self.probe_outcome(version, failed, now).await,
            Admission::Allowed => {
                let (flush, has_failures) = {
                    let mut pending = self.pending.lock().expect("breaker lock");
                    pending.counts.calls += 1;
                    if let Some(class) = failed {
                        pending.counts.failures += 1;
                        pending.last_code = Some(class.code);
                    }
                    // Failures are added at once, but at most once per
                    // `failure_flush_interval`: an outage must not double the load on the
                    // dependency (or on the table) with counter writes and window reads.
                    let failure_due = pending.counts.failures > 0
                        && pending
                            .failures_flushed
                            .is_none_or(|at| at.elapsed() >= self.config().failure_flush_interval);
                    (
                        failure_due || pending.since.elapsed() >= self.config().flush_interval,
                        pending.counts.failures > 0,
                    )
                };
                if flush && has_failures {
                    self.flush(now).await;
                } else if flush {
                    // Successes only: off the request path.
                    self.in_background(move |breaker| async move { breaker.flush(now).await });
                }
            }
        }
    }

    /// Adds the locally counted outcomes to the shared bucket; after failures, reads the
    /// window and trips the breaker if it is over the threshold.
    pub async fn flush(&self, now: Timestamp) {
        let (counts, last_code) = {
            let mut pending = self.pending.lock().expect("breaker lock");
            let taken = (pending.counts, pending.last_code.take());
            pending.counts = WindowCounts::default();
            pending.since = Instant::now();
            if taken.0.failures > 0 {
                pending.failures_flushed = Some(pending.since);
            }
            taken
        };
        if counts.calls == 0 {
            return;
        }
        let bucket = self.config().bucket_start(now);
        let name = self.dependency.as_str();
        if let Err(error) = self.store().add_breaker_counts(name, bucket, counts).await {
            tracing::warn!(dependency = name, error = %error, "breaker counters not updated");
            return;
        }
        if counts.failures == 0 {
            return;
        }
        let Ok(record) = self.current(now).await else {
            return;
        };
        if record.state != CircuitState::Closed {
            return;
        }
        let counting_from = record
            .counting_since
            .map_or(i64::MIN, |since| self.config().bucket_start(since));
        let first = self.config().window_start(now).max(counting_from);
        let window = match self.store().breaker_window(name, first, bucket).await {
            Ok(window) => window,
            Err(error) => {
                tracing::warn!(dependency = name, error = %error, "breaker window not read");
                return;
            }
        };
        if self.config().trips(window.calls, window.failures) {
            let reason = format!(
                "failure rate {:.2} of {} calls",
                window.failures as f64 / window.calls as f64,
                window.calls
            );
            let next = record.tripped(&self.config(), now, reason);
            self.transition(&record, next, last_code, now).await;
        }
    }

    /// Forces the breaker CLOSED (an operator's reset); returns the new record. A breaker
    /// that is CLOSED already is left alone: its record is returned as read, with no write,
    /// no alert, and its failure window kept.
    pub async fn reset(&self, now: Timestamp) -> Result<BreakerRecord, StoreFailure> {
        loop {
            let record = self.refresh(now).await?;
            if record.state == CircuitState::Closed {
                return Ok(record);
            }
            let next = record.closed_again(now, "manual reset".into());
            let alert = self.alert(&record, &next, None, now);
            if self
                .store()
                .transition_breaker(&record, &next, &alert)
                .await?
            {
                self.log_transition(&record, &next);
                self.remember(next.clone());
                self.alerts.stored(alert);
                return Ok(next);
            }
        }
    }

    /// The shared record, read now (not from the cache).
    pub async fn refresh(&self, now: Timestamp) -> Result<BreakerRecord, StoreFailure> {
        let record = self
            .store()
            .breaker_record(self.dependency.as_str())
            .await?
            .unwrap_or_else(|| BreakerRecord::closed(self.dependency.as_str(), now));
        self.remember(record.clone());
        Ok(record)
    }

    /// The record: the cached copy while it is fresh, else read now. If the read fails, the
    /// last copy this instance saw (however old) stands in; only an instance that never saw
    /// the record falls back to the fail mode.
    async fn current(&self, now: Timestamp) -> Result<BreakerRecord, StoreFailure> {
        let stale = {
            let cache = self.cache.lock().expect("breaker lock");
            let age = cache
                .as_ref()
                .and_then(|c| c.fetched)
                .map(|at| at.elapsed());
            match (cache.as_ref(), age) {
                (Some(cached), Some(age)) if age < self.config().cache_ttl => {
                    return Ok(cached.record.clone());
                }
                (Some(cached), Some(age))
                    if age < self.config().cache_ttl + self.config().revalidate_within =>
                {
                    let record = cached.record.clone();
                    drop(cache);
                    // Recent enough to act on while a fresh copy is read off the request path.
                    self.in_background(move |breaker| async move {
                        if let Err(error) = breaker.refresh(now).await {
                            tracing::debug!(error = %error, "breaker record not refreshed");
                        }
                    });
                    return Ok(record);
                }
                (cached, _) => cached.map(|c| c.record.clone()),
            }
        };
        match (self.refresh(now).await, stale) {
            (Ok(record), _) => Ok(record),
            (Err(_), Some(record)) => Ok(record),
            (Err(error), None) => Err(error),
        }
    }

    /// The store of the record (unguarded).
    fn store(&self) -> &dyn BreakerStore {
        self.store.as_ref()
    }

    /// Runs `work` on a clone of this breaker in a background task, unless one is running.
    fn in_background<F, Fut>(&self, work: F)
    where
        F: FnOnce(CircuitBreaker) -> Fut,
        Fut: std::future::Future<Output = ()> + Send + 'static,
    {
        if self.background.swap(true, Ordering::AcqRel) {
            return;
        }
        let task = work(self.clone());
        let this = self.clone();
        tokio::spawn(async move {
            task.await;
            this.background.store(false, Ordering::Release);
        });
    }

    fn remember(&self, record: BreakerRecord) {
        *self.cache.lock().expect("breaker lock") = Some(Cached {
            record,
            fetched: Some(Instant::now()),
        });
    }

    /// Marks the cached copy outdated: the next call reads the record (and falls back to
    /// this copy only if that read fails).
    fn forget(&self) {
        if let Some(cached) = self.cache.lock().expect("breaker lock").as_mut() {
            cached.fetched = None;
        }
    }

    fn unreadable(&self, error: &StoreFailure) -> Admission {
        tracing::warn!(dependency = self.dependency.as_str(), error = %error, fail_mode = ?self.config().fail_mode, "breaker record unreadable");
        match self.config().fail_mode {
            FailMode::Open => Admission::Allowed,
            FailMode::Closed => Admission::Refused { until: None },
        }
    }

    async fn probe_or_decide(&self, record: &BreakerRecord, now: Timestamp) -> Admission {
        match decide(record, &self.config(), now) {
            Decision::Allow => Admission::Allowed,
            Decision::TakeProbe => self.take_probe(record).await,
            Decision::Refuse { until } => Admission::Refused { until },
            Decision::HalfOpen => Admission::Refused { until: None },
        }
    }

    async fn take_probe(&self, record: &BreakerRecord) -> Admission {
        match self
            .store()
            .take_probe(self.dependency.as_str(), record.version)
            .await
        {
            Ok(true) => Admission::Probe {
                version: record.version,
            },
            Ok(false) => {
                self.forget();
                Admission::Refused { until: None }
            }
            Err(error) => self.unreadable(&error),
        }
    }

    async fn probe_outcome(&self, version: u64, failed: Option<&ErrorClass>, now: Timestamp) {
        let name = self.dependency.as_str();
        let close = match failed {
            Some(_) => false,
            None => match self.store().add_probe_success(name, version).await {
                Ok(Some(successes)) => successes >= self.config().probes,
                Ok(None) => return,
                Err(error) => {
                    tracing::warn!(dependency = name, error = %error, "probe success not counted");
                    return;
                }
            },
        };
        if failed.is_none() && !close {
            return;
        }
        let Ok(record) = self.refresh(now).await else {
            return;
        };
        if record.version != version || record.state != CircuitState::HalfOpen {
            return;
        }
        let next = match failed {
            Some(class) => {
                record.tripped(&self.config(), now, format!("probe failed: {}", class.code))
            }
            None => record.closed_again(now, format!("{} probes succeeded", self.config().probes)),
        };
        self.transition(&record, next, failed.map(|c| c.code), now)
            .await;
    }

    /// Moves `from` → `next` if no other instance moved it first.
    async fn transition(
        &self,
        from: &BreakerRecord,
        next: BreakerRecord,
        code: Option<&str>,
        now: Timestamp,
    ) {
        let alert = self.alert(from, &next, code, now);
        match self.store().transition_breaker(from, &next, &alert).await {
            Ok(true) => {
                self.log_transition(from, &next);
                self.remember(next);
                self.alerts.stored(alert);
            }
            Ok(false) => self.forget(),
            Err(error) => {
                tracing::warn!(dependency = self.dependency.as_str(), error = %error, "breaker transition not stored");
                self.forget();
            }
        }
    }

    fn alert(
        &self,
        from: &BreakerRecord,
        next: &BreakerRecord,
        code: Option<&str>,
        now: Timestamp,
    ) -> Alert {
        Alert::circuit_changed(
            self.dependency.as_str(),
            (from.state.as_str(), next.state.as_str()),
            next.version,
            (&next.reason, outage_ms(from, next)),
            code,
            now,
        )
    }

    fn log_transition(&self, from: &BreakerRecord, next: &BreakerRecord) {
        let name = self.dependency.as_str();
        tracing::warn!(
            dependency = name,
            from = from.state.as_str(),
            to = next.state.as_str(),
            version = next.version,
            reason = next.reason,
            trips = next.trips,
            config_version = self.config_version(),
            recovery_rate = next.recovery_rate(),
            "circuit breaker {name}: {} -> {}",
            from.state.as_str(),
            next.state.as_str()
        );
        let mut values = vec![Metric::one(&CIRCUIT_TRANSITIONS, 1.0)];
        if let Some(outage) = outage_ms(from, next) {
            values.push(Metric::one(&CIRCUIT_OPEN_MS, outage as f64));
        }
        if from.state == CircuitState::HalfOpen {
            values.push(Metric::one(&CIRCUIT_RECOVERY_RATE, next.recovery_rate()));
        }
        metrics::emit(
            self.log_format,
            "circuit-breaker",
            &[("Dependency", name), ("To", next.state.as_str())],
            &values,
        );
    }
}

/// How long a breaker that closes with this move was not closed; `None` for any other move.
fn outage_ms(from: &BreakerRecord, next: &BreakerRecord) -> Option<u64> {
    (next.state == CircuitState::Closed && from.state != CircuitState::Closed)
        .then(|| next.open_ms_total.saturating_sub(from.open_ms_total))
}
