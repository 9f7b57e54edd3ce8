//! Unit tests of each sweep step, the run lease and crash detection through in-memory ports
//! ([`fakes`]) and a manual clock.

mod fakes;
mod runs;
mod series;
mod states;

use lifecycle_adapters::config::SweepConfig;
use lifecycle_adapters::store::Watermarks;
use lifecycle_domain::recovery::{RecoveryReport, StepReport, SweepStep};
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{
    Campaign, CampaignId, CampaignStatus, ManualClock, Timer, TimerKind, TimerStatus, Timestamp,
};

use self::fakes::FakePorts;
use crate::steps::orphans::ORPHAN_REASON;
use crate::{LEASE_HELD, Sweep, SweepRequest, run};

const NOW: i64 = 1_800_000_000_000;
const MINUTE: i64 = 60_000;

fn at(offset_ms: i64) -> Timestamp {
    Timestamp::from_millis(NOW + offset_ms)
}

fn config() -> SweepConfig {
    SweepConfig {
        grace_secs: 30,
        misfire_window_secs: 3_600,
        lease_secs: 60,
        max_attempts: 2,
        outbox_republish_after_secs: 60,
        dispatcher_stall_secs: 180,
        batch_limit: 100,
        run_stall_secs: 120,
    }
}

/// A campaign in `status` starting at `start` and ending at `end` (offsets from now), with
/// its planned timers PENDING; returns the timers.
fn campaign(
    ports: &FakePorts,
    id: &str,
    status: CampaignStatus,
    start: i64,
    end: i64,
) -> Vec<Timer> {
    let campaign = Campaign {
        id: CampaignId::new(id),
        name: id.into(),
        status,
        start_at: at(start),
        end_at: at(end),
        claim_until: None,
        reward_reminder_at: None,
        delivery: None,
        schedule: None,
        series_progress: Default::default(),
        version: 1,
        created_at: at(-100 * MINUTE),
        updated_at: at(-100 * MINUTE),
    };
    let timers = plan_timers(&campaign);
    let mut world = ports.world();
    for timer in &timers {
        world.timers.insert(timer.timer_id.clone(), timer.clone());
    }
    world.campaigns.insert(campaign.id.clone(), campaign);
    timers
}

async fn sweep_with(
    ports: &FakePorts,
    dry_run: bool,
    steps: &[SweepStep],
    stop_at: Option<Timestamp>,
) -> RecoveryReport {
    let clock = ManualClock::at(at(0));
    let sweep = Sweep {
        ports,
        config: config(),
        clock: &clock,
        now: at(0),
        run_id: "run-1".into(),
        dry_run,
        stop_at,
    };
    let request = SweepRequest {
        dry_run,
        steps: Some(steps.to_vec()),
    };
    run(&sweep, &request).await
}

async fn sweep(ports: &FakePorts, dry_run: bool, steps: &[SweepStep]) -> RecoveryReport {
    sweep_with(ports, dry_run, steps, None).await
}

fn step(report: &RecoveryReport, step: SweepStep) -> &StepReport {
    report
        .steps
        .iter()
        .find(|s| s.step == step)
        .expect("step ran")
}

fn status(ports: &FakePorts, campaign: &str, kind: TimerKind) -> TimerStatus {
    let id = lifecycle_domain::TimerId::new(&CampaignId::new(campaign), kind);
    ports.world().timers[&id].status
}

/// A worker claimed `campaign`'s START and died: its lease ran out a second ago.
fn expire_lease(ports: &FakePorts, campaign: &str) {
    let id = lifecycle_domain::TimerId::new(&CampaignId::new(campaign), TimerKind::StartCampaign);
    let mut world = ports.world();
    let timer = world.timers.get_mut(&id).expect("timer");
    timer.status = TimerStatus::Running;
    timer.lease_owner = Some("dead-worker".into());
    timer.lease_expires_at = Some(at(-1_000));
}

#[tokio::test]
async fn stuck_timers_go_back_to_pending_then_fail_with_a_published_alert() {
    let ports = FakePorts::default();
    campaign(
        &ports,
        "c1",
        CampaignStatus::Scheduled,
        10 * MINUTE,
        20 * MINUTE,
    );
    expire_lease(&ports, "c1");
    let preview = sweep(&ports, true, &[SweepStep::StuckTimers]).await;
    assert_eq!(step(&preview, SweepStep::StuckTimers).actions.len(), 1);
    assert!(ports.world().writes.is_empty(), "a dry run writes nothing");
    assert_eq!(
        status(&ports, "c1", TimerKind::StartCampaign),
        TimerStatus::Running
    );

    let report = sweep(&ports, false, &[SweepStep::StuckTimers]).await;
    let stuck = step(&report, SweepStep::StuckTimers);
    assert_eq!(stuck.get("requeued"), 1);
    assert_eq!(
        stuck.get(lifecycle_domain::recovery::STUCK_RECOVERY_MS),
        1_000,
        "from lease expiry to requeue"
    );
    assert_eq!(
        status(&ports, "c1", TimerKind::StartCampaign),
        TimerStatus::Pending
    );

    expire_lease(&ports, "c1");
    let report = sweep(&ports, false, &[SweepStep::StuckTimers]).await;
    let stuck = step(&report, SweepStep::StuckTimers);
    assert_eq!((stuck.get("failed"), stuck.get("alerts_published")), (1, 1));
    assert_eq!(
        status(&ports, "c1", TimerKind::StartCampaign),
        TimerStatus::Failed
    );
    let world = ports.world();
    assert_eq!(world.alerts.len(), 1);
    assert!(world.alerts[0].1, "published and marked");
    assert_eq!(world.published, [world.alerts[0].0.alert_id.clone()]);
}

#[tokio::test]
async fn missed_timers_fire_late_within_the_window_and_are_cancelled_beyond_it() {
    let ports = FakePorts::default();
    // Missed by 5 minutes: fired late. Missed by 2 hours: cancelled (the window is 1 h).
    campaign(
        &ports,
        "late",
        CampaignStatus::Scheduled,
        -5 * MINUTE,
        60 * MINUTE,
    );
    campaign(
        &ports,
        "gone",
        CampaignStatus::Scheduled,
        -120 * MINUTE,
        60 * MINUTE,
    );
    let preview = sweep(&ports, true, &[SweepStep::MissedTimers]).await;
    assert_eq!(step(&preview, SweepStep::MissedTimers).actions.len(), 2);
    assert!(ports.world().writes.is_empty());

    let report = sweep(&ports, false, &[SweepStep::MissedTimers]).await;
    let missed = step(&report, SweepStep::MissedTimers);
    assert_eq!(
        (missed.get("fired"), missed.get("cancelled")),
        (1, 1),
        "{missed:?}"
    );
    assert_eq!(missed.get("recovered:START_CAMPAIGN"), 1);
    assert_eq!(
        status(&ports, "late", TimerKind::StartCampaign),
        TimerStatus::Completed
    );
    assert_eq!(
        status(&ports, "gone", TimerKind::StartCampaign),
        TimerStatus::Cancelled
    );
    let world = ports.world();
    assert_eq!(
        world.campaigns[&CampaignId::new("late")].status,
        CampaignStatus::Running
    );
    assert_eq!(world.published.len(), 1, "the late START's event");
    assert!(world.outbox.is_empty(), "published events are cleared");
}

#[tokio::test]
async fn a_sweep_out_of_time_defers_the_rest() {
    let ports = FakePorts::default();
    campaign(
        &ports,
        "late",
        CampaignStatus::Scheduled,
        -5 * MINUTE,
        60 * MINUTE,
    );
    let report = sweep_with(&ports, false, &[SweepStep::MissedTimers], Some(at(0))).await;
    assert_eq!(step(&report, SweepStep::MissedTimers).get("deferred"), 1);
    assert_eq!(
        status(&ports, "late", TimerKind::StartCampaign),
        TimerStatus::Pending
    );
}

#[tokio::test]
async fn campaigns_off_the_clock_are_moved_and_their_timers_superseded() {
    let ports = FakePorts::default();
    // RUNNING 10 minutes past its end: its CLOSE never fired.
    campaign(
        &ports,
        "c1",
        CampaignStatus::Running,
        -60 * MINUTE,
        -10 * MINUTE,
    );
    ports
        .world()
        .timers
        .get_mut(&lifecycle_domain::TimerId::new(
            &CampaignId::new("c1"),
            TimerKind::StartCampaign,
        ))
        .expect("start")
        .status = TimerStatus::Completed;
    let preview = sweep(&ports, true, &[SweepStep::CampaignStates]).await;
    assert_eq!(
        step(&preview, SweepStep::CampaignStates).actions,
        ["would move c1: RUNNING → CLOSED"]
    );
    let report = sweep(&ports, false, &[SweepStep::CampaignStates]).await;
    let states = step(&report, SweepStep::CampaignStates);
    assert_eq!(
        (states.get("corrected"), states.get("timers_superseded")),
        (1, 1)
    );
    assert_eq!(states.get("events_published"), 1);
    let world = ports.world();
    let c1 = &world.campaigns[&CampaignId::new("c1")];
    assert_eq!((c1.status, c1.version), (CampaignStatus::Closed, 2));
    drop(world);
    assert_eq!(
        status(&ports, "c1", TimerKind::CloseCampaign),
        TimerStatus::Cancelled
    );
}

#[tokio::test]
async fn stale_outbox_events_and_alerts_are_republished_once_old_enough() {
    let ports = FakePorts::default();
    let timers = campaign(
        &ports,
        "c1",
        CampaignStatus::Running,
        -60 * MINUTE,
        60 * MINUTE,
    );
    let event = lifecycle_domain::LifecycleEvent::for_timer(
        lifecycle_domain::EventType::CampaignStarted,
        &timers[0].timer_id,
        &timers[0].campaign_id,
        (CampaignStatus::Scheduled, CampaignStatus::Running),
        timers[0].due_at,
        at(-60 * MINUTE),
    );
    let fresh = lifecycle_domain::LifecycleEvent {
        event_id: "fresh".into(),
        ..event.clone()
    };
    let alert = lifecycle_domain::Alert::dispatcher_stalled(at(-10 * MINUTE), 600, at(-5 * MINUTE));
    {
        let mut world = ports.world();
        world.outbox.push((event.clone(), at(-5 * MINUTE)));
        world.outbox.push((fresh, at(-1_000)));
        world.alerts.push((alert.clone(), false));
    }
    let preview = sweep(&ports, true, &[SweepStep::Outbox]).await;
    assert_eq!(step(&preview, SweepStep::Outbox).actions.len(), 2);
    assert!(ports.world().published.is_empty());

    let report = sweep(&ports, false, &[SweepStep::Outbox]).await;
    let outbox = step(&report, SweepStep::Outbox);
    assert_eq!(
        (outbox.get("published"), outbox.get("alerts_published")),
        (1, 1)
    );
    let world = ports.world();
    assert_eq!(
        world.published,
        [event.event_id.clone(), alert.alert_id.clone()]
    );
    assert_eq!(
        world.outbox.len(),
        1,
        "the fresh event is left for its publisher"
    );
    assert!(world.alerts[0].1);
}

#[tokio::test]
async fn overdue_timers_whose_campaign_is_gone_are_cancelled_as_orphans() {
    let ports = FakePorts::default();
    campaign(
        &ports,
        "c1",
        CampaignStatus::Scheduled,
        -5 * MINUTE,
        60 * MINUTE,
    );
    campaign(
        &ports,
        "kept",
        CampaignStatus::Scheduled,
        -5 * MINUTE,
        60 * MINUTE,
    );
    ports.world().campaigns.remove(&CampaignId::new("c1"));
    let report = sweep(&ports, false, &[SweepStep::Orphans]).await;
    assert_eq!(step(&report, SweepStep::Orphans).get("cancelled"), 1);
    let world = ports.world();
    let id = lifecycle_domain::TimerId::new(&CampaignId::new("c1"), TimerKind::StartCampaign);
    assert_eq!(
        world.timers[&id].cancel_reason.as_deref(),
        Some(ORPHAN_REASON)
    );
    drop(world);
    assert_eq!(
        status(&ports, "kept", TimerKind::StartCampaign),
        TimerStatus::Pending
    );
}

#[tokio::test]
async fn a_sweep_finding_the_lease_held_does_nothing_and_says_why() {
    let ports = FakePorts::default();
    campaign(
        &ports,
        "late",
        CampaignStatus::Scheduled,
        -5 * MINUTE,
        60 * MINUTE,
    );
    ports.world().sweep_lease = Some(("other-run".into(), at(MINUTE)));
    let report = sweep(&ports, false, &SweepStep::ALL).await;
    // Only `consumers`, which needs no lease, ran.
    let ran: Vec<SweepStep> = report.steps.iter().map(|s| s.step).collect();
    assert!(!report.success);
    assert_eq!(ran, [SweepStep::Consumers]);
    assert_eq!(report.errors, [LEASE_HELD]);
    assert!(ports.world().writes.is_empty());
}

#[tokio::test]
async fn a_full_sweep_releases_its_lease_and_stores_its_report() {
    let ports = FakePorts::default();
    let report = sweep(&ports, false, &SweepStep::ALL).await;
    assert!(report.success, "{report:?}");
    assert_eq!(report.steps.len(), SweepStep::ALL.len());
    let world = ports.world();
    assert!(world.sweep_lease.is_none());
    assert_eq!(world.reports, std::slice::from_ref(&report));
}

#[tokio::test]
async fn a_failed_read_is_reported_and_fails_the_sweep() {
    let ports = FakePorts::default();
    ports.world().failing_reads = true;
    let report = sweep(&ports, false, &[SweepStep::MissedTimers]).await;
    assert!(!report.success);
    assert!(
        report
            .errors
            .iter()
            .any(|e| e.contains("InternalServerError")),
        "{:?}",
        report.errors
    );
}

/// The dispatcher's last sign of life (its watermarks' save) was `offset_ms` from now.
fn dispatcher_seen(ports: &FakePorts, offset_ms: i64) {
    ports.world().watermarks = Watermarks {
        saved_at: Some(at(offset_ms)),
        ..Watermarks::default()
    };
}

/// The stall alerts raised so far: (status, published).
fn stall_alerts(ports: &FakePorts) -> Vec<(lifecycle_domain::AlertStatus, bool)> {
    ports
        .world()
        .alerts
        .iter()
        .filter(|(a, _)| a.kind == lifecycle_domain::AlertKind::DispatcherStalled)
        .map(|(a, published)| (a.status, *published))
        .collect()
}

#[tokio::test]
async fn a_stalled_dispatcher_is_detected_and_alerted_once_per_outage() {
    use lifecycle_domain::AlertStatus::{Firing, Resolved};
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -10 * MINUTE);
    let first = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(first.was_crash && !first.dispatcher_recovered);
    assert_eq!(
        ports.world().stalls.get("timer-dispatcher"),
        Some(&at(-10 * MINUTE)),
        "the outage is marked with its last sign of life"
    );
    let second = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(second.was_crash);
    {
        let world = ports.world();
        assert_eq!(world.alerts.len(), 1, "one alert per outage");
        assert_eq!(world.published.len(), 1);
        let marks = world.writes.iter().filter(|w| **w == "record_stall");
        assert_eq!(
            marks.count(),
            1,
            "a marker already written is not written again"
        );
    }

    dispatcher_seen(&ports, -MINUTE);
    let healthy = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(
        !healthy.was_crash && healthy.dispatcher_recovered,
        "{healthy:?}"
    );
    assert!(healthy.success, "{healthy:?}");
    let evidence = healthy.crash_evidence.as_deref().unwrap_or_default();
    assert!(evidence.starts_with("dispatcher recovered"), "{evidence}");
    assert_eq!(stall_alerts(&ports), [(Firing, true), (Resolved, true)]);
    {
        let world = ports.world();
        let (stalled, resolved) = (&world.alerts[0].0, &world.alerts[1].0);
        assert_eq!(resolved.dedup_key(), stalled.dedup_key());
        assert_eq!(resolved.severity, stalled.severity);
        assert_eq!(
            world.published,
            [stalled.alert_id.clone(), resolved.alert_id.clone()]
        );
        assert!(world.stalls.is_empty(), "the marker is gone");
    }

    let later = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(!later.was_crash && !later.dispatcher_recovered, "{later:?}");
    assert_eq!(later.crash_evidence, None);
    assert_eq!(stall_alerts(&ports).len(), 2, "resolved once");
    assert_eq!(ports.world().published.len(), 2);
}

#[tokio::test]
async fn a_healthy_dispatcher_without_a_marker_resolves_nothing() {
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -MINUTE);
    let report = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(!report.was_crash && !report.dispatcher_recovered);
    let world = ports.world();
    assert!(
        world.alerts.is_empty() && world.writes.is_empty(),
        "{world:?}"
    );
}

#[tokio::test]
async fn a_dry_run_reports_the_recovery_and_changes_nothing() {
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -MINUTE);
    ports
        .world()
        .stalls
        .insert("timer-dispatcher".into(), at(-10 * MINUTE));
    let preview = sweep(&ports, true, &[SweepStep::Outbox]).await;
    assert!(preview.dispatcher_recovered, "{preview:?}");
    let world = ports.world();
    assert!(world.alerts.is_empty() && world.published.is_empty());
    assert!(world.writes.is_empty(), "{:?}", world.writes);
    assert_eq!(world.stalls.len(), 1, "the marker stays");
}

#[tokio::test]
async fn a_recovery_interrupted_after_its_alert_is_finished_without_a_second_alert() {
    use lifecycle_domain::AlertStatus::Resolved;
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -MINUTE);
    let resolved = lifecycle_domain::Alert::dispatcher_recovered(
        at(-10 * MINUTE),
        at(-2 * MINUTE),
        at(-MINUTE),
    );
    {
        let mut world = ports.world();
        world
            .stalls
            .insert("timer-dispatcher".into(), at(-10 * MINUTE));
        world.alerts.push((resolved.clone(), true));
    }
    let report = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(report.dispatcher_recovered && report.success, "{report:?}");
    assert_eq!(
        stall_alerts(&ports),
        [(Resolved, true)],
        "the same alert id"
    );
    let world = ports.world();
    assert!(world.published.is_empty());
    assert!(world.stalls.is_empty(), "the marker is removed now");
}

#[tokio::test]
async fn a_failed_recovery_alert_keeps_the_marker_for_the_next_sweep() {
    use lifecycle_domain::AlertStatus::Resolved;
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -MINUTE);
    {
        let mut world = ports.world();
        world
            .stalls
            .insert("timer-dispatcher".into(), at(-10 * MINUTE));
        world.failing_alerts = true;
    }
    let failed = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(!failed.success, "{failed:?}");
    assert!(
        failed
            .errors
            .iter()
            .any(|e| e.starts_with("recovery alert"))
    );
    assert_eq!(ports.world().stalls.len(), 1, "the marker stays");

    ports.world().failing_alerts = false;
    let retried = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(
        retried.success && retried.dispatcher_recovered,
        "{retried:?}"
    );
    assert_eq!(stall_alerts(&ports), [(Resolved, true)]);
    assert!(ports.world().stalls.is_empty());
}

#[tokio::test]
async fn a_stall_sweep_that_died_after_its_marker_is_completed_by_the_next() {
    use lifecycle_domain::AlertStatus::Firing;
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -10 * MINUTE);
    // The marker was written, the alert was not (the sweep died, or the raise failed).
    ports.world().failing_alerts = true;
    let died = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(died.was_crash && !died.success, "{died:?}");
    assert_eq!(ports.world().stalls.len(), 1, "marked before the alert");
    assert!(stall_alerts(&ports).is_empty());

    ports.world().failing_alerts = false;
    let next = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(next.was_crash && next.success, "{next:?}");
    assert_eq!(stall_alerts(&ports), [(Firing, true)]);
}

#[tokio::test]
async fn a_new_outage_replaces_the_marker_of_one_no_sweep_saw_end() {
    let ports = FakePorts::default();
    dispatcher_seen(&ports, -10 * MINUTE);
    ports
        .world()
        .stalls
        .insert("timer-dispatcher".into(), at(-60 * MINUTE));
    let report = sweep(&ports, false, &[SweepStep::Outbox]).await;
    assert!(report.was_crash && !report.dispatcher_recovered);
    assert_eq!(
        ports.world().stalls.get("timer-dispatcher"),
        Some(&at(-10 * MINUTE))
    );
}
