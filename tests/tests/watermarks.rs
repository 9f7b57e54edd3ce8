//! The dispatcher's watermarks are saved only over the version that was read: a dispatcher
//! holding a stale copy (another one saved since) is refused and cannot move them backwards.

use futures_util::future::join_all;
use integration_tests::TestStack;
use lifecycle_adapters::store::Watermarks;
use lifecycle_domain::Timestamp;

fn at(millis: i64) -> Timestamp {
    Timestamp::from_millis(millis)
}

/// `read` with shard 0 moved to `millis`.
fn moved(read: &Watermarks, millis: i64) -> Watermarks {
    let mut next = read.clone();
    next.shards.insert(0, at(millis));
    next
}

#[tokio::test]
async fn a_save_over_a_stale_version_is_refused() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;

    // The first save: both dispatchers read "never saved"; only the first may create it.
    let never = store.load_watermarks().await.unwrap();
    assert_eq!(never.version, 0);
    assert!(
        store
            .save_watermarks(&moved(&never, 2_000), at(1))
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_watermarks(&moved(&never, 1_000), at(2))
            .await
            .unwrap()
    );
    let saved = store.load_watermarks().await.unwrap();
    assert_eq!((saved.of(0), saved.version), (at(2_000), 1));

    // Later saves: both read version 1; the second save carries a stale version.
    let first = store.load_watermarks().await.unwrap();
    let second = store.load_watermarks().await.unwrap();
    assert!(
        store
            .save_watermarks(&moved(&first, 5_000), at(3))
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_watermarks(&moved(&second, 3_000), at(4))
            .await
            .unwrap(),
        "a stale dispatcher moved the watermark backwards"
    );
    let saved = store.load_watermarks().await.unwrap();
    assert_eq!(saved.of(0), at(5_000));
    assert_eq!((saved.version, saved.saved_at), (2, Some(at(3))));
}

#[tokio::test]
async fn of_dispatchers_racing_from_one_read_exactly_one_wins() {
    let stack = TestStack::new().await;
    let store = &stack.services.store;
    assert!(
        store
            .save_watermarks(&moved(&Watermarks::default(), 1_000), at(1))
            .await
            .unwrap()
    );
    let read = store.load_watermarks().await.unwrap();
    let saves = (1..=8).map(|i| {
        let next = moved(&read, 1_000 + i * 100);
        async move { (i, store.save_watermarks(&next, at(i)).await.unwrap()) }
    });
    let results = join_all(saves).await;
    let winners: Vec<i64> = results
        .iter()
        .filter(|(_, won)| *won)
        .map(|(i, _)| *i)
        .collect();
    assert_eq!(winners.len(), 1, "{results:?}");
    let saved = store.load_watermarks().await.unwrap();
    assert_eq!(saved.version, 2);
    assert_eq!(saved.of(0), at(1_000 + winners[0] * 100));
}
