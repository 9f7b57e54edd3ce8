//! The `stalled_runs` step against the in-memory ports: stalled planning runs queued for
//! planning, stalled sending runs' unfinished batches queued once each, done runs completed
//! once, fresh runs and dry runs left alone; sending runs left alone while the deliveries
//! queue is behind, up to the backstop, with the queue's depth read once per step at most.

use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, Counts, Message, PlanJob, PlannedBatch, RecipientList, RunId, RunRecord,
    RunStatus,
};
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{CampaignId, Timestamp};

use super::fakes::FakePorts;
use super::{at, step, sweep};

fn batch(seq: u32) -> PlannedBatch {
    PlannedBatch {
        seq,
        first_row: u64::from(seq) * 50,
        rows: 50,
        start_byte: u64::from(seq) * 500,
        end_byte: u64::from(seq + 1) * 500,
    }
}

/// A run of campaign `campaign` in `status` that last moved `moved_ago_s` seconds ago.
fn add_run(ports: &FakePorts, campaign: &str, status: RunStatus, moved_ago_s: i64) -> RunRecord {
    let mut run = RunRecord::start(
        CampaignId::new(campaign),
        RunId::for_occurrence(Timestamp::from_millis(1_000)),
        Message::Event(EventMessage { detail: None }),
        RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
        AmbiguousPolicy::Resend,
        Timestamp::from_millis(1_000),
    );
    run.status = status;
    ports
        .world()
        .runs
        .push((run.clone(), at(-moved_ago_s * 1000)));
    run
}

/// A run in `status` (SENDING or CANCELLED) with batch 7 of its last group unsent, last moved
/// `moved_ago_s` seconds ago.
fn add_unsent_run(
    ports: &FakePorts,
    campaign: &str,
    status: RunStatus,
    moved_ago_s: i64,
) -> RunRecord {
    let mut run = add_run(ports, campaign, status, moved_ago_s);
    run.last_group = vec![batch(7)];
    run.total = 400;
    ports.world().runs.last_mut().expect("added").0 = run.clone();
    run
}

/// How many holds on stalled runs went through.
fn holds(ports: &FakePorts) -> usize {
    ports
        .world()
        .writes
        .iter()
        .filter(|w| **w == "hold_stalled_run")
        .count()
}

#[tokio::test]
async fn a_stalled_planning_run_is_queued_for_planning_and_a_moving_one_is_not() {
    let ports = FakePorts::default();
    let stalled = add_run(&ports, "c1", RunStatus::Planning, 121);
    add_run(&ports, "c2", RunStatus::Planning, 60);
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!((runs.get("found"), runs.get("replanned")), (1, 1));
    assert_eq!(
        ports.world().queued_plans,
        [PlanJob {
            campaign_id: stalled.campaign_id,
            run_id: stalled.run_id,
        }]
    );
    assert_eq!(report.totals.runs_repaired, 1);
}

#[tokio::test]
async fn a_stalled_sending_run_gets_its_last_group_and_expired_batches_queued_once_each() {
    let ports = FakePorts::default();
    let mut run = add_run(&ports, "c1", RunStatus::Sending, 300);
    run.last_group = vec![batch(4), batch(5)];
    run.planned = true;
    run.total = 300;
    ports.world().runs[0].0 = run.clone();
    ports
        .world()
        .expired_batches
        .insert(run.run_id.clone(), vec![batch(1), batch(5)]);
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!((runs.get("resent"), runs.get("batches_queued")), (1, 3));
    let seqs: Vec<u32> = ports
        .world()
        .queued_batches
        .iter()
        .map(|job| job.batch.seq)
        .collect();
    assert_eq!(seqs, [1, 4, 5]);
    assert!(
        ports
            .world()
            .queued_batches
            .iter()
            .all(|job| job.run_id == run.run_id)
    );
}

#[tokio::test]
async fn a_stalled_run_with_nothing_to_queue_waits() {
    let ports = FakePorts::default();
    add_run(&ports, "c1", RunStatus::Sending, 300);
    ports.world().runs[0].0.total = 10;
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    assert_eq!(step(&report, SweepStep::StalledRuns).get("waiting"), 1);
    assert!(ports.world().queued_batches.is_empty());
}

#[tokio::test]
async fn a_run_whose_recipients_are_all_settled_is_completed_once_with_its_event() {
    for status in [RunStatus::Sending, RunStatus::Cancelled] {
        let ports = FakePorts::default();
        add_run(&ports, "c1", status, 300);
        {
            let mut world = ports.world();
            let run = &mut world.runs[0].0;
            run.planned = true;
            run.total = 3;
            run.counts = Counts {
                sent: 2,
                cancelled: 1,
                ..Counts::default()
            };
        }
        let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
        assert_eq!(
            step(&report, SweepStep::StalledRuns).get("completed"),
            1,
            "{status:?}"
        );
        let again = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
        assert_eq!(
            step(&again, SweepStep::StalledRuns).get("found"),
            0,
            "{status:?}"
        );
        let world = ports.world();
        assert_eq!(world.published.len(), 1, "one CampaignRunCompleted");
        let expected = if status == RunStatus::Sending {
            RunStatus::Completed
        } else {
            RunStatus::Cancelled
        };
        assert_eq!(world.runs[0].0.status, expected);
        assert!(world.queued_batches.is_empty() && world.queued_plans.is_empty());
    }
}

#[tokio::test]
async fn a_dry_run_only_reports() {
    let ports = FakePorts::default();
    add_run(&ports, "c1", RunStatus::Planning, 300);
    let mut done = add_run(&ports, "c2", RunStatus::Sending, 300);
    done.planned = true;
    ports.world().runs[1].0 = done;
    let report = sweep(&ports, true, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!(runs.get("found"), 2);
    assert_eq!(runs.actions.len(), 2, "{:?}", runs.actions);
    let world = ports.world();
    assert!(world.queued_plans.is_empty() && world.writes.is_empty());
}

#[tokio::test]
async fn a_run_whose_start_can_no_longer_fire_is_cancelled_and_one_still_due_waits() {
    use lifecycle_domain::CampaignStatus;
    let ports = FakePorts::default();
    // Past its start by more than the misfire window, grace and stall time.
    let long_ago = 3_600 + 30 + 121;
    let moved_on = add_run(&ports, "c1", RunStatus::Scheduled, long_ago);
    let waiting = add_run(&ports, "c2", RunStatus::Scheduled, long_ago);
    add_run(&ports, "c3", RunStatus::Scheduled, 600);
    super::campaign(&ports, "c1", CampaignStatus::Running, -120, 60);
    super::campaign(&ports, "c2", CampaignStatus::Scheduled, -120, 60);
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!(
        (
            runs.get("found"),
            runs.get("cancelled"),
            runs.get("waiting")
        ),
        (2, 1, 1),
        "{runs:?}"
    );
    let world = ports.world();
    let status_of = |id: &RunRecord| {
        world
            .runs
            .iter()
            .find(|(r, _)| r.campaign_id == id.campaign_id)
            .map(|(r, _)| (r.status, r.cancel_reason.clone()))
            .unwrap()
    };
    let (status, reason) = status_of(&moved_on);
    assert_eq!(status, RunStatus::Cancelled);
    assert!(reason.unwrap().contains("RUNNING"));
    assert_eq!(status_of(&waiting).0, RunStatus::Scheduled);
    assert!(world.queued_plans.is_empty() && world.published.is_empty());
}

#[tokio::test]
async fn a_repaired_run_is_held_until_another_stall_period_has_passed() {
    let ports = FakePorts::default();
    add_run(&ports, "c1", RunStatus::Planning, 300);
    let mut sending = add_run(&ports, "c2", RunStatus::Sending, 300);
    sending.last_group = vec![batch(7)];
    sending.total = 400;
    ports.world().runs[1].0 = sending;
    let first = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&first, SweepStep::StalledRuns);
    assert_eq!((runs.get("replanned"), runs.get("resent")), (1, 1));
    assert_eq!(
        ports
            .world()
            .writes
            .iter()
            .filter(|w| **w == "hold_stalled_run")
            .count(),
        2
    );

    // The next sweeps, before the runs' senders and planners got to the copies.
    for _ in 0..3 {
        let again = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
        assert_eq!(step(&again, SweepStep::StalledRuns).get("found"), 0);
    }
    assert_eq!(ports.world().queued_plans.len(), 1);
    assert_eq!(ports.world().queued_batches.len(), 1);

    // Another stall period later, still not moved: one more copy each.
    for (_, moved) in &mut ports.world().runs {
        *moved = super::at(-121_000);
    }
    sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    assert_eq!(ports.world().queued_plans.len(), 2);
    assert_eq!(ports.world().queued_batches.len(), 2);
}

#[tokio::test]
async fn a_run_that_moved_or_was_held_since_it_was_found_is_left_alone() {
    let ports = FakePorts::default();
    add_run(&ports, "c1", RunStatus::Planning, 300);
    ports.world().hold_refused = true;
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!((runs.get("found"), runs.get("changed_meanwhile")), (1, 1));
    assert!(ports.world().queued_plans.is_empty());
    assert_eq!(report.totals.runs_repaired, 0);
}

#[tokio::test]
async fn a_stalled_sending_run_is_neither_held_nor_queued_while_the_deliveries_queue_is_behind() {
    for dry_run in [false, true] {
        let ports = FakePorts::default();
        add_unsent_run(&ports, "c1", RunStatus::Sending, 300);
        ports.world().deliveries_backlog = 12;
        let report = sweep(&ports, dry_run, &[SweepStep::StalledRuns]).await;
        let runs = step(&report, SweepStep::StalledRuns);
        assert_eq!(
            (
                runs.get("found"),
                runs.get("queue_behind"),
                runs.get("resent")
            ),
            (1, 1, 0),
            "{runs:?}"
        );
        assert!(
            runs.actions.is_empty() && runs.errors.is_empty(),
            "{runs:?}"
        );
        assert_eq!(holds(&ports), 0, "not held: found again by the next sweep");
        assert!(ports.world().queued_batches.is_empty());
        assert_eq!(report.totals.runs_repaired, 0);
    }
}

#[tokio::test]
async fn a_stalled_sending_run_is_queued_when_the_deliveries_queue_is_empty() {
    let ports = FakePorts::default();
    let run = add_unsent_run(&ports, "c1", RunStatus::Sending, 300);
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!((runs.get("resent"), runs.get("queue_behind")), (1, 0));
    assert_eq!(holds(&ports), 1);
    let world = ports.world();
    assert_eq!(world.backlog_reads, 1);
    assert_eq!(world.queued_batches.len(), 1);
    assert_eq!(world.queued_batches[0].run_id, run.run_id);
}

#[tokio::test]
async fn a_run_stalled_beyond_the_backstop_is_queued_even_though_the_queue_is_behind() {
    let ports = FakePorts::default();
    // The backstop is 5 stall periods of 120 s: 600 s.
    let old = add_unsent_run(&ports, "old", RunStatus::Sending, 601);
    add_unsent_run(&ports, "young", RunStatus::Sending, 600);
    ports.world().deliveries_backlog = 1;
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!(
        (runs.get("resent"), runs.get("queue_behind")),
        (1, 1),
        "{runs:?}"
    );
    assert_eq!(holds(&ports), 1, "the repaired run is held as before");
    let world = ports.world();
    assert_eq!(world.queued_batches.len(), 1);
    assert_eq!(world.queued_batches[0].campaign_id, old.campaign_id);
}

#[tokio::test]
async fn a_failed_depth_read_is_reported_and_the_runs_are_queued_as_if_not_behind() {
    let ports = FakePorts::default();
    add_unsent_run(&ports, "c1", RunStatus::Sending, 300);
    add_unsent_run(&ports, "c2", RunStatus::Cancelled, 300);
    {
        let mut world = ports.world();
        world.deliveries_backlog = 50;
        world.failing_backlog = true;
    }
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!(
        (runs.get("resent"), runs.get("queue_behind")),
        (2, 0),
        "{runs:?}"
    );
    assert_eq!(runs.errors.len(), 1, "{:?}", runs.errors);
    assert!(
        runs.errors[0].contains("deliveries queue depth") && runs.errors[0].contains("injected"),
        "{:?}",
        runs.errors
    );
    assert!(!report.success);
    let world = ports.world();
    assert_eq!(world.backlog_reads, 1, "a failed read is not repeated");
    assert_eq!(world.queued_batches.len(), 2);
}

#[tokio::test]
async fn the_depth_is_read_once_per_step_however_many_runs_need_it() {
    for backlog in [0, 3] {
        let ports = FakePorts::default();
        for campaign in ["c1", "c2", "c3"] {
            add_unsent_run(&ports, campaign, RunStatus::Sending, 300);
        }
        add_unsent_run(&ports, "c4", RunStatus::Cancelled, 300);
        ports.world().deliveries_backlog = backlog;
        let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
        let runs = step(&report, SweepStep::StalledRuns);
        let expected = if backlog == 0 { (4, 0) } else { (0, 4) };
        assert_eq!(
            (runs.get("resent"), runs.get("queue_behind")),
            expected,
            "{runs:?}"
        );
        assert_eq!(ports.world().backlog_reads, 1, "backlog {backlog}");
    }
}

#[tokio::test]
async fn the_depth_is_not_read_when_no_run_has_batches_to_queue() {
    let ports = FakePorts::default();
    add_run(&ports, "planning", RunStatus::Planning, 300);
    // Every recipient settled: completed, nothing queued.
    let mut done = add_run(&ports, "done", RunStatus::Sending, 300);
    done.planned = true;
    ports.world().runs[1].0 = done;
    // Nothing planned, nothing expired: waits.
    add_run(&ports, "idle", RunStatus::Sending, 300);
    // Beyond the backstop: repaired without asking.
    add_unsent_run(&ports, "old", RunStatus::Sending, 900);
    ports.world().deliveries_backlog = 40;
    let report = sweep(&ports, false, &[SweepStep::StalledRuns]).await;
    let runs = step(&report, SweepStep::StalledRuns);
    assert_eq!(
        (
            runs.get("replanned"),
            runs.get("completed"),
            runs.get("waiting"),
            runs.get("resent"),
            runs.get("queue_behind")
        ),
        (1, 1, 1, 1, 0),
        "{runs:?}"
    );
    assert_eq!(ports.world().backlog_reads, 0);
}
