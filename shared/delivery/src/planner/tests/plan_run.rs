//! The planner's promises, checked against the in-memory ports: every row in exactly one
//! batch, no batch committed twice, every batch queued, a crash anywhere resumed, memory
//! bounded by the chunk size.

use lifecycle_domain::delivery::{PlanJob, PlannedBatch, RecipientList, RunId, RunStatus};
use lifecycle_domain::{CampaignId, ManualClock, Timestamp};

use super::fakes::{FakePorts, World};
use crate::planner::plan_run::{PlanResult, Planner, Settings};

fn job() -> PlanJob {
    PlanJob {
        campaign_id: CampaignId::new("c1"),
        run_id: RunId::new("20261202T090000000Z"),
    }
}

fn settings() -> Settings {
    Settings {
        batch_size: 5,
        group_size: 2,
        chunk_bytes: 64,
    }
}

fn jsonl(count: usize) -> String {
    (0..count)
        .map(|i| {
            let blank = if i % 7 == 3 { "\n" } else { "" };
            format!("{blank}{{\"id\":\"r{i}\",\"address\":\"r{i}@example.com\"}}\n")
        })
        .collect()
}

fn ports(list: &str, uri: &str) -> FakePorts {
    FakePorts(std::sync::Mutex::new(World::new(
        RecipientList::parse_uri(uri).unwrap(),
        list,
    )))
}

async fn plan(ports: &FakePorts, stop_at: Option<Timestamp>) -> PlanResult {
    let clock = ports.world().clock.clone();
    Planner {
        ports,
        clock: &clock,
        settings: settings(),
    }
    .plan(&job(), stop_at)
    .await
}

/// The batches planned from `list` in one clean go.
async fn reference(list: &str, uri: &str) -> Vec<PlannedBatch> {
    let ports = ports(list, uri);
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    let world = ports.world();
    world.queued.iter().map(|job| job.batch).collect()
}

fn assert_covers(list: &str, batches: &[PlannedBatch], rows: u64, header_bytes: u64) {
    assert_eq!(batches.iter().map(|b| u64::from(b.rows)).sum::<u64>(), rows);
    let mut byte = header_bytes;
    let mut row = 0;
    for (seq, batch) in batches.iter().enumerate() {
        assert_eq!(batch.seq as usize, seq);
        assert_eq!((batch.start_byte, batch.first_row), (byte, row));
        byte = batch.end_byte;
        row += u64::from(batch.rows);
    }
    let tail = &list.as_bytes()[byte as usize..];
    assert!(
        tail.iter().all(u8::is_ascii_whitespace),
        "rows left after the last batch"
    );
}

#[tokio::test]
async fn cuts_the_whole_list_into_batches_committed_once_and_queued() {
    let list = jsonl(23);
    let ports = ports(&list, "s3://lists/a.jsonl");
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    let world = ports.world();
    assert_eq!(world.committed, vec![0, 1, 2, 3, 4]);
    assert_eq!(
        world.sends,
        vec![2, 2, 1],
        "one queue call per group of batches"
    );
    let batches: Vec<PlannedBatch> = world.queued.iter().map(|j| j.batch).collect();
    assert_covers(&list, &batches, 23, 0);
    let state = world.state.as_ref().unwrap();
    assert!(state.planned);
    assert_eq!(state.status, RunStatus::Sending);
    assert_eq!(state.progress.total, 23);
    assert_eq!(world.completions, 0, "nothing is sent yet");
    let mut next = 0;
    for (offset, bytes) in &world.reads {
        assert_eq!(*offset, next, "reads follow each other");
        assert!(*bytes <= 64, "a read is one chunk at most");
        next += *bytes as u64;
    }
    assert_eq!(next, list.len() as u64);
}

#[tokio::test]
async fn a_csv_header_is_read_once_and_kept_for_the_sender() {
    let list = "id,address,name\nr1,a@example.com,Ann\nr2,b@example.com,Bob\n";
    let ports = ports(list, "s3://lists/a.csv");
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    let world = ports.world();
    let batches: Vec<PlannedBatch> = world.queued.iter().map(|j| j.batch).collect();
    assert_covers(list, &batches, 2, 16);
    let header = world.state.as_ref().unwrap().csv_header.clone().unwrap();
    assert_eq!(
        header.parse_row("r1,a@example.com,Ann").unwrap().vars["name"],
        "Ann"
    );
}

#[tokio::test]
async fn lists_that_cannot_be_planned_are_refused_with_a_reason() {
    let bad_header = ports("name,email\nAnn,a@example.com\n", "s3://lists/a.csv");
    let PlanResult::Unplannable(reason) = plan(&bad_header, None).await else {
        panic!("a header without id must be refused")
    };
    assert!(reason.contains("'id'"), "{reason}");
    let empty_csv = ports("", "s3://lists/a.csv");
    assert!(matches!(
        plan(&empty_csv, None).await,
        PlanResult::Unplannable(_)
    ));
    let long_line = ports(&"x".repeat(70 * 1024), "s3://lists/a.jsonl");
    assert!(matches!(
        plan(&long_line, None).await,
        PlanResult::Unplannable(_)
    ));
    let missing = ports("", "s3://lists/a.jsonl");
    missing.world().state = None;
    assert!(matches!(
        plan(&missing, None).await,
        PlanResult::Unplannable(_)
    ));
}

#[tokio::test]
async fn a_run_not_started_or_cancelled_plans_nothing() {
    for (status, expected_unplannable) in
        [(RunStatus::Scheduled, true), (RunStatus::Cancelled, false)]
    {
        let ports = ports(&jsonl(12), "s3://lists/a.jsonl");
        ports.world().state.as_mut().unwrap().status = status;
        let result = plan(&ports, None).await;
        assert_eq!(
            matches!(result, PlanResult::Unplannable(_)),
            expected_unplannable,
            "{status:?}: {result:?}"
        );
        let world = ports.world();
        assert!(
            world.committed.is_empty() && world.queued.is_empty(),
            "{status:?}"
        );
    }
}

#[tokio::test]
async fn an_empty_list_completes_its_run_at_once() {
    let ports = ports("\n\n", "s3://lists/a.jsonl");
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    let world = ports.world();
    assert_eq!(world.completions, 1);
    assert!(world.queued.is_empty());
    assert_eq!(world.state.as_ref().unwrap().status, RunStatus::Completed);
}

#[tokio::test]
async fn out_of_time_it_commits_what_it_cut_and_queues_the_rest_for_later() {
    let list = jsonl(40);
    let whole = reference(&list, "s3://lists/a.jsonl").await;
    let ports = ports(&list, "s3://lists/a.jsonl");
    let mut rounds = 0;
    loop {
        rounds += 1;
        let now = ports.world().clock.clone();
        let stop_at = lifecycle_domain::Clock::now(&now).plus_millis(12);
        match plan(&ports, Some(stop_at)).await {
            PlanResult::Continued => assert!(rounds < 20, "no progress"),
            PlanResult::Planned => break,
            other => panic!("{other:?}"),
        }
    }
    assert!(rounds > 2, "{rounds}");
    let world = ports.world();
    assert_eq!(world.continuations, rounds - 1);
    assert_eq!(world.committed, (0..whole.len() as u32).collect::<Vec<_>>());
    for job in &world.queued {
        assert_eq!(job.batch, whole[job.batch.seq as usize]);
    }
}

#[tokio::test]
async fn another_planner_moving_the_cursor_first_supersedes_this_one() {
    let list = jsonl(23);
    let ports = ports(&list, "s3://lists/a.jsonl");
    ports.world().rival_commits_first = true;
    assert_eq!(plan(&ports, None).await, PlanResult::Superseded);
    assert!(
        ports.world().queued.is_empty(),
        "the rival queues its own batches"
    );
}

#[tokio::test]
async fn a_planned_run_whose_rows_are_all_settled_is_completed_by_a_redelivery() {
    let ports = ports(&jsonl(3), "s3://lists/a.jsonl");
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    ports.world().state.as_mut().unwrap().progress.counts.sent = 3;
    assert_eq!(plan(&ports, None).await, PlanResult::Planned);
    assert_eq!(ports.world().completions, 1);
    let cancelled = ports_cancelled();
    assert_eq!(plan(&cancelled, None).await, PlanResult::Planned);
    assert!(cancelled.world().committed.is_empty());
}

fn ports_cancelled() -> FakePorts {
    let ports = ports(&jsonl(3), "s3://lists/a.jsonl");
    ports.world().state.as_mut().unwrap().status = RunStatus::Cancelled;
    ports
}

/// Plants a crash at every port call of a clean plan in turn, then plans again until done:
/// every batch is committed exactly once, in order, with the same ranges as a clean plan, and
/// every batch is queued at least once.
async fn crash_anywhere(list: &str, uri: &str) {
    let whole = reference(list, uri).await;
    let clean = ports(list, uri);
    plan(&clean, None).await;
    let calls = clean.world().calls;
    for crash_at in 1..=calls {
        let ports = ports(list, uri);
        ports.world().crash_at = Some(crash_at);
        plan(&ports, None).await;
        ports.world().crash_at = None;
        assert_eq!(
            plan(&ports, None).await,
            PlanResult::Planned,
            "crash at {crash_at}"
        );
        let world = ports.world();
        assert_eq!(
            world.committed,
            (0..whole.len() as u32).collect::<Vec<_>>(),
            "crash at {crash_at}"
        );
        for batch in &whole {
            assert!(
                world.queued.iter().any(|job| job.batch == *batch),
                "crash at {crash_at}: batch {} never queued",
                batch.seq
            );
        }
        assert!(world.queued.iter().all(|job| whole.contains(&job.batch)));
        assert_eq!(world.state.as_ref().unwrap().progress.total, 23);
    }
}

#[tokio::test]
async fn a_crash_at_any_call_plans_every_batch_once() {
    crash_anywhere(&jsonl(23), "s3://lists/a.jsonl").await;
}

#[tokio::test]
async fn a_crash_at_any_call_plans_a_csv_list_once() {
    let mut list = String::from("id,address\n");
    for i in 0..23 {
        list.push_str(&format!("r{i},r{i}@example.com\n"));
    }
    crash_anywhere(&list, "s3://lists/a.csv").await;
}

#[tokio::test]
async fn the_planners_clock_is_only_read_for_its_deadline() {
    let ports = ports(&jsonl(5), "s3://lists/a.jsonl");
    let frozen = ManualClock::at(Timestamp::from_millis(0));
    let result = Planner {
        ports: &ports,
        clock: &frozen,
        settings: settings(),
    }
    .plan(&job(), Some(Timestamp::from_millis(0)))
    .await;
    assert_eq!(result, PlanResult::Continued);
    assert!(ports.world().committed.is_empty());
    assert_eq!(ports.world().continuations, 1);
}
