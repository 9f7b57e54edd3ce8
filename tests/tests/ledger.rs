//! The recipient ledger's store against the emulator: claims and settlements with their
//! conditions, the merged settle-and-claim write, release, delivery events through the outbox,
//! and batched reads.

use integration_tests::TestStack;
use lifecycle_adapters::store::{LedgerRun, Store};
use lifecycle_domain::delivery::ledger_write::{Claim, LedgerWrite, Settlement, WriteOutcome};
use lifecycle_domain::delivery::{LedgerStatus, RunEvent, RunId};
use lifecycle_domain::{CampaignId, Timestamp};

/// A fresh stack and a run of a new campaign starting now.
struct Fixture {
    stack: TestStack,
    campaign: CampaignId,
    run_id: RunId,
    now: Timestamp,
}

impl Fixture {
    async fn new() -> Self {
        let now = Timestamp::now();
        Self {
            stack: TestStack::new().await,
            campaign: CampaignId::generate(),
            run_id: RunId::for_occurrence(now),
            now,
        }
    }

    fn parts(&self) -> (&Store, &CampaignId, &RunId) {
        (&self.stack.services.store, &self.campaign, &self.run_id)
    }

    fn run(&self) -> LedgerRun<'_> {
        LedgerRun {
            campaign: &self.campaign,
            run: &self.run_id,
            now: self.now,
        }
    }
}

fn claim(id: &str, row: u64) -> Claim {
    Claim {
        recipient_id: id.into(),
        row,
        token: "t1".into(),
    }
}

fn settle(id: &str, row: u64, status: LedgerStatus, claimed: bool) -> Settlement {
    Settlement {
        recipient_id: id.into(),
        row,
        token: "t1".into(),
        status,
        ambiguous: false,
        reason: (status == LedgerStatus::Failed).then(|| "HTTP 410".into()),
        claimed,
        event: None,
    }
}

fn write(settle: Option<Settlement>, claim: Option<Claim>) -> LedgerWrite {
    LedgerWrite { settle, claim }
}

#[tokio::test]
async fn a_settlement_and_the_next_claim_are_one_write_with_their_conditions() {
    let fixture = Fixture::new().await;
    let (store, campaign, run_id) = fixture.parts();
    let run = fixture.run();

    let first = store
        .ledger_write(run, &write(None, Some(claim("a", 0))))
        .await;
    assert_eq!(first.unwrap(), WriteOutcome::Written);
    let merged = write(
        Some(settle("a", 0, LedgerStatus::Sent, true)),
        Some(claim("b", 1)),
    );
    assert_eq!(
        store.ledger_write(run, &merged).await.unwrap(),
        WriteOutcome::Written
    );

    // `a` is held by row 0: row 7 with the same id is a duplicate, yet `b`'s settlement lands.
    let duplicate = write(
        Some(settle("b", 1, LedgerStatus::Failed, true)),
        Some(claim("a", 7)),
    );
    assert_eq!(
        store.ledger_write(run, &duplicate).await.unwrap(),
        WriteOutcome::Taken
    );

    // Settling a recipient and claiming it again: the claim is refused, the settlement lands.
    let same = write(
        Some(settle("c", 2, LedgerStatus::Sent, false)),
        Some(claim("c", 8)),
    );
    assert_eq!(
        store.ledger_write(run, &same).await.unwrap(),
        WriteOutcome::Taken
    );

    // A settlement of a claim that is not ours changes nothing.
    let stale = write(
        Some(settle("a", 3, LedgerStatus::Failed, true)),
        Some(claim("d", 3)),
    );
    assert_eq!(
        store.ledger_write(run, &stale).await.unwrap(),
        WriteOutcome::LeaseLost
    );

    let ids: Vec<String> = ["a", "b", "c", "d"].map(String::from).to_vec();
    let entries = store.ledger_entries(campaign, run_id, &ids).await.unwrap();
    assert_eq!(entries.len(), 3, "{entries:?}");
    assert_eq!(entries["c"].status, LedgerStatus::Sent);
    assert_eq!(entries["a"].status, LedgerStatus::Sent);
    assert_eq!(entries["a"].owner_row, 0);
    assert_eq!(entries["b"].status, LedgerStatus::Failed);
    assert_eq!(entries["b"].owner_row, 1);
}

#[tokio::test]
async fn a_release_removes_only_our_own_unsettled_claim() {
    let fixture = Fixture::new().await;
    let (store, campaign, run_id) = fixture.parts();
    let run = fixture.run();
    store
        .ledger_write(run, &write(None, Some(claim("a", 4))))
        .await
        .unwrap();
    store
        .ledger_release(campaign, run_id, &claim("a", 5))
        .await
        .unwrap();
    let ids = vec!["a".to_owned()];
    assert_eq!(
        store.ledger_entries(campaign, run_id, &ids).await.unwrap()["a"].status,
        LedgerStatus::Sending,
        "another row's release leaves the claim"
    );
    store
        .ledger_release(campaign, run_id, &claim("a", 4))
        .await
        .unwrap();
    assert!(
        store
            .ledger_entries(campaign, run_id, &ids)
            .await
            .unwrap()
            .is_empty()
    );
    // Released, the recipient can be claimed afresh.
    let again = store
        .ledger_write(run, &write(None, Some(claim("a", 4))))
        .await;
    assert_eq!(again.unwrap(), WriteOutcome::Written);
}

#[tokio::test]
async fn an_event_delivery_is_written_with_its_entry_exactly_once() {
    let fixture = Fixture::new().await;
    let (store, campaign, run_id) = fixture.parts();
    let run = fixture.run();
    let mut delivery = settle("u1", 0, LedgerStatus::Sent, false);
    delivery.event = Some(RunEvent::recipient_delivery(
        campaign, run_id, "u1", "user-1", None,
    ));
    let event_id = delivery.event.as_ref().unwrap().event_id.clone();
    assert_eq!(
        store
            .ledger_write(run, &write(Some(delivery.clone()), None))
            .await
            .unwrap(),
        WriteOutcome::Written
    );
    assert!(store.outbox_holds(campaign, &event_id).await.unwrap());
    assert_eq!(
        store
            .ledger_write(run, &write(Some(delivery), None))
            .await
            .unwrap(),
        WriteOutcome::Taken,
        "the same recipient again writes nothing"
    );
    let mut held = Vec::new();
    for shard in 0..store.due_shards() {
        held.extend(
            store
                .stale_outbox(shard, fixture.now.plus_millis(1), 100)
                .await
                .unwrap()
                .into_iter()
                .filter(|event| &event.campaign_id == campaign),
        );
    }
    assert_eq!(held.len(), 1);
    assert_eq!(held[0].detail_type, "RecipientDelivery");
}

#[tokio::test]
async fn entries_are_read_in_batches_of_a_hundred() {
    let fixture = Fixture::new().await;
    let (store, campaign, run_id) = fixture.parts();
    let run = fixture.run();
    let ids: Vec<String> = (0..150).map(|i| format!("r{i}")).collect();
    for (row, id) in ids.iter().enumerate().filter(|(row, _)| row % 2 == 0) {
        let failed = settle(id, row as u64, LedgerStatus::Failed, false);
        store
            .ledger_write(run, &write(Some(failed), None))
            .await
            .unwrap();
    }
    let entries = store.ledger_entries(campaign, run_id, &ids).await.unwrap();
    assert_eq!(entries.len(), 75);
    assert!(entries.values().all(|e| e.status == LedgerStatus::Failed));
    assert_eq!(entries["r148"].owner_row, 148);
}
