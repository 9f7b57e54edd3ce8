//! Manual campaign recovery's decision (`POST /campaigns/recover`): what a campaign that
//! should be progressing lacks, from the campaign, its timers and its runs as read.
//!
//! - **Lifecycle timers.** Every move still ahead of the campaign (its status's own move and
//!   the later ones, as [`plan_timers`] planned them at creation) needs its timer PENDING (or
//!   leased, or fired). One that is missing (deleted behind its back) or dead (CANCELLED,
//!   FAILED) is re-armed at its planned time when that time is still ahead; one whose time has
//!   passed is left to the sweeper's `campaign_states` step, which moves a campaign whose
//!   status disagrees with the clock. A REWARD_REMINDER is re-armed only if missing and ahead.
//! - **The chain of occurrences.** A recurring campaign (SCHEDULED or RUNNING, not paused)
//!   with an occurrence left needs its OCCURRENCE timer PENDING or leased; otherwise the series
//!   is repaired (the timer written again at the next occurrence, as the sweeper's
//!   `broken_series` step does).
//! - **Delivery runs.** A run PLANNING or SENDING since longer than the stall period is handed
//!   to the sweeper's `stalled_runs` step, which queues its work again if it really stopped.

use crate::campaign::{Campaign, CampaignStatus};
use crate::delivery::{RunId, RunRecord, RunStatus};
use crate::timer::{Timer, TimerEffect, TimerKind, TimerStatus};
use crate::timer_plan::plan_timers;
use crate::timestamp::Timestamp;

/// One repair a campaign needs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Repair {
    /// A lifecycle timer written again PENDING at its planned time, over the timer read
    /// (`None`: it is missing).
    Rearm {
        /// The timer to write.
        timer: Box<Timer>,
        /// The dead timer it replaces, as read.
        replaces: Option<Box<Timer>>,
    },
    /// The series' OCCURRENCE timer is lost (`None`: missing): written again at the next
    /// occurrence.
    RepairSeries {
        /// The lost timer, as read.
        lost: Option<Box<Timer>>,
    },
    /// A run that has not moved for the stall period: for the sweeper's `stalled_runs` step.
    StalledRun {
        /// The run.
        run_id: RunId,
        /// Its status as read.
        status: RunStatus,
    },
}

impl Repair {
    /// One line saying what the repair does.
    pub fn describe(&self) -> String {
        match self {
            Repair::Rearm { timer, replaces } => format!(
                "{} timer {}, re-armed at {}",
                timer.kind.as_str(),
                replaces
                    .as_ref()
                    .map_or("missing", |read| read.status.as_str()),
                timer.due_at
            ),
            Repair::RepairSeries { lost } => format!(
                "OCCURRENCE timer {}, written again at the next occurrence",
                lost.as_ref().map_or("missing", |read| read.status.as_str())
            ),
            Repair::StalledRun { run_id, status } => format!(
                "run {run_id} {} without progress, handed to the sweeper's stalled_runs step",
                status.as_str()
            ),
        }
    }
}

/// What recovery does with one campaign.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Assessment {
    /// Nothing to do, and why.
    Skip(String),
    /// These repairs, at least one.
    Repair(Vec<Repair>),
}

/// What `campaign`, with its `timers` and `runs` as read at `now`, needs; a run is stalled
/// after `run_stall_ms` without moving.
pub fn assess(
    campaign: &Campaign,
    timers: &[Timer],
    runs: &[RunRecord],
    now: Timestamp,
    run_stall_ms: i64,
) -> Assessment {
    let Some(position) = lifecycle_position(campaign.status) else {
        return Assessment::Skip(format!(
            "{}: no timer moves it on",
            campaign.status.as_str()
        ));
    };
    let read = |kind: TimerKind| timers.iter().find(|t| t.kind == kind);
    let mut repairs = Vec::new();
    let mut overdue = Vec::new();
    for planned in plan_timers(campaign) {
        let ahead = match planned.effect {
            TimerEffect::Move { from, .. } => {
                lifecycle_position(from).is_some_and(|from| from >= position)
            }
            TimerEffect::Remind => true,
            TimerEffect::Occur | TimerEffect::CloseRun => false,
        };
        if !ahead {
            continue;
        }
        let current = read(planned.kind);
        let dead = match current.map(|t| t.status) {
            None => true,
            Some(TimerStatus::Cancelled | TimerStatus::Failed) => {
                planned.effect != TimerEffect::Remind
            }
            Some(_) => false,
        };
        if !dead {
            continue;
        }
        if planned.due_at <= now {
            overdue.push(planned.kind.as_str());
            continue;
        }
        repairs.push(Repair::Rearm {
            timer: Box::new(planned),
            replaces: current.cloned().map(Box::new),
        });
    }
    let progress = &campaign.series_progress;
    if campaign.schedule.is_some()
        && !progress.paused
        && progress.next_occurrence.is_some()
        && matches!(
            campaign.status,
            CampaignStatus::Scheduled | CampaignStatus::Running
        )
    {
        let timer = read(TimerKind::Occurrence);
        if !timer.is_some_and(|t| matches!(t.status, TimerStatus::Pending | TimerStatus::Running)) {
            repairs.push(Repair::RepairSeries {
                lost: timer.cloned().map(Box::new),
            });
        }
    }
    for run in runs {
        let stalled = matches!(run.status, RunStatus::Planning | RunStatus::Sending)
            && run
                .started_at
                .is_some_and(|started| now.millis_since(started) > run_stall_ms);
        if stalled {
            repairs.push(Repair::StalledRun {
                run_id: run.run_id.clone(),
                status: run.status,
            });
        }
    }
    if !repairs.is_empty() {
        return Assessment::Repair(repairs);
    }
    if !overdue.is_empty() {
        return Assessment::Skip(format!(
            "overdue: its {} timer's time has passed; the sweeper's campaign_states step moves it",
            overdue.join(", ")
        ));
    }
    Assessment::Skip(format!(
        "healthy: every timer it needs is in place ({})",
        campaign.status.as_str()
    ))
}

/// Where `status` is in the lifecycle a timer moves along; `None` for the statuses no timer
/// moves a campaign out of.
fn lifecycle_position(status: CampaignStatus) -> Option<u8> {
    match status {
        CampaignStatus::Scheduled => Some(0),
        CampaignStatus::Running => Some(1),
        CampaignStatus::RewardClaim => Some(2),
        CampaignStatus::Closed | CampaignStatus::Expired | CampaignStatus::Cancelled => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::CampaignId;

    const HOUR: i64 = 3_600_000;
    const NOW: i64 = 100 * HOUR;
    const STALL: i64 = 120_000;

    fn campaign(status: CampaignStatus, claim: bool) -> Campaign {
        Campaign {
            id: CampaignId::new("c"),
            name: "n".into(),
            status,
            start_at: Timestamp::from_millis(NOW + HOUR),
            end_at: Timestamp::from_millis(NOW + 2 * HOUR),
            claim_until: claim.then(|| Timestamp::from_millis(NOW + 3 * HOUR)),
            reward_reminder_at: None,
            delivery: None,
            schedule: None,
            series_progress: Default::default(),
            version: 3,
            created_at: Timestamp::from_millis(0),
            updated_at: Timestamp::from_millis(0),
        }
    }

    fn with_status(mut timer: Timer, status: TimerStatus) -> Timer {
        timer.status = status;
        timer
    }

    fn rearmed(assessment: &Assessment) -> Vec<(TimerKind, Option<TimerStatus>)> {
        match assessment {
            Assessment::Repair(repairs) => repairs
                .iter()
                .filter_map(|r| match r {
                    Repair::Rearm { timer, replaces } => {
                        Some((timer.kind, replaces.as_ref().map(|t| t.status)))
                    }
                    _ => None,
                })
                .collect(),
            Assessment::Skip(_) => vec![],
        }
    }

    fn now() -> Timestamp {
        Timestamp::from_millis(NOW)
    }

    #[test]
    fn a_campaign_with_its_timers_pending_is_healthy() {
        let c = campaign(CampaignStatus::Scheduled, true);
        let timers = plan_timers(&c);
        let Assessment::Skip(reason) = assess(&c, &timers, &[], now(), STALL) else {
            panic!("healthy")
        };
        assert!(reason.starts_with("healthy"), "{reason}");
    }

    #[test]
    fn deleted_timers_of_moves_ahead_are_rearmed_as_planned() {
        let c = campaign(CampaignStatus::Scheduled, true);
        let assessment = assess(&c, &[], &[], now(), STALL);
        assert_eq!(
            rearmed(&assessment),
            vec![
                (TimerKind::StartCampaign, None),
                (TimerKind::CloseCampaign, None),
                (TimerKind::ExpireCampaign, None),
            ]
        );
        let Assessment::Repair(repairs) = assessment else {
            unreachable!()
        };
        let Repair::Rearm { timer, .. } = &repairs[0] else {
            unreachable!()
        };
        assert_eq!(**timer, plan_timers(&c)[0], "exactly the planned timer");
        assert_eq!(timer.status, TimerStatus::Pending);
    }

    #[test]
    fn only_moves_still_ahead_count() {
        let c = campaign(CampaignStatus::Running, false);
        let start = with_status(plan_timers(&c)[0].clone(), TimerStatus::Completed);
        assert_eq!(
            rearmed(&assess(&c, &[start], &[], now(), STALL)),
            vec![(TimerKind::CloseCampaign, None)],
            "the fired START is behind it"
        );
        let claim = campaign(CampaignStatus::RewardClaim, true);
        assert_eq!(
            rearmed(&assess(&claim, &[], &[], now(), STALL)),
            vec![(TimerKind::ExpireCampaign, None)]
        );
    }

    #[test]
    fn dead_timers_are_replaced_as_read_and_live_ones_kept() {
        let c = campaign(CampaignStatus::Scheduled, false);
        let planned = plan_timers(&c);
        for (status, replaced) in [
            (TimerStatus::Cancelled, true),
            (TimerStatus::Failed, true),
            (TimerStatus::Pending, false),
            (TimerStatus::Running, false),
            (TimerStatus::Completed, false),
        ] {
            let timers = vec![with_status(planned[0].clone(), status), planned[1].clone()];
            let expected = if replaced {
                vec![(TimerKind::StartCampaign, Some(status))]
            } else {
                vec![]
            };
            assert_eq!(
                rearmed(&assess(&c, &timers, &[], now(), STALL)),
                expected,
                "{status:?}"
            );
        }
    }

    #[test]
    fn a_timer_whose_time_passed_is_left_to_the_state_correction() {
        let mut c = campaign(CampaignStatus::Scheduled, false);
        c.start_at = Timestamp::from_millis(NOW - 1);
        let assessment = assess(&c, &[], &[], now(), STALL);
        assert_eq!(rearmed(&assessment), vec![(TimerKind::CloseCampaign, None)]);
        let close = plan_timers(&c)[1].clone();
        let Assessment::Skip(reason) = assess(&c, &[close], &[], now(), STALL) else {
            panic!("nothing to re-arm")
        };
        assert!(
            reason.contains("START_CAMPAIGN") && reason.contains("campaign_states"),
            "{reason}"
        );
    }

    #[test]
    fn a_reminder_is_rearmed_only_when_missing_and_ahead() {
        let mut c = campaign(CampaignStatus::Running, true);
        c.reward_reminder_at = Some(Timestamp::from_millis(NOW + 150 * 60_000));
        let planned = plan_timers(&c);
        let others: Vec<Timer> = planned
            .iter()
            .filter(|t| t.kind != TimerKind::RewardReminder)
            .cloned()
            .collect();
        assert_eq!(
            rearmed(&assess(&c, &others, &[], now(), STALL)),
            vec![(TimerKind::RewardReminder, None)]
        );
        let mut cancelled = others.clone();
        cancelled.push(with_status(
            planned[planned.len() - 1].clone(),
            TimerStatus::Cancelled,
        ));
        assert_eq!(rearmed(&assess(&c, &cancelled, &[], now(), STALL)), vec![]);
    }

    #[test]
    fn terminal_and_closed_campaigns_are_skipped() {
        for status in [
            CampaignStatus::Closed,
            CampaignStatus::Expired,
            CampaignStatus::Cancelled,
        ] {
            let c = campaign(status, false);
            assert!(
                matches!(assess(&c, &[], &[], now(), STALL), Assessment::Skip(r) if r.contains("no timer moves it on")),
                "{status:?}"
            );
        }
    }

    fn recurring(status: CampaignStatus, paused: bool) -> Campaign {
        let mut c = campaign(status, false);
        c.schedule = Some(crate::recurrence::Series {
            cron: "0 9 * * *".into(),
            timezone: "UTC".into(),
            start_at: c.start_at,
            end_at: None,
            max_runs: None,
            run_duration_ms: None,
            misfire: Default::default(),
            overlap: Default::default(),
        });
        c.series_progress.next_occurrence = Some(Timestamp::from_millis(NOW + HOUR));
        c.series_progress.paused = paused;
        c
    }

    fn series_repairs(assessment: &Assessment) -> Vec<Option<TimerStatus>> {
        match assessment {
            Assessment::Repair(repairs) => repairs
                .iter()
                .filter_map(|r| match r {
                    Repair::RepairSeries { lost } => Some(lost.as_ref().map(|t| t.status)),
                    _ => None,
                })
                .collect(),
            Assessment::Skip(_) => vec![],
        }
    }

    #[test]
    fn a_broken_chain_of_occurrences_is_repaired() {
        let c = recurring(CampaignStatus::Running, false);
        let planned = plan_timers(&c);
        let lifecycle: Vec<Timer> = planned
            .iter()
            .filter(|t| t.kind != TimerKind::Occurrence)
            .cloned()
            .collect();
        let occurrence = planned
            .iter()
            .find(|t| t.kind == TimerKind::Occurrence)
            .expect("planned")
            .clone();
        assert_eq!(
            series_repairs(&assess(&c, &lifecycle, &[], now(), STALL)),
            vec![None]
        );
        for (status, repaired) in [
            (TimerStatus::Failed, true),
            (TimerStatus::Cancelled, true),
            (TimerStatus::Completed, true),
            (TimerStatus::Pending, false),
            (TimerStatus::Running, false),
        ] {
            let mut timers = lifecycle.clone();
            timers.push(with_status(occurrence.clone(), status));
            let expected = if repaired { vec![Some(status)] } else { vec![] };
            assert_eq!(
                series_repairs(&assess(&c, &timers, &[], now(), STALL)),
                expected,
                "{status:?}"
            );
        }
        let paused = recurring(CampaignStatus::Running, true);
        assert_eq!(
            series_repairs(&assess(&paused, &lifecycle, &[], now(), STALL)),
            vec![],
            "a paused series has no timer due"
        );
        let mut over = recurring(CampaignStatus::Running, false);
        over.series_progress.next_occurrence = None;
        assert_eq!(
            series_repairs(&assess(&over, &lifecycle, &[], now(), STALL)),
            vec![]
        );
    }

    #[test]
    fn runs_without_progress_for_the_stall_period_are_stalled() {
        use crate::delivery::message::EventMessage;
        use crate::delivery::{AmbiguousPolicy, Message, RecipientList};
        let c = campaign(CampaignStatus::Running, false);
        let timers: Vec<Timer> = plan_timers(&c)
            .into_iter()
            .map(|t| {
                if t.kind == TimerKind::StartCampaign {
                    with_status(t, TimerStatus::Completed)
                } else {
                    t
                }
            })
            .collect();
        let run = |status: RunStatus, started_ago: i64| {
            let mut run = RunRecord::scheduled(
                c.id.clone(),
                RunId::for_occurrence(Timestamp::from_millis(NOW - started_ago)),
                Message::Event(EventMessage { detail: None }),
                RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
                AmbiguousPolicy::Resend,
                Timestamp::from_millis(NOW - started_ago),
            );
            run.status = status;
            run.started_at = Some(Timestamp::from_millis(NOW - started_ago));
            run
        };
        let stalled = |runs: &[RunRecord]| match assess(&c, &timers, runs, now(), STALL) {
            Assessment::Repair(repairs) => repairs.len(),
            Assessment::Skip(_) => 0,
        };
        assert_eq!(stalled(&[run(RunStatus::Sending, STALL + 1)]), 1);
        assert_eq!(stalled(&[run(RunStatus::Planning, STALL + 1)]), 1);
        assert_eq!(stalled(&[run(RunStatus::Sending, STALL)]), 0);
        assert_eq!(stalled(&[run(RunStatus::Completed, 10 * STALL)]), 0);
    }
}
