//! The alert fan-out's state store against the emulator: a decision is stored once however
//! many instances decide from the same read, its notification waits per channel until that
//! channel delivered, and a later decision keeps what is still pending.

use integration_tests::TestStack;
use lifecycle_domain::alerting::{AlertChannel, AlertState, NoiseSettings, Notice};
use lifecycle_domain::{Alert, Timestamp};

fn opened(version: u64, at: Timestamp) -> Alert {
    Alert::circuit_changed(
        "sqs",
        ("CLOSED", "OPEN"),
        version,
        ("5 failures", None),
        None,
        at,
    )
}

#[tokio::test]
async fn a_decision_is_stored_once_and_its_channels_settle_one_by_one() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let now = Timestamp::now();
    let settings = NoiseSettings::default();
    let first = opened(1, now);
    let cause = first.dedup_key();
    assert_eq!(store.alert_state(&cause).await.unwrap(), None);

    // Two instances decide on the same alert from the same (empty) read: one stores it.
    let decision = AlertState::on_alert(None, &first, now, settings).unwrap();
    assert_eq!(decision.notice, Some(Notice::Firing));
    let channels = [AlertChannel::Slack, AlertChannel::Webhook];
    assert!(
        store
            .store_alert_decision(None, &decision, &channels, settings, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .store_alert_decision(None, &decision, &channels, settings, now)
            .await
            .unwrap()
            .is_none(),
        "the second instance lost: it decides again from a fresh read"
    );
    let stored = store.alert_state(&cause).await.unwrap().unwrap();
    assert_eq!(stored.state, decision.state);
    let pending: Vec<_> = stored.pending.values().collect();
    assert_eq!(pending.len(), 2, "{pending:#?}");
    assert!(
        pending
            .iter()
            .all(|p| p.notification.notice == Notice::Firing)
    );

    // Slack delivers; the webhook does not yet.
    let slack = pending
        .iter()
        .find(|p| p.channel == AlertChannel::Slack)
        .copied()
        .unwrap()
        .clone();
    assert!(store.settle_notification(&cause, &slack).await.unwrap());
    assert!(
        !store.settle_notification(&cause, &slack).await.unwrap(),
        "settled once"
    );

    // A repeat is counted; the webhook's notification stays pending.
    let read = store.alert_state(&cause).await.unwrap().unwrap();
    let later = now.plus_millis(60_000);
    let repeat =
        AlertState::on_alert(Some(&read.state), &opened(2, later), later, settings).unwrap();
    assert_eq!(repeat.notice, None);
    assert!(
        store
            .store_alert_decision(Some(&read), &repeat, &channels, settings, now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .store_alert_decision(Some(&read), &repeat, &channels, settings, now)
            .await
            .unwrap()
            .is_none(),
        "a decision from a stale read is refused"
    );
    let after = store.alert_state(&cause).await.unwrap().unwrap();
    assert_eq!(after.state.repeats, 1);
    let left: Vec<AlertChannel> = after.pending.values().map(|p| p.channel).collect();
    assert_eq!(left, [AlertChannel::Webhook], "nothing decided is lost");
}
