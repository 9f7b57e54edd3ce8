//! The shared send rate against the emulator: senders with their own caches draw from one
//! bucket, so together they never exceed the rate; the batches of one instance refill its
//! tokens one write at a time.

use integration_tests::TestStack;
use lifecycle_adapters::store::keys;
use lifecycle_domain::Timestamp;
use lifecycle_domain::delivery::Channel;
use lifecycle_domain::delivery::send_rate::{Bucket, Grant, SendRate};

#[tokio::test]
async fn senders_with_their_own_caches_share_one_rate() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    let rate = SendRate::per_second(10.0);
    let start = Timestamp::now();
    // Three senders, each with its own view of the bucket, ask in turn for 4 tokens every
    // 100 ms of (simulated) time over 3 s.
    let mut seen: [Option<Bucket>; 3] = [None; 3];
    let mut granted = 0u32;
    let mut waits = 0u32;
    for tick in 0..30 {
        let now = start.plus_millis(tick * 100);
        for cache in &mut seen {
            let (grant, stored) = store
                .take_send_tokens(&keys::send_rate_sk(Channel::Email), rate, 4, *cache, now)
                .await
                .unwrap();
            *cache = stored;
            match grant {
                Grant::Take { granted: n, .. } => granted += n,
                Grant::Wait { wait_ms } => {
                    assert!(wait_ms > 0);
                    waits += 1;
                }
            }
        }
    }
    // 2.9 s at 10/s, plus the first second's burst of 10.
    assert!(granted <= 10 + 29, "{granted} tokens granted");
    assert!(granted >= 29, "{granted} tokens granted");
    assert!(waits > 0);
    // Another channel has its own bucket.
    let (webhook, _) = store
        .take_send_tokens(&keys::send_rate_sk(Channel::Webhook), rate, 4, None, start)
        .await
        .unwrap();
    assert!(matches!(webhook, Grant::Take { granted: 4, .. }));
}

#[tokio::test]
async fn concurrent_sends_of_one_instance_refill_its_tokens_one_write_at_a_time() {
    use lifecycle_delivery::sender::ports::SendGate;
    let stack = TestStack::new().await;
    let sender = stack.delivery_sender().await;
    let puts = || {
        stack
            .requests
            .snapshot()
            .get("DynamoDB.PutItem")
            .copied()
            .unwrap_or(0)
    };
    let before = puts();
    // Forty batches of one instance each want a send slot at the same moment.
    let sends = (0..40).map(|_| sender.acquire(Channel::Email));
    for acquired in futures_util::future::join_all(sends).await {
        acquired.unwrap();
    }
    let takes = delivery_sender::ports::TOKENS_PER_TAKE;
    assert_eq!(
        puts() - before,
        u64::from(40 / takes),
        "one bucket write per {takes} sends, none lost to races within the instance"
    );
}
