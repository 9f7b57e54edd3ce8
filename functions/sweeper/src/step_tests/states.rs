//! The `campaign_states` step on campaigns that send: a START made by the state correction
//! within the misfire window starts the campaign's delivery run in the same write and queues
//! it for planning; beyond the window it leaves the run for `stalled_runs` to cancel; a run
//! that is not SCHEDULED stops the correction with an error.

use lifecycle_domain::delivery::message::EventMessage;
use lifecycle_domain::delivery::{
    AmbiguousPolicy, CampaignDelivery, Message, PlanJob, RecipientList, RunEvent, RunRecord,
    RunStatus,
};
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::{CampaignId, CampaignStatus, TimerKind, TimerStatus};

use super::fakes::FakePorts;
use super::{MINUTE, at, campaign, status, step, sweep};

/// Campaign `id`, SCHEDULED, started `started_ago_ms` ago and ending in an hour, sending to a
/// stored list; its START is leased by an executor that died (the lease has not run out yet,
/// so the missed-timer step cannot fire it). Returns its SCHEDULED run.
fn sending_campaign(ports: &FakePorts, id: &str, started_ago_ms: i64) -> RunRecord {
    campaign(
        ports,
        id,
        CampaignStatus::Scheduled,
        -started_ago_ms,
        60 * MINUTE,
    );
    let mut world = ports.world();
    let stored = world
        .campaigns
        .get_mut(&CampaignId::new(id))
        .expect("stored");
    stored.delivery = Some(CampaignDelivery {
        message: Message::Event(EventMessage { detail: None }),
        list: RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
        on_ambiguous: AmbiguousPolicy::Resend,
    });
    let run = stored.scheduled_run().expect("a run");
    let start = lifecycle_domain::TimerId::new(&CampaignId::new(id), TimerKind::StartCampaign);
    let timer = world.timers.get_mut(&start).expect("START");
    timer.status = TimerStatus::Running;
    timer.lease_owner = Some("dead-executor".into());
    timer.lease_expires_at = Some(at(MINUTE));
    world.runs.push((run.clone(), at(-100 * MINUTE)));
    run
}

fn run_status(ports: &FakePorts, run: &RunRecord) -> RunStatus {
    let world = ports.world();
    let (stored, _) = world
        .runs
        .iter()
        .find(|(r, _)| r.run_id == run.run_id && r.campaign_id == run.campaign_id)
        .expect("run");
    stored.status
}

#[tokio::test]
async fn a_start_corrected_within_the_misfire_window_starts_and_queues_its_run() {
    let ports = FakePorts::default();
    let run = sending_campaign(&ports, "c1", 10 * MINUTE);
    let preview = sweep(&ports, true, &[SweepStep::CampaignStates]).await;
    assert_eq!(
        step(&preview, SweepStep::CampaignStates).actions,
        [format!(
            "would move c1: SCHEDULED → RUNNING, starting run {}",
            run.run_id
        )]
    );
    assert!(ports.world().writes.is_empty(), "a dry run writes nothing");

    let report = sweep(&ports, false, &[SweepStep::CampaignStates]).await;
    let states = step(&report, SweepStep::CampaignStates);
    assert!(states.errors.is_empty(), "{states:#?}");
    assert_eq!(
        (
            states.get("corrected"),
            states.get("runs_started"),
            states.get("runs_queued"),
            states.get("events_published"),
        ),
        (1, 1, 1, 2),
        "{states:#?}"
    );
    assert_eq!(run_status(&ports, &run), RunStatus::Planning);
    {
        let world = ports.world();
        assert_eq!(
            world.campaigns[&CampaignId::new("c1")].status,
            CampaignStatus::Running
        );
        assert_eq!(
            world.queued_plans,
            [PlanJob {
                campaign_id: run.campaign_id.clone(),
                run_id: run.run_id.clone(),
            }]
        );
        let started = RunEvent::started(&run.campaign_id, &run.run_id, at(0));
        assert!(
            world.published.contains(&started.event_id),
            "{:?}",
            world.published
        );
    }
    // The dead executor's START is still leased: the correction leaves it to the
    // stuck-timer step, whose retry then finds the campaign RUNNING.
    assert_eq!(
        status(&ports, "c1", TimerKind::StartCampaign),
        TimerStatus::Running
    );

    let again = sweep(&ports, false, &[SweepStep::CampaignStates]).await;
    let states = step(&again, SweepStep::CampaignStates);
    assert_eq!(
        (states.get("found"), states.get("runs_started")),
        (0, 0),
        "{states:#?}"
    );
    assert_eq!(ports.world().queued_plans.len(), 1, "queued once");
}

#[tokio::test]
async fn a_start_corrected_beyond_the_misfire_window_leaves_its_run_unsent() {
    let ports = FakePorts::default();
    // The window is an hour: 61 minutes late is beyond it.
    let run = sending_campaign(&ports, "c1", 61 * MINUTE);
    let report = sweep(&ports, false, &[SweepStep::CampaignStates]).await;
    let states = step(&report, SweepStep::CampaignStates);
    assert_eq!(
        (states.get("corrected"), states.get("runs_started")),
        (1, 0),
        "{states:#?}"
    );
    assert_eq!(run_status(&ports, &run), RunStatus::Scheduled);
    assert!(ports.world().queued_plans.is_empty());
    assert_eq!(
        ports.world().campaigns[&CampaignId::new("c1")].status,
        CampaignStatus::Running
    );
}

#[tokio::test]
async fn a_run_that_is_not_scheduled_stops_the_correction_with_an_error() {
    let ports = FakePorts::default();
    sending_campaign(&ports, "c1", 10 * MINUTE);
    ports.world().runs[0].0.status = RunStatus::Cancelled;
    let report = sweep(&ports, false, &[SweepStep::CampaignStates]).await;
    let states = step(&report, SweepStep::CampaignStates);
    assert_eq!(states.errors.len(), 1, "{states:#?}");
    assert!(states.errors[0].contains("is not SCHEDULED"), "{states:#?}");
    assert_eq!(states.get("corrected"), 0);
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("c1")].status,
        CampaignStatus::Scheduled
    );
    assert!(world.queued_plans.is_empty());
}
