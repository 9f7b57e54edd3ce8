//! Heartbeats: at most one write a minute per function, however many instances beat.

use integration_tests::TestStack;
use lifecycle_adapters::config::LogFormat;
use lifecycle_adapters::heartbeat::Heartbeats;
use lifecycle_domain::Timestamp;

#[tokio::test]
async fn instances_share_one_heartbeat_record_written_at_most_once_a_minute() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let now = Timestamp::now();
    let first = Heartbeats::new(LogFormat::Text);
    let second = Heartbeats::new(LogFormat::Text);

    stack.requests.reset();
    first.beat(store, "timer-executor", now).await;
    first
        .beat(store, "timer-executor", now.plus_millis(1_000))
        .await;
    assert_eq!(
        stack.requests.count("DynamoDB", "PutItem"),
        1,
        "a process beats once a minute"
    );
    second
        .beat(store, "timer-executor", now.plus_millis(2_000))
        .await;
    let beats = store.heartbeats().await.unwrap();
    assert_eq!(beats.len(), 1);
    assert_eq!(
        beats[0].last_seen, now,
        "the other instance's write was refused"
    );

    second
        .beat(store, "timer-executor", now.plus_millis(62_000))
        .await;
    second.beat(store, "sweeper", now).await;
    let mut beats = store.heartbeats().await.unwrap();
    beats.sort_by(|a, b| a.function.cmp(&b.function));
    let seen: Vec<(&str, Timestamp)> = beats
        .iter()
        .map(|b| (b.function.as_str(), b.last_seen))
        .collect();
    assert_eq!(
        seen,
        [
            ("sweeper", now),
            ("timer-executor", now.plus_millis(62_000))
        ]
    );
}
