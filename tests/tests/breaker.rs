//! The shared circuit breaker against the emulator: many instances (each a separate
//! `CircuitBreaker`, as separate Lambda instances would hold) drive one DynamoDB record.

use std::sync::Arc;
use std::time::Duration;

use integration_tests::TestStack;
use lifecycle_adapters::config::LogFormat;
use lifecycle_adapters::relay::AlertRelay;
use lifecycle_adapters::store::Store;
use lifecycle_domain::SystemClock;
use lifecycle_domain::Timestamp;
use lifecycle_domain::{Alert, AlertKind};
use lifecycle_resilience::{
    Admission, AlertSink, BreakerConfig, CircuitBreaker, CircuitState, Dependency, FailMode,
    SERVER_ERROR,
};

/// Instances driving the breaker at once.
const INSTANCES: usize = 32;

/// Open time of the probe tests.
const SHORT_OPEN: Duration = Duration::from_secs(3);
/// Open time of the trip tests: longer than the test, so no probe interferes.
const LONG_OPEN: Duration = Duration::from_secs(120);

fn config(open_base: Duration) -> BreakerConfig {
    BreakerConfig {
        minimum_calls: 20,
        open_base,
        probes: 3,
        // Every instance reads the shared record on each admission and adds each failure.
        cache_ttl: Duration::ZERO,
        revalidate_within: Duration::ZERO,
        failure_flush_interval: Duration::ZERO,
        ..BreakerConfig::standard(FailMode::Open)
    }
}

fn instances(
    stack: &TestStack,
    dependency: Dependency,
    open_base: Duration,
) -> Vec<Arc<CircuitBreaker>> {
    let store = Store::new(
        stack.setup.dynamodb.clone(),
        &stack.services.config.table_name,
        stack.services.config.due_shards,
    );
    (0..INSTANCES)
        .map(|_| {
            Arc::new(CircuitBreaker::new(
                dependency,
                config(open_base),
                Arc::new(store.clone()),
                alert_sink(&store),
                LogFormat::Text,
            ))
        })
        .collect()
}

/// Alerts stored in `store`'s alert outbox, not published.
fn alert_sink(store: &Store) -> AlertSink {
    let outbox = AlertRelay {
        store: store.clone(),
        publisher: None,
    };
    AlertSink::new(Arc::new(outbox), Arc::new(SystemClock))
}

/// Every instance makes `calls` failing calls at the same time.
async fn fail_everywhere(breakers: &[Arc<CircuitBreaker>], calls: usize) {
    let tasks = breakers.iter().cloned().map(|breaker| {
        tokio::spawn(async move {
            for _ in 0..calls {
                let admission = breaker.admit(Timestamp::now()).await;
                breaker
                    .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
                    .await;
            }
        })
    });
    for task in futures_util::future::join_all(tasks).await {
        task.expect("instance task");
    }
}

async fn circuit_alerts(stack: &TestStack, dependency: Dependency) -> Vec<Alert> {
    stack
        .services
        .store
        .unpublished_alerts(Timestamp::now().plus_millis(1_000), 500)
        .await
        .expect("alerts")
        .into_iter()
        .filter(|a| a.kind == AlertKind::CircuitStateChanged && a.subject == dependency.as_str())
        .collect()
}

fn count(alerts: &[Alert], transition: &str) -> usize {
    alerts
        .iter()
        .filter(|a| a.message.contains(transition))
        .count()
}

#[tokio::test]
async fn concurrent_instances_trip_the_breaker_exactly_once_per_trip() {
    let stack = TestStack::new().await;
    let breakers = instances(&stack, Dependency::Sqs, LONG_OPEN);

    fail_everywhere(&breakers, 2).await;
    let record = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!(record.state, CircuitState::Open);
    assert_eq!((record.trips, record.version), (1, 1));
    let alerts = circuit_alerts(&stack, Dependency::Sqs).await;
    assert_eq!(count(&alerts, "CLOSED -> OPEN"), 1, "{alerts:#?}");
    assert_eq!(alerts[0].error_code.as_deref(), Some("AWS_SERVER_ERROR"));
    for breaker in &breakers {
        assert!(matches!(
            breaker.admit(Timestamp::now()).await,
            Admission::Refused { until: Some(_) }
        ));
    }

    // Second trip: reset, fail again everywhere; the failures of the first outage are not
    // counted twice, and again exactly one instance opens it.
    breakers[0].reset(Timestamp::now()).await.unwrap();
    fail_everywhere(&breakers, 2).await;
    let record = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!((record.state, record.trips), (CircuitState::Open, 2));
    assert_eq!(record.version, 3, "trip, reset, trip");
    let alerts = circuit_alerts(&stack, Dependency::Sqs).await;
    assert_eq!(count(&alerts, "CLOSED -> OPEN"), 2, "{alerts:#?}");
    assert_eq!(count(&alerts, "OPEN -> CLOSED"), 1, "{alerts:#?}");
}

#[tokio::test]
async fn too_few_calls_or_failures_do_not_trip() {
    let stack = TestStack::new().await;
    let breakers = instances(&stack, Dependency::EventBridge, LONG_OPEN);
    // 19 failures: below the minimum number of calls.
    for breaker in breakers.iter().take(19) {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
    }
    // Plenty of successes bring the rate under 50 % before the next failures.
    for breaker in &breakers {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker.record(&admission, None, Timestamp::now()).await;
        breaker.flush(Timestamp::now()).await;
    }
    for breaker in breakers.iter().take(5) {
        let admission = breaker.admit(Timestamp::now()).await;
        breaker
            .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
            .await;
    }
    let record = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!(record.state, CircuitState::Closed, "24 of 56 calls failed");
}

#[tokio::test]
async fn half_open_admits_exactly_the_configured_probes() {
    let stack = TestStack::new().await;
    let breakers = instances(&stack, Dependency::EventBridge, SHORT_OPEN);
    fail_everywhere(&breakers, 1).await;
    let opened = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!(opened.state, CircuitState::Open);
    let until = opened.open_until.expect("open until");
    tokio::time::sleep(Duration::from_millis(
        until.millis_since(Timestamp::now()).max(0) as u64 + 50,
    ))
    .await;

    let admissions = futures_util::future::join_all(
        breakers
            .iter()
            .map(|breaker| breaker.admit(Timestamp::now())),
    )
    .await;
    let probes: Vec<&Admission> = admissions
        .iter()
        .filter(|a| matches!(a, Admission::Probe { .. }))
        .collect();
    assert_eq!(probes.len(), 3, "{admissions:?}");
    assert!(
        admissions
            .iter()
            .all(|a| matches!(a, Admission::Probe { .. } | Admission::Refused { .. }))
    );
    let alerts = circuit_alerts(&stack, Dependency::EventBridge).await;
    assert_eq!(count(&alerts, "OPEN -> HALF_OPEN"), 1, "{alerts:#?}");

    // All three probes succeed: CLOSED, one recovery, calls pass again.
    for (breaker, admission) in breakers.iter().zip(&admissions) {
        if matches!(admission, Admission::Probe { .. }) {
            breaker.record(admission, None, Timestamp::now()).await;
        }
    }
    let closed = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!(closed.state, CircuitState::Closed);
    assert_eq!((closed.recoveries, closed.failed_recoveries), (1, 0));
    assert!(closed.open_ms_total >= 3_000, "{}", closed.open_ms_total);
    assert_eq!(
        breakers[5].admit(Timestamp::now()).await,
        Admission::Allowed
    );
}

#[tokio::test]
async fn a_failed_probe_reopens_for_longer_and_a_manual_reset_closes() {
    let stack = TestStack::new().await;
    let breakers = instances(&stack, Dependency::DynamoDb, SHORT_OPEN);
    fail_everywhere(&breakers, 1).await;
    let opened = breakers[0].refresh(Timestamp::now()).await.unwrap();
    let first_open = opened.open_until.unwrap().millis_since(opened.changed_at);
    tokio::time::sleep(Duration::from_millis(first_open as u64 + 50)).await;

    let admission = breakers[1].admit(Timestamp::now()).await;
    assert!(
        matches!(admission, Admission::Probe { .. }),
        "{admission:?}"
    );
    breakers[1]
        .record(&admission, Some(&SERVER_ERROR), Timestamp::now())
        .await;
    let reopened = breakers[0].refresh(Timestamp::now()).await.unwrap();
    assert_eq!(reopened.state, CircuitState::Open);
    assert_eq!(reopened.failed_recoveries, 1);
    let second_open = reopened
        .open_until
        .unwrap()
        .millis_since(reopened.changed_at);
    assert_eq!(second_open, first_open * 2, "open time doubles");

    let reset = breakers[2].reset(Timestamp::now()).await.unwrap();
    assert_eq!(reset.state, CircuitState::Closed);
    assert_eq!(reset.reason, "manual reset");
    for breaker in &breakers {
        assert_eq!(breaker.admit(Timestamp::now()).await, Admission::Allowed);
    }
    let alerts = circuit_alerts(&stack, Dependency::DynamoDb).await;
    assert_eq!(
        count(&alerts, "OPEN -> CLOSED (manual reset)"),
        1,
        "{alerts:#?}"
    );
}

#[tokio::test]
async fn an_unreadable_record_falls_back_to_the_last_copy_seen() {
    let stack = TestStack::new().await;
    // Half the reads of the record fail; EventBridge's breaker fails closed.
    let (clients, injector) = stack.clients_with_faults("DynamoDB.GetItem=0.5:500");
    let store = Store::new(
        clients.dynamodb.clone(),
        &stack.services.config.table_name,
        stack.services.config.due_shards,
    );
    let breaker = CircuitBreaker::new(
        Dependency::EventBridge,
        BreakerConfig {
            cache_ttl: Duration::ZERO,
            revalidate_within: Duration::ZERO,
            ..BreakerConfig::standard(FailMode::Closed)
        },
        Arc::new(store.clone()),
        alert_sink(&store),
        LogFormat::Text,
    );
    let mut admissions = Vec::new();
    for _ in 0..30 {
        admissions.push(breaker.admit(Timestamp::now()).await);
    }
    let first_read = admissions
        .iter()
        .position(|a| *a == Admission::Allowed)
        .expect("some read succeeded");
    assert!(
        admissions[..first_read]
            .iter()
            .all(|a| *a == Admission::Refused { until: None }),
        "never seen: fail closed {admissions:?}"
    );
    assert!(
        admissions[first_read..]
            .iter()
            .all(|a| *a == Admission::Allowed),
        "seen once: the last copy stands in {admissions:?}"
    );
    assert!(
        injector.total() > first_read as u64,
        "later reads failed too"
    );
}
