//! Runs and their batches in the store, against the emulator: a run created once with its
//! started event, the plan cursor moved only from where it was, a CSV header saved once,
//! batch leases, batch counts recorded once into the run, the run completed once, and a stalled
//! run held for one repair per stall period.

use integration_tests::TestStack;
use lifecycle_adapters::store::{BatchKey, StalledRun, Store};
use lifecycle_domain::delivery::batch_plan::PlanCommit;
use lifecycle_domain::delivery::batch_state::{BatchRecorded, Lease};
use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::recipient::CsvHeader;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, Counts, Message, PlanCursor, PlannedBatch, RecipientList, RunId, RunRecord,
    RunStatus,
};
use lifecycle_domain::{CampaignId, Timestamp};

/// A stack with one new run of a new campaign, PLANNING.
struct Fixture {
    stack: TestStack,
    run: RunRecord,
    now: Timestamp,
    /// Batches 0, 1 and 2 of the run.
    batches: Vec<PlannedBatch>,
}

impl Fixture {
    async fn new() -> Self {
        let stack = TestStack::new().await;
        let now = Timestamp::now();
        let run = RunRecord::start(
            CampaignId::generate(),
            RunId::for_occurrence(now),
            Message::Event(EventMessage { detail: None }),
            RecipientList::parse_uri("s3://lists/run.jsonl").unwrap(),
            AmbiguousPolicy::Resend,
            now,
        );
        assert!(stack.services.store.create_run(&run, now).await.unwrap());
        let batches = (0..3)
            .map(|seq| batch(seq, u64::from(seq) * 50, 50))
            .collect();
        Self {
            stack,
            run,
            now,
            batches,
        }
    }

    fn store(&self) -> &Store {
        &self.stack.services.store
    }

    fn batch(&self, seq: u32) -> BatchKey<'_> {
        BatchKey {
            campaign: &self.run.campaign_id,
            run: &self.run.run_id,
            batch: &self.batches[seq as usize],
        }
    }

    async fn stored(&self) -> RunRecord {
        self.store()
            .get_run(&self.run.campaign_id, &self.run.run_id)
            .await
            .unwrap()
            .expect("the run exists")
    }

    async fn outbox_types(&self) -> Vec<String> {
        let partition = self
            .store()
            .load_partition(&self.run.campaign_id)
            .await
            .unwrap();
        let mut types: Vec<String> = partition
            .outbox
            .iter()
            .map(|e| e.detail_type.clone())
            .collect();
        types.sort();
        types
    }
}

fn batch(seq: u32, first_row: u64, rows: u32) -> PlannedBatch {
    PlannedBatch {
        seq,
        first_row,
        rows,
        start_byte: first_row * 10,
        end_byte: (first_row + u64::from(rows)) * 10,
    }
}

fn commit(cursor: PlanCursor, group: &[PlannedBatch], last: bool) -> PlanCommit {
    PlanCommit {
        cursor,
        group: group.to_vec(),
        last,
    }
}

fn cursor_after(batch: &PlannedBatch) -> PlanCursor {
    PlanCursor {
        byte_offset: batch.end_byte,
        next_row: batch.first_row + u64::from(batch.rows),
        next_batch: batch.seq + 1,
    }
}

#[tokio::test]
async fn a_run_is_created_once_with_its_started_event() {
    let fixture = Fixture::new().await;
    assert!(
        !fixture
            .store()
            .create_run(&fixture.run, fixture.now)
            .await
            .unwrap(),
        "the same occurrence's run is created once"
    );
    assert_eq!(fixture.stored().await, fixture.run);
    assert_eq!(fixture.outbox_types().await, vec!["CampaignRunStarted"]);
    let partition = fixture
        .store()
        .load_partition(&fixture.run.campaign_id)
        .await
        .unwrap();
    assert_eq!(partition.runs, vec![fixture.run.clone()]);
}

#[tokio::test]
async fn the_plan_cursor_moves_only_from_where_it_was() {
    let fixture = Fixture::new().await;
    let store = fixture.store();
    let (campaign, run) = (&fixture.run.campaign_id, &fixture.run.run_id);
    let header = CsvHeader::parse("id,address").unwrap();
    let after_header = PlanCursor {
        byte_offset: 11,
        ..PlanCursor::default()
    };
    assert!(
        store
            .save_csv_header(campaign, run, &header, after_header)
            .await
            .unwrap()
    );
    assert!(
        !store
            .save_csv_header(campaign, run, &header, after_header)
            .await
            .unwrap()
    );

    let first = [batch(0, 0, 50), batch(1, 50, 50)];
    let moved = cursor_after(&first[1]);
    let progress = store
        .commit_plan(
            campaign,
            run,
            after_header,
            &commit(moved, &first, false),
            fixture.now,
        )
        .await
        .unwrap()
        .expect("the cursor was where it was read");
    assert_eq!((progress.total, progress.planned), (100, false));
    let stale = store
        .commit_plan(
            campaign,
            run,
            after_header,
            &commit(moved, &first, false),
            fixture.now,
        )
        .await
        .unwrap();
    assert_eq!(
        stale, None,
        "a second planner from the old cursor commits nothing"
    );

    let last = [batch(2, 100, 7)];
    let done = store
        .commit_plan(
            campaign,
            run,
            moved,
            &commit(cursor_after(&last[0]), &last, true),
            fixture.now,
        )
        .await
        .unwrap()
        .unwrap();
    assert_eq!((done.total, done.planned), (107, true));
    let stored = fixture.stored().await;
    assert_eq!(stored.status, RunStatus::Sending);
    assert_eq!(stored.last_group, last.to_vec());
    assert_eq!(stored.csv_header, Some(header));
    assert_eq!(stored.cursor, cursor_after(&last[0]));
}

#[tokio::test]
async fn a_batch_is_leased_to_one_sender_and_recorded_once() {
    let fixture = Fixture::new().await;
    let store = fixture.store();
    let now = fixture.now;
    let until = now.plus_millis(60_000);
    assert_eq!(
        store
            .lease_batch(fixture.batch(0), "t1", until, now)
            .await
            .unwrap(),
        Lease::Taken { resumed: false }
    );
    assert_eq!(
        store
            .lease_batch(fixture.batch(0), "t2", until, now.plus_millis(1))
            .await
            .unwrap(),
        Lease::Held { until },
        "a live lease keeps others out"
    );
    let later = until.plus_millis(1);
    assert_eq!(
        store
            .lease_batch(fixture.batch(0), "t2", later.plus_millis(60_000), later)
            .await
            .unwrap(),
        Lease::Taken { resumed: true },
        "an expired lease is taken over, and the taker knows work may be there"
    );
    let counts = Counts {
        sent: 45,
        failed: 2,
        duplicates: 3,
        ..Counts::default()
    };
    assert_eq!(
        store
            .record_batch(fixture.batch(0), "t1", counts, later)
            .await
            .unwrap(),
        BatchRecorded::LeaseLost,
        "the old holder records nothing"
    );
    let BatchRecorded::Recorded(progress) = store
        .record_batch(fixture.batch(0), "t2", counts, later)
        .await
        .unwrap()
    else {
        panic!("the holder records its batch")
    };
    assert_eq!(progress.counts, counts);
    assert_eq!(
        store
            .record_batch(fixture.batch(0), "t2", counts, later)
            .await
            .unwrap(),
        BatchRecorded::AlreadyDone
    );
    assert_eq!(fixture.stored().await.counts, counts, "added once");
    assert_eq!(
        store
            .lease_batch(fixture.batch(0), "t3", later, later.plus_millis(120_000))
            .await
            .unwrap(),
        Lease::Done
    );
    // Another batch adds to the same run.
    store
        .lease_batch(fixture.batch(1), "t4", until, now)
        .await
        .unwrap();
    let more = Counts {
        sent: 5,
        ..Counts::default()
    };
    store
        .record_batch(fixture.batch(1), "t4", more, later)
        .await
        .unwrap();
    assert_eq!(fixture.stored().await.counts.sent, 50);
}

#[tokio::test]
async fn a_run_completes_once_and_only_once_it_is_sending() {
    let fixture = Fixture::new().await;
    let store = fixture.store();
    let (campaign, run) = (&fixture.run.campaign_id, &fixture.run.run_id);
    let progress = fixture.run.progress();
    assert!(
        store
            .complete_run(campaign, run, progress, fixture.now)
            .await
            .unwrap()
            .is_none(),
        "a run still planning is not complete"
    );
    let last = [batch(0, 0, 1)];
    let planned = store
        .commit_plan(
            campaign,
            run,
            PlanCursor::default(),
            &commit(cursor_after(&last[0]), &last, true),
            fixture.now,
        )
        .await
        .unwrap()
        .unwrap();
    assert!(
        store
            .complete_run(campaign, run, planned, fixture.now)
            .await
            .unwrap()
            .is_some()
    );
    assert!(
        store
            .complete_run(campaign, run, planned, fixture.now)
            .await
            .unwrap()
            .is_none()
    );
    let stored = fixture.stored().await;
    assert_eq!(stored.status, RunStatus::Completed);
    assert_eq!(stored.completed_at, Some(fixture.now));
    assert_eq!(
        fixture.outbox_types().await,
        vec!["CampaignRunCompleted", "CampaignRunStarted"]
    );
}

#[tokio::test]
async fn a_stalled_run_is_held_for_one_repair_per_stall_period() {
    let fixture = Fixture::new().await;
    let store = fixture.store();
    // When the run last moved, if it is among `runs`.
    let mine = |runs: Vec<StalledRun>| {
        runs.iter()
            .find(|r| r.run.run_id == fixture.run.run_id)
            .map(|r| r.moved_at)
    };
    let found_by = fixture.now.plus_millis(1_000);
    assert_eq!(
        mine(
            store
                .stalled_runs(RunStatus::Planning, found_by, 100)
                .await
                .unwrap()
        ),
        Some(fixture.now),
        "listed with when it last moved (its start)"
    );
    let mut sending = fixture.run.clone();
    sending.status = RunStatus::Sending;
    assert!(
        !store
            .hold_stalled_run(&sending, found_by, fixture.now)
            .await
            .unwrap(),
        "a run in another status is not held"
    );
    let held_at = fixture.now.plus_millis(2_000);
    assert!(
        store
            .hold_stalled_run(&fixture.run, found_by, held_at)
            .await
            .unwrap()
    );
    assert!(
        !store
            .hold_stalled_run(&fixture.run, found_by, held_at)
            .await
            .unwrap(),
        "a second sweep that found it stalled by the same time leaves it to the first"
    );
    assert_eq!(
        mine(
            store
                .stalled_runs(RunStatus::Planning, found_by, 100)
                .await
                .unwrap()
        ),
        None
    );
    assert_eq!(
        mine(
            store
                .stalled_runs(RunStatus::Planning, held_at.plus_millis(1), 100)
                .await
                .unwrap()
        ),
        Some(held_at),
        "listed again a stall period after the hold, with the hold's time"
    );
    let stored = fixture.stored().await;
    assert_eq!(
        (stored.status, stored.counts),
        (fixture.run.status, fixture.run.counts),
        "a hold changes nothing but when the run is looked at again"
    );
}
