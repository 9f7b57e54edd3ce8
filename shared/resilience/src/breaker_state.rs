//! The shared circuit breaker's record and its rules, without I/O: when the failure window
//! trips it, how long it stays open (doubling per consecutive trip), when it lets probes
//! through, and its recovery figures (trips, time open, recovery rate).

use std::time::Duration;

use serde::{Deserialize, Serialize};

use lifecycle_domain::Timestamp;

/// The three states.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum CircuitState {
    /// Calls pass; failures are counted.
    Closed,
    /// Calls are refused until `openUntil`.
    Open,
    /// A limited number of probe calls pass; their outcome closes or reopens the breaker.
    HalfOpen,
}

impl CircuitState {
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Closed => "CLOSED",
            Self::Open => "OPEN",
            Self::HalfOpen => "HALF_OPEN",
        }
    }
}

/// What to do when the breaker's record cannot be read or written.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum FailMode {
    /// Let calls through (the dependency has no fallback, e.g. DynamoDB itself).
    Open,
    /// Refuse calls (the work has a safe fallback, e.g. events stay in the outbox).
    Closed,
}

/// Thresholds of one dependency's breaker.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct BreakerConfig {
    /// Failure ratio (0–1) of the window at or above which the breaker trips.
    pub failure_rate: f64,
    /// Calls the window must hold before the ratio counts.
    pub minimum_calls: u64,
    /// Length of one counter bucket.
    pub bucket: Duration,
    /// Buckets in the window (the window is `bucket × buckets`).
    pub buckets: u32,
    /// Open time after the first trip; doubled per consecutive trip up to `max_open`.
    pub open_base: Duration,
    pub max_open: Duration,
    /// Probe calls admitted in HALF_OPEN; all must succeed to close.
    pub probes: u32,
    /// A HALF_OPEN state older than this (its probes were lost) hands out fresh probes.
    pub probe_timeout: Duration,
    /// How long an instance trusts its cached copy of the record.
    pub cache_ttl: Duration,
    /// After `cache_ttl`, for this long more, the copy is still acted on while a fresh one is
    /// read in the background (off the request path); older copies are re-read first.
    pub revalidate_within: Duration,
    /// How long an instance may hold successes before adding them to the shared counters.
    pub flush_interval: Duration,
    /// Failures are added (and the window read) at most this often per instance.
    pub failure_flush_interval: Duration,
    pub fail_mode: FailMode,
}

impl BreakerConfig {
    /// resilience4j-like defaults: 50 % of at least 20 calls in 60 s, open 30 s doubling to
    /// 5 min, 3 probes.
    pub fn standard(fail_mode: FailMode) -> Self {
        Self {
            failure_rate: 0.5,
            minimum_calls: 20,
            bucket: Duration::from_secs(10),
            buckets: 6,
            open_base: Duration::from_secs(30),
            max_open: Duration::from_secs(300),
            probes: 3,
            probe_timeout: Duration::from_secs(30),
            cache_ttl: Duration::from_secs(1),
            revalidate_within: Duration::from_secs(4),
            flush_interval: Duration::from_secs(5),
            failure_flush_interval: Duration::from_secs(1),
            fail_mode,
        }
    }

    /// The start of the bucket holding `at`.
    pub fn bucket_start(&self, at: Timestamp) -> i64 {
        let size = self.bucket.as_millis() as i64;
        at.millis().div_euclid(size) * size
    }

    /// The first bucket of the window ending at `now`.
    pub fn window_start(&self, now: Timestamp) -> i64 {
        self.bucket_start(now) - (i64::from(self.buckets) - 1) * self.bucket.as_millis() as i64
    }

    /// Whether `calls` with `failures` trip the breaker.
    pub fn trips(&self, calls: u64, failures: u64) -> bool {
        calls >= self.minimum_calls
            && calls > 0
            && failures as f64 / calls as f64 >= self.failure_rate
    }

    /// How long the breaker stays open after its `consecutive`-th trip in a row (1-based).
    pub fn open_duration(&self, consecutive: u32) -> Duration {
        let doublings = consecutive.saturating_sub(1).min(20);
        self.open_base
            .saturating_mul(1u32 << doublings)
            .min(self.max_open)
    }
}

/// The shared record of one dependency's breaker.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct BreakerRecord {
    pub dependency: String,
    pub state: CircuitState,
    /// Raised by every transition; transitions are conditional on it.
    pub version: u64,
    pub changed_at: Timestamp,
    /// OPEN: calls are refused until then.
    pub open_until: Option<Timestamp>,
    /// When the current (or last) open period began.
    pub opened_at: Option<Timestamp>,
    /// CLOSED: failures before this time are not counted (they belong to the last outage).
    pub counting_since: Option<Timestamp>,
    /// HALF_OPEN: probes not yet handed out.
    pub probe_tokens: u32,
    /// HALF_OPEN: probes that succeeded.
    pub probe_successes: u32,
    /// Trips since the breaker last closed (the open-time backoff exponent).
    pub consecutive_trips: u32,
    /// Recovery figures (with the next three fields): trips, recoveries, failed recoveries
    /// and time spent open, over the record's life.
    pub trips: u64,
    pub recoveries: u64,
    pub failed_recoveries: u64,
    pub open_ms_total: u64,
    /// Why it last changed: `failure rate 0.62 of 40 calls`, `probe failed`, `manual reset`.
    pub reason: String,
}

impl BreakerRecord {
    /// The record of a breaker that never tripped.
    pub fn closed(dependency: &str, now: Timestamp) -> Self {
        Self {
            dependency: dependency.into(),
            state: CircuitState::Closed,
            version: 0,
            changed_at: now,
            open_until: None,
            opened_at: None,
            counting_since: None,
            probe_tokens: 0,
            probe_successes: 0,
            consecutive_trips: 0,
            trips: 0,
            recoveries: 0,
            failed_recoveries: 0,
            open_ms_total: 0,
            reason: "never tripped".into(),
        }
    }

    /// Share of half-open periods that ended CLOSED (1 when none ended yet).
    pub fn recovery_rate(&self) -> f64 {
        let ended = self.recoveries + self.failed_recoveries;
        if ended == 0 {
            1.0
        } else {
            self.recoveries as f64 / ended as f64
        }
    }

    fn next(&self, state: CircuitState, now: Timestamp, reason: String) -> Self {
        Self {
            state,
            version: self.version + 1,
            changed_at: now,
            reason,
            ..self.clone()
        }
    }

    /// CLOSED (or a failed probe in HALF_OPEN) → OPEN.
    pub fn tripped(&self, config: &BreakerConfig, now: Timestamp, reason: String) -> Self {
        let consecutive = self.consecutive_trips + 1;
        let open_for = config.open_duration(consecutive);
        let mut next = self.next(CircuitState::Open, now, reason);
        next.consecutive_trips = consecutive;
        next.open_until = Some(now.plus_millis(open_for.as_millis() as i64));
        next.opened_at = Some(
            self.opened_at
                .filter(|_| self.state == CircuitState::HalfOpen)
                .unwrap_or(now),
        );
        next.trips += 1;
        if self.state == CircuitState::HalfOpen {
            next.failed_recoveries += 1;
        }
        next.probe_tokens = 0;
        next.probe_successes = 0;
        next
    }

    /// OPEN past its time (or a HALF_OPEN whose probes were lost) → HALF_OPEN with fresh probes.
    pub fn half_opened(&self, config: &BreakerConfig, now: Timestamp) -> Self {
        let mut next = self.next(
            CircuitState::HalfOpen,
            now,
            "open time over; probing".into(),
        );
        next.probe_tokens = config.probes;
        next.probe_successes = 0;
        next.open_until = None;
        next
    }

    /// HALF_OPEN with every probe succeeded (or a manual reset) → CLOSED.
    pub fn closed_again(&self, now: Timestamp, reason: String) -> Self {
        let mut next = self.next(CircuitState::Closed, now, reason);
        if let Some(opened_at) = self
            .opened_at
            .filter(|_| self.state != CircuitState::Closed)
        {
            next.open_ms_total += now.millis_since(opened_at).max(0) as u64;
        }
        if self.state == CircuitState::HalfOpen {
            next.recoveries += 1;
        }
        next.consecutive_trips = 0;
        next.open_until = None;
        next.probe_tokens = 0;
        next.probe_successes = 0;
        next.counting_since = Some(now);
        next
    }
}

/// What a caller should do given the cached record.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Decision {
    Allow,
    Refuse {
        until: Option<Timestamp>,
    },
    /// OPEN is over (or HALF_OPEN went stale): try moving to HALF_OPEN, then take a probe.
    HalfOpen,
    /// HALF_OPEN: try taking a probe token.
    TakeProbe,
}

/// Decides what a call may do under `record` at `now`.
pub fn decide(record: &BreakerRecord, config: &BreakerConfig, now: Timestamp) -> Decision {
    match record.state {
        CircuitState::Closed => Decision::Allow,
        CircuitState::Open => match record.open_until {
            Some(until) if now < until => Decision::Refuse { until: Some(until) },
            _ => Decision::HalfOpen,
        },
        CircuitState::HalfOpen => {
            let stale =
                now.millis_since(record.changed_at) > config.probe_timeout.as_millis() as i64;
            if stale {
                Decision::HalfOpen
            } else if record.probe_tokens > 0 {
                Decision::TakeProbe
            } else {
                Decision::Refuse { until: None }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn config() -> BreakerConfig {
        BreakerConfig::standard(FailMode::Open)
    }

    fn at(ms: i64) -> Timestamp {
        Timestamp::from_millis(1_800_000_000_000 + ms)
    }

    #[test]
    fn trips_only_with_enough_calls_and_failures() {
        let c = config();
        assert!(!c.trips(19, 19), "below the minimum number of calls");
        assert!(c.trips(20, 10));
        assert!(!c.trips(20, 9));
        assert!(!c.trips(0, 0));
    }

    #[test]
    fn open_time_doubles_per_consecutive_trip_up_to_the_cap() {
        let c = config();
        let secs: Vec<u64> = (1..=6).map(|n| c.open_duration(n).as_secs()).collect();
        assert_eq!(secs, [30, 60, 120, 240, 300, 300]);
    }

    #[test]
    fn a_full_cycle_keeps_the_recovery_figures() {
        let c = config();
        let closed = BreakerRecord::closed("sqs", at(0));
        let open = closed.tripped(&c, at(1_000), "rate".into());
        assert_eq!(
            (open.state, open.version, open.trips),
            (CircuitState::Open, 1, 1)
        );
        assert_eq!(open.open_until, Some(at(31_000)));
        assert_eq!(
            decide(&open, &c, at(30_999)),
            Decision::Refuse {
                until: Some(at(31_000))
            }
        );
        assert_eq!(decide(&open, &c, at(31_000)), Decision::HalfOpen);

        let probing = open.half_opened(&c, at(31_000));
        assert_eq!((probing.probe_tokens, probing.version), (3, 2));
        assert_eq!(decide(&probing, &c, at(31_001)), Decision::TakeProbe);

        let reopened = probing.tripped(&c, at(32_000), "probe failed".into());
        assert_eq!(reopened.open_until, Some(at(92_000)), "second trip: 60 s");
        assert_eq!(
            (reopened.failed_recoveries, reopened.opened_at),
            (1, Some(at(1_000)))
        );

        let closed_again = reopened
            .half_opened(&c, at(92_000))
            .closed_again(at(93_000), "probes succeeded".into());
        assert_eq!(closed_again.state, CircuitState::Closed);
        assert_eq!(
            (closed_again.recoveries, closed_again.consecutive_trips),
            (1, 0)
        );
        assert_eq!(closed_again.open_ms_total, 92_000);
        assert_eq!(closed_again.counting_since, Some(at(93_000)));
        assert_eq!(closed_again.recovery_rate(), 0.5);
        assert_eq!(closed_again.version, 5);
    }

    #[test]
    fn a_half_open_state_without_tokens_refuses_until_it_goes_stale() {
        let c = config();
        let mut probing = BreakerRecord::closed("sqs", at(0))
            .tripped(&c, at(0), "rate".into())
            .half_opened(&c, at(30_000));
        probing.probe_tokens = 0;
        assert_eq!(
            decide(&probing, &c, at(31_000)),
            Decision::Refuse { until: None }
        );
        assert_eq!(decide(&probing, &c, at(60_001)), Decision::HalfOpen);
    }

    #[test]
    fn the_window_covers_whole_buckets() {
        let c = config();
        assert_eq!(c.bucket_start(Timestamp::from_millis(25_001)), 20_000);
        assert_eq!(c.window_start(Timestamp::from_millis(65_000)), 10_000);
    }
}
