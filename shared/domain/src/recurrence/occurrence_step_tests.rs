//! The occurrence step: misfire and overlap applied to the occurrences due, the timer moved on,
//! the series' bounds and `maxRuns` honoured.

use super::occurrence_step::{
    DEFAULT_GRACE_MS, HandledSlot, MAX_SLOTS_PER_STEP, SlotOutcome, close_out, step,
};
use super::{CronSchedule, Misfire, Overlap, Series, SeriesProgress};
use crate::Timestamp;
use crate::delivery::RunId;

/// 2027-01-04T09:00:00Z, a Monday.
fn t0() -> Timestamp {
    Timestamp::parse_rfc3339("2027-01-04T09:00:00Z").unwrap()
}

fn secs(n: i64) -> Timestamp {
    t0().plus_millis(n * 1_000)
}

/// Every 10 seconds from `t0`.
fn series(misfire: Misfire, overlap: Overlap) -> Series {
    Series {
        cron: "*/10 * * * * *".into(),
        timezone: "UTC".into(),
        start_at: t0(),
        end_at: None,
        max_runs: None,
        run_duration_ms: None,
        misfire,
        overlap,
    }
}

fn run_at(n: i64) -> RunId {
    RunId::for_occurrence(secs(n))
}

fn outcomes(slots: &[HandledSlot]) -> Vec<(i64, SlotOutcome)> {
    slots
        .iter()
        .map(|slot| (slot.at.millis_since(t0()) / 1_000, slot.outcome))
        .collect()
}

fn step_at(
    series: &Series,
    cron: &CronSchedule,
    due: i64,
    now: i64,
    grace_ms: i64,
) -> super::OccurrenceStep {
    step(
        series,
        cron,
        &SeriesProgress::default(),
        secs(due),
        secs(now),
        grace_ms,
    )
}

fn fire(series: &Series, progress: &SeriesProgress, due: i64, now: i64) -> super::OccurrenceStep {
    let cron = series.cron_schedule().unwrap();
    step(series, &cron, progress, secs(due), secs(now), 60_000)
}

#[test]
fn an_occurrence_on_time_starts_its_run_and_the_timer_moves_to_the_next() {
    let series = series(Misfire::FireOnceNow, Overlap::Skip);
    let step = fire(&series, &SeriesProgress::default(), 0, 0);
    assert_eq!(outcomes(&step.slots), vec![(0, SlotOutcome::Start)]);
    assert_eq!(step.slots[0].run_id, run_at(0));
    assert_eq!(step.next_due, Some(secs(10)));
    assert_eq!(
        step.progress,
        SeriesProgress {
            occurrences: 1,
            active_run: Some(run_at(0)),
            buffered_run: None,
            next_occurrence: Some(secs(10)),
            paused: false,
            series_version: 1,
        }
    );
    assert!(!step.behind(secs(9)));
    assert!(step.behind(secs(10)));
}

#[test]
fn a_late_occurrence_within_the_grace_period_still_runs() {
    let series = series(Misfire::Skip, Overlap::Skip);
    let step = fire(&series, &SeriesProgress::default(), 0, 9);
    assert_eq!(outcomes(&step.slots), vec![(0, SlotOutcome::Start)]);
}

#[test]
fn after_an_outage_fire_once_now_runs_the_latest_and_records_the_others_missed() {
    let series = series(Misfire::FireOnceNow, Overlap::Skip);
    // Down from second 0 to 95 (grace 60 s): 0..=30 are missed, 40..=90 within the grace.
    let step = fire(&series, &SeriesProgress::default(), 0, 95);
    assert_eq!(
        outcomes(&step.slots),
        vec![
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Missed),
            (30, SlotOutcome::Missed),
            (40, SlotOutcome::Start),
            (50, SlotOutcome::SkippedOverlap),
            (60, SlotOutcome::SkippedOverlap),
            (70, SlotOutcome::SkippedOverlap),
            (80, SlotOutcome::SkippedOverlap),
            (90, SlotOutcome::SkippedOverlap),
        ],
        "an occurrence within the grace period runs instead of a catch-up; the next ones \
         overlap its delivery"
    );
    let near = fire(&series, &SeriesProgress::default(), 0, 65);
    assert_eq!(
        outcomes(&near.slots),
        vec![
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Start),
            (20, SlotOutcome::SkippedOverlap),
            (30, SlotOutcome::SkippedOverlap),
            (40, SlotOutcome::SkippedOverlap),
            (50, SlotOutcome::SkippedOverlap),
            (60, SlotOutcome::SkippedOverlap),
        ]
    );
    let skip_policy = fire(
        &super::Series {
            misfire: Misfire::Skip,
            ..series.clone()
        },
        &SeriesProgress::default(),
        0,
        65,
    );
    assert_eq!(skip_policy.slots[0].outcome, SlotOutcome::Missed);
    let cron = series.cron_schedule().unwrap();
    let only_late = step_at(&series, &cron, 0, 20, 5_000);
    assert_eq!(
        outcomes(&only_late.slots),
        vec![
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Start)
        ],
        "nothing within a 5 s grace at second 20 but second 20 itself"
    );
    let all_late = step_at(&series, &cron, 0, 26, 5_000);
    assert_eq!(
        outcomes(&all_late.slots),
        vec![
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Start)
        ],
        "all late: one catch-up run, the latest"
    );
    assert_eq!(step.next_due, Some(secs(100)));
    assert!(!step.behind(secs(95)));
    let step = fire(&series, &SeriesProgress::default(), 0, 200);
    assert_eq!(
        outcomes(&step.slots)[..3],
        [
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Missed)
        ]
    );
    assert!(
        step.slots
            .iter()
            .filter(|s| s.at < secs(140))
            .all(|s| s.outcome == SlotOutcome::Missed),
        "with occurrences inside the grace period, none of the missed ones runs"
    );
    assert_eq!(step.slots[14].outcome, SlotOutcome::Start, "second 140");
}

#[test]
fn skip_records_every_missed_occurrence_and_waits_for_the_next() {
    let series = series(Misfire::Skip, Overlap::Skip);
    let step = fire(&series, &SeriesProgress::default(), 0, 125);
    assert_eq!(
        outcomes(&step.slots)[..7],
        [
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Missed),
            (30, SlotOutcome::Missed),
            (40, SlotOutcome::Missed),
            (50, SlotOutcome::Missed),
            (60, SlotOutcome::Missed),
        ]
    );
    assert_eq!(step.slots[7].outcome, SlotOutcome::Start, "second 70");
    assert_eq!(step.progress.occurrences, 13);
    assert_eq!(step.next_due, Some(secs(130)));
}

#[test]
fn fire_all_runs_its_cap_of_the_latest_missed_ones_under_the_overlap_policy() {
    let series = series(Misfire::FireAll { max: 2 }, Overlap::BufferOne);
    // Down until 75 s with a 10 s grace: 0..=60 missed, 70 on time.
    let cron = series.cron_schedule().unwrap();
    let step = step(
        &series,
        &cron,
        &SeriesProgress::default(),
        t0(),
        secs(75),
        10_000,
    );
    assert_eq!(
        outcomes(&step.slots),
        vec![
            (0, SlotOutcome::Missed),
            (10, SlotOutcome::Missed),
            (20, SlotOutcome::Missed),
            (30, SlotOutcome::Missed),
            (40, SlotOutcome::Missed),
            (50, SlotOutcome::Start),
            (60, SlotOutcome::Buffer),
            (70, SlotOutcome::SkippedOverlap),
        ]
    );
    assert_eq!(step.progress.active_run, Some(run_at(50)));
    assert_eq!(step.progress.buffered_run, Some(run_at(60)));
}

#[test]
fn while_a_run_delivers_skip_records_the_occurrence_and_buffer_one_keeps_one() {
    let delivering = SeriesProgress {
        occurrences: 1,
        active_run: Some(run_at(0)),
        series_version: 1,
        ..SeriesProgress::default()
    };
    let skipping = fire(
        &series(Misfire::FireOnceNow, Overlap::Skip),
        &delivering,
        10,
        10,
    );
    assert_eq!(
        outcomes(&skipping.slots),
        vec![(10, SlotOutcome::SkippedOverlap)]
    );
    assert_eq!(skipping.progress.active_run, Some(run_at(0)));
    assert_eq!(skipping.progress.occurrences, 2);
    assert_eq!(skipping.progress.series_version, 2);

    let buffering = series(Misfire::FireOnceNow, Overlap::BufferOne);
    let first = fire(&buffering, &delivering, 10, 10);
    assert_eq!(outcomes(&first.slots), vec![(10, SlotOutcome::Buffer)]);
    assert_eq!(first.progress.buffered_run, Some(run_at(10)));
    let second = fire(&buffering, &first.progress, 20, 20);
    assert_eq!(
        outcomes(&second.slots),
        vec![(20, SlotOutcome::SkippedOverlap)],
        "one waits at most"
    );
    assert_eq!(second.progress.buffered_run, Some(run_at(10)));
}

#[test]
fn the_series_ends_at_its_end_or_after_max_runs() {
    let mut bounded = series(Misfire::FireOnceNow, Overlap::Skip);
    bounded.end_at = Some(secs(20));
    let last = fire(&bounded, &SeriesProgress::default(), 20, 20);
    assert_eq!(outcomes(&last.slots), vec![(20, SlotOutcome::Start)]);
    assert_eq!(last.next_due, None);
    let behind = fire(&bounded, &SeriesProgress::default(), 0, 500);
    assert_eq!(behind.slots.len(), 3, "nothing after its end is handled");
    assert_eq!(behind.next_due, None);

    let mut counted = series(Misfire::FireOnceNow, Overlap::Skip);
    counted.max_runs = Some(3);
    let progress = SeriesProgress {
        occurrences: 1,
        series_version: 1,
        ..SeriesProgress::default()
    };
    let step = fire(&counted, &progress, 10, 10);
    assert_eq!(step.next_due, Some(secs(20)), "one left");
    assert_eq!(step.progress.occurrences, 2);
    let step = fire(&counted, &step.progress, 20, 20);
    assert_eq!(step.next_due, None, "the third was the last");
    let step = fire(&counted, &SeriesProgress::default(), 0, 500);
    assert_eq!(step.slots.len(), 3, "an outage does not run past maxRuns");
    assert_eq!(step.next_due, None);
}

#[test]
fn a_long_outage_is_handled_a_bounded_number_of_occurrences_per_step() {
    let series = series(Misfire::FireOnceNow, Overlap::Skip);
    let now = 10 * MAX_SLOTS_PER_STEP as i64 * 3;
    let mut progress = SeriesProgress::default();
    let mut due = Some(t0());
    let mut handled = Vec::new();
    let mut steps = 0;
    while let Some(at) = due {
        if at > secs(now) {
            break;
        }
        let cron = series.cron_schedule().unwrap();
        let step = step(&series, &cron, &progress, at, secs(now), DEFAULT_GRACE_MS);
        assert!(step.slots.len() <= MAX_SLOTS_PER_STEP);
        handled.extend(step.slots);
        progress = step.progress;
        due = step.next_due;
        steps += 1;
    }
    assert_eq!(steps, 4, "three full steps, then the rest");
    let times: Vec<Timestamp> = handled.iter().map(|s| s.at).collect();
    let expected: Vec<Timestamp> = (0..=now / 10).map(|n| secs(n * 10)).collect();
    assert_eq!(times, expected, "every occurrence once, in order");
    assert_eq!(progress.occurrences, expected.len() as u64);
    assert_eq!(
        handled
            .iter()
            .filter(|s| s.outcome == SlotOutcome::Start)
            .count(),
        1
    );
    assert_eq!(progress.series_version, 4);
}

#[test]
fn an_occurrence_at_a_dst_gap_is_never_due() {
    let series = Series {
        cron: "30 2 * * *".into(),
        timezone: "Europe/Berlin".into(),
        start_at: Timestamp::parse_rfc3339("2027-03-26T00:00:00Z").unwrap(),
        ..series(Misfire::Skip, Overlap::Skip)
    };
    let cron = CronSchedule::new(&series.cron, &series.timezone).unwrap();
    let due = Timestamp::parse_rfc3339("2027-03-27T01:30:00Z").unwrap();
    let step = step(
        &series,
        &cron,
        &SeriesProgress::default(),
        due,
        due,
        DEFAULT_GRACE_MS,
    );
    assert_eq!(
        step.next_due,
        Some(Timestamp::parse_rfc3339("2027-03-29T00:30:00Z").unwrap()),
        "28 March 02:30 does not exist in Berlin"
    );
}

#[test]
fn occurrences_left_when_the_campaign_closed_are_recorded_missed_and_the_series_ends() {
    let series = series(Misfire::FireOnceNow, Overlap::Skip);
    let cron = series.cron_schedule().unwrap();
    let delivering = SeriesProgress {
        occurrences: 2,
        active_run: Some(run_at(10)),
        series_version: 2,
        ..SeriesProgress::default()
    };
    let closed = close_out(&series, &cron, &delivering, secs(20), secs(45));
    assert_eq!(
        outcomes(&closed.slots),
        vec![
            (20, SlotOutcome::Missed),
            (30, SlotOutcome::Missed),
            (40, SlotOutcome::Missed)
        ],
        "never run nor skipped, whatever the policies: the campaign closed"
    );
    assert_eq!(closed.next_due, None, "nothing after the close");
    assert_eq!(closed.progress.next_occurrence, None);
    assert_eq!(closed.progress.occurrences, 5);
    assert_eq!(
        closed.progress.active_run,
        Some(run_at(10)),
        "the run delivering goes on"
    );

    let after = close_out(&series, &cron, &delivering, secs(50), secs(45));
    assert!(after.slots.is_empty());
    assert_eq!((after.next_due, after.progress.series_version), (None, 3));
    let exactly = close_out(&series, &cron, &delivering, secs(40), secs(40));
    assert_eq!(outcomes(&exactly.slots), vec![(40, SlotOutcome::Missed)]);
}

#[test]
fn a_close_out_of_many_occurrences_goes_on_up_to_one_exactly_at_the_close() {
    let series = series(Misfire::FireOnceNow, Overlap::Skip);
    let cron = series.cron_schedule().unwrap();
    let closed_at = secs(10 * MAX_SLOTS_PER_STEP as i64);
    let first = close_out(&series, &cron, &SeriesProgress::default(), t0(), closed_at);
    assert_eq!(first.slots.len(), MAX_SLOTS_PER_STEP);
    assert_eq!(
        first.next_due,
        Some(closed_at),
        "the occurrence exactly at the close is still before it is over"
    );
    let last = close_out(&series, &cron, &first.progress, closed_at, closed_at);
    assert_eq!(last.slots.len(), 1);
    assert_eq!(last.slots[0].outcome, SlotOutcome::Missed);
    assert_eq!(last.next_due, None);
}
