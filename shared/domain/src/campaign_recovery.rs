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
//! - **Run windows.** A run whose window (`runDuration`) is open
//!   ([`RunRecord::window_open`]) holds its series until its RUN_CLOSE fires, so the series'
//!   RUN_CLOSE timer must be PENDING or leased. One that is missing or in any other status is
//!   re-armed for that run at the window's close when that is still ahead, and due now when it
//!   has passed: no state correction closes a window, and the sweeper's `missed_timers` step
//!   fires a missed RUN_CLOSE however late (it never gives one up), so a close whose time
//!   passed is made as soon as possible — due now, the dispatcher's catch-up sends it within a
//!   minute or two (a timer due at the old close time would be older than the catch-up's span
//!   and wait for the next sweep). Its `CampaignRunClosed` still carries the planned close
//!   (the run's `closesAt`). A live timer is never written over, whatever run it names (as the
//!   chain's own arm does); the series has one RUN_CLOSE timer, so only the oldest open window
//!   is re-armed at a time.
//! - **Delivery runs.** A run PLANNING or SENDING that has not moved (its ByStatus sort time:
//!   its last step, or the last hold of a sweeper's repair) for longer than the stall period is
//!   handed to the sweeper's `stalled_runs` step, which lists runs by that same time and queues
//!   their work again; once it held the run, the run counts as moved, so a second call does
//!   not report it again.

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
    /// The series' RUN_CLOSE timer is lost while a run's window is open: written again
    /// PENDING for that run, at the window's close or, once that passed, due now.
    RearmRunClose {
        /// The run whose window it closes.
        run_id: RunId,
        /// When that window closes, as read.
        closes_at: Timestamp,
        /// The timer to write.
        timer: Box<Timer>,
        /// The lost timer it replaces, as read (`None`: it is missing).
        replaces: Option<Box<Timer>>,
    },
    /// A run that has not moved for the stall period: for the sweeper's `stalled_runs` step.
    StalledRun {
        /// The run.
        run_id: RunId,
        /// Its status as read.
        status: RunStatus,
        /// When it last moved.
        since: Timestamp,
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
            Repair::RearmRunClose {
                run_id,
                closes_at,
                timer,
                replaces,
            } => {
                let read = replaces
                    .as_ref()
                    .map_or("missing", |read| read.status.as_str());
                let at = if timer.due_at > *closes_at {
                    format!("due now ({}): its close time passed", timer.due_at)
                } else {
                    format!("at {}", timer.due_at)
                };
                format!(
                    "run {run_id}'s window (closing at {closes_at}): RUN_CLOSE timer {read}, re-armed {at}"
                )
            }
            Repair::StalledRun {
                run_id,
                status,
                since,
            } => format!(
                "run {run_id} {} without progress since {since}, handed to the sweeper's stalled_runs step",
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

/// A run as read, with when it last moved.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RunAsRead<'a> {
    /// The run.
    pub run: &'a RunRecord,
    /// When it last moved: its ByStatus sort time (its last step, or the last hold of a
    /// sweeper's repair), by which the sweeper's `stalled_runs` step lists it; `None` for a
    /// run no longer listed (it ended).
    pub moved_at: Option<Timestamp>,
}

/// What `campaign`, with its `timers` and `runs` (oldest first) as read at `now`, needs; a
/// run is stalled after `run_stall_ms` without moving.
pub fn assess(
    campaign: &Campaign,
    timers: &[Timer],
    runs: &[RunAsRead<'_>],
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
    if let Some(open) = runs.iter().find(|listed| listed.run.window_open()) {
        let close = read(TimerKind::RunClose);
        let live =
            close.is_some_and(|t| matches!(t.status, TimerStatus::Pending | TimerStatus::Running));
        if !live && let Some(closes_at) = open.run.closes_at {
            repairs.push(Repair::RearmRunClose {
                run_id: open.run.run_id.clone(),
                closes_at,
                timer: Box::new(Timer::run_close(
                    &campaign.id,
                    open.run.run_id.clone(),
                    closes_at.max(now),
                )),
                replaces: close.cloned().map(Box::new),
            });
        }
    }
    for listed in runs {
        let run = listed.run;
        if !matches!(run.status, RunStatus::Planning | RunStatus::Sending) {
            continue;
        }
        if let Some(since) = listed.moved_at
            && now.millis_since(since) > run_stall_ms
        {
            repairs.push(Repair::StalledRun {
                run_id: run.run_id.clone(),
                status: run.status,
                since,
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
    use crate::timer::TimerId;

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

    /// A run of `c` in `status`, started `started_ago` before now.
    fn run_of(c: &Campaign, status: RunStatus, started_ago: i64) -> RunRecord {
        use crate::delivery::message::EventMessage;
        use crate::delivery::{AmbiguousPolicy, Message, RecipientList};
        let started = Timestamp::from_millis(NOW - started_ago);
        let mut run = RunRecord::start(
            c.id.clone(),
            RunId::for_occurrence(started),
            Message::Event(EventMessage { detail: None }),
            RecipientList::parse_uri("s3://lists/a.jsonl").unwrap(),
            AmbiguousPolicy::Resend,
            started,
        );
        run.status = status;
        run
    }

    /// `run` as read, last moved `moved_ago` before now.
    fn as_read(run: &RunRecord, moved_ago: i64) -> RunAsRead<'_> {
        RunAsRead {
            run,
            moved_at: Some(Timestamp::from_millis(NOW - moved_ago)),
        }
    }

    fn repairs(assessment: Assessment) -> Vec<Repair> {
        match assessment {
            Assessment::Repair(repairs) => repairs,
            Assessment::Skip(_) => vec![],
        }
    }

    #[test]
    fn runs_that_have_not_moved_for_the_stall_period_are_stalled() {
        let c = campaign(CampaignStatus::Running, false);
        let timers = plan_timers(&c);
        let stalled = |status: RunStatus, moved_at: Option<i64>| {
            let run = run_of(&c, status, 10 * STALL);
            let read = RunAsRead {
                run: &run,
                moved_at: moved_at.map(|ago| Timestamp::from_millis(NOW - ago)),
            };
            repairs(assess(&c, &timers, &[read], now(), STALL))
        };
        let since = Timestamp::from_millis(NOW - STALL - 1);
        let found = stalled(RunStatus::Sending, Some(STALL + 1));
        assert_eq!(
            found,
            vec![Repair::StalledRun {
                run_id: RunId::for_occurrence(Timestamp::from_millis(NOW - 10 * STALL)),
                status: RunStatus::Sending,
                since,
            }]
        );
        let line = found[0].describe();
        assert!(
            line.contains(&format!("SENDING without progress since {since}"))
                && line.contains("stalled_runs"),
            "{line}"
        );
        assert_eq!(stalled(RunStatus::Planning, Some(STALL + 1)).len(), 1);
        assert_eq!(
            stalled(RunStatus::Sending, Some(STALL)),
            vec![],
            "started long ago but moved within the period: still going"
        );
        for status in [
            RunStatus::Scheduled,
            RunStatus::Completed,
            RunStatus::Cancelled,
            RunStatus::Buffered,
        ] {
            assert_eq!(stalled(status, Some(10 * STALL)), vec![], "{status:?}");
        }
        assert_eq!(
            stalled(RunStatus::Planning, None),
            vec![],
            "not listed: the sweeper would not find it"
        );
    }

    /// A run of `c` PLANNING since a moment ago, its window closing `closes_in` from now.
    fn windowed(c: &Campaign, closes_in: i64) -> RunRecord {
        let mut run = run_of(c, RunStatus::Planning, 1_000);
        run.closes_at = Some(Timestamp::from_millis(NOW + closes_in));
        run
    }

    /// The RUN_CLOSE repair of `assessment`, if it has one.
    fn run_close_repair(assessment: Assessment) -> Option<Repair> {
        repairs(assessment)
            .into_iter()
            .find(|r| matches!(r, Repair::RearmRunClose { .. }))
    }

    #[test]
    fn a_lost_run_close_of_an_open_window_is_rearmed_for_its_run_at_its_close() {
        let c = recurring(CampaignStatus::Running, false);
        let timers = plan_timers(&c);
        let run = windowed(&c, HOUR / 2);
        let closes_at = Timestamp::from_millis(NOW + HOUR / 2);
        let reads = [as_read(&run, 0)];
        let expected = Timer {
            timer_id: TimerId::new(&c.id, TimerKind::RunClose),
            campaign_id: c.id.clone(),
            kind: TimerKind::RunClose,
            status: TimerStatus::Pending,
            due_at: closes_at,
            effect: TimerEffect::CloseRun,
            run_id: Some(run.run_id.clone()),
            attempts: 0,
            last_error: None,
            fired_at: None,
            cancel_reason: None,
            queued_at_creation: false,
            next_deadline: None,
            lease_owner: None,
            lease_expires_at: None,
        };
        let missing = repairs(assess(&c, &timers, &reads, now(), STALL));
        assert_eq!(
            missing,
            vec![Repair::RearmRunClose {
                run_id: run.run_id.clone(),
                closes_at,
                timer: Box::new(expected.clone()),
                replaces: None,
            }],
            "the only repair: every other timer is in place"
        );
        assert_eq!(
            missing[0].describe(),
            format!(
                "run {}'s window (closing at {closes_at}): RUN_CLOSE timer missing, re-armed at {closes_at}",
                run.run_id
            )
        );
        for (status, rearmed) in [
            (TimerStatus::Cancelled, true),
            (TimerStatus::Failed, true),
            (TimerStatus::Completed, true),
            (TimerStatus::Paused, true),
            (TimerStatus::Pending, false),
            (TimerStatus::Running, false),
        ] {
            let mut read = timers.clone();
            read.push(with_status(expected.clone(), status));
            let found = run_close_repair(assess(&c, &read, &reads, now(), STALL));
            match found {
                Some(Repair::RearmRunClose {
                    timer, replaces, ..
                }) => {
                    assert!(rearmed, "{status:?} is live");
                    assert_eq!(*timer, expected);
                    assert_eq!(replaces.map(|t| t.status), Some(status));
                }
                _ => assert!(!rearmed, "{status:?} is lost"),
            }
        }
        let mut closed = run.clone();
        closed.closed_at = Some(now());
        assert_eq!(
            run_close_repair(assess(&c, &timers, &[as_read(&closed, 0)], now(), STALL)),
            None,
            "a closed window needs no close"
        );
        let unwindowed = run_of(&c, RunStatus::Planning, 1_000);
        assert_eq!(
            run_close_repair(assess(
                &c,
                &timers,
                &[as_read(&unwindowed, 0)],
                now(),
                STALL
            )),
            None,
            "no runDuration: no window"
        );
    }

    #[test]
    fn a_run_close_whose_time_passed_is_rearmed_due_now() {
        let c = recurring(CampaignStatus::Running, false);
        let timers = plan_timers(&c);
        let passed = windowed(&c, -5 * 60_000);
        let Some(repair) =
            run_close_repair(assess(&c, &timers, &[as_read(&passed, 0)], now(), STALL))
        else {
            panic!("re-armed")
        };
        let Repair::RearmRunClose {
            closes_at, timer, ..
        } = &repair
        else {
            unreachable!()
        };
        assert_eq!(
            *closes_at,
            Timestamp::from_millis(NOW - 5 * 60_000),
            "as read"
        );
        assert_eq!(timer.due_at, now(), "due now, not at the passed close");
        assert!(
            repair.describe().ends_with(&format!(
                "RUN_CLOSE timer missing, re-armed due now ({}): its close time passed",
                now()
            )),
            "{}",
            repair.describe()
        );
        let closing_now = windowed(&c, 0);
        let Some(repair) = run_close_repair(assess(
            &c,
            &timers,
            &[as_read(&closing_now, 0)],
            now(),
            STALL,
        )) else {
            panic!("re-armed")
        };
        assert!(
            repair
                .describe()
                .ends_with(&format!("re-armed at {}", now())),
            "closing this very moment: at its close: {}",
            repair.describe()
        );
    }

    #[test]
    fn only_the_oldest_open_window_is_rearmed_whatever_the_campaign_and_a_live_close_is_kept() {
        for (status, paused) in [
            (CampaignStatus::Running, false),
            (CampaignStatus::Running, true),
            (CampaignStatus::RewardClaim, false),
        ] {
            let c = recurring(status, paused);
            let timers: Vec<Timer> = plan_timers(&c)
                .into_iter()
                .filter(|t| t.kind != TimerKind::Occurrence)
                .collect();
            let mut done = run_of(&c, RunStatus::Completed, 3 * HOUR);
            done.closes_at = Some(Timestamp::from_millis(NOW - 2 * HOUR));
            done.closed_at = done.closes_at;
            let older = windowed(&c, HOUR);
            let mut newer = windowed(&c, 2 * HOUR);
            newer.run_id = RunId::for_occurrence(now());
            let reads = [as_read(&done, 0), as_read(&older, 0), as_read(&newer, 0)];
            let rearmed: Vec<Repair> = repairs(assess(&c, &timers, &reads, now(), STALL))
                .into_iter()
                .filter(|r| matches!(r, Repair::RearmRunClose { .. }))
                .collect();
            assert!(
                matches!(&rearmed[..], [Repair::RearmRunClose { run_id, .. }] if *run_id == older.run_id),
                "{status:?} paused {paused}: {rearmed:?}"
            );
            let mut live = timers.clone();
            live.push(Timer::run_close(&c.id, newer.run_id.clone(), now()));
            assert_eq!(
                run_close_repair(assess(&c, &live, &reads, now(), STALL)),
                None,
                "a live close is never written over"
            );
        }
    }
}
