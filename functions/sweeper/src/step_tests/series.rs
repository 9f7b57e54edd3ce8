//! Step `broken_series`: a series whose next occurrence went unhandled gets its lost
//! OCCURRENCE timer back; a merely late timer is left to the missed-timer step.

use lifecycle_domain::delivery::RunId;
use lifecycle_domain::recovery::SweepStep;
use lifecycle_domain::recurrence::{Misfire, Overlap, Series};
use lifecycle_domain::timer_plan::plan_timers;
use lifecycle_domain::{Campaign, CampaignId, CampaignStatus, TimerId, TimerKind, TimerStatus};

use super::fakes::FakePorts;
use super::{MINUTE, at, step, sweep};

/// A RUNNING recurring campaign every minute whose occurrence at `next` (offset from now) is
/// the next to handle; its OCCURRENCE timer in `timer` (`None`: gone).
fn series(ports: &FakePorts, id: &str, next: i64, timer: Option<TimerStatus>) -> CampaignId {
    let mut campaign = Campaign {
        id: CampaignId::new(id),
        name: id.into(),
        status: CampaignStatus::Running,
        start_at: at(-60 * MINUTE),
        end_at: at(60 * MINUTE),
        claim_until: None,
        reward_reminder_at: None,
        delivery: None,
        schedule: Some(Series {
            cron: "* * * * *".into(),
            timezone: "UTC".into(),
            start_at: at(-60 * MINUTE),
            end_at: None,
            max_runs: None,
            run_duration_ms: None,
            misfire: Misfire::FireOnceNow,
            overlap: Overlap::Skip,
        }),
        series_progress: Default::default(),
        version: 2,
        created_at: at(-100 * MINUTE),
        updated_at: at(-100 * MINUTE),
    };
    campaign.series_progress.next_occurrence = Some(at(next));
    campaign.series_progress.series_version = 7;
    let mut world = ports.world();
    if let Some(status) = timer {
        let mut occurrence = plan_timers(&campaign)
            .into_iter()
            .find(|t| t.kind == TimerKind::Occurrence)
            .expect("planned");
        occurrence.status = status;
        world.timers.insert(occurrence.timer_id.clone(), occurrence);
    }
    world.campaigns.insert(campaign.id.clone(), campaign);
    CampaignId::new(id)
}

fn occurrence(ports: &FakePorts, id: &CampaignId) -> Option<lifecycle_domain::Timer> {
    ports
        .world()
        .timers
        .get(&TimerId::new(id, TimerKind::Occurrence))
        .cloned()
}

#[tokio::test]
async fn a_lost_occurrence_timer_is_written_again_at_the_next_occurrence() {
    let ports = FakePorts::default();
    let failed = series(&ports, "failed", -5 * MINUTE, Some(TimerStatus::Failed));
    let gone = series(&ports, "gone", -5 * MINUTE, None);
    let report = sweep(&ports, false, &[SweepStep::BrokenSeries]).await;
    let series_step = step(&report, SweepStep::BrokenSeries);
    assert_eq!(series_step.get("found"), 2);
    assert_eq!(series_step.get("repaired"), 2);
    assert_eq!(report.totals.series_repaired, 2);
    for id in [&failed, &gone] {
        let timer = occurrence(&ports, id).expect("written again");
        assert_eq!(timer.status, TimerStatus::Pending);
        assert_eq!(timer.due_at, at(-5 * MINUTE));
        assert_eq!(timer.run_id, Some(RunId::for_occurrence(at(-5 * MINUTE))));
    }
    assert!(
        series_step.actions[0].contains("FAILED") || series_step.actions[1].contains("FAILED"),
        "{:?}",
        series_step.actions
    );
}

#[tokio::test]
async fn a_late_but_pending_timer_and_a_series_within_its_grace_are_left_alone() {
    let ports = FakePorts::default();
    let late = series(&ports, "late", -5 * MINUTE, Some(TimerStatus::Pending));
    let recent = series(&ports, "recent", -10_000, Some(TimerStatus::Failed));
    let report = sweep(&ports, false, &[SweepStep::BrokenSeries]).await;
    let series_step = step(&report, SweepStep::BrokenSeries);
    assert_eq!(series_step.get("late"), 1);
    assert_eq!(series_step.get("repaired"), 0);
    assert!(ports.world().writes.is_empty());
    assert_eq!(
        occurrence(&ports, &late).unwrap().status,
        TimerStatus::Pending
    );
    assert_eq!(
        occurrence(&ports, &recent).unwrap().status,
        TimerStatus::Failed,
        "within the grace period: not looked at yet"
    );
}

#[tokio::test]
async fn a_dry_run_repairs_nothing_and_a_closed_campaign_is_unlisted() {
    let ports = FakePorts::default();
    let broken = series(&ports, "broken", -5 * MINUTE, Some(TimerStatus::Cancelled));
    let closed = series(&ports, "closed", -5 * MINUTE, Some(TimerStatus::Cancelled));
    {
        let mut world = ports.world();
        let campaign = world.campaigns.get_mut(&closed).unwrap();
        campaign.status = CampaignStatus::Closed;
        campaign.end_at = at(-10 * MINUTE);
    }
    let report = sweep(&ports, true, &[SweepStep::BrokenSeries]).await;
    let series_step = step(&report, SweepStep::BrokenSeries);
    assert!(ports.world().writes.is_empty(), "dry run");
    assert!(
        series_step
            .actions
            .iter()
            .any(|a| a.starts_with("would repair broken"))
    );
    assert_eq!(
        occurrence(&ports, &broken).unwrap().status,
        TimerStatus::Cancelled
    );

    let closed_late = series(
        &ports,
        "closed-late",
        -5 * MINUTE,
        Some(TimerStatus::Failed),
    );
    {
        let mut world = ports.world();
        let campaign = world.campaigns.get_mut(&closed_late).unwrap();
        campaign.status = CampaignStatus::Closed;
        campaign.end_at = at(-MINUTE);
    }
    let report = sweep(&ports, false, &[SweepStep::BrokenSeries]).await;
    let series_step = step(&report, SweepStep::BrokenSeries);
    assert_eq!(series_step.get("unlisted"), 1);
    assert_eq!(
        occurrence(&ports, &closed_late).unwrap().status,
        TimerStatus::Pending,
        "closed with an occurrence before its close unhandled: repaired for the close-out"
    );
    assert_eq!(series_step.get("repaired"), 2);
    assert!(ports.world().unlisted_series.contains(&closed));
    assert_eq!(
        occurrence(&ports, &closed).unwrap().status,
        TimerStatus::Cancelled
    );
    let again = sweep(&ports, false, &[SweepStep::BrokenSeries]).await;
    let series_step = step(&again, SweepStep::BrokenSeries);
    assert_eq!(
        (series_step.get("late"), series_step.get("repaired")),
        (2, 0),
        "repaired once: the next sweep finds them PENDING"
    );
}
